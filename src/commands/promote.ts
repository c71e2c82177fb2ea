import type { GlobalOptions } from "./options.js";
import type { Checks } from "../bluegreen/checks.js";
import type { Context } from "../context.js";
import { type SwitchPlan, planPromote } from "../bluegreen/plan.js";
import { NotFoundError, RefusedError } from "../errors.js";
import type { KubeClient } from "../kube/types.js";
import { reportNoop, runSwitch } from "./report.js";
import { requireWellFormed } from "../bluegreen/pair.js";
import { operationId } from "./operation-id.js";
import { loadPair, loadReplicaSets, slotAutoscaler } from "./load.js";
import { checkTarget, waitForTarget } from "./execute.js";
import { autoscalerText } from "../bluegreen/autoscaler.js";
import { nameOf } from "../bluegreen/model.js";
import { plural } from "../bluegreen/plural.js";
import { replicaCounts } from "../bluegreen/readiness.js";

/** promote's own flags. */
export interface PromoteFlags {
  to?: string;
  minReady?: number;
  wait: boolean;
  timeoutMs: number;
  verifyTimeoutMs: number;
  /** How long kube-proxy and load balancers get to apply the endpoints once they follow. */
  propagationDelayMs: number;
  dryRun?: "client" | "server";
  checks: Checks;
  /** --scale-up: bring the idle slot to the live slot's replicas before the preflight. */
  scaleUp: boolean;
  /** --scale-down-after: retire the old slot this long after a verified, checked switch. */
  scaleDownAfterMs?: number;
  /** --steps and --step-pause: promote in weighted steps. */
  canary?: { steps?: number[]; pause?: number | "manual" };
  /** --preview-header NAME=VALUE. */
  previewHeader?: { name: string; value: string };
}

/** Plans promote of the app g selects: the plan, or why nothing needs doing; throws a refusal. */
export async function planPromoteApp(ctx: Context, kube: KubeClient, g: GlobalOptions, f: PromoteFlags, who: Promise<string>, id: string): Promise<SwitchPlan | string> {
  // The reads at once: the pair, the ReplicaSets (of the same namespace and selector) and who we are.
  const [found, replicaSets, by] = await Promise.all([loadPair(kube, g.selection), loadReplicaSets(kube, g.selection, kube.namespace), who]);
  const pair = requireWellFormed(found);
  const p = planPromote(pair, {
    to: f.to,
    minReady: f.minReady,
    by,
    now: ctx.clock.now(),
    id,
    replicaSets,
    checks: f.checks,
    scaleUp: f.scaleUp,
    scaleDownAfterMs: f.scaleDownAfterMs,
    canary: f.canary,
    previewHeader: f.previewHeader,
  });
  if (p.kind === "unknown-slot") throw new NotFoundError(`${p.message}.`, "Name one of the app's slots with --to.");
  if (p.kind === "refused") throw new RefusedError(`${p.message}.`, p.hint);
  return p.kind === "noop" ? p.message : p;
}

/** promote APP: preflight, switch, verify, record — or finish an interrupted switch. */
export async function promote(ctx: Context, g: GlobalOptions, f: PromoteFlags): Promise<number> {
  const kube = await ctx.kube(g.kube);
  const by = kube.whoAmI();
  const id = operationId();
  let p = await planPromoteApp(ctx, kube, g, f, by, id);
  if (typeof p === "string") return reportNoop(ctx, g, p);
  // A plan that scales the target up waits for it itself.
  const scales = p.steps.some((s) => s.kind === "scale-up");
  await refuseCappedByAutoscaler(kube, p);
  if (f.wait && !f.dryRun && !scales && (await checkTarget(kube, p, p.to.deployment)).length) {
    await waitForTarget(ctx, kube, p, f.timeoutMs);
    // Plan again on fresh objects: the Services may have changed while we waited.
    p = await planPromoteApp(ctx, kube, g, f, by, id);
    if (typeof p === "string") return reportNoop(ctx, g, p);
  }
  return runSwitch(ctx, g, kube, p, f);
}

/**
 * A target whose HPA keeps it below what the switch needs: --scale-up to more would be cut back after the switch,
 * and without it the capacity check would refuse naming --scale-up. Refuse first, naming the HPA. Looked up only
 * when the target runs fewer replicas than needed (a cheap test, so most promotes send no extra request).
 */
export async function refuseCappedByAutoscaler(kube: KubeClient, p: SwitchPlan): Promise<void> {
  const step = p.steps.find((s) => s.kind === "scale-up");
  const want = step?.kind === "scale-up" ? step.replicas : p.minAvailable;
  if (replicaCounts(p.to.deployment).desired >= want) return;
  const hpa = await slotAutoscaler(kube, p.to.deployment);
  if (!hpa || want <= hpa.max) return;
  const name = nameOf(p.to.deployment);
  const raise = `Raise the HPA's maxReplicas to ${want} first (kubectl patch hpa ${hpa.name} -n ${p.namespace} -p '{"spec":{"maxReplicas":${want}}}')`;
  if (step?.kind === "scale-up") {
    throw new RefusedError(
      `cannot promote app ${p.app} with --scale-up: deployment/${name} would be scaled to ${want}, but ${autoscalerText(hpa)} would cut it back to ${hpa.max} after the switch; nothing changed.`,
      `${raise}, or promote without --scale-up and with --min-ready ${hpa.max}.`,
    );
  }
  throw new RefusedError(
    `cannot promote app ${p.app}: ${autoscalerText(hpa)} keeps deployment/${name} at ${plural(hpa.max, "replica")} at most, and ${want} are needed; nothing changed.`,
    `${raise}, or accept fewer with --min-ready ${hpa.max}.`,
  );
}
