// The width of a text on a terminal, for the plugin's tables and help (string-width's Intl.Segmenter and emoji
// regex cost tens of milliseconds at first use). The texts are the plugin's own and Kubernetes names: ANSI colour,
// ASCII, a few symbols (→ …); this counts what they hold exactly and East Asian wide characters as 2.

// CSI and OSC escape sequences (colour, hyperlinks).
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what it removes.
const ANSI = /\u001B\[[0-?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)/g;
const ZERO = /[\p{M}\p{Cc}\p{Cf}]/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function wide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

export default function textWidth(text: string): number {
  if (typeof text !== "string" || text.length === 0) return 0;
  // Printable ASCII, most of what is measured, is one column a character; the Unicode classes are only compiled
  // for a text that needs them.
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = 0;
  for (const ch of text.replace(ANSI, "")) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x20 && cp < 0x7f) {
      width += 1;
      continue;
    }
    if (ZERO.test(ch)) continue;
    width += wide(cp) ? 2 : 1;
  }
  return width;
}
