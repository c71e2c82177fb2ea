import { escapeTerminal } from "./escape.js";
import textWidth from "./text-width.js";

/** A cell our own code has coloured: printed as it is (escape what it quotes before colouring). */
interface StyledCell {
  readonly styled: string;
}

/** A table cell: text (control characters are escaped) or our own coloured text. */
type Cell = string | StyledCell;

/** Marks text coloured by us, so the table does not escape its colour codes. */
export const styled = (text: string): StyledCell => ({ styled: text });

const cellText = (c: Cell): string => (typeof c === "string" ? escapeTerminal(c) : c.styled);

/** A kubectl-style table: upper-case headers, columns separated by three spaces, no borders. */
export function table(headers: string[], rows: Cell[][], opts: { noHeaders?: boolean } = {}): string {
  if (rows.length === 0 && opts.noHeaders) return "";
  const lines = [...(opts.noHeaders ? [] : [headers]), ...rows.map((r) => r.map(cellText))].map((l) => l.map((text) => ({ text, width: textWidth(text) })));
  const widths: number[] = [];
  for (const l of lines) {
    for (const [i, c] of l.entries()) widths[i] = Math.max(widths[i] ?? 0, c.width);
  }
  return `${lines.map((l) => l.map((c, i) => c.text + " ".repeat((widths[i] ?? 0) - c.width)).join("   ").trimEnd()).join("\n")}\n`;
}
