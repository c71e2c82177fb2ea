// Planning a deploy: a new version into the idle slot, computed from the objects as read. Never the live slot.
import type { Container, Deployment, PodTemplate, Service } from "./model.js";
import { nameOf } from "./model.js";
import { type Slot, type WellFormedPair, describeServices, formatSelector, idleSelectors, routerRefs, selects, templateLabels } from "./pair.js";
import type { RouterRef, Routing } from "./routers/types.js";
import { agreedRecord, slotBusy, type RefusedPlan } from "./plan.js";
import { replicaCounts } from "./readiness.js";
import { DEPLOY_ANNOTATION, type DeployRecord, SCALE_DOWN_AT_ANNOTATION, canonicalJson, deploymentVersion, versionHash } from "./record.js";

/** `--image [CONTAINER=]IMAGE`. */
export interface ImageChange {
  container?: string;
  image: string;
}

/** `--env [CONTAINER:]NAME=VALUE`. */
export interface EnvChange {
  container?: string;
  name: string;
  value: string;
}

/** The pod template label that Helm (and the recommended labels) use for the app's version. */
export const VERSION_LABEL = "app.kubernetes.io/version";

export interface DeployOptions {
  images: ImageChange[];
  /** Without a container: on the containers --image changes, else on the pod's only container. */
  env: EnvChange[];
  /** `--set-label KEY=VALUE`: pod template labels (never the slot label or a selector's). */
  labels?: { key: string; value: string }[];
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
  /** The template as read with only what the flags name: what differs from it in `template` came from the source slot. */
  named: PodTemplate;
  replicas: number;
  /** The JSON merge patch to send (its metadata.resourceVersion makes it conditional). */
  patch: { metadata: { resourceVersion: string; annotations: Record<string, string | null> }; spec: { replicas: number; template?: unknown } };
  record: DeployRecord;
  /** What the flags change, one line each ("image of container web: a → b"), and replicas. */
  changes: string[];
  /** What else changes because the template is the live slot's (other images, env, resources…), one line each. */
  extraChanges: string[];
  /** Said before the write (a version label that cannot follow the image, …). */
  notes: string[];
  /** The template and replicas stay as they are: nothing to write. */
  unchanged: boolean;
  /** Live routers, marked busy while the write is made so no switch sends traffic to the slot meanwhile. */
  routers: RouterRef[];
  routing: Routing;
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

/** The tag of an image reference (`registry:5000/web:1.2@sha256:…` → `1.2`); undefined when it has none. */
export function imageTag(image: string): string | undefined {
  const name = image.split("@")[0] ?? "";
  const last = name.slice(name.lastIndexOf("/") + 1);
  const colon = last.lastIndexOf(":");
  return colon >= 0 && colon < last.length - 1 ? last.slice(colon + 1) : undefined;
}

// The rules of k8s.io/apimachinery's IsValidLabelValue, for a tag that is to become a label value.
const isLabelValue = (v: string) => v.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v);

/** What the flags name, resolved against the source template: each change by container name. */
interface Named {
  images: { container: string; image: string }[];
  env: { container: string; name: string; value: string }[];
  labels: Record<string, string>;
}

