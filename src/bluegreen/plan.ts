// Planning a switch: pure functions from the objects as read to the steps promote and abort run.
import { type VersionAge, newer, versionAge } from "./evidence.js";
import type { Labels, ReplicaSet, Service } from "./model.js";
import { compareNames, nameOf } from "./model.js";
import { type AppPair, type AppRouter, type SettledPair, type Slot, type WellFormedPair, describeServices, routerRefs } from "./pair.js";
import { ROUTER_KINDS } from "./routers/index.js";
import { previewOf } from "./routers/route.js";
import type { RouterKindName, RouterObject, RouterRef, Routing } from "./routers/types.js";
import { promotable, replicaCounts } from "./readiness.js";
import { type Analysis, expandQuery } from "./analysis.js";
import { type Checks, NO_CHECKS, type Probe, probeText, type ResolvedProbe, resolveProbe } from "./checks.js";
import { deploymentGuard, routerGuard } from "./guard.js";
import {
  BEFORE_CANARY_ANNOTATION,
  type CanaryRecord,
  type GroupRecord,
  LAST_SWITCH_ANNOTATION,
  RECORD_FORMAT,
  type SwitchRecord,
  beforeCanary,
  beforeCanaryOf,
  busyMark,
  deploymentVersion,
  readRecord,
  recordAnnotations,
} from "./record.js";

/**
 * One conditional write to one router: everything it routes for the app sent to slot `to`, and the record. The
 * patch itself is computed by the router's kind from the object as read just before each attempt.
 */
export interface RouterWrite {
  kind: RouterKindName;
  /** The object's name, its record key (keyOf) and "kind/name". */
  name: string;
  key: string;
  ref: string;
  role: "live" | "preview";
  uid?: string;
  /** The resourceVersion the router was read at. */
  resourceVersion: string;
  /**
   * What the write depends on (routerGuard: what its kind switches, and our annotations) as read. Each attempt
   * reads the router again and writes on that resourceVersion only while this still holds; anything else may change.
   */
  guard: string;
  /** The router as the command read it: what a switch-back restores. */
  asRead: RouterObject;
  /** Slot it sent traffic to when read ("" for none or several), the one it is switched to, and the one a switch-back returns it to. */
  from: string;
  to: string;
  back: string;
  /** Our annotations the switch sets, and their values as read (a switch-back restores them). */
  annotations: Record<string, string | null>;
  undoAnnotations: Record<string, string | null>;
  /** Labels of the pods that get its traffic once switched, and the Service whose EndpointSlices carry it. */
  targetPods: Labels;
  endpoints: string;
  /** A weighted (canary) step's write: this percentage of the app's requests to `to`, the rest to the other slot. */
  percent?: number;
}

/** @deprecated name kept for the renderers: a write of a Service router is a RouterWrite like any other. */
export type ServiceWrite = RouterWrite;

/** The steps of a switch, in order. Each write step carries its precondition; the executor runs them. */
export type Step =
  /** Scales the target up from `was` replicas (conditionally: while `guard` holds, see deploymentGuard) and waits for it. */
  | { kind: "scale-up"; deployment: string; replicas: number; was: number; resourceVersion: string; guard: string }
  | { kind: "check"; deployment: string; minAvailable: number }
  | { kind: "switch"; writes: RouterWrite[] }
  /** One step of a canary: the live routes' weights set to `percent` to the target (step `index` of `of`, counted from 1). */
  | { kind: "weigh"; percent: number; index: number; of: number; writes: RouterWrite[] }
  /** The pause after a canary step; "manual" stops the command there (exit 0) for a later promote to continue. */
  | { kind: "pause"; ms: number | "manual"; percent: number; index: number; of: number }
  /** The live routers (refs) are taken by what serves them, and the Services that carry their traffic have ready endpoints of the target only. */
  | { kind: "verify"; routers: string[]; endpoints: string[] }
  | { kind: "record"; routers: string[] }
  /** HTTP probes: before, every ready pod of the target slot; after, through every live Service. */
  | { kind: "probe"; when: "before" | "after"; targets: ProbeTarget[]; timeoutMs: number }
  /** A local command (--pre-check / --post-check); it must exit 0. */
  | { kind: "command"; when: "before" | "after"; command: string; timeoutMs: number }
  /**
   * The header preview rule on the live routes: added (requests carrying the header go to `slot`) before any weight
   * moves, or removed once the switch is recorded.
   */
  | { kind: "preview"; action: "add" | "remove"; slot?: string; header?: { name: string; value: string }; routes: RouterRef[] }
  /** --analysis: before, every query answers; after (each step and the switch), every query holds, `passes` rounds in a row. */
  | { kind: "analysis"; when: "before" | "after"; analysis: Analysis }
  /**
   * Scales the slot traffic left to 0 after delayMs, if it still holds `version` (a deploy since replaces it)
   * and no Service selects it.
   */
  | { kind: "scale-down"; deployment: string; delayMs: number; version: string };

