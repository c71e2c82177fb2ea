// Planning a deploy: a new version into the idle slot, computed from the objects as read. Never the live slot.
import type { Container, Deployment, PodTemplate, Service } from "./model.js";
import { nameOf } from "./model.js";
import { type Slot, type WellFormedPair, describeServices, formatSelector, selects, templateLabels } from "./pair.js";
import { agreedRecord, slotBusy, type RefusedPlan } from "./plan.js";
import { replicaCounts } from "./readiness.js";
import { DEPLOY_ANNOTATION, type DeployRecord, SCALE_DOWN_AT_ANNOTATION, canonicalJson, deploymentVersion, versionHash } from "./record.js";

/** `--image [CONTAINER=]IMAGE`. */
export interface ImageChange {
  container?: string;
  image: string;
}

export interface DeployOptions {
  images: ImageChange[];
  /** `--env NAME=VALUE`, set on every container. */
  env: { name: string; value: string }[];
  /** Start from the live slot's template (default) or the idle slot's own. */
  from: "live" | "idle";
  /** Default: the live slot's desired replicas. */
  replicas?: number;
  by: string;
  now: Date;
  id: string;
}

/** One conditional write of the idle Deployment: its pod template, replicas and the deploy record. */
export interface DeployPlan {
  kind: "deploy";
  app: string;
  namespace: string;
  slotLabel: string;
  slot: Slot;
  live: Slot;
  deployment: string;
  /** The write fails (409) if the Deployment changed since it was read at this resourceVersion. */
  resourceVersion: string;
  /** The pod template as read, and as it will be. */
  before: PodTemplate;
  template: PodTemplate;
  replicas: number;
  /** The JSON merge patch to send (its metadata.resourceVersion makes it conditional). */
  patch: { metadata: { resourceVersion: string; annotations: Record<string, string | null> }; spec: { replicas: number; template?: unknown } };
  record: DeployRecord;
  /** What changes, one line each ("image of container web: a → b"). */
  changes: string[];
  /** The template and replicas stay as they are: nothing to write. */
  unchanged: boolean;
  /** Live Services, marked busy while the write is made so no switch sends traffic to the slot meanwhile. */
  liveServices: string[];
  /** Set when the idle slot holds the version abort would go back to, which this deploy replaces. */
  replaces?: string;
}

/** A flag that does not fit the app's containers: exit 2 (ambiguous) or 3 (no such container). */
type BadInput = { kind: "usage"; message: string; hint: string } | { kind: "not-found"; message: string; hint: string };

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v ?? {})) as T;

/**
 * The JSON merge patch (RFC 7386) that turns `a` into `b`: objects key by key (a removed key is null),
 * anything else whole. Undefined when they are equal.
 */
export function mergePatchOf(a: unknown, b: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const out: Record<string, unknown> = {};
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const [x, y] = [a[k], b[k]];
      if (y === undefined || y === null) {
        if (x !== undefined && x !== null) out[k] = null;
        continue;
      }
      const d = x === undefined || x === null ? y : mergePatchOf(x, y);
      if (d !== undefined) out[k] = d;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return canonicalJson(a) === canonicalJson(b) ? undefined : b;
}

const containersOf = (t: PodTemplate): Container[] => [...(t.spec?.containers ?? []), ...(t.spec?.initContainers ?? [])];

/** Sets the images and env on a template (in place); a BadInput when a container cannot be told. */
function applyChanges(t: PodTemplate, d: Deployment, o: DeployOptions): BadInput | undefined {
  const main = t.spec?.containers ?? [];
  const names = containersOf(t).map((c) => c.name);
  for (const change of o.images) {
    let target: Container | undefined;
    if (change.container === undefined) {
      if (main.length !== 1) {
        return {
          kind: "usage",
          message: `deployment/${nameOf(d)} has ${main.length} containers (${main.map((c) => c.name).join(", ")}), so --image ${change.image} must name one`,
          hint: "Write --image CONTAINER=IMAGE.",
        };
      }
      target = main[0];
    } else {
      target = containersOf(t).find((c) => c.name === change.container);
      if (!target) {
        return { kind: "not-found", message: `deployment/${nameOf(d)} has no container named ${change.container}; its containers are ${names.join(", ")}`, hint: "Name one of them: --image CONTAINER=IMAGE." };
      }
    }
    if (target) target.image = change.image;
  }
  for (const c of main) {
    for (const e of o.env) {
      c.env = c.env ?? [];
      const env = c.env;
      const i = env.findIndex((x) => x.name === e.name);
      if (i >= 0) env[i] = { name: e.name, value: e.value };
      else env.push({ name: e.name, value: e.value });
    }
  }
  return undefined;
}

