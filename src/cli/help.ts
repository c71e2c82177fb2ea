import { EXIT_CODE_MEANINGS } from "../errors.js";

/** Words of text in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return line ? [...lines, line] : lines;
}

/** Text wrapped to the help's width, never narrower than this. */
const MIN_TEXT_WIDTH = 30;

/** One example in a command's --help: a command line to copy, and what it does. */
export interface Example {
  command: string;
  describe?: string;
}

/** The exit-code table every --help ends with, from the one list of meanings in errors.ts, wrapped to `width`. */
export function exitCodesHelp(width: number): string {
  const text = Math.max(width - 6, MIN_TEXT_WIDTH);
  return `Exit codes (the same for every command):\n${Object.entries(EXIT_CODE_MEANINGS)
    .map(([code, meaning]) =>
      wrap(meaning, text)
        .map((l, i) => `${i === 0 ? `  ${code.padEnd(4)}` : "      "}${l}`)
        .join("\n"),
    )
    .join("\n")}`;
}

/**
 * What a --help ends with, after its flags: examples as kubectl prints them (a `#` comment, then the
 * command line whole on a line of its own at any width, so it copies into a shell as it is), notes, and
 * the exit codes; everything but the command lines wrapped to `width`.
 */
export function helpFooter(o: { examples: readonly Example[]; notes?: readonly string[]; exitCodes: boolean }, width: number): string {
  const text = Math.max(width - 4, MIN_TEXT_WIDTH);
  const examples = o.examples.map((e) => [...(e.describe ? wrap(e.describe, text).map((l) => `  # ${l}`) : []), `  ${e.command}`].join("\n"));
  const sections = [
    ...(examples.length ? [`Examples:\n${examples.join(o.examples.some((e) => e.describe) ? "\n\n" : "\n")}`] : []),
    ...(o.notes ?? []).map((n) => wrap(n, Math.max(width, MIN_TEXT_WIDTH)).join("\n")),
    ...(o.exitCodes ? [exitCodesHelp(width)] : []),
  ];
  return sections.join("\n\n");
}