/** Whom a probe asks: each ready pod of a Deployment at a container port (before the switch), or a Service at the port that leads there (after). */
type ProbeTarget = { kind: "pods"; deployment: string; port: number; probe: Probe } | { kind: "service"; service: string; port: string; containerPort: number; probe: Probe };

/** A switch of traffic between the two slots, as promote and abort perform it. */
export interface SwitchPlan {
  kind: "switch";
  action: "promote" | "abort";
  app: string;
  namespace: string;
  slotLabel: string;
  /** The slot traffic leaves, and the one it goes to. */
  from: Slot;
  to: Slot;
  /** Available replicas the target needs before the switch. */
  minAvailable: number;
  /** Why this switch: the evidence it rests on, or the interrupted switch it repairs. */
  reason: string;
  writes: RouterWrite[];
  steps: Step[];
  record: SwitchRecord;
  /** What the routers choose between (slot Services), for their kinds. */
  routing: Routing;
  /** A promote in weighted steps: its steps, the index of the first one this command writes, and the pause after each. */
  canary?: { steps: number[]; start: number; pause: number | "manual" };
}

/** Nothing to do, and why (exit 0). */
interface NoopPlan {
  kind: "noop";
  message: string;
}

/** The plugin cannot tell what is safe, or a precondition fails: nothing is done (exit 4). */
export interface RefusedPlan {
  kind: "refused";
  message: string;
  hint: string;
}

export type Plan = SwitchPlan | NoopPlan | RefusedPlan;

/** Options every switch needs. */
interface SwitchOptions {
  by: string;
  now: Date;
  /** Operation id written in the record. */
  id: string;
  /** Probes and commands before and after the switch. */
  checks?: Checks;
}

interface PromoteOptions extends SwitchOptions {
  /** --scale-up: scale the target to the live slot's replicas first when it runs fewer. */
  scaleUp?: boolean;
  /** --scale-down-after: scale the old slot to 0 this long after the switch is verified and checked. */
  scaleDownAfterMs?: number;
  /** --to: the slot value to send traffic to. */
  to?: string;
  /** --min-ready. */
  minReady?: number;
  /** The namespace's ReplicaSets: the server's evidence of when each version appeared. */
  replicaSets: ReplicaSet[];
  /** --steps and --step-pause: promote in weighted steps (the pause undefined when not given). */
  canary?: { steps?: number[]; pause?: number | "manual" };
  /** --preview-header NAME=VALUE: a rule of ours on the routes sends requests carrying it to the new slot first. */
  previewHeader?: { name: string; value: string };
}

/** The pause after each canary step when --step-pause is not given. */
export const DEFAULT_STEP_PAUSE_MS = 60_000;

interface AbortOptions extends SwitchOptions {
  scaleDown: boolean;
  scaleDownDelayMs: number;
}

/** "Services" when every router of the app is a Service, else "routers": what messages call them. */
const routersWord = (pair: WellFormedPair): string => (pair.routers.every((r) => r.kind === "service") ? "Services" : "routers");

/** Why an unsettled app with no switch in progress has no one live slot: a router that splits traffic, or routers that disagree. */
const disagreement = (pair: WellFormedPair): string =>
  pair.routers.some((r) => r.slot === "") ? `its traffic is split (${describeServices(pair)})` : `its ${routersWord(pair)} disagree (${describeServices(pair)})`;

const slotNamed = (pair: WellFormedPair, value: string): Slot | undefined => pair.slots.find((s) => s.value === value);
const otherSlot = (pair: WellFormedPair, s: Slot): Slot => (pair.slots[0] === s ? pair.slots[1] : pair.slots[0]);

function write(s: AppRouter, routing: Routing, from: Slot, to: Slot, rec: SwitchRecord): RouterWrite {
  const o: RouterObject = s.object;
  const kind = ROUTER_KINDS[s.kind];
  // A router that already carries this switch (resumed) has its history entry already.
  const annotations: Record<string, string | null> = recordAnnotations(o, rec, s.role === "live" && s.switchedBy !== rec.id);
  const old = o.metadata.annotations ?? {};
  // A switch ends any canary the route was in: what it kept from before the canary goes with it.
  if (old[BEFORE_CANARY_ANNOTATION] !== undefined) annotations[BEFORE_CANARY_ANNOTATION] = null;
  const undoAnnotations: Record<string, string | null> = {};
  for (const k of Object.keys(annotations)) undoAnnotations[k] = old[k] ?? null;
  const target = s.role === "live" ? to.value : from.value;
  return {
    kind: s.kind,
    name: s.name,
    key: s.key,
    ref: s.ref,
    role: s.role,
    uid: o.metadata.uid,
    resourceVersion: o.metadata.resourceVersion ?? "",
    guard: routerGuard(kind, o, routing),
    asRead: o,
    from: s.slot,
    to: target,
    // A switch-back restores what this command found, and nothing else: a router a resumed switch had already
    // moved stays where it was (its switch-back puts back only the record).
    back: s.slot,
    annotations,
    undoAnnotations,
    targetPods: kind.podsOf(o, routing, target),
    endpoints: kind.serviceOf(o, routing, target),
  };
}

