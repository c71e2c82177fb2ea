import type { Deployment, Labels, Service } from "./model.js";
import { compareNames, nameOf, namespaceOf } from "./model.js";
import { type SwitchRecord, canonicalJson, recordOf } from "./record.js";
import { RefusedError } from "../errors.js";
import { ROUTER_KINDS } from "./routers/index.js";
import { ingressLeadsTo } from "./routers/ingress.js";
import { routeLeadsTo } from "./routers/route.js";
import { type RouterKindName, type RouterObject, type RouterRef, type Routing, keyOf, refOf } from "./routers/types.js";

/** The annotation a user sets on a Service to say which role it plays ("live", "preview", or "slot"). */
const ROLE_ANNOTATION = "kubectl-bluegreen/role";

/** One of the app's two Deployments, known by its slot label value. */
export interface Slot {
  value: string;
  deployment: Deployment;
}

/** A route, Ingress or other object that may choose between slot Services, with its kind. */
export interface FoundRoute {
  kind: Exclude<RouterKindName, "service">;
  object: RouterObject;
}

/** What is known of every app found, well formed or not. */
interface PairParts {
  app: string;
  namespace: string;
  /** The app's Deployments, by name (two in a well-formed pair). */
  deployments: Deployment[];
  /** Services of the app that select both slots (no slot label in their selector). */
  sharedServices: Service[];
  /** Every router of the app: what sends its users to one slot, with its role. */
  routers: AppRouter[];
  /** The slot Services routes choose between (empty for the selector layout). */
  routing?: Routing;
  /**
   * Set when the app's Services are slot Services (one per slot) and the routes of the namespace were not given:
   * the caller lists them and pairs again.
   */
  needsRoutes?: true;
}

/** A pair nothing may act on: one sentence says why. What was found before the problem is kept. */
export interface MisconfiguredPair extends PairParts {
  problem: string;
  /** A layout the plugin recognises but cannot switch (slot Services that nothing routes to), not a mistake. */
  unsupported?: true;
  /** What to do instead, when the usual advice (status, --slot-label, -l) would not help. */
  hint?: string;
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
      "Point an HTTPRoute, GRPCRoute or Ingress at the slot Services (its backendRefs or backends), and the plugin switches it; do not mark either Service as preview, which would swap both.",
    );
  }
  throw new RefusedError(
    `app ${pair.app} in namespace ${pair.namespace} is misconfigured: ${pair.problem}.`,
    pair.hint ?? "Run kubectl bluegreen status to see the pair; --slot-label, --app-label or -l can narrow it.",
  );
}

/** A router of the app (a Service's selector, a route, an Ingress), where it sends traffic, and its role. */
export interface AppRouter {
  kind: RouterKindName;
  object: RouterObject;
  /** The object's name. */
  name: string;
  /** How records name it: see keyOf. */
  key: string;
  /** "service/web", "httproute/web". */
  ref: string;
  role: "live" | "preview";
  /** The slot value it sends all traffic to now; "" when it sends none or splits it. */
  slot: string;
  /** Where it sends traffic, for people. */
  text: string;
  /** Operation id of the valid record on it, if any. */
  switchedBy?: string;
}

