import type { SwitchPlan } from "../bluegreen/plan.js";
import { HISTORY_ANNOTATION, LAST_SWITCH_ANNOTATION } from "../bluegreen/state.js";

/** The steps of a switch, in the order they run: what --dry-run prints. */
export function renderPlan(plan: SwitchPlan, o: { dryRun?: "client" | "server"; verifyTimeoutMs: number; blockers: string[] }): string {
  const lines = [
    `Plan: ${plan.action} app ${plan.app} in namespace ${plan.namespace}: ${plan.slotLabel} ${plan.from.value} → ${plan.to.value}` +
      (o.dryRun ? ` (dry run: ${o.dryRun})` : ""),
  ];
  let n = 1;
  if (plan.scaleUp) lines.push(`  ${n++}. scale deployment/${plan.scaleUp.deployment} to ${plan.scaleUp.replicas} replicas and wait for it`);
  lines.push(
    `  ${n++}. check deployment/${plan.to.deployment.metadata.name} is rolled out with at least ${plan.minAvailable} available replicas: ` +
      (o.blockers.length ? `NOT MET: ${o.blockers.join("; ")}` : "ok"),
  );
  for (const w of plan.writes) {
    lines.push(
      `  ${n++}. patch service/${w.service} (${w.role}): selector ${plan.slotLabel}: ${w.from} → ${w.to}, only if unchanged since resourceVersion ${w.resourceVersion}`,
    );
  }
  const live = plan.writes.filter((w) => w.role === "live").map((w) => `service/${w.service}`);
  lines.push(`  ${n++}. verify the EndpointSlices of ${live.join(", ")} hold ready endpoints of ${plan.slotLabel}=${plan.to.value} only, within ${Math.round(o.verifyTimeoutMs / 1000)}s; else switch back`);
  lines.push(`  ${n++}. record ${LAST_SWITCH_ANNOTATION} and ${HISTORY_ANNOTATION} on ${live.join(", ")}, and an Event (${plan.action === "promote" ? "Promoted" : "Aborted"}) by ${plan.record.by}`);
  if (plan.scaleDown) lines.push(`  ${n++}. scale deployment/${plan.scaleDown.deployment} to 0 replicas`);
  return `${lines.join("\n")}\n`;
}

/** The machine-readable result of promote or abort. */
export function switchDocument(plan: SwitchPlan, result: string, dryRun?: "client" | "server"): unknown {
  return {
    kind: "BlueGreenSwitch",
    apiVersion: "kubectl-bluegreen/v1",
    action: plan.action,
    app: plan.app,
    namespace: plan.namespace,
    slotLabel: plan.slotLabel,
    from: plan.from.value,
    to: plan.to.value,
    result,
    dryRun: dryRun ?? null,
    services: plan.writes.map((w) => ({ name: w.service, role: w.role, from: w.from, to: w.to })),
    record: plan.record,
  };
}