/** A refusal when another command is writing this slot's Deployment right now (a scale-down to 0, a deploy). */
export function slotBusy(pair: AppPair, slot: Slot, now: Date): RefusedPlan | undefined {
  for (const s of pair.routers) {
    const mark = busyMark(s.object, now);
    if (mark && mark.deployment === nameOf(slot.deployment)) {
      const what = mark.action === "deploy" ? "deployed into by kubectl bluegreen deploy" : "scaled down";
      return {
        kind: "refused",
        message: `deployment/${mark.deployment} is being ${what} (marked on ${s.ref} at ${mark.at}); nothing changed`,
        hint: `Wait for it to finish, then check with kubectl bluegreen status ${pair.app}; the mark expires by itself after 5 minutes.`,
      };
    }
  }
  return undefined;
}

function switchPlan(
  pair: WellFormedPair,
  action: "promote" | "abort",
  from: Slot,
  to: Slot,
  minAvailable: number,
  reason: string,
  o: SwitchOptions,
  resume?: SwitchRecord,
): SwitchPlan | RefusedPlan {
  const busy = slotBusy(pair, to, o.now);
  if (busy) return busy;
  const slotLabel = pair.slotLabel;
  // Live Services first, then preview Services, each by name: the order of the writes and of a switch-back.
  const services = [...pair.routers].sort((a, b) => (a.role === b.role ? compareNames(a.ref, b.ref) : a.role === "live" ? -1 : 1));
  // Finishing an interrupted switch completes that same operation: same id, time and author.
  const record: SwitchRecord = resume ? { ...resume, state: "pending", services: { ...resume.services, ...Object.fromEntries(services.map((s) => [s.key, s.role])) } } : {
    format: RECORD_FORMAT,
    id: o.id,
    state: "pending",
    action,
    slotLabel,
    from: from.value,
    to: to.value,
    at: o.now.toISOString(),
    by: o.by,
    fromDeployment: nameOf(from.deployment),
    toDeployment: nameOf(to.deployment),
    fromTemplate: deploymentVersion(from.deployment, slotLabel),
    toTemplate: deploymentVersion(to.deployment, slotLabel),
    fromReplicas: replicaCounts(from.deployment).desired,
    services: Object.fromEntries(services.map((s) => [s.key, s.role])),
  };
  const routing: Routing = pair.routing ?? { slotLabel, slotServices: {} };
  const writes = services.map((s) => write(s, routing, from, to, record));
  const live = writes.filter((w) => w.role === "live").map((w) => w.ref);
  const checks = o.checks ?? NO_CHECKS;
  const before: Step[] = [];
  const after: Step[] = [];
  if (checks.probes.length) {
    // The Services that carry the live routers' traffic once switched: each Service router, or the target's slot Service.
    const carriers = new Map<string, Service>();
    for (const s of services.filter((x) => x.role === "live")) {
      const svc = s.kind === "service" ? (s.object as Service) : routing.slotServices[to.value]?.service;
      if (svc) carriers.set(nameOf(svc), svc);
    }
    const resolved: { probe: Probe; at: ResolvedProbe }[] = [];
    for (const probe of checks.probes) {
      const at = resolveProbe(probe, nameOf(to.deployment), to.deployment.spec?.template, [...carriers.values()]);
      if (typeof at === "string") return { kind: "refused", message: `cannot probe ${probeText(probe)}: ${at}; nothing changed`, hint: "Name a container port the Service leads to: --probe PORT/PATH." };
      resolved.push({ probe, at });
    }
    const timeoutMs = checks.probeTimeoutMs;
    before.push({
      kind: "probe",
      when: "before",
      timeoutMs,
      targets: resolved.map(({ probe, at }) => ({ kind: "pods", deployment: nameOf(to.deployment), port: at.containerPort, probe })),
    });
    after.push({
      kind: "probe",
      when: "after",
      timeoutMs,
      targets: resolved.flatMap(({ probe, at }) => at.servicePorts.map((sp) => ({ kind: "service" as const, service: sp.service, port: sp.port, containerPort: at.containerPort, probe }))),
    });
  }
  if (checks.preCheck !== undefined) before.push({ kind: "command", when: "before", command: checks.preCheck, timeoutMs: checks.checkTimeoutMs });
  if (checks.postCheck !== undefined) after.push({ kind: "command", when: "after", command: checks.postCheck, timeoutMs: checks.checkTimeoutMs });
  if (checks.analysis) {
    // {{new}} and {{old}}: the slot Services where routes choose between them (what a gateway's metrics name), else the slot values.
    const slotName = (s: Slot) => routing.slotServices[s.value]?.name ?? s.value;
    const values = { new: slotName(to), old: slotName(from), app: pair.app, namespace: pair.namespace };
    const { queries, ...rest } = checks.analysis;
    const analysis: Analysis = { ...rest, queries: queries.map((given) => ({ given, sent: expandQuery(given, values) })) };
    before.push({ kind: "analysis", when: "before", analysis });
    after.push({ kind: "analysis", when: "after", analysis });
  }
  const steps: Step[] = [
    { kind: "check", deployment: nameOf(to.deployment), minAvailable },
    ...before,
    { kind: "switch", writes },
    { kind: "verify", routers: live, endpoints: [...new Set(writes.filter((w) => w.role === "live").map((w) => w.endpoints))] },
    ...after,
    { kind: "record", routers: writes.map((w) => w.ref) },
  ];
  // A header preview of ours on a live route ends with the switch (promote or abort).
  const previews = services.filter((s) => s.role === "live" && previewOf(s.object) !== undefined);
  if (previews.length) steps.push({ kind: "preview", action: "remove", routes: previews.map((s) => ({ kind: s.kind, name: s.name, ref: s.ref, role: s.role })) });
  return { kind: "switch", action, app: pair.app, namespace: pair.namespace, slotLabel, from, to, minAvailable, reason, writes, steps, record, routing };
}

