import type { Deployment } from "./model.js";
import { plural } from "./plural.js";

/** Where a Deployment's rollout stands, by the rules of `kubectl rollout status`. */
export interface RolloutStatus {
  /** Completely rolled out: nothing left to wait for. */
  done: boolean;
  /** The rollout can no longer finish by itself (ProgressDeadlineExceeded). */
  failed: boolean;
  /** kubectl's own wording. */
  message: string;
}

/** The Deployment controller has seen the Deployment's latest generation. */
export const observed = (d: Deployment): boolean => (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);

/** The rules of kubectl's DeploymentStatusViewer (kubectl/pkg/polymorphichelpers/rollout_status.go). */
export function rolloutStatus(d: Deployment): RolloutStatus {
  const name = d.metadata.name ?? "";
  const s = d.status ?? {};
  if (!observed(d)) {
    return { done: false, failed: false, message: "Waiting for deployment spec update to be observed..." };
  }
  const progressing = s.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return { done: false, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
  }
  const desired = d.spec?.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const replicas = s.replicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (updated < desired) {
    return {
      done: false,
      failed: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${plural(desired, "new replica")} ${desired === 1 ? "has" : "have"} been updated...`,
    };
  }
  if (replicas > updated) {
    return {
      done: false,
      failed: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${plural(replicas - updated, "old replica")} ${replicas - updated === 1 ? "is" : "are"} pending termination...`,
    };
  }
  if (available < updated) {
    return {
      done: false,
      failed: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${plural(updated, "updated replica")} ${updated === 1 ? "is" : "are"} available...`,
    };
  }
  return { done: true, failed: false, message: `deployment "${name}" successfully rolled out` };
}

/** Replica counts as status shows them. */
export function replicaCounts(d: Deployment): { desired: number; ready: number; updated: number; available: number; current: number } {
  const s = d.status ?? {};
  return {
    desired: d.spec?.replicas ?? 1,
    ready: s.readyReplicas ?? 0,
    updated: s.updatedReplicas ?? 0,
    available: s.availableReplicas ?? 0,
    current: s.replicas ?? 0,
  };
}

/** Why a slot cannot take traffic, or undefined when it can. */
export function promotable(idle: Deployment, minAvailable: number): string | undefined {
  const r = rolloutStatus(idle);
  if (!r.done) return r.message;
  const { available } = replicaCounts(idle);
  if (available < minAvailable) {
    return `deployment "${idle.metadata.name}" has ${plural(available, "available replica")}; at least ${minAvailable} ${minAvailable === 1 ? "is" : "are"} needed`;
  }
  return undefined;
}

/** Why the live slot is not serving fully, or undefined when it is healthy. */
export function degraded(live: Deployment): string | undefined {
  const r = rolloutStatus(live);
  if (r.failed) return r.message;
  const { desired, available } = replicaCounts(live);
  if (available === 0) return `deployment "${live.metadata.name}" has no available replicas`;
  if (available < desired) return `deployment "${live.metadata.name}" has ${available} of ${plural(desired, "replica")} available`;
  return undefined;
}
