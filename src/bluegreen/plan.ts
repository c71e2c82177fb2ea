import type { Service } from "./model.js";
import { nameOf } from "./model.js";
import type { AppPair, Slot } from "./pair.js";
import { promotable, replicaCounts } from "./readiness.js";
import { type SwitchRecord, lastSwitch, recordAnnotations, templateHash } from "./state.js";

/** One conditional write to one Service: its selector's slot label moves from one value to another. */
export interface ServiceWrite {
  service: string;
  namespace: string;
  role: "live" | "preview";
  /** The Service's selector as read, and its uid (for the Event). */
  selector: Record<string, string>;
  uid?: string;
  /** The write fails if the Service changed since it was read. */
  resourceVersion: string;
  from: string;
  to: string;
  /** The JSON merge patch to send. */
  patch: { metadata: { resourceVersion: string; annotations: Record<string, string | null> }; spec: { selector: Record<string, string> } };
  /** The patch that restores the Service's selector and annotations (resourceVersion filled in when applied). */
  undo: { metadata: { annotations: Record<string, string | null> }; spec: { selector: Record<string, string> } };
}

/** A switch of traffic between the two slots, as promote and abort perform it. */
export interface SwitchPlan {
  kind: "switch";
  action: "promote" | "abort";
  app: string;
  namespace: string;
  slotLabel: string;
  from: Slot;
  to: Slot;
  /** Available replicas the target needs before the switch. */
  minAvailable: number;
  /** Writes in order: live Services first, then preview Services, each by name. */
  writes: ServiceWrite[];
  /** abort: scale the target back up first (it was scaled down since the promote). */
  scaleUp?: { deployment: string; replicas: number };
  /** abort --scale-down: scale the slot traffic left to 0 afterwards. */
  scaleDown?: { deployment: string };
  record: SwitchRecord;
}

/** Nothing to do, and why (exit 0). */
export interface NoopPlan {
  kind: "noop";
  message: string;
}

export type Plan = SwitchPlan | NoopPlan;

function write(svc: Service, role: "live" | "preview", slotLabel: string, from: string, to: string, rec: SwitchRecord | undefined): ServiceWrite {
  const annotations: Record<string, string | null> = rec ? recordAnnotations(svc, rec) : {};
  const old = svc.metadata.annotations ?? {};
  const undoAnnotations: Record<string, string | null> = {};
  for (const k of Object.keys(annotations)) undoAnnotations[k] = old[k] ?? null;
  return {
    service: nameOf(svc),
    namespace: svc.metadata.namespace ?? "",
    role,
    selector: { ...(svc.spec?.selector ?? {}) },
    uid: svc.metadata.uid,
    resourceVersion: svc.metadata.resourceVersion ?? "",
    from,
    to,
    patch: { metadata: { resourceVersion: svc.metadata.resourceVersion ?? "", annotations }, spec: { selector: { [slotLabel]: to } } },
    undo: { metadata: { annotations: undoAnnotations }, spec: { selector: { [slotLabel]: from } } },
  };
}

function switchPlan(
  pair: AppPair,
  action: "promote" | "abort",
  from: Slot,
  to: Slot,
  minAvailable: number,
  by: string,
  now: Date,
): SwitchPlan {
  const slotLabel = pair.slotLabel!;
  const record: SwitchRecord = {
    action,
    slotLabel,
    from: from.value,
    to: to.value,
    at: now.toISOString(),
    by,
    fromDeployment: nameOf(from.deployment),
    toDeployment: nameOf(to.deployment),
    fromTemplate: templateHash(from.deployment),
    fromReplicas: replicaCounts(from.deployment).desired,
  };
  // The record goes on the live Services, in the same write as the switch; preview Services only swap.
  const writes = [
    ...pair.liveServices.map((s) => write(s, "live", slotLabel, from.value, to.value, record)),
    ...pair.previewServices.map((s) => write(s, "preview", slotLabel, to.value, from.value, undefined)),
  ];
  return { kind: "switch", action, app: pair.app, namespace: pair.namespace, slotLabel, from, to, minAvailable, writes, record };
}