/** The record every live Service agrees on; or none recorded; or why the records cannot be used. */
export function agreedRecord(pair: WellFormedPair): { record?: SwitchRecord; none?: boolean; why?: string } {
  const live = pair.routers.filter((s) => s.role === "live");
  const readings = live.map((s) => ({ name: s.ref, r: readRecord(s.object) }));
  if (readings.every((x) => x.r.kind === "none")) return { none: true };
  const invalid = readings.find((x) => x.r.kind === "invalid");
  if (invalid && invalid.r.kind === "invalid") return { why: `the switch record on ${invalid.name} cannot be used: ${invalid.r.why}` };
  const missing = readings.find((x) => x.r.kind === "none");
  const present = readings.find((x) => x.r.kind === "valid");
  if (missing && present) return { why: `${missing.name} has no switch record while ${present.name} has one` };
  // Here every live Service has a valid record.
  const valid = readings.flatMap((x) => (x.r.kind === "valid" ? [{ name: x.name, record: x.r.record }] : []));
  const [first] = valid;
  if (!first) return { none: true };
  const other = valid.find((x) => x.record.id !== first.record.id);
  if (other) return { why: `the switch records on ${first.name} and ${other.name} disagree` };
  const rec = first.record;
  if (rec.slotLabel !== pair.slotLabel || !slotNamed(pair, rec.from) || !slotNamed(pair, rec.to)) {
    return { why: `the switch record on ${first.name} names ${rec.slotLabel} ${rec.from} → ${rec.to}, which are not this app's slots` };
  }
  return { record: rec };
}

const when = (v: VersionAge) => (v.since ? v.since.toISOString().replace(".000Z", "Z") : "unknown");

/**
 * Plain promote (no --to) switches only on positive evidence that the idle slot holds a newer version
 * than the live one: the ReplicaSets the server keeps, checked against the record of the last switch.
 * A restart or a scale of the idle slot, a missing, unusable or disagreeing record never send traffic back.
 */
export function promoteDecision(pair: SettledPair, replicaSets: ReplicaSet[]): { kind: "switch"; reason: string } | NoopPlan | RefusedPlan {
  const { live, idle, slotLabel } = pair;
  const liveAge = versionAge(live.deployment, replicaSets, slotLabel);
  const idleAge = versionAge(idle.deployment, replicaSets, slotLabel);
  const hint = `If ${slotLabel}=${idle.value} is the version you want live, name it: kubectl bluegreen promote ${pair.app} --to ${idle.value}`;
  const refuse = (why: string): RefusedPlan => ({ kind: "refused", message: `will not promote app ${pair.app}: ${why}; nothing changed`, hint });
  const isNewer = newer(idleAge, liveAge);
  const ages = `its version was first deployed ${when(idleAge)}, the live slot's ${when(liveAge)}${idleAge.uncertain ? ` (${idleAge.uncertain})` : ""}`;
  const agreed = agreedRecord(pair);
  if (agreed.why) return refuse(agreed.why);
  const rec = agreed.record;
  if (!rec) {
    if (isNewer) return { kind: "switch", reason: `no switch is recorded, and the idle slot ${idle.value} holds a newer version (first deployed ${when(idleAge)}, the live slot's ${when(liveAge)})` };
    return refuse(`no switch is recorded and the idle slot ${idle.value} does not hold a newer version than the live slot ${live.value} (${ages})`);
  }
  if (rec.to !== live.value || rec.from !== idle.value) {
    return refuse(`the last recorded switch went ${rec.from} → ${rec.to}, but ${slotLabel}=${live.value} is live now, so the Services were changed since`);
  }
  if (idleAge.hash === rec.fromTemplate) {
    if (rec.action === "promote") {
      return {
        kind: "noop",
        message: `app ${pair.app} is already promoted: ${slotLabel}=${live.value} is live since ${rec.at}; the idle slot ${idle.value} is the previous version (use abort to go back)`,
      };
    }
    return refuse(`the idle slot ${idle.value} still holds the version that was aborted at ${rec.at}; deploy a new version into it first`);
  }
  if (isNewer) return { kind: "switch", reason: `a new version was deployed into the idle slot ${idle.value} after the last switch (first deployed ${when(idleAge)})` };
  return refuse(`the idle slot ${idle.value} changed since the last switch, but not to a newer version than the live one (${ages})`);
}

