import Table from "cli-table3";
import { escapeTerminal } from "./escape.js";

const NO_BORDER = {
  top: "", "top-mid": "", "top-left": "", "top-right": "",
  bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "   ",
};

/** A cell our own code has coloured: printed as it is (escape what it quotes before colouring). */
export interface StyledCell {
  readonly styled: string;
}

/** A table cell: text (control characters are escaped) or our own coloured text. */
export type Cell = string | StyledCell;

/** Marks text coloured by us, so the table does not escape its colour codes. */
export const styled = (text: string): StyledCell => ({ styled: text });

const cellText = (c: Cell): string => (typeof c === "string" ? escapeTerminal(c) : c.styled);

/** A kubectl-style table: upper-case headers, columns separated by three spaces, no borders. */
export function table(headers: string[], rows: Cell[][], opts: { noHeaders?: boolean } = {}): string {
  if (rows.length === 0 && opts.noHeaders) return "";
  const t = new Table({
    chars: NO_BORDER,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
    head: opts.noHeaders ? [] : headers,
  });
  t.push(...rows.map((r) => r.map(cellText)));
  return `${t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")}\n`;
}
