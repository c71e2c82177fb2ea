import type { Autoscaler, Deployment, ReplicaSet } from "./model.js";
import { type AutoscalerView, autoscalerOf } from "./autoscaler.js";
import { nameOf } from "./model.js";
import { type AppPair, type Slot, describeServices, templateLabels } from "./pair.js";
import { ROUTER_KINDS } from "./routers/index.js";
import { previewOf } from "./routers/route.js";
import { promoteDecision } from "./plan.js";
import { degraded, promotable, replicaCounts, rolloutStatus } from "./readiness.js";
import { type DeployRecord, type HistoryEntry, type SwitchRecord, deployRecordOf, deploymentVersion, history, pendingScaleDownOf, recordOf } from "./record.js";

export type Verdict = "ready" | "promoted" | "blocked" | "not-ready" | "degraded" | "interrupted" | "canary" | "drifted" | "misconfigured";

/** Words a person reads for each verdict. */
export const VERDICT_TEXT: Record<Verdict, string> = {
  ready: "ready to promote",
  promoted: "promoted",
  blocked: "promote blocked",
  "not-ready": "not ready",
  interrupted: "interrupted",
  canary: "canary",
  drifted: "drifted",
  degraded: "degraded",
  misconfigured: "misconfigured",
};

/** One slot as status shows it. */
interface SlotView {
  slot: string;
  role: "live" | "idle" | "unknown";
  deployment: string;
  images: string[];
  desired: number;
  ready: number;
  updated: number;
  available: number;
  createdAt?: string;
  rollout: string;
  rolledOut: boolean;
  /** The HPA that keeps this slot's replicas in a range, when there is one. */
  autoscaler?: AutoscalerView;
}

/** Everything status shows about one app: the data of its screen and of -o json. */
export interface AppStatus {
  app: string;
  namespace: string;
  slotLabel?: string;
  verdict: Verdict;
  reason: string;
  slots: SlotView[];
  liveSlot?: string;
  /** The app's Services: those that switch (live, preview), those that select both slots, and the slot Services routes choose between. */
  services: { name: string; role: "live" | "preview" | "shared" | "slot"; selects: string }[];
  /** The HTTPRoutes, GRPCRoutes and Ingresses that choose the app's slot: where each sends traffic, and its hostnames. */
  routes?: { kind: string; name: string; slot?: string; sends: string; hostnames: string[]; preview?: { header: string; slot: string } }[];
  lastSwitch?: SwitchRecord;
  history: HistoryEntry[];
  /** The newest deploy recorded on either slot; `current` when the slot still holds what it deployed. */
  lastDeploy?: DeployRecord & { slot: string; deployment: string; current: boolean };
  /** A scale-down a command is waiting to do (due at `at`). */
  pendingScaleDown?: { slot: string; deployment: string; at: string; by: string };
  /** Services whose selector is no longer where the last verified switch left it. */
  drift?: Drift[];
  /** A promote in weighted steps that stands between two steps: every live route sends `percent` to `to`. */
  canary?: { to: string; percent: number; step: number; of: number; since: string; steps: number[]; pause: number | "manual" };
}

/** A router changed outside the plugin after a verified switch: where it sends traffic, where the switch left it, who wrote it. */
export interface Drift {
  /** "service/web", "httproute/web". */
  router: string;
  /** The slot it sends traffic to now, or how it splits it. */
  selects: string;
  recorded: string;
  /** The field manager that last wrote what the switch changes (metadata.managedFields), when known. */
  writer?: string;
}

/**
 * The Services whose slot differs from the one their last verified switch left them on (a controller that reverts
 * the selector, a hand edit). Each Service's own record says where it was left, by its recorded role.
 */
export function driftOf(pair: AppPair): Drift[] {
  const out: Drift[] = [];
  for (const s of pair.routers) {
    const rec = recordOf(s.object);
    if (rec?.state !== "verified" || rec.slotLabel !== pair.slotLabel) continue;
    const role = rec.services[s.key] ?? s.role;
    const recorded = role === "live" ? rec.to : rec.from;
    if (s.slot !== recorded) out.push({ router: s.ref, selects: s.slot || s.text, recorded });
  }
  return out;
}

