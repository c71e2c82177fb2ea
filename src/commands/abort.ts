import type { GlobalOptions } from "./options.js";
import type { Checks } from "../bluegreen/checks.js";
import type { Context } from "../context.js";
import { type SwitchPlan, planAbort } from "../bluegreen/plan.js";
import type { KubeClient } from "../kube/types.js";
import { RefusedError } from "../errors.js";
import { reportNoop, runSwitch } from "./report.js";
import { requireWellFormed } from "../bluegreen/pair.js";
import { operationId } from "./operation-id.js";
import { loadPair, slotAutoscaler } from "./load.js";
import { outsideRange } from "../bluegreen/autoscaler.js";
import { escapeTerminal } from "../render/escape.js";

/** abort's own flags. */
export interface AbortFlags {
  scaleDown: boolean;
  /** How long after the switch back the aborted slot is scaled down (proxies and load balancers lag). */
  scaleDownDelayMs: number;
  timeoutMs: number;
  verifyTimeoutMs: number;
  /** How long kube-proxy and load balancers get to apply the endpoints once they follow. */
  propagationDelayMs: number;
  dryRun?: "client" | "server";
  checks: Checks;
}

/** Plans abort of the app g selects: the plan, or why nothing needs doing; throws a refusal. */
export async function planAbortApp(ctx: Context, kube: KubeClient, g: GlobalOptions, f: AbortFlags, who: Promise<string>, id: string): Promise<SwitchPlan | string> {
  const [by, found] = await Promise.all([who, loadPair(kube, g.selection)]);
  const pair = requireWellFormed(found);
  const p = planAbort(pair, { scaleDown: f.scaleDown, scaleDownDelayMs: f.scaleDownDelayMs, by, now: ctx.clock.now(), id, checks: f.checks });
  if (p.kind === "refused") throw new RefusedError(`${p.message}.`, p.hint);
  if (p.kind === "noop") return p.message;
  // Scaling a scaled-down slot back outside its HPA's range does not hold; the slot still serves, so say so only.
  const back = p.steps.find((s) => s.kind === "scale-up");
  if (back?.kind === "scale-up") {
    const why = outsideRange(await slotAutoscaler(kube, p.to.deployment), back.replicas);
    if (why) ctx.io.err(`warning: ${escapeTerminal(`deployment/${back.deployment} is scaled back to ${back.replicas}, but ${why}`)}\n`);
  }
  return p;
}

/** abort APP: back to the slot the last promote took traffic from, or back from an interrupted switch. */
export async function abort(ctx: Context, g: GlobalOptions, f: AbortFlags): Promise<number> {
  const kube = await ctx.kube(g.kube);
  const p = await planAbortApp(ctx, kube, g, f, kube.whoAmI(), operationId());
  if (typeof p === "string") return reportNoop(ctx, g, p);
  return runSwitch(ctx, g, kube, p, f);
}
