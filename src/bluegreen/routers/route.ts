// Gateway API routes (HTTPRoute, GRPCRoute): the backendRefs of the rules that lead to the app's slot Services
// choose the slot. Two layouts: a rule with both slot Services, weighted (100/0 → 0/100), or a rule with one of
// them (its name is swapped, its weight kept). Every other rule, match, filter, hostname and backendRef is sent
// back as read: a merge patch replaces spec.rules whole, and each attempt computes it from a fresh read.
import { canonicalJson } from "../record.js";
import { type RouterKind, type RouterObject, type RouterResource, type Routing, type Taken, lastWriter } from "./types.js";

interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  weight?: number;
  [k: string]: unknown;
}

interface Rule {
  backendRefs?: BackendRef[];
  [k: string]: unknown;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

interface ParentStatus {
  parentRef: Record<string, unknown>;
  controllerName?: string;
  conditions?: Condition[];
}

const rulesOf = (o: RouterObject): Rule[] => (Array.isArray(o.spec?.rules) ? (o.spec.rules as Rule[]) : []);

/**
 * On a route with a preview rule of ours: {header: {name, value}, slot, rule}, the rule as we wrote it. That rule
 * (the one equal to it) sends requests with the header to one slot; no switch, weight or guard counts it.
 */
export const PREVIEW_RULE_ANNOTATION = "kubectl-bluegreen/preview-rule";

/** A header preview on a route: requests carrying header NAME: VALUE go to `slot`. */
export interface Preview {
  header: { name: string; value: string };
  slot: string;
  rule: Rule;
}

/** The preview rule of ours a route carries, as its annotation says (undefined when none, or not ours). */
export function previewOf(o: RouterObject): Preview | undefined {
  const text = o.metadata.annotations?.[PREVIEW_RULE_ANNOTATION];
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Preview;
    if (typeof v?.header?.name !== "string" || typeof v.header.value !== "string" || typeof v.slot !== "string" || !v.rule || typeof v.rule !== "object") return undefined;
    return v;
  } catch {
    return undefined;
  }
}

/** The object without the entries that hold their default value. */
const withoutDefaults = (o: Record<string, unknown>, defaults: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k, v]) => defaults[k] !== v));

/**
 * A rule without the values the API server fills in when it stores one (the Gateway API's defaults: a match's path
 * PathPrefix "/", header, query and method matches of type Exact, a backendRef's group "", kind Service and weight
 * 1), so the rule we wrote is recognised as it comes back.
 */
function bare(rule: Rule): unknown {
  const exact = (list: unknown) => (Array.isArray(list) ? list.map((x) => withoutDefaults(x as Record<string, unknown>, { type: "Exact" })) : list);
  const matches = (Array.isArray(rule.matches) ? (rule.matches as Record<string, unknown>[]) : []).map((m) => {
    const out: Record<string, unknown> = { ...m };
    if (out.path && typeof out.path === "object") {
      const path = withoutDefaults(out.path as Record<string, unknown>, { type: "PathPrefix" });
      if (Object.keys(path).length === 1 && path.value === "/") delete out.path;
      else out.path = path;
    }
    if (out.method && typeof out.method === "object") out.method = withoutDefaults(out.method as Record<string, unknown>, { type: "Exact" });
    if ("headers" in out) out.headers = exact(out.headers);
    if ("queryParams" in out) out.queryParams = exact(out.queryParams);
    return out;
  });
  return {
    ...rule,
    matches: matches.length === 1 && Object.keys(matches[0] ?? {}).length === 0 ? [] : matches,
    backendRefs: (rule.backendRefs ?? []).map((b) => withoutDefaults(b, { group: "", kind: "Service", weight: 1 })),
  };
}

/** Whether a rule is the preview rule of ours the route's annotation names (as written, or as stored with defaults). */
function isPreviewRule(rule: Rule, o: RouterObject): boolean {
  const p = previewOf(o);
  return p !== undefined && canonicalJson(bare(rule)) === canonicalJson(bare(p.rule));
}

