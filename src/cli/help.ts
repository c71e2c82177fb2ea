import { EXIT_CODE_MEANINGS } from "../errors.js";

/** Words of text in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
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

const MEANING_WIDTH = 94;

/** The exit-code table every --help ends with, from the one list of meanings in errors.ts. */
export const EXIT_CODES_HELP = `Exit codes (the same for every command):\n${Object.entries(EXIT_CODE_MEANINGS)
  .map(([code, meaning]) =>
    wrap(meaning, MEANING_WIDTH)
      .map((l, i) => `${i === 0 ? `  ${code.padEnd(4)}` : "      "}${l}`)
      .join("\n"),
  )
  .join("\n")}`;