/** One sentence naming every drifted Service, the switch that left it, and who changed it since. */
function driftReason(pair: AppPair, drift: Drift[]): string {
  const rec = recordOf(pair.routers.find((s) => s.ref === drift[0]?.router)?.object);
  const label = pair.slotLabel ?? "";
  const each = drift
    .map((d) => {
      const service = d.router.startsWith("service/");
      const now = service ? `selects ${label}=${d.selects}` : `sends traffic to ${d.selects.includes("%") ? d.selects : `${label}=${d.selects}`}`;
      const writer = d.writer ? `; its ${service ? "selector" : "routing"} was last written by ${d.writer}` : "";
      return `${d.router} ${now}, but the last switch (${rec ? `${rec.action}, ${rec.at} by ${rec.by || "unknown"}` : "recorded"}) left it on ${d.recorded}${writer}`;
    })
    .join("; ");
  const back = drift[0]?.recorded;
  return `${each}; something outside kubectl bluegreen changed it (a controller that reverts it?): stop that, then promote --to ${back} puts it back`;
}

/** The newest deploy record on the app's Deployments, and any pending scale-down. */
function releaseNotes(pair: AppPair): Pick<AppStatus, "lastDeploy" | "pendingScaleDown"> {
  const slotOf = (d: Deployment) => (pair.slotLabel ? (templateLabels(d)[pair.slotLabel] ?? "") : "");
  const deploys = pair.deployments
    .map((d) => ({ d, r: deployRecordOf(d) }))
    .filter((x): x is { d: Deployment; r: DeployRecord } => x.r !== undefined)
    .sort((a, b) => Date.parse(b.r.at) - Date.parse(a.r.at));
  const newest = deploys[0];
  const pending = pair.deployments.map((d) => ({ d, p: pendingScaleDownOf(d) })).find((x) => x.p);
  return {
    lastDeploy: newest && {
      ...newest.r,
      slot: slotOf(newest.d),
      deployment: nameOf(newest.d),
      current: pair.slotLabel !== undefined && deploymentVersion(newest.d, pair.slotLabel) === newest.r.template,
    },
    pendingScaleDown: pending?.p && { slot: slotOf(pending.d), deployment: nameOf(pending.d), at: pending.p.at, by: pending.p.by },
  };
}

const iso = (t: string | Date | undefined): string | undefined => (t instanceof Date ? t.toISOString() : t);

function slotView(d: Deployment, slotLabel: string | undefined, role: SlotView["role"], autoscalers: Autoscaler[]): SlotView {
  const c = replicaCounts(d);
  const r = rolloutStatus(d);
  const autoscaler = autoscalerOf(d, autoscalers);
  return {
    slot: slotLabel ? (templateLabels(d)[slotLabel] ?? "") : "",
    role,
    deployment: nameOf(d),
    images: (d.spec?.template.spec?.containers ?? []).map((x) => x.image ?? ""),
    desired: c.desired,
    ready: c.ready,
    updated: c.updated,
    available: c.available,
    createdAt: iso(d.metadata.creationTimestamp),
    rollout: r.message,
    rolledOut: r.done,
    ...(autoscaler ? { autoscaler } : {}),
  };
}

const roleOf = (pair: AppPair, s: Slot): SlotView["role"] => (pair.live === s ? "live" : pair.idle === s ? "idle" : "unknown");