/** What differs between two templates, for people: images, env, and whether anything else changed. */
function describeChanges(before: PodTemplate, after: PodTemplate, slotLabel: string): string[] {
  const lines: string[] = [];
  const old = new Map(containersOf(before).map((c) => [c.name, c]));
  for (const c of containersOf(after)) {
    const was = old.get(c.name);
    if (!was) lines.push(`container ${c.name}: added (${c.image ?? ""})`);
    else if (was.image !== c.image) lines.push(`image of container ${c.name}: ${was.image ?? ""} → ${c.image ?? ""}`);
    const oldEnv = new Map((was?.env ?? []).map((e) => [e.name, e]));
    for (const e of c.env ?? []) {
      const x = oldEnv.get(e.name);
      if (!x || canonicalJson(x) !== canonicalJson(e)) lines.push(`env of container ${c.name}: ${e.name}=${e.value ?? "(from a source)"}`);
    }
    const newEnv = new Set((c.env ?? []).map((e) => e.name));
    for (const name of oldEnv.keys()) if (!newEnv.has(name)) lines.push(`env of container ${c.name}: ${name} removed`);
  }
  for (const name of old.keys()) if (!containersOf(after).some((c) => c.name === name)) lines.push(`container ${name}: removed`);
  // Everything else the template carries (probes, resources, volumes, labels…): said once, diff shows it.
  const strip = (t: PodTemplate) => {
    const x = clone(t) as PodTemplate & { metadata?: { labels?: Record<string, string> } };
    for (const c of containersOf(x)) {
      c.image = "";
      c.env = [];
    }
    if (x.metadata?.labels) delete x.metadata.labels[slotLabel];
    return x;
  };
  if (canonicalJson(strip(before)) !== canonicalJson(strip(after))) lines.push("other pod template fields: as in the live slot (kubectl bluegreen diff shows them)");
  return lines;
}

/** Plans deploy: the idle slot gets the new template, conditionally; refuses while the slot is or may become live. */
export function planDeploy(pair: WellFormedPair, services: Service[], o: DeployOptions): DeployPlan | RefusedPlan | BadInput {
  const hint = `Run kubectl bluegreen status ${pair.app} to see the app.`;
  if (pair.live === undefined || pair.unsettled !== undefined) {
    return {
      kind: "refused",
      message: `will not deploy into app ${pair.app}: a switch is in progress or was interrupted (${describeServices(pair)}), so neither slot is idle for sure; nothing changed`,
      hint: `Finish it with kubectl bluegreen promote ${pair.app}, or go back with kubectl bluegreen abort ${pair.app}.`,
    };
  }
  const { live, idle, slotLabel } = pair;
  const d = idle.deployment;
  const name = nameOf(d);
  const busy = slotBusy(pair, idle, o.now);
  if (busy) return busy;
  const before = clone(d.spec?.template ?? {});
  const template = clone(o.from === "live" ? (live.deployment.spec?.template ?? {}) : before);
  template.metadata ??= {};
  template.metadata.labels = { ...(template.metadata.labels ?? {}), [slotLabel]: idle.value };
  const bad = applyChanges(template, d, o);
  if (bad) return bad;
  // The Deployment's selector must still select its pods.
  const selector = d.spec?.selector?.matchLabels ?? {};
  const missing = Object.entries(selector).filter(([k, v]) => template.metadata?.labels?.[k] !== v);
  if (missing.length) {
    return {
      kind: "refused",
      message: `the pod template of deployment/${nameOf(live.deployment)} lacks ${formatSelector(Object.fromEntries(missing))}, which deployment/${name}'s selector needs; nothing changed`,
      hint: `Deploy from the idle slot's own template instead: kubectl bluegreen deploy ${pair.app} --from idle …`,
    };
  }
  // No Service but the app's preview Services may select the idle slot, before or after the deploy.
  const previews = new Set(pair.previewServices.map(nameOf));
  for (const labels of [templateLabels(d), template.metadata.labels]) {
    const user = services.find((s) => !previews.has(nameOf(s)) && selects(s.spec?.selector, labels));
    if (user) {
      return {
        kind: "refused",
        message: `will not deploy into deployment/${name}: service/${nameOf(user)} selects its pods (${formatSelector(user.spec?.selector ?? {})}), so it is not idle; nothing changed`,
        hint,
      };
    }
  }
  const replicas = o.replicas ?? replicaCounts(live.deployment).desired;
  const templatePatch = mergePatchOf(before, template);
  const changes = describeChanges(before, template, slotLabel);
  const oldReplicas = replicaCounts(d).desired;
  if (replicas !== oldReplicas) changes.push(`replicas: ${oldReplicas} → ${replicas}`);
  const images = containersOf(template).map((c) => `${c.name}=${c.image ?? ""}`);
  const record: DeployRecord = { id: o.id, at: o.now.toISOString(), by: o.by, source: o.from, images, replicas, template: versionHash(template, slotLabel) };
  // Replacing the version traffic left means abort has nothing to go back to.
  const last = agreedRecord(pair).record;
  const replaces =
    last?.action === "promote" && last.from === idle.value && deploymentVersion(d, slotLabel) === last.fromTemplate && record.template !== last.fromTemplate
      ? `deployment/${name} holds the version traffic left at ${last.at} (${containersOf(before).map((c) => c.image ?? "").join(", ")}), the one abort would go back to; after this deploy, abort refuses and the previous version is gone from the cluster`
      : undefined;
  return {
    kind: "deploy",
    app: pair.app,
    namespace: pair.namespace,
    slotLabel,
    slot: idle,
    live,
    deployment: name,
    resourceVersion: d.metadata.resourceVersion ?? "",
    before,
    template,
    replicas,
    patch: {
      metadata: {
        resourceVersion: d.metadata.resourceVersion ?? "",
        // A scale-down pending on the old version no longer applies to the new one.
        annotations: { [DEPLOY_ANNOTATION]: JSON.stringify(record), [SCALE_DOWN_AT_ANNOTATION]: null },
      },
      spec: { replicas, ...(templatePatch === undefined ? {} : { template: templatePatch }) },
    },
    record,
    changes,
    unchanged: templatePatch === undefined && replicas === oldReplicas,
    liveServices: pair.liveServices.map(nameOf),
    replaces,
  };
}
