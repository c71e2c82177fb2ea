// A deploy for people and scripts: what --dry-run prints, and the -o json|yaml document.
import type { DeployPlan } from "../bluegreen/deploy.js";
import type { RolloutStatus } from "../bluegreen/readiness.js";
import { normalizeTemplate } from "../bluegreen/compare.js";
import { BUSY_ANNOTATION, DEPLOY_ANNOTATION } from "../bluegreen/record.js";
import { unifiedDiff } from "./diff.js";
import { formatDuration } from "./time.js";
import { escapeTerminal } from "./escape.js";

/** The source slot's Deployment: where the template comes from. */
const sourceOf = (plan: DeployPlan) => (plan.record.source === "live" ? `deployment/${plan.live.deployment.metadata.name}` : `deployment/${plan.deployment}`);

/**
 * What the template takes from the live slot beyond what the flags name, as the unified diff `diff` prints
 * (the idle template with the named changes → the template written), or "" when nothing.
 */
export function extraDiff(plan: DeployPlan): string {
  const slot = `${plan.deployment} (${plan.slotLabel}=${plan.slot.value}, idle)`;
  return unifiedDiff(`${slot} with the named changes`, `${slot} as it will be`, normalizeTemplate(plan.named, plan.slotLabel), normalizeTemplate(plan.template, plan.slotLabel));
}

/** What deploy says on stderr before it writes when the template brings more than was named; "" when it does not. */
export function renderExtraChanges(plan: DeployPlan): string {
  const patch = extraDiff(plan);
  if (!patch) return "";
  const lines = [
    `note: deployment/${plan.deployment} also takes from the live slot's template (${sourceOf(plan)}) what the flags do not name (--from idle keeps its own):`,
    ...patch.replace(/\n$/, "").split("\n"),
  ];
  return `${lines.map((l) => escapeTerminal(l)).join("\n")}\n`;
}

/** The steps of a deploy, in order: what --dry-run prints. */
export function renderDeployPlan(plan: DeployPlan, context: string, o: { dryRun?: "client" | "server"; wait: boolean; timeoutMs: number }): string {
  const live = plan.routers.map((s) => s.ref).join(", ");
  const lines = [
    `Plan: deploy into app ${plan.app} in namespace ${plan.namespace} (context ${context}): deployment/${plan.deployment} (${plan.slotLabel}=${plan.slot.value}, idle)` +
      (o.dryRun ? ` (dry run: ${o.dryRun})` : ""),
    `  From: the ${plan.record.source} slot's pod template (${sourceOf(plan)})`,
  ];
  if (plan.unchanged) {
    lines.push("  Changes: none; the Deployment is left as it is");
  } else {
    lines.push(`  Changes:${plan.changes.length ? "" : " none named"}`);
    for (const c of plan.changes) lines.push(`    ${c}`);
    if (plan.extraChanges.length) lines.push(`  Also from the live slot's template, not named:`);
    for (const c of plan.extraChanges) lines.push(`    ${c}`);
    lines.push(
      `  1. mark ${live} (${BUSY_ANNOTATION}), only if unchanged since read, so no switch sends traffic to the slot meanwhile`,
      `  2. patch deployment/${plan.deployment}: pod template and ${plan.replicas} replica${plan.replicas === 1 ? "" : "s"}, only if unchanged since resourceVersion ${plan.resourceVersion}; record it in ${DEPLOY_ANNOTATION}`,
      `  3. remove the marks`,
    );
  }
  if (o.wait) lines.push(`  then wait up to ${formatDuration(o.timeoutMs)} for the rollout (as kubectl rollout status)`);
  lines.push(`  ${plan.slotLabel}=${plan.live.value} stays live; nothing is switched`);
  return `${lines.map((l) => escapeTerminal(l)).join("\n")}\n`;
}

/** The machine-readable result of deploy. */
export function deployDocument(plan: DeployPlan, context: string, result: string, dryRun?: "client" | "server", rollout?: RolloutStatus): unknown {
  return {
    kind: "BlueGreenDeploy",
    apiVersion: "kubectl-bluegreen/v1",
    app: plan.app,
    namespace: plan.namespace,
    context,
    slotLabel: plan.slotLabel,
    slot: plan.slot.value,
    deployment: plan.deployment,
    liveSlot: plan.live.value,
    source: plan.record.source,
    replicas: plan.replicas,
    images: plan.record.images,
    changes: [...plan.changes, ...plan.extraChanges],
    // What the live slot's template brings beyond the flags: one line each, and as diff shows it.
    extraChanges: plan.extraChanges,
    extraDiff: extraDiff(plan),
    result,
    rollout: rollout ? { done: rollout.done, message: rollout.message } : null,
    dryRun: dryRun ?? null,
    record: plan.record,
    warnings: [...plan.notes, ...(plan.replaces ? [plan.replaces] : [])],
  };
}
