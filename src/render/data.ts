import { dump } from "js-yaml";

/** Machine-readable output: stable JSON (two-space indent) or YAML. */
export function renderData(format: "json" | "yaml", data: unknown): string {
  if (format === "json") return `${JSON.stringify(data, null, 2)}\n`;
  return dump(JSON.parse(JSON.stringify(data)), { noRefs: true, lineWidth: -1, sortKeys: false });
}
