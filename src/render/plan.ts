// A switch for people and scripts: the plan's steps (what --dry-run prints) and the Outcome of running it.
import type { Step, SwitchPlan } from "../bluegreen/plan.js";
import { HISTORY_ANNOTATION, LAST_SWITCH_ANNOTATION } from "../bluegreen/record.js";
import type { Outcome } from "../bluegreen/outcome.js";
import { probeText } from "../bluegreen/checks.js";
import { THRESHOLD, sourceText } from "../bluegreen/analysis.js";
import { plural } from "../bluegreen/plural.js";
import { escapeTerminal } from "./escape.js";

const secs = (ms: number) => `${Math.round(ms / 1000)}s`;

/** What a switch changes on each kind of route. */
const WHAT: Record<string, string> = { httproute: "backendRefs", grpcroute: "backendRefs", ingress: "backend Services" };

function stepLine(plan: SwitchPlan, step: Step, o: PlanRenderOptions): string[] {
  switch (step.kind) {
    case "scale-up":
      return [
        `scale deployment/${step.deployment} to ${plural(step.replicas, "replica")} (only if unchanged since resourceVersion ${step.resourceVersion}) and wait up to ${secs(o.waitTimeoutMs)} for it`,
      ];
    case "check":
      return [
        `check deployment/${step.deployment} is rolled out with at least ${plural(step.minAvailable, "available replica")}, and that its pods match the new selectors: ` +
          (o.blockers.length ? `NOT MET: ${o.blockers.join("; ")}` : "ok"),
      ];
    case "switch":
      return step.writes.map((w) => {
        const what = w.kind === "service" ? `selector ${plan.slotLabel}: ${w.from} → ${w.to}` : `${WHAT[w.kind]} ${plan.slotLabel} ${w.from || "(split)"} → ${w.to} (service/${w.endpoints})`;
        return `patch ${w.ref} (${w.role}): ${what}, only if unchanged since resourceVersion ${w.resourceVersion}; record switch ${plan.record.id} as pending`;
      });
    case "weigh":
      return [
        `step ${step.index} of ${step.of}: patch ${step.writes.map((w) => w.ref).join(", ")}: weights ${step.percent}% to ${plan.slotLabel}=${plan.to.value} (service/${step.writes[0]?.endpoints ?? ""}), ${100 - step.percent}% to ${plan.slotLabel}=${plan.from.value}, only if unchanged since read; record the canary step as pending`,
      ];
    case "pause":
      return [
        step.ms === "manual"
          ? `stop at ${step.percent}% (exit 0); a later promote continues with the next step, abort goes back`
          : `pause ${secs(step.ms)} at ${step.percent}% (Ctrl-C or any failure puts every route back to ${plan.slotLabel}=${plan.from.value})`,
      ];
    case "verify": {
      const routes = step.routers.filter((r) => !r.startsWith("service/"));
      const accepted = routes.length ? `verify every parent gateway of ${routes.join(", ")} accepts it with its references resolved at the new generation, and ` : "verify ";
      return [
        `${accepted}the EndpointSlices of ${step.endpoints.map((s) => `service/${s}`).join(", ")} hold ready endpoints of ${plan.slotLabel}=${plan.to.value} only, within ${secs(o.verifyTimeoutMs)}` +
          (o.propagationDelayMs > 0 ? `, then give kube-proxy and load balancers ${secs(o.propagationDelayMs)} to apply them` : "") +
          `; else switch every ${routes.length ? "router" : "Service"} back`,
      ];
    }
    case "record":
      return [
        `record the switch as verified in ${LAST_SWITCH_ANNOTATION} (and ${HISTORY_ANNOTATION} on live ${plan.writes.every((w) => w.kind === "service") ? "Services" : "routers"}), and an Event (${plan.action === "promote" ? "Promoted" : "Aborted"}) by ${plan.record.by}`,
      ];
    case "scale-down":
      return [
        `after ${secs(step.delayMs)}, scale deployment/${step.deployment} to 0 replicas, only if no Service selects it and no new version was deployed into it`,
      ];
    case "probe":
      return step.targets.map((t) =>
        t.kind === "pods"
          ? `probe every ready pod of deployment/${t.deployment} on container port ${t.port}${t.probe.port !== undefined && t.probe.port !== String(t.port) ? ` (--probe ${probeText(t.probe)})` : ""} at ${t.probe.path} through the API server's pod proxy; each must answer 2xx within ${secs(step.timeoutMs)}, else ${step.when === "before" ? "refuse" : "switch every Service back"}`
          : `probe service/${t.service}:${t.port} (container port ${t.containerPort}) at ${t.probe.path} through the API server's service proxy; it must answer 2xx within ${secs(step.timeoutMs)}, else switch every Service back`,
      );
    case "preview":
      return [
        step.action === "add"
          ? `add a rule of ours to ${step.routes.map((r) => r.ref).join(", ")}: requests with ${step.header?.name}: ${step.header?.value} go to ${plan.slotLabel}=${step.slot}; every other rule is left as it is`
          : `remove the preview rule of ours from ${step.routes.map((r) => r.ref).join(", ")}`,
      ];
    case "analysis":
      return [
        step.when === "before"
          ? `ask ${sourceText(step.analysis.source)} each --analysis query once; each must be answerable, else refuse`
          : `every ${secs(step.analysis.intervalMs)}, ask ${sourceText(step.analysis.source)} ${step.analysis.queries.map((q) => JSON.stringify(q.sent)).join(", ")}; each must return ${THRESHOLD}, ${step.analysis.passes} rounds in a row, else switch every router back`,
      ];
    case "command":
      return [
        `run ${step.when === "before" ? "--pre-check" : "--post-check"} \`${step.command}\`; it must exit 0 within ${secs(step.timeoutMs)}, else ${step.when === "before" ? "refuse" : "switch every Service back"}`,
      ];
  }
}

