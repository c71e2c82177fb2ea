import type { Deployment, ReplicaSet } from "./model.js";
import { nameOf } from "./model.js";
import { type AppPair, type Slot, describeServices, templateLabels } from "./pair.js";
import { promoteDecision } from "./plan.js";
import { degraded, promotable, replicaCounts, rolloutStatus } from "./readiness.js";
import { type DeployRecord, type HistoryEntry, type SwitchRecord, deployRecordOf, deploymentVersion, history, pendingScaleDownOf, recordOf } from "./record.js";

export type Verdict = "ready" | "promoted" | "blocked" | "not-ready" | "degraded" | "interrupted" | "misconfigured";

/** Words a person reads for each verdict. */
export const VERDICT_TEXT: Record<Verdict, string> = {
  ready: "ready to promote",
  promoted: "promoted",
  blocked: "promote blocked",
  "not-ready": "not ready",
  interrupted: "interrupted",
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
  services: { name: string; role: "live" | "preview" | "shared"; selects: string }[];
  lastSwitch?: SwitchRecord;
  history: HistoryEntry[];
  /** The newest deploy recorded on either slot; `current` when the slot still holds what it deployed. */
  lastDeploy?: DeployRecord & { slot: string; deployment: string; current: boolean };
  /** A scale-down a command is waiting to do (due at `at`). */
  pendingScaleDown?: { slot: string; deployment: string; at: string; by: string };
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

function slotView(d: Deployment, slotLabel: string | undefined, role: SlotView["role"]): SlotView {
  const c = replicaCounts(d);
  const r = rolloutStatus(d);
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
  };
}

const roleOf = (pair: AppPair, s: Slot): SlotView["role"] => (pair.live === s ? "live" : pair.idle === s ? "idle" : "unknown");

/** The verdict and screen data for one app, by the same rules promote follows. */
export function appStatus(pair: AppPair, replicaSets: ReplicaSet[]): AppStatus {
  const firstLive = pair.services.find((s) => s.role === "live")?.service;
  const base = {
    app: pair.app,
    namespace: pair.namespace,
    slotLabel: pair.slotLabel,
    slots: pair.slots
      ? pair.slots.map((s) => slotView(s.deployment, pair.slotLabel, roleOf(pair, s)))
      : pair.deployments.map((d) => slotView(d, pair.slotLabel, "unknown")),
    liveSlot: pair.live?.value,
    services: [
      ...pair.services.map((s) => ({ name: s.name, role: s.role, selects: s.slot })),
      ...pair.sharedServices.map((s) => ({ name: nameOf(s), role: "shared" as const, selects: "both slots" })),
    ],
    lastSwitch: recordOf(firstLive),
    history: history(firstLive),
    ...releaseNotes(pair),
  };
  if (pair.problem !== undefined) return { ...base, verdict: "misconfigured", reason: pair.problem };
  if (pair.live === undefined || pair.unsettled !== undefined) {
    const u = pair.unsettled;
    const reason = u?.pending
      ? `the ${u.pending.action} ${u.pending.from} → ${u.pending.to} started ${u.pending.at} by ${u.pending.by || "unknown"} is in progress or was interrupted` +
        `${u.split ? "" : " before verification"}: ${describeServices(pair)}; promote finishes it, abort goes back`
      : `the Services disagree and no switch is recorded as in progress: ${describeServices(pair)}; promote --to SLOT settles it`;
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

/** status exits 1 when an app needs attention. */
export const needsAttention = (s: AppStatus): boolean => s.verdict === "degraded" || s.verdict === "misconfigured" || s.verdict === "interrupted";
