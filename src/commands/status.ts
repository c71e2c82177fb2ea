import type { GlobalOptions } from "../cli/app.js";
import type { Context } from "../context.js";
import { type AppStatus, appStatus, needsAttention } from "../bluegreen/verdict.js";
import type { KubeClient } from "../kube/types.js";
import { renderData } from "../render/data.js";
import { renderAppScreen, renderAppTable, statusDocument } from "../render/status.js";
import { loadPairs, loadReplicaSets, notFound } from "./common.js";

async function collect(kube: KubeClient, g: GlobalOptions): Promise<AppStatus[]> {
  const [pairs, replicaSets] = await Promise.all([
    loadPairs(kube, g.selection),
    loadReplicaSets(kube, g.selection, g.selection.allNamespaces ? undefined : kube.namespace),
  ]);
  if (pairs.length === 0 && (g.selection.app !== undefined || g.selection.selector !== undefined)) throw await notFound(kube, g.selection);
  return pairs.map((p) => appStatus(p, replicaSets));
}

function render(ctx: Context, g: GlobalOptions, list: AppStatus[]): string {
  if (g.output === "json" || g.output === "yaml") return renderData(g.output, statusDocument(list));
  const o = {
    now: ctx.clock.now(),
    wide: g.output === "wide",
    noHeaders: g.noHeaders,
    color: ctx.io.color,
    namespaces: g.selection.allNamespaces,
  };
  const single = g.selection.app !== undefined || g.selection.selector !== undefined;
  if (single) return list.map((s) => renderAppScreen(s, o)).join("\n");
  return renderAppTable(list, o);
}

/** status [APP]: both slots, what is live, and a verdict; exit 1 when an app needs attention. */
export async function status(ctx: Context, g: GlobalOptions, watch: boolean): Promise<number> {
  const kube = await ctx.kube(g.kube);
  let list = await collect(kube, g);
  let last = render(ctx, g, list);
  if (list.length === 0 && g.output !== "json" && g.output !== "yaml") {
    ctx.io.err(`No blue/green apps (Deployments with label ${g.selection.appLabel}) found in ${g.selection.allNamespaces ? "any namespace" : `namespace ${kube.namespace}`}.\n`);
  } else {
    ctx.io.out(last);
  }
  while (watch && !ctx.signal.aborted) {
    await ctx.clock.sleep(2000, ctx.signal);
    if (ctx.signal.aborted) break;
    list = await collect(kube, g);
    const text = render(ctx, g, list);
    if (text !== last) {
      ctx.io.out(`\n${text}`);
      last = text;
    }
  }
  return list.some(needsAttention) ? 1 : 0;
}