export interface PlanRenderOptions {
  dryRun?: "client" | "server";
  verifyTimeoutMs: number;
  propagationDelayMs: number;
  waitTimeoutMs: number;
  blockers: string[];
}

/** The steps of a switch, in the order they run: what --dry-run prints. */
export function renderPlan(plan: SwitchPlan, context: string, o: PlanRenderOptions): string {
  const lines = [
    `Plan: ${plan.action} app ${plan.app} in namespace ${plan.namespace} (context ${context}): ${plan.slotLabel} ${plan.from.value} → ${plan.to.value}` +
      (o.dryRun ? ` (dry run: ${o.dryRun})` : ""),
    `  Why: ${plan.reason}`,
  ];
  let n = 1;
  for (const step of plan.steps) for (const line of stepLine(plan, step, o)) lines.push(`  ${n++}. ${line}`);
  // Names, reasons and the user come from the cluster: one escaped line each.
  return `${lines.map((l) => escapeTerminal(l)).join("\n")}\n`;
}

export const DONE = { promote: "promoted", abort: "aborted" } as const;

/** The machine-readable result of promote or abort: what was planned, what each step did, where traffic is. */
export function switchDocument(plan: SwitchPlan, context: string, result: string, outcome?: Outcome, dryRun?: "client" | "server"): unknown {
  return {
    kind: "BlueGreenSwitch",
    apiVersion: "kubectl-bluegreen/v1",
    action: plan.action,
    app: plan.app,
    namespace: plan.namespace,
    context,
    slotLabel: plan.slotLabel,
    from: plan.from.value,
    to: plan.to.value,
    reason: plan.reason,
    result,
    final: outcome?.final ?? null,
    dryRun: dryRun ?? null,
    services: plan.writes.map((w, i) => ({
      name: w.key,
      ...(w.kind === "service" ? {} : { kind: w.kind }),
      role: w.role,
      from: w.from || null,
      to: w.to,
      now: outcome ? (outcome.services[i]?.slot ?? null) : w.from || null,
    })),
    steps: outcome?.steps ?? [],
    record: plan.record,
    error: outcome?.error?.message ?? null,
  };
}

