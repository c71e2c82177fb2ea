import { UsageError } from "../errors.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a kubectl-style duration ("30s", "2m", "1h30m", "500ms"; a bare number is seconds) into milliseconds. */
export function parseDuration(flag: string, value: string | number): number {
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length) {
    throw new UsageError(`invalid duration for --${flag}: "${text}" (use for example 30s, 2m or 1h).`);
  }
  return Math.round(total);
}
