import type { AbortFlags, GlobalOptions } from "../cli/app.js";
import type { Context } from "../context.js";
import { planAbort } from "../bluegreen/plan.js";
import { RefusedError } from "../errors.js";
import { renderPlan } from "../render/plan.js";
import { loadPair, requireWellFormed } from "./common.js";
import { reportNoop, reportSwitch } from "./promote.js";
import { applyWrites, checkTarget, recordEvents, switchAndVerify, waitForTarget } from "./switch.js";

/** abort APP: back to the slot the last promote took traffic from. */
export async function abort(ctx: Context, g: GlobalOptions, f: AbortFlags): Promise<number> {
  const kube = await ctx.kube(g.kube);
  const by = await kube.whoAmI();
  const pair = await loadPair(kube, g.selection);
  requireWellFormed(pair);
  const p = planAbort(pair, { scaleDown: f.scaleDown, by, now: ctx.clock.now() });
  if (p.kind === "refused") throw new RefusedError(`${p.message}; nothing changed.`, "Run kubectl bluegreen status to see the app, or promote --to SLOT to choose explicitly.");
  if (p.kind === "noop") {
    reportNoop(ctx, g, p.message);
    return 0;
  }
  const blockers = p.scaleUp ? [] : await checkTarget(kube, p, p.to.deployment);
  if (f.dryRun) {
    if (g.output !== "json" && g.output !== "yaml") ctx.io.out(renderPlan(p, { dryRun: f.dryRun, verifyTimeoutMs: f.verifyTimeoutMs, blockers }));
    if (blockers.length) throw new RefusedError(`cannot abort app ${p.app}: ${blockers.join("; ")}; nothing changed.`);
    if (f.dryRun === "server") {
      if (p.scaleUp) await kube.scaleDeployment(p.namespace, p.scaleUp.deployment, p.scaleUp.replicas, { dryRun: true });
      await applyWrites(kube, p, true);
      if (p.scaleDown) await kube.scaleDeployment(p.namespace, p.scaleDown.deployment, 0, { dryRun: true });
    }
    reportSwitch(ctx, g, p, `app ${p.app} would go back to ${p.slotLabel}=${p.to.value}; nothing changed`, f.dryRun);
    return 0;
  }
  if (p.scaleUp) {
    await kube.scaleDeployment(p.namespace, p.scaleUp.deployment, p.scaleUp.replicas);
    ctx.io.err(`deployment.apps/${p.scaleUp.deployment} scaled to ${p.scaleUp.replicas}\n`);
    await waitForTarget(ctx, kube, p, f.timeoutMs);
  } else if (blockers.length) {
    throw new RefusedError(
      `cannot abort app ${p.app}: the previous slot is not ready: ${blockers.join("; ")}; nothing changed.`,
      `Check it with kubectl rollout status deployment/${p.to.deployment.metadata.name} -n ${p.namespace}.`,
    );
  }
  await switchAndVerify(ctx, kube, p, f.verifyTimeoutMs);
  await recordEvents(ctx, kube, p);
  if (p.scaleDown) {
    await kube.scaleDeployment(p.namespace, p.scaleDown.deployment, 0);
    ctx.io.err(`deployment.apps/${p.scaleDown.deployment} scaled to 0\n`);
  }
  reportSwitch(ctx, g, p, `app ${p.app} aborted: ${p.slotLabel}=${p.to.value} is live again (was ${p.from.value})`);
  return 0;
}