/** Plans a promote: finish an interrupted switch, go to --to, or switch on evidence; else a no-op or a refusal. */
export function planPromote(pair: WellFormedPair, opts: PromoteOptions): Plan | { kind: "unknown-slot"; message: string } {
  const slotLabel = pair.slotLabel;
  if (opts.canary && !opts.canary.steps && (opts.to !== undefined || !pair.unsettled?.pending?.canary)) {
    return {
      kind: "refused",
      message: `--step-pause needs --steps: app ${pair.app} has no canary in progress to continue; nothing changed`,
      hint: `Give the steps too, for example: kubectl bluegreen promote ${pair.app} --steps 10,50,100 --step-pause ${opts.canary.pause === "manual" ? "manual" : "1m"}`,
    };
  }
  const minFor = (from: Slot) => opts.minReady ?? Math.max(1, replicaCounts(from.deployment).available);
  if (opts.to !== undefined) {
    const target = slotNamed(pair, opts.to);
    if (!target) {
      const [a, b] = pair.slots;
      const role = (s: Slot) => (pair.live === s ? " (live)" : pair.idle === s ? " (idle)" : "");
      return { kind: "unknown-slot", message: `app ${pair.app} has no slot ${slotLabel}=${opts.to}; its slots are ${a.value}${role(a)} and ${b.value}${role(b)}` };
    }
    if (!pair.unsettled && pair.live === target) return { kind: "noop", message: `app ${pair.app} is already live on ${slotLabel}=${target.value}` };
    const from = otherSlot(pair, target);
    const reason = pair.unsettled ? `--to ${target.value} settles ${describeServices(pair)}` : `--to ${target.value}`;
    const steps = opts.canary?.steps;
    const plan = switchPlan(pair, "promote", from, target, minFor(from), reason, opts);
    return withRetirement(steps ? withCanary(plan, steps, opts.canary?.pause ?? DEFAULT_STEP_PAUSE_MS) : plan, opts);
  }
  // Unsettled: no live slot for sure, or a switch not verified yet.
  if (pair.live === undefined || pair.unsettled !== undefined) {
    const u = pair.unsettled;
    if (!u?.pending) {
      return {
        kind: "refused",
        message: `will not promote app ${pair.app}: ${disagreement(pair)} and no switch is recorded as in progress; nothing changed`,
        hint: `Name the slot every live Service should select: kubectl bluegreen promote ${pair.app} --to SLOT`,
      };
    }
    // findPair keeps only a pending record between the pair's own slots.
    const target = slotNamed(pair, u.pending.to) ?? pair.slots[1];
    const from = otherSlot(pair, target);
    const c = u.pending.canary;
    if (!c && opts.canary?.steps) {
      return {
        kind: "refused",
        message: `will not promote app ${pair.app} in steps: the ${u.pending.action} ${u.pending.from} → ${u.pending.to} started ${u.pending.at} switches it all at once and was not verified (${describeServices(pair)}); nothing changed`,
        hint: `Finish that switch with kubectl bluegreen promote ${pair.app} (without --steps), or go back with kubectl bluegreen abort ${pair.app}.`,
      };
    }
    if (c) {
      const at = c.steps[c.step] ?? 0;
      const reason = `continues the canary ${u.pending.from} → ${u.pending.to} started ${u.pending.at} by ${u.pending.by || "unknown"}, at ${at}% since ${c.at} (step ${c.step + 1} of ${c.steps.length})`;
      const plan = switchPlan(pair, u.pending.action, from, target, minFor(from), reason, opts, u.pending);
      return withRetirement(withCanary(plan, opts.canary?.steps ?? c.steps, opts.canary?.pause ?? c.pause, c), opts);
    }
    const reason = `finishes the ${u.pending.action} ${u.pending.from} → ${u.pending.to} started ${u.pending.at} by ${u.pending.by || "unknown"}, which was not verified (${describeServices(pair)})`;
    return withRetirement(switchPlan(pair, u.pending.action, from, target, minFor(from), reason, opts, u.pending), opts);
  }
  const d = promoteDecision(pair, opts.replicaSets);
  if (d.kind !== "switch") return d;
  const plan = switchPlan(pair, "promote", pair.live, pair.idle, minFor(pair.live), d.reason, opts);
  const steps = opts.canary?.steps;
  return withRetirement(steps ? withCanary(plan, steps, opts.canary?.pause ?? DEFAULT_STEP_PAUSE_MS) : plan, opts);
}

