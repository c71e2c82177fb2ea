import type { AbortFlags, GlobalOptions } from "../cli/app.js";
import type { Context } from "../context.js";
import { planAbort } from "../bluegreen/plan.js";
import { RefusedError } from "../errors.js";
import { reportNoop, reportOutcome, reportPlan } from "./report.js";
import { loadPair, operationId, requireWellFormed } from "./common.js";
import { checkTarget, dryRunWrites, execute, refusal } from "./execute.js";

/** abort APP: back to the slot the last promote took traffic from, or back from an interrupted switch. */
export async function abort(ctx: Context, g: GlobalOptions, f: AbortFlags): Promise<number> {
  const kube = await ctx.kube(g.kube);
  const by = await kube.whoAmI();
  const pair = await loadPair(kube, g.selection);
  requireWellFormed(pair);
  const p = planAbort(pair, { scaleDown: f.scaleDown, scaleDownDelayMs: f.scaleDownDelayMs, by, now: ctx.clock.now(), id: operationId() });
  if (p.kind === "refused") throw new RefusedError(`${p.message}.`, p.hint);
  if (p.kind === "noop") return reportNoop(ctx, g, p.message);
  if (f.dryRun) {
    const scaled = p.steps.some((s) => s.kind === "scale-up");
    const blockers = scaled ? [] : await checkTarget(kube, p, p.to.deployment);
    reportPlan(ctx, g, kube.contextName, p, { dryRun: f.dryRun, verifyTimeoutMs: f.verifyTimeoutMs, waitTimeoutMs: f.timeoutMs, blockers });
    if (blockers.length) throw refusal(p, blockers);
    if (f.dryRun === "server") await dryRunWrites(kube, p);
    return reportOutcome(ctx, g, kube.contextName, p, undefined, f.dryRun);
  }
  const outcome = await execute(ctx, kube, p, { verifyTimeoutMs: f.verifyTimeoutMs, waitTimeoutMs: f.timeoutMs });
  return reportOutcome(ctx, g, kube.contextName, p, outcome);
}