export interface PromoteOptions {
  /** --to: the slot value to send traffic to. */
  to?: string;
  /** --min-ready. */
  minReady?: number;
  by: string;
  now: Date;
}

/** Why a pair cannot be acted on (misconfigured), or undefined. */
export function pairProblem(pair: AppPair): string | undefined {
  if (pair.problem) return pair.problem;
  if (!pair.live || !pair.idle || !pair.slotLabel) return `the live slot of app ${pair.app} cannot be found`;
  return undefined;
}

/** Plans a promote: which Services change, or why nothing needs doing. The pair must be well formed. */
export function planPromote(pair: AppPair, opts: PromoteOptions): Plan | { kind: "unknown-slot"; message: string } {
  const live = pair.live!;
  const idle = pair.idle!;
  if (opts.to !== undefined) {
    if (opts.to === live.value) return { kind: "noop", message: `app ${pair.app} is already live on ${pair.slotLabel}=${live.value}` };
    if (opts.to !== idle.value) {
      return {
        kind: "unknown-slot",
        message: `app ${pair.app} has no slot ${pair.slotLabel}=${opts.to}; its slots are ${live.value} (live) and ${idle.value} (idle)`,
      };
    }
  } else {
    // Idempotent: the idle slot is the one the last promote took traffic from, unchanged since.
    const last = lastSwitch(pair.liveServices[0]);
    if (
      last?.action === "promote" &&
      last.to === live.value &&
      last.from === idle.value &&
      last.fromTemplate === templateHash(idle.deployment)
    ) {
      return {
        kind: "noop",
        message: `app ${pair.app} is already promoted: ${pair.slotLabel}=${live.value} is live since ${last.at}; the idle slot ${idle.value} is the previous version (use abort to go back)`,
      };
    }
  }
  const minAvailable = opts.minReady ?? Math.max(1, replicaCounts(live.deployment).available);
  return switchPlan(pair, "promote", live, idle, minAvailable, opts.by, opts.now);
}

export interface AbortOptions {
  scaleDown: boolean;
  by: string;
  now: Date;
}

/** Plans an abort: back to the slot the last promote took traffic from. */
export function planAbort(pair: AppPair, opts: AbortOptions): Plan | { kind: "refused"; message: string } {
  const live = pair.live!;
  const idle = pair.idle!;
  const last = lastSwitch(pair.liveServices[0]);
  if (!last) return { kind: "noop", message: `nothing to abort: no promote of app ${pair.app} is recorded on its Service(s)` };
  if (last.action === "abort") return { kind: "noop", message: `nothing to abort: the last promote of app ${pair.app} was already aborted at ${last.at}` };
  if (last.to !== live.value || last.from !== idle.value) {
    return {
      kind: "refused",
      message: `the last promote switched app ${pair.app} from ${last.from} to ${last.to}, but ${pair.slotLabel}=${live.value} is live now; the Services were changed since, so abort will not guess`,
    };
  }
  const desired = replicaCounts(idle.deployment).desired;
  const plan = switchPlan(pair, "abort", live, idle, 1, opts.by, opts.now);
  if (desired === 0) {
    const replicas = last.fromReplicas > 0 ? last.fromReplicas : Math.max(1, replicaCounts(live.deployment).desired);
    plan.scaleUp = { deployment: nameOf(idle.deployment), replicas };
  }
  plan.minAvailable = plan.scaleUp ? plan.scaleUp.replicas : Math.max(1, Math.min(desired, replicaCounts(live.deployment).available));
  if (opts.scaleDown) plan.scaleDown = { deployment: nameOf(live.deployment) };
  return plan;
}

/** Why the target slot cannot take traffic yet (empty when it can). */
export function preflight(plan: SwitchPlan): string[] {
  const why = promotable(plan.to.deployment, plan.minAvailable);
  return why ? [why] : [];
}
