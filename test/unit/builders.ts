// Builders for the objects the API server returns, in the shapes of real blue/green states.
import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import type { Deployment, ReplicaSet, Service } from "../../src/bluegreen/model.js";
import type { AppPair, SettledPair, WellFormedPair } from "../../src/bluegreen/pair.js";

export interface DeployOpts {
  ns?: string;
  labels?: Record<string, string>;
  image?: string;
  replicas?: number;
  ready?: number;
  updated?: number;
  available?: number;
  current?: number;
  generation?: number;
  observed?: number;
  deadlineExceeded?: boolean;
  created?: string;
}

/** A Deployment whose pod template carries `labels`; status fully rolled out unless told otherwise. */
export function deployment(name: string, o: DeployOpts = {}): Deployment {
  const replicas = o.replicas ?? 3;
  const labels = o.labels ?? {};
  return {
    metadata: {
      name,
      namespace: o.ns ?? "blue-green",
      labels,
      generation: o.generation ?? 1,
      uid: `uid-${name}`,
      resourceVersion: "100",
      creationTimestamp: o.created ?? "2026-11-22T10:00:00Z",
    },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "app", image: o.image ?? "myapp:v1" }] },
      },
    },
    status: {
      observedGeneration: o.observed ?? o.generation ?? 1,
      replicas: o.current ?? replicas,
      updatedReplicas: o.updated ?? replicas,
      readyReplicas: o.ready ?? o.available ?? replicas,
      availableReplicas: o.available ?? replicas,
      conditions: o.deadlineExceeded
        ? [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }]
        : [{ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" }],
    },
  };
}

/** A Service with a selector. */
export function service(name: string, selector: Record<string, string>, o: { ns?: string; annotations?: Record<string, string>; rv?: string } = {}): Service {
  return {
    metadata: { name, namespace: o.ns ?? "blue-green", annotations: o.annotations, resourceVersion: o.rv ?? "200", uid: `uid-${name}` },
    spec: { selector, type: "ClusterIP" },
  };
}

/**
 * The ReplicaSet the Deployment controller made for a Deployment's current template, created at `created`
 * (the template may be given to model an older version; the controller adds pod-template-hash).
 */
export function replicaSet(d: Deployment, created: string, template = d.spec?.template): ReplicaSet {
  const t = structuredClone(template)!;
  t.metadata = { ...t.metadata, labels: { ...(t.metadata?.labels ?? {}), "pod-template-hash": created.replace(/\D/g, "").slice(-10) } };
  return {
    metadata: {
      name: `${d.metadata.name}-${created.replace(/\D/g, "").slice(-6)}`,
      namespace: d.metadata.namespace,
      creationTimestamp: created,
      ownerReferences: [{ kind: "Deployment", name: d.metadata.name ?? "", uid: d.metadata.uid ?? "", controller: true }],
    },
    spec: { replicas: d.spec?.replicas, template: t },
  };
}

/** When the tutorial's versions first appeared: v1 two days before v2. */
export const V1_CREATED = "2026-11-20T08:00:00Z";
export const V2_CREATED = "2026-11-22T10:00:00Z";

/**
 * The tutorial layout: myapp-v1 (live, myapp:v1) and myapp-v2 (myapp:v2, deployed later), Service myapp on
 * version v1, and the ReplicaSets the server keeps for them.
 */
export function tutorial(o: { v2?: DeployOpts; v1?: DeployOpts } = {}) {
  const deployments = [
    deployment("myapp-v1", { labels: { app: "myapp", version: "v1" }, image: "myapp:v1", ...o.v1 }),
    deployment("myapp-v2", { labels: { app: "myapp", version: "v2" }, image: "myapp:v2", ...o.v2 }),
  ];
  return {
    deployments,
    services: [service("myapp", { app: "myapp", version: "v1" })],
    replicaSets: [replicaSet(deployments[0]!, V1_CREATED), replicaSet(deployments[1]!, V2_CREATED)],
  };
}

/** Objects from a multi-document YAML fixture under test/unit/fixtures. */
export function fixture(file: string): { deployments: Deployment[]; services: Service[]; replicaSets: ReplicaSet[] } {
  const text = readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8");
  const docs = text.split(/^---$/m).map((d) => load(d) as { kind?: string } | null).filter(Boolean) as { kind: string }[];
  const deployments = docs.filter((d) => d.kind === "Deployment") as unknown as Deployment[];
  for (const d of deployments) d.metadata.uid ??= `uid-${d.metadata.name}`;
  return {
    deployments,
    services: docs.filter((d) => d.kind === "Service") as unknown as Service[],
    // One ReplicaSet per Deployment, made when the Deployment was.
    replicaSets: deployments.map((d) => replicaSet(d, String(d.metadata.creationTimestamp))),
  };
}

/** The pair, which the test expects to be well formed (as the commands' requireWellFormed makes it). */
export function wellFormed(p: AppPair): WellFormedPair {
  if (p.problem !== undefined) throw new Error(`expected a well-formed pair, got: ${p.problem}`);
  return p;
}

/** The pair, which the test expects to have one live slot (as diff checks before comparing). */
export function settled(p: AppPair): SettledPair {
  const w = wellFormed(p);
  if (w.live === undefined) throw new Error("expected a pair with a live slot");
  return w;
}
