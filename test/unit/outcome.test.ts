import { describe, expect, it } from "vitest";
import { type Cause, type Final, type Outcome, type SwitchBack, exitCodeOf } from "../../src/bluegreen/outcome.js";
import { BlueGreenError, ExitCode } from "../../src/errors.js";

const outcome = (final: Outcome["final"], steps: Outcome["steps"], code?: number, more: Partial<Outcome> = {}): Outcome => ({
  final,
  steps,
  services: [],
  warnings: [],
  error: code === undefined ? undefined : new BlueGreenError("x", code as BlueGreenError["exitCode"]),
  ...more,
});

const SWITCHED: Outcome["steps"] = [{ step: "switch", status: "done", detail: "" }];

describe("exitCodeOf", () => {
  it("is 0 only for a complete switch, and the error's code when traffic is all-old or all-new", () => {
    expect(exitCodeOf(outcome("all-new", SWITCHED))).toBe(0);
    expect(exitCodeOf(outcome("all-old", [{ step: "verify", status: "failed", detail: "" }], ExitCode.verifyFailed))).toBe(6);
    expect(exitCodeOf(outcome("all-new", [{ step: "scale-down", status: "failed", detail: "" }], ExitCode.conflict))).toBe(5);
  });

  it("never says 0 for a switch that did not end all-new", () => {
    for (const final of ["all-old", "split", "unknown"] as const) expect(exitCodeOf(outcome(final, SWITCHED))).toBe(9);
  });

  it("is 9 whenever a switch that wrote ends split or unknown, whatever the error", () => {
    for (const final of ["split", "unknown"] as const) {
      expect(exitCodeOf(outcome(final, [{ step: "switch", status: "undone", detail: "" }], ExitCode.unreachable))).toBe(9);
    }
  });

  it("keeps a refusal's code when nothing was written, even on Services already split", () => {
    expect(exitCodeOf(outcome("split", [{ step: "check", status: "failed", detail: "" }], ExitCode.refused))).toBe(4);
    // A first write the API server refused: nothing landed, so nothing needed switching back.
    expect(exitCodeOf(outcome("split", [{ step: "switch", status: "failed", detail: "" }], ExitCode.conflict, { cause: "write" }))).toBe(5);
  });

  // Every cause × switch-back result × final layout. The only codes that may claim a layout: 6 (all-old, every
  // Service back) and 130 (switched back); 9 whenever the switch-back did not finish or traffic is not on one slot.
  const causes: [Cause, number][] = [
    ["verify", ExitCode.verifyFailed],
    ["check", ExitCode.verifyFailed],
    ["interrupted", ExitCode.interrupted],
    ["write", ExitCode.conflict],
    ["moved", ExitCode.conflict],
  ];
  const finals: Final[] = ["all-old", "all-new", "split", "unknown"];
  const backs: SwitchBack[] = ["complete", "incomplete"];
  const expected = (cause: Cause, causeCode: number, back: SwitchBack, final: Final): number => {
    if (back === "incomplete" || final === "split" || final === "unknown") return 9;
    if (cause === "verify" || cause === "check") return final === "all-old" ? 6 : 5;
    if (cause === "interrupted") return 130;
    if (cause === "moved") return 5;
    return causeCode;
  };
  for (const [cause, causeCode] of causes) {
    for (const back of backs) {
      for (const final of finals) {
        it(`cause ${cause}, switch-back ${back}, traffic ${final} → exit ${expected(cause, causeCode, back, final)}`, () => {
          const o = outcome(final, [{ step: "switch", status: "undone", detail: "" }], causeCode, { cause, switchBack: back });
          const code = exitCodeOf(o);
          expect(code).toBe(expected(cause, causeCode, back, final));
          // The promises the codes make (README "Exit codes"): 6 only with every Service back, all-old.
          if (code === 6) expect([back, final]).toEqual(["complete", "all-old"]);
          if (back === "incomplete") expect(code).toBe(9);
          expect(code).not.toBe(0);
        });
      }
    }
  }

  it("a split that is another command's switch in progress, after someone else took every Service we switched, is 5; any other split 9", () => {
    const moved = (extra: Partial<Outcome>) => exitCodeOf(outcome("split", SWITCHED, ExitCode.conflict, { cause: "moved", switchBack: "complete", ...extra }));
    expect(moved({ otherSwitch: "promote v1 → v2 (switch abc by admin)" })).toBe(5);
    expect(moved({})).toBe(9);
    expect(moved({ otherSwitch: "x", switchBack: "incomplete" })).toBe(9);
    expect(exitCodeOf(outcome("split", SWITCHED, ExitCode.verifyFailed, { cause: "verify", switchBack: "complete", otherSwitch: "x" }))).toBe(9);
  });

  it("a write that failed with an unreachable cluster keeps exit 8 once every Service is back", () => {
    expect(exitCodeOf(outcome("all-old", SWITCHED, ExitCode.unreachable, { cause: "write", switchBack: "complete" }))).toBe(8);
  });
});
