// Ingresses: the Service name of each backend (every path's, and the default backend) that is one of the app's
// slot Services chooses the slot; the switch renames it to the other slot Service, port kept. Other backends,
// hosts, paths, TLS and annotations are sent back as read (spec.rules is replaced whole by a merge patch, from
// a fresh read each attempt).
import { canonicalJson } from "../record.js";
import { type RouterKind, type RouterObject, type Routing, lastWriter } from "./types.js";

interface Backend {
  service?: { name: string; port?: unknown };
  resource?: unknown;
}

interface Path {
  backend?: Backend;
  [k: string]: unknown;
}

interface Rule {
  host?: string;
  http?: { paths?: Path[] };
  [k: string]: unknown;
}

const rulesOf = (o: RouterObject): Rule[] => (Array.isArray(o.spec?.rules) ? (o.spec.rules as Rule[]) : []);
const defaultOf = (o: RouterObject): Backend | undefined => o.spec?.defaultBackend as Backend | undefined;

const slotOfBackend = (b: Backend | undefined, r: Routing): string | undefined =>
  b?.service ? Object.entries(r.slotServices).find(([, s]) => s.name === b.service?.name)?.[0] : undefined;

/** Every backend in order: the default one first, then each rule's paths. */
function backends(o: RouterObject): (Backend | undefined)[] {
  return [defaultOf(o), ...rulesOf(o).flatMap((rule) => (rule.http?.paths ?? []).map((p) => p.backend))];
}

/** The spec with each backend replaced by what `f` makes of it (rules and defaultBackend only). */
function mapBackends(o: RouterObject, f: (b: Backend, index: number) => Backend): object {
  // Index 0 is the default backend (present or not), as in backends().
  let i = 1;
  const d = defaultOf(o);
  const out: Record<string, unknown> = {};
  if (d) out.defaultBackend = f(d, 0);
  out.rules = rulesOf(o).map((rule) => {
    const paths = rule.http?.paths;
    if (!paths) return rule;
    return {
      ...rule,
      http: {
        ...rule.http,
        paths: paths.map((p) => {
          const n = i++;
          return p.backend ? { ...p, backend: f(p.backend, n) } : p;
        }),
      },
    };
  });
  return out;
}

export const ingressRouter: RouterKind = {
  name: "ingress",
  resource: { group: "networking.k8s.io", version: "v1", plural: "ingresses", kind: "Ingress" },
  read(o, r) {
    const slots = new Set(backends(o).map((b) => slotOfBackend(b, r)).filter((s) => s !== undefined));
    const [only] = slots;
    const names = [...slots].map((s) => r.slotServices[s]?.name ?? s);
    return { slot: slots.size === 1 ? only : undefined, slots: [...slots], text: names.length ? `service ${names.join(" and ")}` : "no slot Service" };
  },
  guard: (o) => canonicalJson(backends(o).map((b) => b ?? null)),
  switchTo(o, r, to) {
    const target = r.slotServices[to];
    return mapBackends(o, (b) => (target && b.service && slotOfBackend(b, r) !== undefined ? { ...b, service: { ...b.service, name: target.name } } : b));
  },
  restore(now, asRead, r) {
    const before = backends(asRead);
    return mapBackends(now, (b, i) => {
      const was = before[i];
      return was && slotOfBackend(was, r) !== undefined ? was : b;
    });
  },
  writer: (o) => lastWriter(o, (spec) => "f:rules" in spec || "f:defaultBackend" in spec),
  podsOf: (_o, r, slot) => r.slotServices[slot]?.selector ?? {},
  serviceOf: (_o, r, slot) => r.slotServices[slot]?.name ?? "",
  // An Ingress's status carries no generation: the slot Service's EndpointSlices and --probe are the evidence.
  taken: () => ({ kind: "ok" }),
  hostnames: (o) => [...new Set(rulesOf(o).flatMap((rule) => (rule.host ? [rule.host] : [])))],
};

/** Whether an Ingress leads to any of the slot Services (it is one of the app's routers). */
export const ingressLeadsTo = (o: RouterObject, r: Routing): boolean => backends(o).some((b) => slotOfBackend(b, r) !== undefined);
