import type { GlobalOptions } from "./options.js";
import { requirePermissions } from "./permissions.js";
import { deployNeeds } from "../bluegreen/permissions.js";
import type { EnvChange, ImageChange } from "../bluegreen/deploy.js";
import type { Context } from "../context.js";
import { planDeploy } from "../bluegreen/deploy.js";
import { rolloutStatus } from "../bluegreen/readiness.js";
import { outsideRange } from "../bluegreen/autoscaler.js";
import { plural } from "../bluegreen/plural.js";
import { NotFoundError, RefusedError, UsageError } from "../errors.js";
import { dataFormat, renderData } from "../render/data.js";
import { deployDocument, renderDeployPlan, renderExtraChanges } from "../render/deploy.js";
import { escapeTerminal } from "../render/escape.js";
import { requireWellFormed } from "../bluegreen/pair.js";
import { operationId } from "./operation-id.js";
import { loadPair, slotAutoscaler } from "./load.js";
import { waitForRollout, writeDeploy } from "./slot.js";
import { canPreview, setPreview } from "./preview.js";

/** deploy's own flags. */
export interface DeployFlags {
  images: ImageChange[];
  env: EnvChange[];
  /** --set-label KEY=VALUE, in order (the last of a key wins). */
  labels: { key: string; value: string }[];
  from: "live" | "idle";
  replicas?: number;
  /** --preview-header NAME=VALUE: requests with it go to the idle slot through the app's routes. */
  previewHeader?: { name: string; value: string };
  wait: boolean;
  timeoutMs: number;
  dryRun?: "client" | "server";
}

/** deploy APP --image …: a new version into the idle slot, conditionally, then wait for its rollout. */
export async function deploy(ctx: Context, g: GlobalOptions, f: DeployFlags): Promise<number> {
  const kube = await ctx.kube(g.kube);
  const by = await kube.whoAmI();
  const pair = requireWellFormed(await loadPair(kube, g.selection));
  const services = (await kube.listServices(pair.namespace)).filter((s) => s.metadata.namespace === pair.namespace);
  const plan = planDeploy(pair, services, { images: f.images, env: f.env, labels: f.labels, from: f.from, replicas: f.replicas, by, now: ctx.clock.now(), id: operationId() });
  if (plan.kind === "usage") throw new UsageError(`${plan.message}.`, plan.hint);
  if (plan.kind === "not-found") throw new NotFoundError(`${plan.message}.`, plan.hint);
  if (plan.kind === "refused") throw new RefusedError(`${plan.message}.`, plan.hint);
  if (f.replicas !== undefined) {
    // A count outside the slot's HPA range would not hold: the HPA sets it back within seconds.
    const hpa = await slotAutoscaler(kube, plan.slot.deployment);
    const why = outsideRange(hpa, f.replicas);
    if (hpa && why) {
      throw new RefusedError(
        `will not set deployment/${plan.deployment} to --replicas ${f.replicas}: ${why}; nothing changed.`,
        `Choose a count from ${hpa.min} to ${hpa.max}, or change the HPA's range first (kubectl patch hpa ${hpa.name} -n ${plan.namespace} ...).`,
      );
    }
  }
  // Only routes match headers: know before anything is written.
  const routes = pair.routers.filter((r) => r.role === "live" && canPreview(r.kind));
  if (f.previewHeader && (!routes.length || !pair.routing || pair.routers.some((r) => r.role === "live" && !canPreview(r.kind)))) {
    const other = pair.routers.find((r) => r.role === "live" && !canPreview(r.kind));
    throw new RefusedError(`cannot preview app ${pair.app} by header: ${other?.ref ?? "it has no route"} is not an HTTPRoute or GRPCRoute (only routes can match a header); nothing changed.`, "Deploy without --preview-header.");
  }
  const format = dataFormat(g.output);
  const context = kube.contextName;
  const warnings: string[] = [...plan.notes];
  if (plan.replaces) warnings.push(plan.replaces);
  if (!plan.unchanged) warnings.push(...(await requirePermissions(kube, plan.namespace, deployNeeds([...new Set(plan.routers.map((x) => x.kind))]), `deploy into deployment/${plan.deployment}`)));
  const warn = () => {
    for (const w of warnings.splice(0)) ctx.io.err(`warning: ${escapeTerminal(w)}\n`);
  };
  // Before anything is written, so a CI job's log shows what else the live slot's template brings.
  const extra = renderExtraChanges(plan);
  if (extra) ctx.io.err(extra);
  if (f.dryRun) {
    warn();
    if (f.dryRun === "server" && !plan.unchanged) await kube.patchDeployment(plan.namespace, plan.deployment, plan.patch, { dryRun: true });
    ctx.io.out(format ? renderData(format, deployDocument(plan, context, "would-be-deployed", f.dryRun)) : renderDeployPlan(plan, context, f));
    return 0;
  }
  const unchanged = plan.unchanged;
  let written = plan.slot.deployment;
  if (!unchanged) {
    written = await writeDeploy(ctx, kube, plan, warnings);
    warn();
    ctx.io.err(`deployment.apps/${plan.deployment} updated\n`);
  }
  let rollout = rolloutStatus(written);
  if (f.wait) {
    const generation = written.metadata.generation;
    rollout = rolloutStatus(await waitForRollout(ctx, kube, plan.namespace, plan.deployment, f.timeoutMs, generation));
  }
  warn();
  if (f.previewHeader && pair.routing) {
    const lines = await setPreview(ctx, kube, plan.namespace, pair.routing, routes, { slot: plan.slot.value, header: f.previewHeader });
    for (const l of lines) ctx.io.err(`${escapeTerminal(l)}\n`);
  }
  const result = unchanged ? "unchanged" : "deployed";
  if (format) {
    ctx.io.out(renderData(format, deployDocument(plan, context, result, undefined, rollout)));
    return 0;
  }
  const where = `${context ? `context ${context}` : "no context"}, namespace ${plan.namespace}`;
  const lines = unchanged
    ? [`deployment.apps/${plan.deployment} unchanged: it already runs ${plan.record.images.join(", ")} with ${plural(plan.replicas, "replica")}`]
    : [...plan.changes, ...plan.extraChanges.map((c) => `${c} (from the live slot's template)`)].map((c) => `deployment.apps/${plan.deployment} ${c}`);
  const state = f.wait ? "rolled out" : "written (not waited for)";
  lines.push(
    `app ${plan.app}: ${plan.slotLabel}=${plan.slot.value} (idle) ${state} with ${plan.record.images.join(", ")}; ${plan.slotLabel}=${plan.live.value} stays live; ${where}`,
  );
  for (const l of lines) ctx.io.out(`${escapeTerminal(l)}\n`);
  return 0;
}
