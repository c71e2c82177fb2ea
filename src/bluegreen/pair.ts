import type { Deployment, Labels, Service } from "./model.js";
import { nameOf, namespaceOf } from "./model.js";

/** The annotation a user sets on a Service to say which role it plays ("live" or "preview"). */
export const ROLE_ANNOTATION = "kubectl-bluegreen/role";

/** One of the app's two Deployments, known by its slot label value. */
export interface Slot {
  value: string;
  deployment: Deployment;
}

/** An app's blue/green pair as found in the cluster, or why it could not be found. */
export interface AppPair {
  app: string;
  namespace: string;
  deployments: Deployment[];
  slotLabel?: string;
  /** Both slots, sorted by slot value. */
  slots?: [Slot, Slot];
  live?: Slot;
  idle?: Slot;
  /** Services that send users to the live slot. */
  liveServices: Service[];
  /** Services that select the idle slot; promote swaps them too. */
  previewServices: Service[];
  /** Services of the app that select both slots (no slot label in their selector). */
  sharedServices: Service[];
  /** Set when the pair is misconfigured: one sentence. */
  problem?: string;
}

/** Template labels of a Deployment's pods. */
export const templateLabels = (d: Deployment): Labels => d.spec?.template?.metadata?.labels ?? {};

/** Does an equality selector select these labels? An empty selector selects nothing (as for Services). */
export function selects(selector: Labels | undefined, labels: Labels): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Renders an equality selector as kubectl writes it: `app=myapp,version=v1`. */
export const formatSelector = (s: Labels): string =>
  Object.entries(s)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/** Label keys whose values differ between the two pod templates (present in both). */
export function differingLabelKeys(a: Deployment, b: Deployment): string[] {
  const la = templateLabels(a);
  const lb = templateLabels(b);
  return Object.keys(la)
    .filter((k) => k in lb && la[k] !== lb[k])
    .sort();
}

/** A Service belongs to the pair when its selector agrees with every label the two pod templates share. */
function belongs(svc: Service, a: Deployment, b: Deployment, slotKeys: string[]): boolean {
  const sel = svc.spec?.selector ?? {};
  const la = templateLabels(a);
  const lb = templateLabels(b);
  const rest = Object.entries(sel).filter(([k]) => !slotKeys.includes(k));
  return rest.length > 0 && rest.every(([k, v]) => la[k] === v && lb[k] === v);
}

function looksLikePreview(svc: Service): boolean {
  const role = svc.metadata.annotations?.[ROLE_ANNOTATION];
  if (role) return role === "preview";
  return /(^|[-_.])(preview|idle|staging)([-_.]|$)/.test(nameOf(svc));
}

const byName = <T extends { metadata: { name?: string } }>(a: T, b: T) => nameOf(a).localeCompare(nameOf(b));