/**
 * Turns a switch into a promote in weighted steps: before the switch (the last step, 100%), each step below 100
 * that the live routes have not reached yet writes their weights, is verified and checked like the switch, then
 * pauses. Every step is recorded as pending, with the canary's place in the record; a failure at any step puts the
 * routes back where they were before the canary's first step (all-old), records included. `resumed` is the canary
 * recorded on the routes when this promote continues one.
 */
function withCanary(plan: SwitchPlan | RefusedPlan, steps: number[], pause: number | "manual", resumed?: CanaryRecord): SwitchPlan | RefusedPlan {
  if (plan.kind !== "switch") return plan;
  const refuse = (why: string, hint: string): RefusedPlan => ({ kind: "refused", message: `cannot promote app ${plan.app} in steps: ${why}; nothing changed`, hint });
  const live = plan.writes.filter((w) => w.role === "live");
  const to = plan.to.value;
  let at = 100;
  for (const w of live) {
    const weights = ROUTER_KINDS[w.kind].weights;
    if (!weights) return refuse(`${w.ref} has no weights (weighted steps work on HTTPRoutes and GRPCRoutes only)`, `Promote without --steps to switch it all at once${plan.writes.some((x) => x.kind !== "service") ? ", or name the route kind with --router httproute" : ""}.`);
    const why = weights.unweighable(w.asRead, plan.routing);
    if (why) return refuse(`${w.ref}: ${why}`, "Promote without --steps to switch it all at once.");
    at = Math.min(at, weights.share(w.asRead, plan.routing, to));
  }
  // The first step above what every live route already sends to the target (after an interruption, the lowest).
  const start = steps.findIndex((p) => p > at);
  const record: SwitchRecord = { ...plan.record };
  delete record.canary;
  plan.record = record;
  const fresh = resumed === undefined;
  for (const w of plan.writes) {
    w.annotations[LAST_SWITCH_ANNOTATION] = JSON.stringify(record);
    if (w.role !== "live") continue;
    const before = w.asRead.metadata.annotations?.[BEFORE_CANARY_ANNOTATION];
    w.annotations[BEFORE_CANARY_ANNOTATION] = null;
    w.undoAnnotations[BEFORE_CANARY_ANNOTATION] = before ?? null;
    const kept = fresh ? undefined : beforeCanaryOf(w.asRead);
    if (kept) {
      // Continued: a failure goes back to before the canary's first step, all-old with the annotations of then.
      Object.assign(w.undoAnnotations, kept, { [BEFORE_CANARY_ANNOTATION]: null });
      const kind = ROUTER_KINDS[w.kind];
      w.asRead = { ...w.asRead, spec: { ...w.asRead.spec, ...kind.switchTo(w.asRead, plan.routing, plan.from.value) } };
      w.back = plan.from.value;
    }
  }
  const canarySteps: Step[] = [];
  const verify = plan.steps.find((s) => s.kind === "verify");
  const at0 = plan.steps.findIndex((s) => s.kind === "switch");
  const after = plan.steps.filter((s) => (s.kind === "probe" || s.kind === "command" || s.kind === "analysis") && s.when === "after");
  for (let i = Math.max(0, start); i < steps.length - 1 && start >= 0; i++) {
    const percent = steps[i] ?? 0;
    const canary: CanaryRecord = { steps, step: i, at: record.at, pause };
    const stepRecord = JSON.stringify({ ...record, canary });
    const writes = live.map((w) => ({
      ...w,
      percent,
      annotations: {
        ...w.annotations,
        [LAST_SWITCH_ANNOTATION]: stepRecord,
        // The first step keeps our annotations as they were, for a switch-back by a later promote.
        [BEFORE_CANARY_ANNOTATION]: fresh ? beforeCanary(w.asRead) : (w.asRead.metadata.annotations?.[BEFORE_CANARY_ANNOTATION] ?? beforeCanary(w.asRead)),
      },
    }));
    canarySteps.push({ kind: "weigh", percent, index: i + 1, of: steps.length, writes });
    if (verify) canarySteps.push(verify);
    canarySteps.push(...after, { kind: "pause", ms: pause, percent, index: i + 1, of: steps.length });
  }
  plan.steps.splice(at0, 0, ...canarySteps);
  plan.canary = { steps, start: Math.max(0, start), pause };
  return plan;
}

