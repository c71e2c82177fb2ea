import { dump } from "js-yaml";

// JSON.stringify escapes only U+0000–U+001F; DEL and the C1 controls (U+009B is a one-character
// CSI) would reach the terminal raw. They only occur inside strings, where \uXXXX means the same.
const DEL_AND_C1 = /[\u007f-\u009f]/g;

type DataFormat = "json" | "yaml";

/** The document format -o asks for (json, yaml); undefined for the human-readable output. */
export const dataFormat = (output: string | undefined): DataFormat | undefined => (output === "json" || output === "yaml" ? output : undefined);

/** Machine-readable output: stable JSON (two-space indent) or YAML; control characters only as escapes. */
export function renderData(format: DataFormat, data: unknown): string {
  if (format === "json") {
    const json = JSON.stringify(data, null, 2).replace(DEL_AND_C1, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    return `${json}\n`;
  }
  return dump(JSON.parse(JSON.stringify(data)), { noRefs: true, lineWidth: -1, sortKeys: false });
}