/** The slot a backendRef leads to, when it is one of the app's slot Services in the route's own namespace. */
function slotOfRef(ref: BackendRef, o: RouterObject, r: Routing): string | undefined {
  if ((ref.group ?? "") !== "" || (ref.kind ?? "Service") !== "Service") return undefined;
  if (ref.namespace !== undefined && ref.namespace !== o.metadata.namespace) return undefined;
  return Object.entries(r.slotServices).find(([, s]) => s.name === ref.name)?.[0];
}

/** A backendRef's weight: 1 when unset, as the Gateway API defines it. */
const weightOf = (ref: BackendRef): number => (typeof ref.weight === "number" ? ref.weight : 1);

/** Indexes of the rules with a backendRef to a slot Service: the only rules a switch touches. */
function appRules(o: RouterObject, r: Routing): number[] {
  return rulesOf(o).flatMap((rule, i) => (!isPreviewRule(rule, o) && (rule.backendRefs ?? []).some((ref) => slotOfRef(ref, o, r) !== undefined) ? [i] : []));
}

/**
 * The rule that sends requests carrying header NAME: VALUE to slot `slot`: every match of the app's rules with the
 * header added (so it is as specific as they are, and wins over them by the Gateway API's precedence), to the slot
 * Service at the port the app's rules use.
 */
function previewRule(o: RouterObject, r: Routing, slot: string, header: { name: string; value: string }): Rule {
  const rules = appRules(o, r).map((i) => rulesOf(o)[i] as Rule);
  const add = { type: "Exact", name: header.name, value: header.value };
  const matches = rules.flatMap((rule) => {
    const ms = Array.isArray(rule.matches) ? (rule.matches as { headers?: object[] }[]) : [{}];
    return (ms.length ? ms : [{}]).map((m) => ({ ...m, headers: [...(m.headers ?? []), add] }));
  });
  const port = rules.flatMap((rule) => rule.backendRefs ?? []).find((ref) => slotOfRef(ref, o, r) !== undefined)?.port;
  return { matches, backendRefs: [{ name: r.slotServices[slot]?.name ?? slot, ...(port !== undefined ? { port } : {}) }] };
}

/** The rules without our preview rule, and with a new one for `slot` (when given) at the end; its annotation value. */
export function withPreview(o: RouterObject, r: Routing, preview?: { slot: string; header: { name: string; value: string } }): { rules: Rule[]; annotation: string | null } {
  const rules = rulesOf(o).filter((rule) => !isPreviewRule(rule, o));
  if (!preview) return { rules, annotation: null };
  const rule = previewRule(o, r, preview.slot, preview.header);
  return { rules: [...rules, rule], annotation: JSON.stringify({ header: preview.header, slot: preview.slot, rule }) };
}

/** Weight per slot over the app's rules (a slot with no backendRef counts 0). */
function weights(o: RouterObject, r: Routing): Map<string, number> {
  const w = new Map(Object.keys(r.slotServices).map((s) => [s, 0]));
  for (const i of appRules(o, r)) {
    for (const ref of rulesOf(o)[i]?.backendRefs ?? []) {
      const slot = slotOfRef(ref, o, r);
      if (slot !== undefined) w.set(slot, (w.get(slot) ?? 0) + weightOf(ref));
    }
  }
  return w;
}