/** Adds promote's --scale-up before and --scale-down-after after a planned switch, and --preview-header before any weight moves. */
function withRetirement(plan: SwitchPlan | RefusedPlan, opts: PromoteOptions): SwitchPlan | RefusedPlan {
  if (plan.kind !== "switch") return plan;
  if (opts.previewHeader) {
    const routes = plan.writes.filter((w) => w.role === "live" && (w.kind === "httproute" || w.kind === "grpcroute"));
    const other = plan.writes.find((w) => w.role === "live" && w.kind !== "httproute" && w.kind !== "grpcroute");
    if (!routes.length || other) {
      return {
        kind: "refused",
        message: `cannot preview app ${plan.app} by header: ${(other ?? plan.writes[0])?.ref ?? "its router"} is not an HTTPRoute or GRPCRoute (only routes can match a header); nothing changed`,
        hint: "Promote without --preview-header, or name the route kind with --router httproute.",
      };
    }
    const first = plan.steps.findIndex((s) => s.kind === "weigh" || s.kind === "switch");
    const refs = routes.map((w) => ({ kind: w.kind, name: w.name, ref: w.ref, role: w.role }));
    plan.steps.splice(first, 0, { kind: "preview", action: "add", slot: plan.to.value, header: opts.previewHeader, routes: refs });
    if (!plan.steps.some((s) => s.kind === "preview" && s.action === "remove")) plan.steps.push({ kind: "preview", action: "remove", routes: refs });
  }
  const { from, to } = plan;
  const want = replicaCounts(from.deployment).desired;
  if (opts.scaleUp && replicaCounts(to.deployment).desired < want) {
    plan.steps.unshift({
      kind: "scale-up",
      deployment: nameOf(to.deployment),
      replicas: want,
      was: replicaCounts(to.deployment).desired,
      resourceVersion: to.deployment.metadata.resourceVersion ?? "",
      guard: deploymentGuard(to.deployment),
    });
  }
  if (opts.scaleDownAfterMs !== undefined) {
    plan.steps.push({ kind: "scale-down", deployment: nameOf(from.deployment), delayMs: opts.scaleDownAfterMs, version: plan.record.fromTemplate });
  }
  return plan;
}

/** Replicas abort scales a scaled-down slot back to: the record's count, bounded by the live slot's desired replicas. */
function scaleBackReplicas(recorded: number, live: Slot): number {
  const cap = Math.max(1, replicaCounts(live.deployment).desired);
  return recorded >= 1 ? Math.min(recorded, cap) : cap;
}

/**
 * One app's part of a release of several apps at once: the group is written into the record with the switch, so
 * `status` shows the apps as one release and a later promote or abort of them repairs it. A plan that finishes an
 * interrupted switch keeps the group (or none) that switch recorded: it completes that operation.
 */
export function inGroup(plan: SwitchPlan, group: GroupRecord, id: string): SwitchPlan {
  if (plan.record.id !== id) return plan;
  const record: SwitchRecord = { ...plan.record, group: { id: group.id, apps: [...group.apps], ...(group.contexts ? { contexts: [...group.contexts] } : {}) } };
  for (const w of plan.writes) if (w.annotations[LAST_SWITCH_ANNOTATION] !== undefined) w.annotations[LAST_SWITCH_ANNOTATION] = JSON.stringify(record);
  return { ...plan, record };
}

/** Plans an abort: back to the slot the last promote took traffic from, or back from an interrupted switch. */
export function planAbort(pair: WellFormedPair, opts: AbortOptions): Plan {
  const hint = `Run kubectl bluegreen status ${pair.app} to see the app, or promote --to SLOT to choose explicitly.`;
  let from: Slot;
  let to: Slot;
  let recordedReplicas: number;
  let reason: string;
  // Unsettled: no live slot for sure, or a switch not verified yet.
  if (pair.live === undefined || pair.unsettled !== undefined) {
    const u = pair.unsettled;
    if (!u?.pending) {
      return { kind: "refused", message: `will not abort app ${pair.app}: ${disagreement(pair)} and no switch is recorded as in progress; nothing changed`, hint };
    }
    // findPair keeps only a pending record between the pair's own slots.
    to = slotNamed(pair, u.pending.from) ?? pair.slots[0];
    from = otherSlot(pair, to);
    recordedReplicas = u.pending.fromReplicas;
    reason = `goes back from the ${u.pending.action} ${u.pending.from} → ${u.pending.to} started ${u.pending.at}, which was not verified (${describeServices(pair)})`;
  } else {
    const agreed = agreedRecord(pair);
    if (agreed.none) return { kind: "noop", message: `nothing to abort: no promote of app ${pair.app} is recorded on its Service(s)` };
    if (agreed.why) return { kind: "refused", message: `will not abort app ${pair.app}: ${agreed.why}; nothing changed`, hint };
    const rec = agreed.record;
    if (!rec) return { kind: "noop", message: `nothing to abort: no promote of app ${pair.app} is recorded on its Service(s)` };
    if (rec.action === "abort") return { kind: "noop", message: `nothing to abort: the last promote of app ${pair.app} was already aborted at ${rec.at}` };
    const { live, idle } = pair;
    if (rec.to !== live.value || rec.from !== idle.value) {
      return {
        kind: "refused",
        message: `the last promote switched app ${pair.app} from ${rec.from} to ${rec.to}, but ${pair.slotLabel}=${live.value} is live now; the Services were changed since, so abort will not guess`,
        hint,
      };
    }
    // Going back means to the version traffic left: a slot that holds another one since (a deploy) is not "back".
    if (deploymentVersion(idle.deployment, pair.slotLabel) !== rec.fromTemplate) {
      return {
        kind: "refused",
        message: `will not abort app ${pair.app}: the idle slot ${idle.value} no longer holds the version traffic left at ${rec.at} (a new version was deployed into it since), so there is nothing to go back to; nothing changed`,
        hint: `To send traffic to what the idle slot holds now, promote it: kubectl bluegreen promote ${pair.app}`,
      };
    }
    from = live;
    to = idle;
    recordedReplicas = rec.fromReplicas;
    reason = `the last promote (${rec.at} by ${rec.by || "unknown"}) switched ${rec.from} → ${rec.to}`;
  }
  const desired = replicaCounts(to.deployment).desired;
  const scaleUp = desired === 0 ? scaleBackReplicas(recordedReplicas, from) : undefined;
  const minAvailable = scaleUp ?? Math.max(1, Math.min(desired, replicaCounts(from.deployment).available));
  const plan = switchPlan(pair, "abort", from, to, minAvailable, reason, opts);
  if (plan.kind === "refused") return plan;
  if (scaleUp !== undefined) {
    plan.steps.unshift({
      kind: "scale-up",
      deployment: nameOf(to.deployment),
      replicas: scaleUp,
      was: 0,
      resourceVersion: to.deployment.metadata.resourceVersion ?? "",
      guard: deploymentGuard(to.deployment),
    });
  }
  if (opts.scaleDown) plan.steps.push({ kind: "scale-down", deployment: nameOf(from.deployment), delayMs: opts.scaleDownDelayMs, version: plan.record.fromTemplate });
  return plan;
}

