// The few characters outside ASCII that our own text uses, and their ASCII spellings for a terminal whose
// locale is not UTF-8 (where "→" would print as "â\u0086\u0092" or "?").

/** Each non-ASCII character our text uses, spelled in ASCII. test/unit/wording.test.ts checks none is missing. */
const ASCII_SPELLINGS: Readonly<Record<string, string>> = { "→": "->", "…": "...", "—": "--", "–": "-" };
const GLYPH = new RegExp(`[${Object.keys(ASCII_SPELLINGS).join("")}]`, "g");

/**
 * The locale's character set is UTF-8: the first of LC_ALL, LC_CTYPE and LANG that is set and not empty
 * (the one POSIX goes by) names UTF-8 ("UTF-8" or "utf8", any case). None set, as on Windows: not UTF-8.
 */
export function utf8Locale(env: Readonly<Record<string, string | undefined>>): boolean {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || "";
  return /utf-?8/i.test(locale);
}

/** Text with our arrows, ellipses and dashes in ASCII ("→" is "->"). */
export const asciiGlyphs = (text: string): string => text.replace(GLYPH, (c) => ASCII_SPELLINGS[c] ?? c);
