// The steps of a promote in weighted steps (--steps): percentages to the new slot. Shared by the command line
// and the record, and light enough for --help to load.

/** The longest --step-pause, and the most steps a canary may have. */
export const MAX_STEP_PAUSE_MS = 24 * 3600_000;
export const MAX_STEPS = 20;

/** Why a list of canary steps cannot be used ("" when it can): percentages 1..100, increasing, the last 100. */
export function stepsProblem(steps: unknown): string {
  if (!Array.isArray(steps) || steps.length === 0) return "no steps";
  if (steps.length > MAX_STEPS) return `more than ${MAX_STEPS} steps`;
  for (const [i, p] of steps.entries()) {
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 100) return `${JSON.stringify(p)} is not a whole percentage from 1 to 100`;
    if (i > 0 && p <= (steps[i - 1] as number)) return `${p} does not come after ${steps[i - 1]}: the steps must increase`;
  }
  if (steps.at(-1) !== 100) return "the last step must be 100";
  return "";
}
