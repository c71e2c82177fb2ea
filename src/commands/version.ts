import type { OutputFormat } from "../cli/app.js";
import type { Context } from "../context.js";
import { renderData } from "../render/data.js";

declare const __BLUEGREEN_VERSION__: string;

/** The plugin's version: set at build time from package.json. */
export const VERSION: string = typeof __BLUEGREEN_VERSION__ === "string" ? __BLUEGREEN_VERSION__ : "0.0.0-dev";

/** version: the plugin's own version; never contacts the cluster. */
export function version(ctx: Context, output: OutputFormat): number {
  const info = { version: `v${VERSION}`, node: ctx.runtime.node, platform: ctx.runtime.platform };
  if (output === "json" || output === "yaml") ctx.io.out(renderData(output, info));
  else ctx.io.out(`kubectl-bluegreen ${info.version} (node ${info.node}, ${info.platform})\n`);
  return 0;
}