/** Resolves the flags against the template deploy starts from; a BadInput when a container or label cannot be told. */
function resolveNamed(source: PodTemplate, d: Deployment, o: DeployOptions, fixedLabels: Map<string, string>, notes: string[]): Named | BadInput {
  const main = source.spec?.containers ?? [];
  const names = containersOf(source).map((c) => c.name);
  const notFound = (container: string, flag: string): BadInput => ({
    kind: "not-found",
    message: `deployment/${nameOf(d)} has no container named ${container}; its containers are ${names.join(", ")}`,
    hint: `Name one of them: ${flag}.`,
  });
  const images: Named["images"] = [];
  for (const change of o.images) {
    if (change.container === undefined) {
      if (main.length !== 1) {
        return {
          kind: "usage",
          message: `deployment/${nameOf(d)} has ${main.length} containers (${main.map((c) => c.name).join(", ")}), so --image ${change.image} must name one`,
          hint: "Write --image CONTAINER=IMAGE.",
        };
      }
      images.push({ container: main[0]?.name ?? "", image: change.image });
    } else {
      if (!names.includes(change.container)) return notFound(change.container, "--image CONTAINER=IMAGE");
      images.push({ container: change.container, image: change.image });
    }
  }
  // --env without a container goes where the new version goes: the app containers --image changes, not a
  // sidecar that happens to share the pod; with no such --image, the pod's only container.
  const imaged = [...new Set(images.map((i) => i.container).filter((n) => main.some((c) => c.name === n)))];
  const env: Named["env"] = [];
  for (const e of o.env) {
    if (e.container !== undefined) {
      if (!names.includes(e.container)) return notFound(e.container, "--env CONTAINER:NAME=VALUE");
      env.push({ container: e.container, name: e.name, value: e.value });
      continue;
    }
    const targets = imaged.length ? imaged : main.length === 1 ? [main[0]?.name ?? ""] : [];
    if (!targets.length) {
      return {
        kind: "usage",
        message: `deployment/${nameOf(d)} has ${main.length} containers (${main.map((c) => c.name).join(", ")}) and no --image names one of them, so --env ${e.name}=${e.value} must name its container`,
        hint: "Write --env CONTAINER:NAME=VALUE.",
      };
    }
    for (const container of targets) env.push({ container, name: e.name, value: e.value });
  }
  const labels: Record<string, string> = {};
  for (const l of o.labels ?? []) {
    const why = fixedLabels.get(l.key);
    if (why !== undefined) {
      return { kind: "usage", message: `--set-label ${l.key}=${l.value} would change ${why}, which must not change`, hint: "" };
    }
    labels[l.key] = l.value;
  }
  // A version label that followed the image's tag follows the new one (Helm's app.kubernetes.io/version).
  const version = source.metadata?.labels?.[VERSION_LABEL];
  if (version && !(VERSION_LABEL in labels)) {
    const followed = images.find((i) => {
      const was = containersOf(source).find((c) => c.name === i.container)?.image;
      return was !== undefined && was !== i.image && imageTag(was) === version;
    });
    if (followed) {
      const tag = imageTag(followed.image);
      if (tag !== undefined && isLabelValue(tag)) labels[VERSION_LABEL] = tag;
      else {
        notes.push(
          `pod template label ${VERSION_LABEL}=${version} followed the image tag of container ${followed.container}, but ${followed.image} has no tag that can be a label value, so the label stays ${version}; set it with --set-label ${VERSION_LABEL}=VALUE`,
        );
      }
    }
  }
  return { images, env, labels };
}

/** Applies resolved changes to a template (in place), by container name; containers it lacks are left out. */
function applyNamed(t: PodTemplate, n: Named): void {
  const byName = new Map(containersOf(t).map((c) => [c.name, c]));
  for (const i of n.images) {
    const c = byName.get(i.container);
    if (c) c.image = i.image;
  }
  for (const e of n.env) {
    const c = byName.get(e.container);
    if (!c) continue;
    c.env = c.env ?? [];
    const i = c.env.findIndex((x) => x.name === e.name);
    if (i >= 0) c.env[i] = { name: e.name, value: e.value };
    else c.env.push({ name: e.name, value: e.value });
  }
  if (Object.keys(n.labels).length) {
    t.metadata ??= {};
    t.metadata.labels = { ...(t.metadata.labels ?? {}), ...n.labels };
  }
}

type Fields = Record<string, unknown>;
const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
const compact = (v: unknown) => (v === undefined || v === null ? "(none)" : canonicalJson(v));
/** The keys whose values differ between two objects, sorted, leaving out `skip`. */
const differing = (a: Fields | undefined, b: Fields | undefined, skip: string[]) =>
  [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].filter((k) => !skip.includes(k) && !same(a?.[k], b?.[k])).sort();

/** One line per changed label or annotation: "pod template label k: a → b", "… k=v added", "… k removed". */
function mapChanges(what: string, a: Record<string, string> | undefined, b: Record<string, string> | undefined, skip: string[]): string[] {
  return differing(a, b, skip).map((k) => {
    const [x, y] = [a?.[k], b?.[k]];
    return x === undefined ? `${what} ${k}=${y} added` : y === undefined ? `${what} ${k} removed` : `${what} ${k}: ${x} → ${y}`;
  });
}

