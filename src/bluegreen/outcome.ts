// What running a switch did: pure data that rendering turns into text or -o json, and one exit code.
import type { Step } from "./plan.js";
import { type BlueGreenError, ExitCode } from "../errors.js";

/** How a step ended. */
export type StepStatus = "done" | "skipped" | "undone" | "failed" | "unknown";

export interface StepResult {
  step: Step["kind"];
  status: StepStatus;
  detail: string;
}

/**
 * Where traffic is at the end, by what every Service of the plan was last read (or written) to select; "canary"
 * when a promote in weighted steps stopped after a verified step, as asked (--step-pause manual).
 */
export type Final = "all-new" | "all-old" | "split" | "unknown" | "canary";

/**
 * Why a switch that had started writing did not complete: verification failed, a check after the switch failed,
 * Ctrl-C, a switch write failed (the error's own code says how), or someone else changed a Service we had
 * switched (a reverting controller, another command).
 */
export type Cause = "verify" | "check" | "interrupted" | "write" | "moved";

/** Whether every Service our switch wrote (or may have written) was put back as this command found it. */
export type SwitchBack = "complete" | "incomplete";

/** What a switch did: the step results, each Service's slot at the end, and the failure that stopped it. */
export interface Outcome {
  final: Final;
  steps: StepResult[];
  /** Each router (by its record key: a Service's name, or "kind/name") and the slot it sends traffic to at the end. */
  services: { name: string; kind?: string; role: "live" | "preview"; slot?: string }[];
  /** Set when the switch did not complete; the exit code comes from exitCodeOf, never from the error alone. */
  error?: BlueGreenError;
  /** Set when a switch that wrote failed: why, and whether the switch-back (if one was needed) finished. */
  cause?: Cause;
  switchBack?: SwitchBack;
  /**
   * Another command's switch is in progress on the Services (its record pending) when this one ended: a split
   * is that command's unfinished work, not ours, and the switch-back had nothing of ours left to undo.
   */
  otherSwitch?: string;
  /** Things done that the user should know about, printed to stderr (a missing Event, a skipped scale-down). */
  warnings: string[];
}

/**
 * The exit code of an Outcome, derived from its final state: the one place that decides it.
 * - 0 only for a complete switch (no error, all-new), or a canary step verified and checked where it was asked to stop.
 * - 9 whenever a switch that wrote left traffic split or unknown, or its switch-back did not finish — whatever
 *   the Services happen to look like.
 * - 6 only when verification or a check failed and every Service is back, all-old.
 * - 130 for an interruption whose switch-back finished; 5 when someone else moved a Service we had switched,
 *   also when that leaves traffic split while another command's switch is in progress (its split, not ours).
 * - Otherwise the error's own code: a refusal before any write (even on Services an earlier, interrupted
 *   switch left split), a switch write the API server refused (and that was undone), a failure after the switch
 *   was verified (traffic all-new).
 */
export function exitCodeOf(o: Outcome): ExitCode {
  if (!o.error) return o.final === "all-new" || o.final === "canary" ? ExitCode.ok : ExitCode.split;
  const wrote = o.steps.some((s) => (s.step === "switch" || s.step === "weigh") && s.status !== "failed");
  if (!wrote) return o.error.exitCode;
  if (o.cause === "moved" && o.switchBack === "complete" && o.final === "split" && o.otherSwitch) return ExitCode.conflict;
  if (o.switchBack === "incomplete" || o.final === "split" || o.final === "unknown") return ExitCode.split;
  switch (o.cause) {
    case "verify":
    case "check":
      // Switched back means all-old; anything else consistent is someone else's doing.
      return o.final === "all-old" ? ExitCode.verifyFailed : ExitCode.conflict;
    case "interrupted":
      return ExitCode.interrupted;
    case "moved":
      return ExitCode.conflict;
    default:
      return o.error.exitCode;
  }
}