/** Finds the pair, slot label, live slot and Services of one app from its Deployments and the namespace's Services. */
export function findPair(app: string, namespace: string, deployments: Deployment[], services: Service[], forcedSlotLabel?: string): AppPair {
  const deps = [...deployments].sort(byName);
  const pair: AppPair = { app, namespace, deployments: deps, liveServices: [], previewServices: [], sharedServices: [] };
  const fail = (problem: string): AppPair => ({ ...pair, problem });
  if (deps.length !== 2) {
    const names = deps.map(nameOf).join(", ");
    return fail(
      deps.length === 1
        ? `only one Deployment (${names}) belongs to app ${app}; a blue/green pair needs two`
        : `${deps.length} Deployments (${names}) belong to app ${app}; a blue/green pair needs exactly two`,
    );
  }
  const [a, b] = deps as [Deployment, Deployment];
  const candidates = differingLabelKeys(a, b);
  const nsServices = services.filter((s) => namespaceOf(s) === namespace).sort(byName);
  let slotLabel: string;
  if (forcedSlotLabel) {
    const la = templateLabels(a)[forcedSlotLabel];
    const lb = templateLabels(b)[forcedSlotLabel];
    if (la === undefined || lb === undefined) {
      return fail(`the slot label ${forcedSlotLabel} is missing from the pod template of ${nameOf(la === undefined ? a : b)}`);
    }
    if (la === lb) return fail(`both Deployments have ${forcedSlotLabel}=${la}; the slot label must tell them apart`);
    slotLabel = forcedSlotLabel;
  } else if (candidates.length === 0) {
    return fail(`the pod templates of ${nameOf(a)} and ${nameOf(b)} differ in no label, so there is no slot label to switch`);
  } else if (candidates.length === 1) {
    slotLabel = candidates[0]!;
  } else {
    // Several labels differ: the slot label is the one the app's Services select on.
    const used = candidates.filter((k) =>
      nsServices.some((s) => k in (s.spec?.selector ?? {}) && belongs(s, a, b, candidates)),
    );
    if (used.length !== 1) {
      return fail(`the pod templates differ in ${candidates.join(", ")} and the Services do not tell which is the slot label; pass --slot-label`);
    }
    slotLabel = used[0]!;
  }
  const slotA: Slot = { value: templateLabels(a)[slotLabel]!, deployment: a };
  const slotB: Slot = { value: templateLabels(b)[slotLabel]!, deployment: b };
  const slots = ([slotA, slotB].sort((x, y) => x.value.localeCompare(y.value))) as [Slot, Slot];
  const withSlots: AppPair = { ...pair, slotLabel, slots };

  const toA: Service[] = [];
  const toB: Service[] = [];
  for (const svc of nsServices) {
    if (!belongs(svc, a, b, [slotLabel])) continue;
    const sel = svc.spec?.selector ?? {};
    if (!(slotLabel in sel)) {
      withSlots.sharedServices.push(svc);
      continue;
    }
    if (sel[slotLabel] === slotA.value) toA.push(svc);
    else if (sel[slotLabel] === slotB.value) toB.push(svc);
    else {
      return {
        ...withSlots,
        problem: `Service ${nameOf(svc)} selects ${slotLabel}=${sel[slotLabel]}, which neither ${nameOf(a)} (${slotA.value}) nor ${nameOf(b)} (${slotB.value}) has`,
      };
    }
  }
  let live: Slot;
  let liveServices: Service[];
  let previewServices: Service[];
  if (toA.length === 0 && toB.length === 0) {
    return {
      ...withSlots,
      problem: `no Service selects either slot: a Service with selector ${formatSelector({ ...commonLabels(a, b), [slotLabel]: slotA.value })} is needed`,
    };
  }
  if (toA.length > 0 && toB.length > 0) {
    const aPreview = toA.every(looksLikePreview);
    const bPreview = toB.every(looksLikePreview);
    if (aPreview === bPreview) {
      const list = [...toA, ...toB].map((s) => `${nameOf(s)} → ${s.spec?.selector?.[slotLabel]}`).join(", ");
      return {
        ...withSlots,
        problem: `Services select both slots (${list}) and none is marked as preview; annotate the preview Service with ${ROLE_ANNOTATION}=preview`,
      };
    }
    live = aPreview ? slotB : slotA;
    liveServices = aPreview ? toB : toA;
    previewServices = aPreview ? toA : toB;
  } else {
    live = toA.length > 0 ? slotA : slotB;
    liveServices = toA.length > 0 ? toA : toB;
    previewServices = [];
  }
  const idle = live === slotA ? slotB : slotA;
  return { ...withSlots, live, idle, liveServices, previewServices };
}

/** Labels both pod templates share. */
export function commonLabels(a: Deployment, b: Deployment): Labels {
  const la = templateLabels(a);
  const lb = templateLabels(b);
  return Object.fromEntries(Object.entries(la).filter(([k, v]) => lb[k] === v));
}

/** How the user selected apps. */
export interface AppQuery {
  app?: string;
  appLabel: string;
  selector?: string;
}

/** The server-side label selector for listing the Deployments of the query. */
export function deploymentSelector(q: AppQuery): string {
  if (q.selector) return q.selector;
  if (q.app !== undefined) return `${q.appLabel}=${q.app}`;
  return q.appLabel;
}

/** Groups listed Deployments into apps (by namespace and app label, or one app per namespace for -l) and pairs each. */
export function findApps(q: AppQuery, deployments: Deployment[], services: Service[], forcedSlotLabel?: string): AppPair[] {
  const groups = new Map<string, { app: string; namespace: string; deps: Deployment[] }>();
  for (const d of deployments) {
    const app = q.selector ? (q.app ?? q.selector) : (d.metadata.labels?.[q.appLabel] ?? "");
    const key = `${namespaceOf(d)}\u0000${app}`;
    const g = groups.get(key) ?? { app, namespace: namespaceOf(d), deps: [] };
    g.deps.push(d);
    groups.set(key, g);
  }
  return [...groups.values()]
    .sort((x, y) => x.namespace.localeCompare(y.namespace) || x.app.localeCompare(y.app))
    .map((g) => findPair(g.app, g.namespace, g.deps, services, forcedSlotLabel));
}
