import { describe, expect, it } from "vitest";
import { type Outcome, exitCodeOf } from "../../src/bluegreen/outcome.js";
import { BlueGreenError, ExitCode } from "../../src/errors.js";

const outcome = (final: Outcome["final"], steps: Outcome["steps"], code?: number): Outcome => ({
  final,
  steps,
  services: [],
  warnings: [],
  error: code === undefined ? undefined : new BlueGreenError("x", code as BlueGreenError["exitCode"]),
});

describe("exitCodeOf", () => {
  it("is 0 only for a complete switch, and the error's code when traffic is all-old or all-new", () => {
    expect(exitCodeOf(outcome("all-new", [{ step: "switch", status: "done", detail: "" }]))).toBe(0);
    expect(exitCodeOf(outcome("all-old", [{ step: "verify", status: "failed", detail: "" }], ExitCode.verifyFailed))).toBe(6);
    expect(exitCodeOf(outcome("all-new", [{ step: "scale-down", status: "failed", detail: "" }], ExitCode.conflict))).toBe(5);
  });

  it("is 9 whenever a switch that wrote ends split or unknown, whatever the error", () => {
    for (const final of ["split", "unknown"] as const) {
      expect(exitCodeOf(outcome(final, [{ step: "switch", status: "undone", detail: "" }], ExitCode.unreachable))).toBe(9);
    }
  });

  it("keeps a refusal's code when nothing was written, even on Services already split", () => {
    expect(exitCodeOf(outcome("split", [{ step: "check", status: "failed", detail: "" }], ExitCode.refused))).toBe(4);
  });
});