/** Retiring the slot traffic left, on its own (the scale-down command). */
export interface ScaleDownPlan {
  kind: "scale-down";
  app: string;
  namespace: string;
  slotLabel: string;
  slot: Slot;
  live: Slot;
  /** The switch that took traffic from the slot: its operation id, time and the version it left. */
  record: SwitchRecord;
  /** What is left of the delay, counted from the switch. */
  delayMs: number;
  routers: RouterRef[];
  routing: Routing;
}

/**
 * Plans scale-down: only the slot the last recorded switch took traffic from, still holding that version,
 * and never while the app is mid-switch. The delay counts from that switch.
 */
export function planScaleDown(pair: WellFormedPair, o: { now: Date; delayMs: number }): ScaleDownPlan | NoopPlan | RefusedPlan {
  const hint = `Run kubectl bluegreen status ${pair.app} to see the app.`;
  const refuse = (why: string, h = hint): RefusedPlan => ({ kind: "refused", message: `will not scale down app ${pair.app}'s idle slot: ${why}; nothing changed`, hint: h });
  if (pair.live === undefined || pair.unsettled !== undefined) {
    return refuse(`a switch is in progress or was interrupted (${describeServices(pair)})`, `Finish it with kubectl bluegreen promote ${pair.app}, or go back with kubectl bluegreen abort ${pair.app}.`);
  }
  const { live, idle, slotLabel } = pair;
  const name = nameOf(idle.deployment);
  const agreed = agreedRecord(pair);
  if (agreed.why) return refuse(agreed.why);
  const rec = agreed.record;
  if (!rec) return refuse(`no switch is recorded on its Services, so nothing says deployment/${name} is the slot traffic left`, `To scale it anyway: kubectl scale deployment/${name} -n ${pair.namespace} --replicas=0`);
  if (rec.from !== idle.value || rec.to !== live.value) return refuse(`the last recorded switch went ${rec.from} → ${rec.to}, but ${slotLabel}=${live.value} is live now`);
  if (deploymentVersion(idle.deployment, slotLabel) !== rec.fromTemplate) {
    return refuse(
      `deployment/${name} holds a version deployed after the last switch, not the one traffic left (a release waiting to be promoted)`,
      `To scale it anyway: kubectl scale deployment/${name} -n ${pair.namespace} --replicas=0`,
    );
  }
  if (replicaCounts(idle.deployment).desired === 0) return { kind: "noop", message: `deployment/${name} (${slotLabel}=${idle.value}) is already scaled to 0` };
  const busy = slotBusy(pair, idle, o.now);
  if (busy) return busy;
  const delayMs = Math.max(0, Date.parse(rec.at) + o.delayMs - o.now.getTime());
  return {
    kind: "scale-down",
    app: pair.app,
    namespace: pair.namespace,
    slotLabel,
    slot: idle,
    live,
    record: rec,
    delayMs: Math.min(delayMs, o.delayMs),
    routers: routerRefs(pair),
    routing: pair.routing ?? { slotLabel, slotServices: {} },
  };
}

/** Why the target slot cannot take traffic yet (empty when it can). */
export function preflight(plan: SwitchPlan): string[] {
  const why = promotable(plan.to.deployment, plan.minAvailable);
  return why ? [why] : [];
}
