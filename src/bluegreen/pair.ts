import type { Deployment, Labels, Service } from "./model.js";
import { compareNames, nameOf, namespaceOf } from "./model.js";
import { type SwitchRecord, recordOf } from "./record.js";
import { RefusedError } from "../errors.js";

/** The annotation a user sets on a Service to say which role it plays ("live" or "preview"). */
const ROLE_ANNOTATION = "kubectl-bluegreen/role";

/** One of the app's two Deployments, known by its slot label value. */
export interface Slot {
  value: string;
  deployment: Deployment;
}

/** What is known of every app found, well formed or not. */
interface PairParts {
  app: string;
  namespace: string;
  /** The app's Deployments, by name (two in a well-formed pair). */
  deployments: Deployment[];
  /** Services that send users to the live slot. */
  liveServices: Service[];
  /** Services that select the idle slot; promote swaps them too. */
  previewServices: Service[];
  /** Services of the app that select both slots (no slot label in their selector). */
  sharedServices: Service[];
  /** Every Service that selects one slot, with its role. */
  services: AppService[];
}

/** A pair nothing may act on: one sentence says why. What was found before the problem is kept. */
export interface MisconfiguredPair extends PairParts {
  problem: string;
  /** A layout the plugin recognises but cannot switch yet (slot Services for a router), not a mistake. */
  unsupported?: true;
  slotLabel?: string;
  slots?: [Slot, Slot];
  live?: undefined;
  idle?: undefined;
  unsettled?: undefined;
}

interface WellFormed extends PairParts {
  problem?: undefined;
  slotLabel: string;
  /** Both slots, sorted by slot value. */
  slots: [Slot, Slot];
}

/** Every live Service selects one slot, every preview Service the other. */
export interface SettledPair extends WellFormed {
  live: Slot;
  idle: Slot;
  /** Set when every Service is switched but the switch is not verified yet. */
  unsettled?: Unsettled;
}

/** The Services are not all-old or all-new: no slot is live for sure. */
export interface UnsettledPair extends WellFormed {
  live?: undefined;
  idle?: undefined;
  unsettled: Unsettled;
}

/** Two Deployments told apart by a slot label, and the Services that select them. */
export type WellFormedPair = SettledPair | UnsettledPair;

/** An app's blue/green pair as found in the cluster, or why it could not be found. */
export type AppPair = MisconfiguredPair | WellFormedPair;

/** The pair, well formed; refuses (exit 4) to act on a misconfigured one. */
export function requireWellFormed(pair: AppPair): WellFormedPair {
  if (pair.problem === undefined) return pair;
  if (pair.unsupported) {
    throw new RefusedError(
      `app ${pair.app} in namespace ${pair.namespace}: ${pair.problem}; nothing changed.`,
      "Switch the route that chooses between the slot Services yourself (kubectl edit httproute or ingress); do not mark either Service as preview, which would swap both.",
    );
  }
  throw new RefusedError(
    `app ${pair.app} in namespace ${pair.namespace} is misconfigured: ${pair.problem}.`,
    "Run kubectl bluegreen status to see the pair; --slot-label, --app-label or -l can narrow it.",
  );
}

/** A Service that selects one slot, and the role it plays. */
export interface AppService {
  service: Service;
  name: string;
  role: "live" | "preview";
  /** The slot value its selector picks now. */
  slot: string;
  /** Operation id of the valid record on it, if any. */
  switchedBy?: string;
}

