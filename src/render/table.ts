import Table from "cli-table3";

const NO_BORDER = {
  top: "", "top-mid": "", "top-left": "", "top-right": "",
  bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "   ",
};

/** A kubectl-style table: upper-case headers, columns separated by three spaces, no borders. */
export function table(headers: string[], rows: string[][], opts: { noHeaders?: boolean } = {}): string {
  if (rows.length === 0 && opts.noHeaders) return "";
  const t = new Table({
    chars: NO_BORDER,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
    head: opts.noHeaders ? [] : headers,
  });
  t.push(...rows);
  return `${t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")}\n`;
}
