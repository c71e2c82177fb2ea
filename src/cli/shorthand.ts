// kubectl's short-flag syntax (spf13/pflag's), spelled out word by word for the parser in app.ts. pflag reads a word `-abc` letter by letter: a boolean (or
// counting) flag is set and the next letter goes on; a flag that takes a value takes the rest of the word
// (`-owide`, `-lapp=web`), a leading `=` dropped when something follows it (`-o=json`), or else the next
// word (`-o json`); `-x=VALUE` gives a boolean its value (`-A=false`).
import { FLAG_SPELLINGS, VALUE_FLAGS } from "../commands/flags.js";

type ShortKind = "value" | "boolean" | "count";

/** Every short flag by its letter, and how it reads what follows it; -h is help. */
const SHORT_FLAGS: ReadonlyMap<string, ShortKind> = new Map([
  ["h", "boolean"],
  ...[...FLAG_SPELLINGS]
    .filter(([spelling]) => /^-[^-]$/.test(spelling))
    .map(([spelling, spec]) => [spelling.slice(1), spec.type === "string" ? "value" : spec.type] as const),
]);

/** One word of short flags as separate words (`-Aowide` → `-A`, `-o=wide`); undefined for an unknown letter. */
function splitWord(word: string): string[] | undefined {
  const out: string[] = [];
  let rest = word.slice(1);
  while (rest) {
    const letter = rest.charAt(0);
    const kind = SHORT_FLAGS.get(letter);
    if (!kind) return undefined;
    const after = rest.slice(1);
    if (after.length > 1 && after.startsWith("=")) return [...out, `-${letter}${after}`];
    // kubectl's -v is a level (-v6); here any level, or -v repeated, turns tracing on.
    if (kind === "value" || (kind === "count" && /^\d+$/.test(after))) return [...out, after ? `-${letter}=${after}` : `-${letter}`];
    out.push(`-${letter}`);
    rest = after;
  }
  return out;
}

/**
 * The command line with every word of short flags split into one word per flag, each value attached
 * with `=`. Words after `--`, words that are a flag's value, and words with a letter no flag has are left as
 * they are, for the parser and its complaints.
 */
export function splitShortFlags(argv: string[]): string[] {
  const out: string[] = [];
  let valueNext = false;
  for (const [i, word] of argv.entries()) {
    if (word === "--") return [...out, ...argv.slice(i)];
    const split: string[] | undefined = !valueNext && /^-[^-]/.test(word) ? splitWord(word) : undefined;
    const words: string[] = split ?? [word];
    out.push(...words);
    valueNext = !valueNext && VALUE_FLAGS.has(words.at(-1) ?? "");
  }
  return out;
}
