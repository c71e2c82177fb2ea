// What the API server itself keeps about versions: the ReplicaSets the Deployment controller made for
// each pod template, and when. Used so that "the idle slot is newer" never rests on our annotation alone.
import type { Deployment, ReplicaSet } from "./model.js";
import { nameOf } from "./model.js";
import { RESTARTED_AT_ANNOTATION, deploymentVersion, versionHash } from "./record.js";

/** When the version a Deployment runs now first appeared, by its oldest ReplicaSet with the same version. */
export interface VersionAge {
  deployment: string;
  hash: string;
  /** Creation time of the oldest ReplicaSet of this version; undefined when none is found yet. */
  since?: Date;
  /** Set when the server's evidence cannot date this version (a restart may have pruned older ReplicaSets). */
  uncertain?: string;
}

/** How long after a rollout restart its new ReplicaSet is created, at most: within this, the restart may be what made it. */
const RESTART_WINDOW_MS = 120_000;

const time = (t: string | Date | undefined): number => (t instanceof Date ? t.getTime() : t ? Date.parse(t) : Number.NaN);

/** Dates the version a Deployment runs from the ReplicaSets it owns. */
export function versionAge(d: Deployment, replicaSets: ReplicaSet[], slotLabel: string): VersionAge {
  const hash = deploymentVersion(d, slotLabel);
  const owned = replicaSets.filter((rs) => rs.metadata.ownerReferences?.some((o) => o.uid === d.metadata.uid && o.kind === "Deployment"));
  const same = owned
    .filter((rs) => versionHash(rs.spec?.template, slotLabel) === hash && !Number.isNaN(time(rs.metadata.creationTimestamp)))
    .sort((a, b) => time(a.metadata.creationTimestamp) - time(b.metadata.creationTimestamp));
  const first = same[0];
  if (!first) return { deployment: nameOf(d), hash, uncertain: `no ReplicaSet of deployment/${nameOf(d)} runs its current template yet` };
  const since = new Date(time(first.metadata.creationTimestamp));
  const restartedAt = first.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
  const restarted = time(restartedAt);
  // Made by that restart only if no ReplicaSet of another version carries the same restart: when one does,
  // the restart happened on that version and this one came from a later template change.
  const restartOfOther = owned.some(
    (rs) => rs.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] === restartedAt && versionHash(rs.spec?.template, slotLabel) !== hash,
  );
  if (!Number.isNaN(restarted) && !restartOfOther && Math.abs(since.getTime() - restarted) <= RESTART_WINDOW_MS) {
    // The oldest ReplicaSet of this version may be a restart's: the version itself may be older.
    return { deployment: nameOf(d), hash, since, uncertain: `the oldest ReplicaSet of deployment/${nameOf(d)}'s version was made by a rollout restart, so its age is unknown` };
  }
  return { deployment: nameOf(d), hash, since };
}

/**
 * The ReplicaSets each Deployment owns, indexed once: status of many apps hands each app only its own, instead
 * of every app scanning every ReplicaSet (10,000 apps: 20,000 ReplicaSets, 20,000 times).
 */
export function replicaSetsOwnedBy(replicaSets: ReplicaSet[]): (deployments: Deployment[]) => ReplicaSet[] {
  const owned = new Map<string, ReplicaSet[]>();
  for (const rs of replicaSets) {
    for (const uid of new Set(rs.metadata.ownerReferences?.filter((o) => o.kind === "Deployment").map((o) => o.uid))) {
      const list = owned.get(uid);
      if (list) list.push(rs);
      else owned.set(uid, [rs]);
    }
  }
  return (deployments) => [...new Set(deployments.flatMap((d) => (d.metadata.uid === undefined ? [] : (owned.get(d.metadata.uid) ?? []))))];
}

/** Is `a` a strictly newer version than `b` by the server's evidence? Equal seconds are not newer. */
export function newer(a: VersionAge, b: VersionAge): boolean {
  if (a.uncertain || !a.since || !b.since) return false;
  return Math.floor(a.since.getTime() / 1000) > Math.floor(b.since.getTime() / 1000);
}