/** The verdict and screen data for one app, by the same rules promote follows. */
export function appStatus(pair: AppPair, replicaSets: ReplicaSet[], writers: Record<string, string> = {}, autoscalers: Autoscaler[] = []): AppStatus {
  const firstLive = pair.routers.find((s) => s.role === "live")?.object;
  const slotServices = Object.entries(pair.routing?.slotServices ?? {});
  const base = {
    app: pair.app,
    namespace: pair.namespace,
    slotLabel: pair.slotLabel,
    slots: pair.slots
      ? pair.slots.map((s) => slotView(s.deployment, pair.slotLabel, roleOf(pair, s), autoscalers))
      : pair.deployments.map((d) => slotView(d, pair.slotLabel, "unknown", autoscalers)),
    liveSlot: pair.live?.value,
    services: [
      ...pair.routers.filter((s) => s.kind === "service").map((s) => ({ name: s.name, role: s.role, selects: s.slot })),
      ...slotServices.map(([slot, s]) => ({ name: s.name, role: "slot" as const, selects: slot })),
      ...pair.sharedServices.map((s) => ({ name: nameOf(s), role: "shared" as const, selects: "both slots" })),
    ],
    ...(pair.routers.some((s) => s.kind !== "service")
      ? {
          routes: pair.routers
            .filter((s) => s.kind !== "service")
            .map((s) => {
              const p = previewOf(s.object);
              return {
                kind: s.kind,
                name: s.name,
                ...(s.slot ? { slot: s.slot } : {}),
                sends: s.text,
                hostnames: ROUTER_KINDS[s.kind].hostnames(s.object),
                ...(p ? { preview: { header: `${p.header.name}: ${p.header.value}`, slot: p.slot } } : {}),
              };
            }),
        }
      : {}),
    lastSwitch: recordOf(firstLive),
    history: history(firstLive),
    ...releaseNotes(pair),
  };
  if (pair.problem !== undefined) return { ...base, verdict: "misconfigured", reason: pair.problem };
  const drift = driftOf(pair).map((d) => ({ ...d, writer: writers[d.router] }));
  if (drift.length) return { ...base, drift, verdict: "drifted", reason: driftReason(pair, drift) };
  if (pair.live === undefined || pair.unsettled !== undefined) {
    const u = pair.unsettled;
    const canary = canaryOf(pair);
    if (canary) {
      const reason =
        `${canary.percent}% to ${pair.slotLabel}=${canary.to} (step ${canary.step} of ${canary.of}, since ${canary.since}) in the promote ${u?.pending?.from} → ${canary.to} started ${u?.pending?.at} by ${u?.pending?.by || "unknown"}` +
        `; promote continues it${canary.pause === "manual" ? "" : ` (the next step after ${canary.pause / 1000}s)`}, abort goes back, promote --to ${canary.to} settles at 100%`;
      return { ...base, canary, verdict: "canary", reason };
    }
    const reason = u?.pending
      ? `the ${u.pending.action} ${u.pending.from} → ${u.pending.to} started ${u.pending.at} by ${u.pending.by || "unknown"} is in progress or was interrupted` +
        `${u.split ? "" : " before verification"}: ${describeServices(pair)}; promote finishes it, abort goes back`
      : `the ${pair.routers.every((s) => s.kind === "service") ? "Services" : "routers"} disagree and no switch is recorded as in progress: ${describeServices(pair)}; promote --to SLOT settles it`;
    return { ...base, verdict: "interrupted", reason };
  }
  const bad = degraded(pair.live.deployment);
  if (bad) return { ...base, verdict: "degraded", reason: `live slot ${pair.live.value}: ${bad}` };
  const decision = promoteDecision(pair, replicaSets);
  if (decision.kind === "noop") return { ...base, verdict: "promoted", reason: decision.message };
  if (decision.kind === "refused") return { ...base, verdict: "blocked", reason: `${decision.message.replace(/; nothing changed$/, "")}; promote --to ${pair.idle.value} overrides` };
  const minAvailable = Math.max(1, replicaCounts(pair.live.deployment).available);
  const why = promotable(pair.idle.deployment, minAvailable);
  if (why) return { ...base, verdict: "not-ready", reason: `idle slot ${pair.idle.value}: ${why}` };
  return { ...base, verdict: "ready", reason: `idle slot ${pair.idle.value} is rolled out and ready; promote switches ${pair.slotLabel} ${pair.live.value} → ${pair.idle.value}` };
}

/**
 * A canary in progress as its routes show it: every live router is a route, sends the recorded step's percentage to
 * the target, and carries the pending record of that canary. Anything else is an interrupted switch.
 */
function canaryOf(pair: AppPair): AppStatus["canary"] | undefined {
  const pending = pair.unsettled?.pending;
  const c = pending?.canary;
  if (!pending || !c || !pair.routing) return undefined;
  const percent = c.steps[c.step] ?? 0;
  const live = pair.routers.filter((r) => r.role === "live");
  const routing = pair.routing;
  const at = live.every((r) => {
    const weights = ROUTER_KINDS[r.kind].weights;
    return weights !== undefined && r.switchedBy === pending.id && weights.share(r.object, routing, pending.to) === percent;
  });
  if (!at) return undefined;
  return { to: pending.to, percent, step: c.step + 1, of: c.steps.length, since: c.at, steps: c.steps, pause: c.pause };
}

/** status exits 1 when an app needs attention (a canary between steps too: it is not a finished state). */
export const needsAttention = (s: AppStatus): boolean =>
  s.verdict === "degraded" || s.verdict === "misconfigured" || s.verdict === "interrupted" || s.verdict === "canary" || s.verdict === "drifted";
