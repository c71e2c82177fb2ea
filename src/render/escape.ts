// Terminal safety (CVE-2021-25743): strings from the cluster (names, images, annotations, API error
// text) may hold control characters that move the cursor, recolour, retitle or clear a terminal.
// kubectl escapes ESC as "^[" and CR as "\r" (k8s.io/cli-runtime/pkg/printers/terminal.go); we do the
// same and also make every other C0 control, DEL and the C1 controls (U+0080–U+009F; U+009B is a
// one-character CSI) visible. Human output only: JSON and YAML escape these themselves.

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

const NAMED: Record<string, string> = { "\u001b": "^[", "\r": "\\r", "\n": "\\n", "\t": "\\t" };

const hex = (c: string) => c.charCodeAt(0).toString(16).padStart(2, "0");

/**
 * The string with every control character made visible: ESC → `^[`, CR → `\r`, LF → `\n`,
 * TAB → `\t`, other C0 and DEL → `\xHH`, C1 → `\u00HH`. The result is one line with no control
 * characters (not reversible: a backslash in the input stays as it is).
 */
export function escapeTerminal(s: string): string {
  return s.replace(CONTROL, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x80 ? `\\x${hex(c)}` : `\\u00${hex(c)}`));
}
