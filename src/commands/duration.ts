import { UsageError } from "../errors.js";
import { formatDuration } from "../render/time.js";

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** The longest wait a Node.js timer can hold (2^31-1 ms, about 24.8 days); longer ones would fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Parses a kubectl-style duration ("30s", "2m", "1h30m", "500ms"; a bare number is seconds) into milliseconds. */
export function parseDuration(flag: string, value: string | number): number {
  const text = String(value).trim();
  let total: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    total = Number(text) * 1000;
  } else {
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
    total = 0;
    let matched = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      total += Number(m[1]) * UNITS[m[2] as keyof typeof UNITS];
      matched = re.lastIndex;
    }
    if (matched === 0 || matched !== text.length) {
      throw new UsageError(`invalid duration for --${flag}: "${text}" (use for example 30s, 2m or 1h).`);
    }
  }
  const ms = Math.round(total);
  // Timers fire at once beyond MAX_DURATION_MS (with a warning): refuse rather than not wait at all.
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_DURATION_MS) {
    throw new UsageError(`invalid duration for --${flag}: "${text}" is longer than the maximum, ${formatDuration(MAX_DURATION_MS)}.`);
  }
  return ms;
}