/** A switch that did not finish: some Services switched, others not (split), or all switched but not verified. */
export interface Unsettled {
  /** The pending switch recorded on the Services; undefined when they disagree with no switch recorded. */
  pending?: SwitchRecord;
  /** Live Services disagree, or a preview Service selects the live slot. */
  split: boolean;
  services: { name: string; role: "live" | "preview"; slot: string; switched: boolean }[];
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
function differingLabelKeys(a: Deployment, b: Deployment): string[] {
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

const byName = <T extends { metadata: { name?: string } }>(a: T, b: T) => compareNames(nameOf(a), nameOf(b));

/** Finds the pair, slot label, live slot and Services of one app from its Deployments and the namespace's Services. */
export function findPair(app: string, namespace: string, deployments: Deployment[], allServices: Service[], forcedSlotLabel?: string): AppPair {
  const deps = [...deployments].sort(byName);
  const pair: PairParts = { app, namespace, deployments: deps, liveServices: [], previewServices: [], sharedServices: [], services: [] };
  const fail = (problem: string): MisconfiguredPair => ({ ...pair, problem });
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
  const nsServices = allServices.filter((s) => namespaceOf(s) === namespace).sort(byName);
  let slotLabel: string | undefined;
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
    slotLabel = candidates[0];
  } else {
    // Several labels differ: the slot label is the one the app's Services select on.
    const used = candidates.filter((k) =>
      nsServices.some((s) => k in (s.spec?.selector ?? {}) && belongs(s, a, b, candidates)),
    );
    slotLabel = used.length === 1 ? used[0] : undefined;
  }
  if (slotLabel === undefined) {
    return fail(`the pod templates differ in ${candidates.join(", ")} and the Services do not tell which is the slot label; pass --slot-label`);
  }
  const valueA = templateLabels(a)[slotLabel];
  const valueB = templateLabels(b)[slotLabel];
  // Both are there: a forced label was checked above, and a detected one differs between two present values.
  if (valueA === undefined || valueB === undefined) return fail(`the slot label ${slotLabel} is missing from a pod template`);
  const slotA: Slot = { value: valueA, deployment: a };
  const slotB: Slot = { value: valueB, deployment: b };
  const slots: [Slot, Slot] = compareNames(valueA, valueB) <= 0 ? [slotA, slotB] : [slotB, slotA];
  const withSlots = { ...pair, slotLabel, slots };

  const slotOf = (svc: Service) => svc.spec?.selector?.[slotLabel] ?? "";
  const selecting: Service[] = [];
  for (const svc of nsServices) {
    if (!belongs(svc, a, b, [slotLabel])) continue;
    const sel = svc.spec?.selector ?? {};
    if (!(slotLabel in sel)) {
      withSlots.sharedServices.push(svc);
      continue;
    }
    if (sel[slotLabel] !== slotA.value && sel[slotLabel] !== slotB.value) {
      return {
        ...withSlots,
        problem: `Service ${nameOf(svc)} selects ${slotLabel}=${sel[slotLabel]}, which neither ${nameOf(a)} (${slotA.value}) nor ${nameOf(b)} (${slotB.value}) has`,
      };
    }
    selecting.push(svc);
  }
  if (selecting.length === 0) {
    return {
      ...withSlots,
      problem: `no Service selects either slot: a Service with selector ${formatSelector({ ...commonLabels(a, b), [slotLabel]: slotA.value })} is needed`,
    };
  }
  const slotByValue = (v: string): Slot => (v === slotA.value ? slotA : slotB);
  const other = (s: Slot): Slot => (s === slotA ? slotB : slotA);

  // Each Service's record, read and validated once.
  const records = new Map(selecting.map((s) => [s, recordOf(s)]));
  // A switch recorded as pending on any Service: written, not yet verified (in progress or interrupted).
  const pending = [...records.values()]
    .filter((r): r is SwitchRecord => r?.state === "pending" && r.slotLabel === slotLabel)
    .filter((r) => [slotA.value, slotB.value].includes(r.from) && [slotA.value, slotB.value].includes(r.to))
    .sort((x, y) => Date.parse(y.at) - Date.parse(x.at))[0];

  // Roles: the user's annotation, else the pending switch's, else the Service's own record; name patterns break ties.
  const bothSelected = new Set(selecting.map(slotOf)).size === 2;
  const roleOf = (svc: Service): "live" | "preview" => {
    const annotated = svc.metadata.annotations?.[ROLE_ANNOTATION];
    if (annotated === "live" || annotated === "preview") return annotated;
    const recorded = pending?.services[nameOf(svc)] ?? records.get(svc)?.services[nameOf(svc)];
    if (recorded) return recorded;
    return bothSelected && looksLikePreview(svc) ? "preview" : "live";
  };
  const services: AppService[] = selecting.map((svc) => ({
    service: svc,
    name: nameOf(svc),
    role: roleOf(svc),
    slot: slotOf(svc),
    switchedBy: records.get(svc)?.id,
  }));
  const liveOnes = services.filter((s) => s.role === "live");
  const previewOnes = services.filter((s) => s.role === "preview");
  const roles = { services, liveServices: liveOnes.map((s) => s.service), previewServices: previewOnes.map((s) => s.service) };
  const liveSlots = new Set(liveOnes.map((s) => s.slot));
  const [onlyLive] = liveSlots;
  const settledLive = liveSlots.size === 1 && onlyLive !== undefined ? slotByValue(onlyLive) : undefined;
  const previewsAgree = settledLive !== undefined && previewOnes.every((s) => s.slot !== settledLive.value);

  if (pending) {
    const target = (s: AppService) => (s.role === "live" ? pending.to : pending.from);
    const done = services.filter((s) => s.switchedBy === pending.id && s.slot === target(s));
    const allOld = services.every((s) => s.slot === (s.role === "live" ? pending.from : pending.to));
    if (!allOld) {
      const unsettled: Unsettled = {
        pending,
        split: !(settledLive && previewsAgree),
        services: services.map((s) => ({ name: s.name, role: s.role, slot: s.slot, switched: done.includes(s) })),
      };
      if (!unsettled.split && settledLive) {
        // Every Service is switched; only the verification is missing.
        return { ...withSlots, ...roles, live: settledLive, idle: other(settledLive), unsettled };
      }
      return { ...withSlots, ...roles, unsettled };
    }
  }
  if (!settledLive || !previewsAgree) {
    if (liveOnes.length === 0) {
      return { ...withSlots, services, problem: `every Service of app ${app} is marked as preview; one must be live` };
    }
    if (liveSlots.size > 1 && !services.some((s) => s.switchedBy) && !services.some((s) => s.service.metadata.annotations?.[ROLE_ANNOTATION])) {
      const list = services.map((s) => `${s.name} → ${s.slot}`).join(", ");
      // One Service per slot, each named after its slot: what an HTTPRoute or Ingress chooses between. Marking
      // one as preview would make promote swap both selectors, reversing what the route sends where.
      const slotServices = services.every((s) => s.name.split(/[-.]/).includes(s.slot) || s.name === slotByValue(s.slot)?.deployment.metadata.name);
      return {
        ...withSlots,
        services,
        ...(slotServices ? { unsupported: true as const } : {}),
        problem: slotServices
          ? `its Services are slot Services, one per slot (${list}), for an HTTPRoute or Ingress to choose between; switching routes is not supported yet, so this app cannot be switched by its Services`
          : `Services select both slots (${list}) and none is marked as preview; annotate the preview Service with ${ROLE_ANNOTATION}=preview`,
      };
    }
    // Live Services disagree (or a preview Service selects the live slot) and no switch is pending: split, not guessed.
    return {
      ...withSlots,
      ...roles,
      unsettled: { split: true, services: services.map((s) => ({ name: s.name, role: s.role, slot: s.slot, switched: false })) },
    };
  }
  return { ...withSlots, ...roles, live: settledLive, idle: other(settledLive) };
}

/** "service/a on v2, service/b on v1": what each Service of the pair selects. */
export function describeServices(pair: AppPair): string {
  return pair.services.map((s) => `service/${s.name}${s.role === "preview" ? " (preview)" : ""} on ${s.slot}`).join(", ");
}

/** Labels both pod templates share. */
function commonLabels(a: Deployment, b: Deployment): Labels {
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
  // Services indexed by namespace and selector term: a Service can only belong to a pair through a label both pod
  // templates share, so each app looks at the few that select one of those (not at every Service: 1,000 apps).
  const index = new Map<string, Set<Service>>();
  for (const svc of services) {
    for (const [k, v] of Object.entries(svc.spec?.selector ?? {})) {
      const term = `${namespaceOf(svc)}\u0000${k}=${v}`;
      const set = index.get(term) ?? new Set<Service>();
      set.add(svc);
      index.set(term, set);
    }
  }
  const candidates = (namespace: string, deps: Deployment[]): Service[] => {
    if (deps.length !== 2) return [];
    const la = templateLabels(deps[0] as Deployment);
    const lb = templateLabels(deps[1] as Deployment);
    const found = new Set<Service>();
    for (const [k, v] of Object.entries(la)) {
      if (lb[k] !== v) continue;
      for (const svc of index.get(`${namespace}\u0000${k}=${v}`) ?? []) found.add(svc);
    }
    return [...found];
  };
  return [...groups.values()]
    .sort((x, y) => compareNames(x.namespace, y.namespace) || compareNames(x.app, y.app))
    .map((g) => findPair(g.app, g.namespace, g.deps, candidates(g.namespace, g.deps), forcedSlotLabel));
}
