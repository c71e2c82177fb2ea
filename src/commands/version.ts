import type { OutputFormat } from "./options.js";
import type { Context } from "../context.js";
import { dataFormat, renderData } from "../render/data.js";

declare const __BLUEGREEN_VERSION__: string;

/** The plugin's version: set at build time from package.json. */
const VERSION: string = typeof __BLUEGREEN_VERSION__ === "string" ? __BLUEGREEN_VERSION__ : "0.0.0-dev";

/** version: the plugin's own version; never contacts the cluster. */
export function version(ctx: Context, output: OutputFormat): number {
  const info = { version: `v${VERSION}`, node: ctx.runtime.node, platform: ctx.runtime.platform };
  const format = dataFormat(output);
  if (format) ctx.io.out(renderData(format, info));
  else ctx.io.out(`kubectl-bluegreen ${info.version} (node ${info.node}, ${info.platform})\n`);
  return 0;
}