/** A switch that did not finish: some routers switched, others not (split), or all switched but not verified. */
export interface Unsettled {
  /** The pending switch recorded on the routers; undefined when they disagree with no switch recorded. */
  pending?: SwitchRecord;
  /** Live routers disagree, or a preview Service selects the live slot. */
  split: boolean;
  routers: { key: string; ref: string; role: "live" | "preview"; slot: string; switched: boolean }[];
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
export function findPair(
  app: string,
  namespace: string,
  deployments: Deployment[],
  allServices: Service[],
  forcedSlotLabel?: string,
  routes?: FoundRoute[],
  only?: RouterKindName,
  /** Route kinds that could not be listed, each with why ("list httproutes: forbidden"). */
  unreadable: { kind: RouterKindName; why: string }[] = [],
): AppPair {
  const deps = [...deployments].sort(byName);
  const pair: PairParts = { app, namespace, deployments: deps, sharedServices: [], routers: [] };
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

  // Slot Services (one per slot, never switched) are what routes choose between: the routes that lead to them are
  // the app's routers, and the Services are not.
  const slotPair = slotServicesOf(selecting, slotLabel, [slotA, slotB]);
  let routing: Routing | undefined;
  const found: { kind: RouterKindName; object: RouterObject }[] = [];
  if (slotPair) {
    if (routes === undefined) return { ...withSlots, problem: "the routes of its namespace were not read", needsRoutes: true };
    routing = { slotLabel, slotServices: Object.fromEntries(slotPair.map((svc) => [slotOf(svc), { name: nameOf(svc), selector: { ...(svc.spec?.selector ?? {}) }, service: svc }])) };
    const r = routing;
    // A kind we may not list may hold routes to the app: switching the others would not be all or none.
    const blind = unreadable.filter((u) => only === undefined || u.kind === only);
    if (blind.length) {
      const list = slotPair.map((svc) => `${nameOf(svc)} → ${slotOf(svc)}`).join(", ");
      return {
        ...withSlots,
        routing,
        problem: `its Services are slot Services, one per slot (${list}), and the routes that may choose between them cannot be read (${blind.map((u) => u.why).join("; ")}); be allowed to list them, or name the kind to switch with --router`,
      };
    }
    const leading = routes.filter((x) => namespaceOf(x.object) === namespace && (x.kind === "ingress" ? ingressLeadsTo(x.object, r) : routeLeadsTo(x.object, r)));
    if (leading.length === 0) {
      const list = slotPair.map((svc) => `${nameOf(svc)} → ${slotOf(svc)}`).join(", ");
      return {
        ...withSlots,
        routing,
        unsupported: true,
        problem: `its Services are slot Services, one per slot (${list}), and no HTTPRoute, GRPCRoute or Ingress in namespace ${namespace} leads to them, so nothing chooses between them`,
      };
    }
    found.push(...[...leading].sort((x, y) => compareNames(x.kind, y.kind) || byName(x.object, y.object)));
  }
  for (const svc of selecting) if (!slotPair?.includes(svc)) found.push({ kind: "service", object: svc });
  const chosen = only ? found.filter((x) => x.kind === only) : found;
  if (chosen.length === 0) {
    const kinds = [...new Set(found.map((x) => x.kind))].join(", ");
    return { ...withSlots, routing, problem: `no ${only} chooses its slot (its routers are of kind ${kinds})`, hint: `Name one of those kinds with --router, or leave --router out to switch every router of the app.` };
  }
  const routingOf: Routing = routing ?? { slotLabel, slotServices: {} };

  // Each router's record, read and validated once.
  const records = new Map(chosen.map((x) => [x.object, recordOf(x.object)]));
  // A switch recorded as pending on any router: written, not yet verified (in progress or interrupted).
  const pending = [...records.values()]
    .filter((r): r is SwitchRecord => r?.state === "pending" && r.slotLabel === slotLabel)
    .filter((r) => [slotA.value, slotB.value].includes(r.from) && [slotA.value, slotB.value].includes(r.to))
    .sort((x, y) => Date.parse(y.at) - Date.parse(x.at))[0];

  const readings = new Map(chosen.map((x) => [x.object, ROUTER_KINDS[x.kind].read(x.object, routingOf)]));
  // Roles: the user's annotation, else the pending switch's, else the router's own record; name patterns break ties.
  const bothSelected = new Set(chosen.filter((x) => x.kind === "service").map((x) => readings.get(x.object)?.slot)).size === 2;
  const roleOf = (x: { kind: RouterKindName; object: RouterObject }): "live" | "preview" => {
    // Routes and Ingresses send users: always live.
    if (x.kind !== "service") return "live";
    const key = nameOf(x.object);
    const annotated = x.object.metadata.annotations?.[ROLE_ANNOTATION];
    if (annotated === "live" || annotated === "preview") return annotated;
    const recorded = pending?.services[key] ?? records.get(x.object)?.services[key];
    if (recorded) return recorded;
    return bothSelected && looksLikePreview(x.object as Service) ? "preview" : "live";
  };
  const routers: AppRouter[] = chosen.map((x) => {
    const name = nameOf(x.object);
    const reading = readings.get(x.object) ?? { slot: undefined, text: "" };
    return {
      kind: x.kind,
      object: x.object,
      name,
      key: keyOf(x.kind, name),
      ref: refOf(x.kind, name),
      role: roleOf(x),
      slot: reading.slot ?? "",
      text: reading.text,
      switchedBy: records.get(x.object)?.id,
    };
  });
  const liveOnes = routers.filter((s) => s.role === "live");
  const previewOnes = routers.filter((s) => s.role === "preview");
  const roles = { routers, ...(routing ? { routing } : {}) };
  const liveSlots = new Set(liveOnes.map((s) => s.slot));
  const [onlyLive] = liveSlots;
  const settledLive = liveSlots.size === 1 && onlyLive ? slotByValue(onlyLive) : undefined;
  const previewsAgree = settledLive !== undefined && previewOnes.every((s) => s.slot !== settledLive.value);
  const unsettledOf = (done: (s: AppRouter) => boolean) => routers.map((s) => ({ key: s.key, ref: s.ref, role: s.role, slot: s.slot, switched: done(s) }));

  if (pending) {
    const target = (s: AppRouter) => (s.role === "live" ? pending.to : pending.from);
    const done = routers.filter((s) => s.switchedBy === pending.id && s.slot === target(s));
    const allOld = routers.every((s) => s.slot === (s.role === "live" ? pending.from : pending.to));
    if (!allOld) {
      const unsettled: Unsettled = { pending, split: !(settledLive && previewsAgree), routers: unsettledOf((s) => done.includes(s)) };
      if (!unsettled.split && settledLive) {
        // Every router is switched; only the verification is missing.
        return { ...withSlots, ...roles, live: settledLive, idle: other(settledLive), unsettled };
      }
      return { ...withSlots, ...roles, unsettled };
    }
  }
  if (!settledLive || !previewsAgree) {
    if (liveOnes.length === 0) {
      return { ...withSlots, routers, problem: `every Service of app ${app} is marked as preview; one must be live` };
    }
    const services = routers.filter((s) => s.kind === "service");
    if (liveSlots.size > 1 && services.length === routers.length && !routers.some((s) => s.switchedBy) && !services.some((s) => s.object.metadata.annotations?.[ROLE_ANNOTATION])) {
      const list = routers.map((s) => `${s.name} → ${s.slot}`).join(", ");
      return {
        ...withSlots,
        routers,
        problem: `Services select both slots (${list}) and none is marked as preview; annotate the preview Service with ${ROLE_ANNOTATION}=preview`,
      };
    }
    // Live routers disagree (or a preview Service selects the live slot) and no switch is pending: split, not guessed.
    return { ...withSlots, ...roles, unsettled: { split: true, routers: unsettledOf(() => false) } };
  }
  return { ...withSlots, ...roles, live: settledLive, idle: other(settledLive) };
}

/**
 * The app's slot Services, one per slot, when it has them: two Services whose selectors are the same but for the
 * slot label, each named for its slot (a name part equal to the slot value, or the slot's Deployment name), or
 * annotated kubectl-bluegreen/role=slot. A live Service and its preview twin are not slot Services.
 */
function slotServicesOf(selecting: Service[], slotLabel: string, slots: [Slot, Slot]): [Service, Service] | undefined {
  const rest = (svc: Service) => canonicalJson(Object.fromEntries(Object.entries(svc.spec?.selector ?? {}).filter(([k]) => k !== slotLabel)));
  const namedForSlot = (svc: Service) => {
    const role = svc.metadata.annotations?.[ROLE_ANNOTATION];
    if (role) return role === "slot";
    const slot = slots.find((s) => s.value === svc.spec?.selector?.[slotLabel]);
    return slot !== undefined && (nameOf(svc).split(/[-.]/).includes(slot.value) || nameOf(svc) === nameOf(slot.deployment));
  };
  for (const svc of selecting) {
    if (!namedForSlot(svc)) continue;
    const twins = selecting.filter((t) => t !== svc && rest(t) === rest(svc) && t.spec?.selector?.[slotLabel] !== svc.spec?.selector?.[slotLabel] && namedForSlot(t));
    const [twin] = twins;
    if (twin && twins.length === 1) {
      const pair: [Service, Service] = [svc, twin];
      return pair.sort((a, b) => compareNames(a.spec?.selector?.[slotLabel] ?? "", b.spec?.selector?.[slotLabel] ?? "")) as [Service, Service];
    }
  }
  return undefined;
}

/** The pair's routers by kind and name, with their roles (the live ones only with `live`). */
export function routerRefs(pair: AppPair, live = false): RouterRef[] {
  return pair.routers.filter((s) => !live || s.role === "live").map((s) => ({ kind: s.kind, name: s.name, ref: s.ref, role: s.role }));
}

/**
 * Services that select the idle slot by design, so their selecting it does not make it live: the app's preview
 * Services, and its slot Services (routes choose between them).
 */
export const idleSelectors = (routers: readonly RouterRef[], routing: Routing | undefined): Set<string> =>
  new Set([...routers.filter((x) => x.role === "preview" && x.kind === "service").map((x) => x.name), ...Object.values(routing?.slotServices ?? {}).map((x) => x.name)]);

/** "service/a on v2, service/b on v1": where each router of the pair sends traffic. */
export function describeServices(pair: AppPair): string {
  return pair.routers.map((s) => `${s.ref}${s.role === "preview" ? " (preview)" : ""} on ${s.slot || `no one slot (${s.text})`}`).join(", ");
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
  /** Several apps by name (status APP APP…). */
  apps?: string[];
  appLabel: string;
  selector?: string;
}

/** The server-side label selector for listing the Deployments of the query. */
export function deploymentSelector(q: AppQuery): string {
  if (q.selector) return q.selector;
  if (q.app !== undefined) return `${q.appLabel}=${q.app}`;
  if (q.apps?.length) return `${q.appLabel} in (${q.apps.join(",")})`;
  return q.appLabel;
}

/** Groups listed Deployments into apps (by namespace and app label, or one app per namespace for -l) and pairs each. */
export function findApps(
  q: AppQuery,
  deployments: Deployment[],
  services: Service[],
  forcedSlotLabel?: string,
  routes?: FoundRoute[],
  only?: RouterKindName,
  unreadable: { kind: RouterKindName; why: string }[] = [],
): AppPair[] {
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
    .map((g) => findPair(g.app, g.namespace, g.deps, candidates(g.namespace, g.deps), forcedSlotLabel, routes, only, unreadable));
}
