import type { GlobalOptions } from "./options.js";
import { requirePermissions } from "./permissions.js";
import { scaleDownNeeds } from "../bluegreen/permissions.js";
import type { Context } from "../context.js";
import { planScaleDown } from "../bluegreen/plan.js";
import { nameOf } from "../bluegreen/model.js";
import { formatSelector, idleSelectors, requireWellFormed, selects, templateLabels } from "../bluegreen/pair.js";
import { plural } from "../bluegreen/plural.js";
import { replicaCounts } from "../bluegreen/readiness.js";
import { formatDuration } from "../render/time.js";
import { BlueGreenError, ConflictError, ExitCode, RefusedError } from "../errors.js";
import { dataFormat, renderData } from "../render/data.js";
import { escapeTerminal } from "../render/escape.js";
import { operationId } from "./operation-id.js";
import { loadPair } from "./load.js";
import { reportNoop } from "./report.js";
import { retireSlot } from "./slot.js";

/** scale-down's own flags. */
export interface ScaleDownFlags {
  delayMs: number;
  dryRun?: "client" | "server";
}

/** scale-down APP: the slot the last switch took traffic from, to 0 replicas, once no Service selects it. */
export async function scaleDown(ctx: Context, g: GlobalOptions, f: ScaleDownFlags): Promise<number> {
  const kube = await ctx.kube(g.kube);
  const by = await kube.whoAmI();
  const pair = requireWellFormed(await loadPair(kube, g.selection));
  const plan = planScaleDown(pair, { now: ctx.clock.now(), delayMs: f.delayMs });
  if (plan.kind === "refused") throw new RefusedError(`${plan.message}.`, plan.hint);
  if (plan.kind === "noop") return reportNoop(ctx, g, plan.message);
  const name = nameOf(plan.slot.deployment);
  // Refuse up front (exit 4) while a Service other than the app's previews (and slot Services) selects the slot;
  // retireSlot checks again, and checks the live routers.
  const services = (await kube.listServices(plan.namespace)).filter((s) => s.metadata.namespace === plan.namespace);
  const mayselect = idleSelectors(plan.routers, plan.routing);
  const user = services.find((s) => !mayselect.has(nameOf(s)) && selects(s.spec?.selector, templateLabels(plan.slot.deployment)));
  if (user) {
    throw new RefusedError(
      `will not scale down deployment/${name}: service/${nameOf(user)} selects its pods (${formatSelector(user.spec?.selector ?? {})}); nothing changed.`,
      `Point service/${nameOf(user)} elsewhere first, or check with kubectl bluegreen status ${plan.app}.`,
    );
  }
  const allowed = await requirePermissions(kube, plan.namespace, scaleDownNeeds([...new Set(plan.routers.filter((x) => x.role === "live").map((x) => x.kind))]), `scale down deployment/${name}`);
  for (const w of allowed) ctx.io.err(`warning: ${escapeTerminal(w)}\n`);
  const replicas = replicaCounts(plan.slot.deployment).desired;
  const format = dataFormat(g.output);
  const where = `${kube.contextName ? `context ${kube.contextName}` : "no context"}, namespace ${plan.namespace}`;
  const doc = (result: string) => ({
    kind: "BlueGreenScaleDown",
    apiVersion: "kubectl-bluegreen/v1",
    app: plan.app,
    namespace: plan.namespace,
    context: kube.contextName,
    slotLabel: plan.slotLabel,
    slot: plan.slot.value,
    deployment: name,
    replicas: { from: replicas, to: 0 },
    delayMs: plan.delayMs,
    lastSwitch: plan.record,
    result,
    dryRun: f.dryRun ?? null,
  });
  if (f.dryRun) {
    if (f.dryRun === "server") await kube.patchDeployment(plan.namespace, name, { spec: { replicas: 0 } }, { dryRun: true });
    if (format) ctx.io.out(renderData(format, doc("would-be-scaled-down")));
    else {
      const lines = [
        `Plan: scale-down app ${plan.app} in namespace ${plan.namespace} (context ${kube.contextName}): deployment/${name} (${plan.slotLabel}=${plan.slot.value}) ${replicas} → 0 replicas (dry run: ${f.dryRun})`,
        `  Why: the last ${plan.record.action} (${plan.record.at} by ${plan.record.by || "unknown"}) took traffic from ${plan.slotLabel}=${plan.slot.value}, which still holds that version`,
        `  1. wait ${formatDuration(plan.delayMs)} (--delay ${formatDuration(f.delayMs)} after that switch)`,
        `  2. mark ${plan.routers.filter((x) => x.role === "live").map((x) => x.ref).join(", ")} busy, so no switch sends traffic to the slot meanwhile`,
        `  3. scale deployment/${name} to 0, only if unchanged since read, still on that version, and no Service but the app's previews selects it`,
        `  abort scales it back to ${plural(replicas, "replica")} (bounded by the live slot)`,
      ];
      ctx.io.out(`${lines.map(escapeTerminal).join("\n")}\n`);
    }
    return 0;
  }
  const warnings: string[] = [];
  const r = await retireSlot(
    ctx,
    kube,
    {
      app: plan.app,
      namespace: plan.namespace,
      slotLabel: plan.slotLabel,
      deployment: name,
      version: plan.record.fromTemplate,
      delayMs: plan.delayMs,
      routers: plan.routers,
      routing: plan.routing,
      id: operationId(),
      by,
      prefix: "",
    },
    warnings,
  );
  if (r.status === "skipped") {
    if (r.detail === "interrupted") throw new BlueGreenError(`interrupted before the scale-down; deployment/${name} keeps running, nothing changed.`, ExitCode.interrupted);
    throw new ConflictError(`deployment/${name} was not scaled down: ${r.detail} since it was read; nothing changed.`, `Check with kubectl bluegreen status ${plan.app}.`);
  }
  for (const w of warnings) ctx.io.err(`warning: ${escapeTerminal(w)}\n`);
  if (format) ctx.io.out(renderData(format, doc("scaled-down")));
  else ctx.io.out(`${escapeTerminal(`app ${plan.app}: deployment/${name} (${plan.slotLabel}=${plan.slot.value}) scaled from ${replicas} to 0; abort scales it back; ${where}`)}\n`);
  return 0;
}