/** The switch of one rule's backendRefs to slot `to`. */
function switchRule(rule: Rule, o: RouterObject, r: Routing, to: string): Rule {
  const refs = rule.backendRefs ?? [];
  const target = r.slotServices[to];
  if (!target) return rule;
  const onSlots = refs.filter((ref) => slotOfRef(ref, o, r) !== undefined);
  if (onSlots.length === 0) return rule;
  const hasTarget = onSlots.some((ref) => slotOfRef(ref, o, r) === to);
  if (!hasTarget) {
    // One slot Service in the rule: it becomes the other one, with everything else about it kept.
    return { ...rule, backendRefs: refs.map((ref) => (slotOfRef(ref, o, r) !== undefined ? { ...ref, name: target.name } : ref)) };
  }
  // Weighted: the target gets what the slot Services had between them (at least 1), the others 0.
  const total = onSlots.reduce((n, ref) => n + weightOf(ref), 0);
  const targets = onSlots.filter((ref) => slotOfRef(ref, o, r) === to).length;
  const each = Math.max(1, Math.ceil(total / targets));
  return {
    ...rule,
    backendRefs: refs.map((ref) => {
      const slot = slotOfRef(ref, o, r);
      if (slot === undefined) return ref;
      return { ...ref, weight: slot === to ? each : 0 };
    }),
  };
}

const describeWeights = (o: RouterObject, r: Routing): string => {
  const w = weights(o, r);
  const total = [...w.values()].reduce((a, b) => a + b, 0);
  return [...w.entries()].map(([slot, n]) => `${r.slotServices[slot]?.name ?? slot} ${total ? Math.round((n * 100) / total) : 0}%`).join(", ");
};

/** The condition of one type in a parent's status, as the gateway last wrote it. */
const conditionOf = (p: ParentStatus, type: string): Condition | undefined => (p.conditions ?? []).find((c) => c.type === type);

const parentKey = (p: ParentStatus): string => canonicalJson({ ref: p.parentRef, by: p.controllerName ?? "" });

/** "gateway/edge (traefik.io/gateway-controller)": a parent, for people. */
function parentText(p: ParentStatus): string {
  const ref = p.parentRef as { name?: string; namespace?: string; kind?: string; sectionName?: string };
  const ns = ref.namespace ? `${ref.namespace}/` : "";
  const section = ref.sectionName ? `:${ref.sectionName}` : "";
  return `${(ref.kind ?? "Gateway").toLowerCase()}/${ns}${ref.name ?? ""}${section}`;
}

/**
 * Every parent that had the route before the switch accepts it again, with its references resolved, at the
 * generation our write produced (or later). A parent that reports either condition False at that generation
 * has rejected the change.
 */
export function routeTaken(now: RouterObject, written: RouterObject, asRead: RouterObject): Taken {
  const before: ParentStatus[] = asRead.status?.parents ?? [];
  const after: ParentStatus[] = now.status?.parents ?? [];
  const generation = written.metadata.generation ?? now.metadata.generation ?? 0;
  const waiting: string[] = [];
  for (const parent of before) {
    const current = after.find((p) => parentKey(p) === parentKey(parent));
    if (!current) {
      waiting.push(`${parentText(parent)} has not reported on it since the switch`);
      continue;
    }
    for (const type of ["Accepted", "ResolvedRefs"]) {
      const c = conditionOf(current, type);
      if (!c || (c.observedGeneration ?? 0) < generation) {
        waiting.push(`${parentText(parent)} has not reported ${type} for generation ${generation} yet`);
        continue;
      }
      if (c.status !== "True") {
        return { kind: "failed", why: `${parentText(parent)} reports ${type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : ""} for generation ${generation}` };
      }
    }
  }
  return waiting.length ? { kind: "waiting", why: waiting[0] ?? "" } : { kind: "ok" };
}

/** Why a route's rules that lead to the app cannot be weighed as percentages between the two slots. */
function unweighable(o: RouterObject, r: Routing): string | undefined {
  const slots = Object.keys(r.slotServices);
  for (const i of appRules(o, r)) {
    const refs = rulesOf(o)[i]?.backendRefs ?? [];
    const other = refs.find((ref) => slotOfRef(ref, o, r) === undefined);
    if (other) return `its rule ${i + 1} also sends traffic to ${other.kind && other.kind !== "Service" ? other.kind.toLowerCase() : "service"}/${other.name}, so weights between the slots are not shares of the app's traffic`;
    for (const slot of slots) {
      const n = refs.filter((ref) => slotOfRef(ref, o, r) === slot).length;
      const name = r.slotServices[slot]?.name ?? slot;
      if (n === 0) return `its rule ${i + 1} has no backendRef to ${name}; a weighted step needs one to each slot Service (add ${name} with weight 0, which sends it nothing)`;
      if (n > 1) return `its rule ${i + 1} names ${name} ${n} times`;
    }
  }
  return undefined;
}