/** What differs between two templates, for people, one line each: containers, images, env, resources, labels, and what else. */
export function describeChanges(before: PodTemplate, after: PodTemplate, slotLabel: string): string[] {
  const lines: string[] = [];
  for (const [field, kind] of [
    ["containers", "container"],
    ["initContainers", "init container"],
  ] as const) {
    const was = new Map((before.spec?.[field] ?? []).map((c) => [c.name, c]));
    const now = after.spec?.[field] ?? [];
    for (const c of now) {
      const old = was.get(c.name);
      if (!old) {
        lines.push(`${kind} ${c.name}: added (${c.image ?? ""})`);
        continue;
      }
      if (old.image !== c.image) lines.push(`image of ${kind} ${c.name}: ${old.image ?? ""} → ${c.image ?? ""}`);
      const oldEnv = new Map((old.env ?? []).map((e) => [e.name, e]));
      for (const e of c.env ?? []) {
        const x = oldEnv.get(e.name);
        if (x && same(x, e)) continue;
        const value = (v: typeof e) => (v.valueFrom === undefined ? (v.value ?? "") : "(from a source)");
        lines.push(`env of ${kind} ${c.name}: ${e.name}=${value(e)}${x ? ` (was ${value(x)})` : ""}`);
      }
      const newEnv = new Set((c.env ?? []).map((e) => e.name));
      for (const name of oldEnv.keys()) if (!newEnv.has(name)) lines.push(`env of ${kind} ${c.name}: ${name} removed`);
      const [a, b] = [old as unknown as Fields, c as unknown as Fields];
      if (!same(a.resources, b.resources)) lines.push(`resources of ${kind} ${c.name}: ${compact(a.resources)} → ${compact(b.resources)}`);
      const rest = differing(a, b, ["name", "image", "env", "resources"]);
      if (rest.length) lines.push(`other fields of ${kind} ${c.name}: ${rest.join(", ")}`);
    }
    for (const name of was.keys()) if (!now.some((c) => c.name === name)) lines.push(`${kind} ${name}: removed`);
  }
  lines.push(...mapChanges("pod template label", before.metadata?.labels, after.metadata?.labels, [slotLabel]));
  lines.push(...mapChanges("pod template annotation", before.metadata?.annotations, after.metadata?.annotations, []));
  const spec = differing(before.spec as Fields | undefined, after.spec as Fields | undefined, ["containers", "initContainers"]);
  const meta = differing(before.metadata as Fields | undefined, after.metadata as Fields | undefined, ["labels", "annotations", "name", "creationTimestamp"]);
  if (spec.length || meta.length) lines.push(`other pod template fields: ${[...spec.map((k) => `spec.${k}`), ...meta.map((k) => `metadata.${k}`)].join(", ")}`);
  return lines;
}

/** Label keys the slots are told apart or selected by, each with what it is: --set-label must not change them. */
function fixedLabels(pair: WellFormedPair, live: Deployment, idle: Deployment, services: Service[]): Map<string, string> {
  const fixed = new Map<string, string>([[pair.slotLabel, `the slot label ${pair.slotLabel}`]]);
  for (const d of [idle, live]) {
    const sel = d.spec?.selector as { matchLabels?: Record<string, string>; matchExpressions?: { key: string }[] } | undefined;
    for (const k of [...Object.keys(sel?.matchLabels ?? {}), ...(sel?.matchExpressions ?? []).map((e) => e.key)]) {
      if (!fixed.has(k)) fixed.set(k, `label ${k} of the selector of deployment/${nameOf(d)}`);
    }
  }
  for (const s of services) {
    if (![idle, live].some((d) => selects(s.spec?.selector, templateLabels(d)))) continue;
    for (const k of Object.keys(s.spec?.selector ?? {})) if (!fixed.has(k)) fixed.set(k, `label ${k} of the selector of service/${nameOf(s)}`);
  }
  return fixed;
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
  const notes: string[] = [];
  const resolved = resolveNamed(template, d, o, fixedLabels(pair, live.deployment, d, services), notes);
  if ("kind" in resolved) return resolved;
  applyNamed(template, resolved);
  // The idle slot's own template with only what was named: the rest of the difference comes from the source.
  const named = clone(before);
  applyNamed(named, resolved);
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
  // No Service but the app's preview Services and slot Services may select the idle slot, before or after the deploy.
  const previews = idleSelectors(routerRefs(pair), pair.routing);
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
  const changes = describeChanges(before, named, slotLabel);
  const extraChanges = describeChanges(named, template, slotLabel);
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
    named,
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
    extraChanges,
    notes,
    unchanged: templatePatch === undefined && replicas === oldReplicas,
    routers: routerRefs(pair, true),
    routing: pair.routing ?? { slotLabel, slotServices: {} },
    replaces,
  };
}
