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

/** Where traffic is at the end, by what every Service of the plan was last read (or written) to select. */
export type Final = "all-new" | "all-old" | "split" | "unknown";

/** What a switch did: the step results, each Service's slot at the end, and the failure that stopped it. */
export interface Outcome {
  final: Final;
  steps: StepResult[];
  services: { name: string; role: "live" | "preview"; slot?: string }[];
  /** Set when the switch did not complete; its exit code is honest about `final` (see exitCodeOf). */
  error?: BlueGreenError;
  /** Things done that the user should know about, printed to stderr (a missing Event, a skipped scale-down). */
  warnings: string[];
}

/**
 * The exit code of an Outcome: 0 only when the switch is complete; 9 whenever a switch that wrote left traffic
 * neither all-old nor all-new. A refusal before any write keeps its own code (nothing changed), even when the
 * Services were already split by an earlier, interrupted switch.
 */
export function exitCodeOf(o: Outcome): number {
  const wrote = o.steps.some((s) => s.step === "switch" && s.status !== "failed");
  if (wrote && (o.final === "split" || o.final === "unknown")) return ExitCode.split;
  return o.error?.exitCode ?? ExitCode.ok;
}