/** Weights that send `percent` of each of the app's rules to slot `to`, the rest to the other slot. */
function weigh(o: RouterObject, r: Routing, to: string, percent: number): object {
  const mine = new Set(appRules(o, r));
  return {
    rules: rulesOf(o).map((rule, i) =>
      mine.has(i)
        ? {
            ...rule,
            backendRefs: (rule.backendRefs ?? []).map((ref) => {
              const slot = slotOfRef(ref, o, r);
              return slot === undefined ? ref : { ...ref, weight: slot === to ? percent : 100 - percent };
            }),
          }
        : rule,
    ),
  };
}

/** The percentage of the app's weight over its rules that goes to `slot`, rounded (0 when no weight is left). */
function share(o: RouterObject, r: Routing, slot: string): number {
  const w = weights(o, r);
  const total = [...w.values()].reduce((a, b) => a + b, 0);
  return total ? Math.round(((w.get(slot) ?? 0) * 100) / total) : 0;
}

/** A route of `resource` (HTTPRoute or GRPCRoute). */
function routeRouter(name: "httproute" | "grpcroute", resource: RouterResource): RouterKind {
  return {
    name,
    resource,
    read(o, r) {
      const w = weights(o, r);
      const on = [...w.entries()].filter(([, n]) => n > 0);
      const slot = on.length === 1 ? on[0]?.[0] : undefined;
      return { slot, slots: on.map(([s]) => s), text: describeWeights(o, r) };
    },
    // Every rule's backendRefs: a rule added, removed or moved between our read and our write is a conflict.
    guard: (o) => canonicalJson(rulesOf(o).filter((rule) => !isPreviewRule(rule, o)).map((rule) => rule.backendRefs ?? [])),
    switchTo(o, r, to) {
      const rules = rulesOf(o);
      const mine = new Set(appRules(o, r));
      return { rules: rules.map((rule, i) => (mine.has(i) ? switchRule(rule, o, r, to) : rule)) };
    },
    restore(now, asRead, r) {
      const rules = rulesOf(now);
      const before = rulesOf(asRead);
      const mine = new Set(appRules(asRead, r));
      return { rules: rules.map((rule, i) => (mine.has(i) && before[i] ? { ...rule, backendRefs: before[i].backendRefs } : rule)) };
    },
    writer: (o) => lastWriter(o, (spec) => "f:rules" in spec),
    podsOf: (_o, r, slot) => r.slotServices[slot]?.selector ?? {},
    serviceOf: (_o, r, slot) => r.slotServices[slot]?.name ?? "",
    taken: routeTaken,
    hostnames: (o) => (Array.isArray(o.spec?.hostnames) ? (o.spec.hostnames as string[]) : []),
    weights: { unweighable, weigh, share },
  };
}

const GATEWAY_GROUP = "gateway.networking.k8s.io";
export const httpRouteRouter = routeRouter("httproute", { group: GATEWAY_GROUP, version: "v1", plural: "httproutes", kind: "HTTPRoute" });
export const grpcRouteRouter = routeRouter("grpcroute", { group: GATEWAY_GROUP, version: "v1", plural: "grpcroutes", kind: "GRPCRoute" });

/** Whether a route leads to any of the slot Services (it is one of the app's routers). */
export const routeLeadsTo = (o: RouterObject, r: Routing): boolean => appRules(o, r).length > 0;
