// What each plan needs to be allowed before its first write: one list per plan, derived from its steps, so
// a missing permission refuses up front (nothing changed) instead of after traffic moved. The README's
// permission table is rendered from the same lists.
import type { Step } from "./plan.js";
import { ROUTER_KINDS } from "./routers/index.js";
import type { RouterKindName } from "./routers/types.js";

/** One verb on one resource (with its subresource) in the app's namespace, and why the plan needs it. */
export interface Need {
  verb: "get" | "list" | "watch" | "patch" | "create";
  /** API group: "" for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  /** What it is for, as a phrase: "to switch the Services". */
  why: string;
  /** Set when the command still does its work without it (Events, watches): what is lost, for a warning instead of a refusal. */
  without?: string;
}

/** How kubectl auth can-i and RBAC rules name it: "patch services", "get pods/proxy", "list endpointslices.discovery.k8s.io". */
export function needText(n: Need): string {
  const resource = `${n.resource}${n.group ? `.${n.group}` : ""}${n.subresource ? `/${n.subresource}` : ""}`;
  return `${n.verb} ${resource}`;
}

/** The same, as kubectl auth can-i takes it: "get pods --subresource proxy". */
export function canIText(n: Need): string {
  return `${n.verb} ${n.resource}${n.group ? `.${n.group}` : ""}${n.subresource ? ` --subresource ${n.subresource}` : ""}`;
}

const PATCH_SERVICES: Need = { verb: "patch", group: "", resource: "services", why: "to switch the Services and record the switch" };
const PATCH_DEPLOYMENTS_SCALE: Need = { verb: "patch", group: "apps", resource: "deployments", why: "to scale the target slot up" };
const LIST_PODS: Need = { verb: "list", group: "", resource: "pods", why: "to check the target's pods match the new selectors" };
const LIST_SLICES: Need = { verb: "list", group: "discovery.k8s.io", resource: "endpointslices", why: "to verify the switch" };
const WATCH_SLICES: Need = { verb: "watch", group: "discovery.k8s.io", resource: "endpointslices", why: "to see the EndpointSlices change as it happens", without: "verification reads the EndpointSlices again every second instead" };
const POD_PROXY: Need = { verb: "get", group: "", resource: "pods", subresource: "proxy", why: "to probe the target's pods before the switch" };
const SERVICE_PROXY: Need = { verb: "get", group: "", resource: "services", subresource: "proxy", why: "to probe the Services after the switch" };
const EVENTS: Need = { verb: "create", group: "", resource: "events", why: "to leave an Event of what was done", without: "no Event will be left" };
const RETIRE: Need = { verb: "patch", group: "apps", resource: "deployments", why: "to scale the old slot down" };
const BUSY: Need = { verb: "patch", group: "", resource: "services", why: "to mark the live Services busy while the slot changes" };
const DEPLOY: Need = { verb: "patch", group: "apps", resource: "deployments", why: "to write the new version into the idle slot" };

/** Patching the routers of these kinds: to switch them (and record it), or to mark them busy. */
function patchRouters(kinds: readonly RouterKindName[], why: string): Need[] {
  return [...new Set(kinds)].map((k) => {
    const r = ROUTER_KINDS[k].resource;
    return { verb: "patch" as const, group: r.group, resource: r.plural, why };
  });
}

/** The kinds of the routers a plan writes: Services when none are named. */
const kindsOf = (writes: readonly { kind: RouterKindName }[] | undefined): RouterKindName[] => (writes?.length ? [...new Set(writes.map((w) => w.kind))] : ["service"]);

/** What a switch plan (promote, abort) needs, in the order its steps use it, each verb and resource once. */
export function switchNeeds(steps: Step[], writes?: readonly { kind: RouterKindName }[]): Need[] {
  const kinds = kindsOf(writes);
  const needs: Need[] = [];
  for (const s of steps) {
    switch (s.kind) {
      case "scale-up":
        needs.push(PATCH_DEPLOYMENTS_SCALE);
        break;
      case "check":
        needs.push(LIST_PODS);
        break;
      case "probe":
        needs.push(s.when === "before" ? POD_PROXY : SERVICE_PROXY);
        if (s.when === "before") needs.push(LIST_PODS);
        break;
      case "switch":
        needs.push(...patchRouters(kinds, kinds.length === 1 && kinds[0] === "service" ? PATCH_SERVICES.why : "to switch the routers and record the switch"));
        break;
      case "weigh":
        needs.push(...patchRouters(kindsOf(s.writes), "to set the weights of each step and record it"));
        break;
      case "pause":
        break;
      case "preview":
        needs.push(...patchRouters(kindsOf(s.routes), "to add or remove the header preview rule"));
        break;
      case "verify":
        needs.push(LIST_SLICES, WATCH_SLICES);
        break;
      case "record":
        needs.push(...patchRouters(kinds, "to record the switch"), EVENTS);
        break;
      case "scale-down":
        needs.push(RETIRE);
        break;
      case "command":
      case "analysis":
        break;
    }
  }
  return unique(needs);
}

/** The busy mark on the live routers of these kinds. */
const busy = (kinds: readonly RouterKindName[]): Need[] =>
  kinds.length === 1 && kinds[0] === "service" ? [BUSY] : patchRouters(kinds, "to mark the live routers busy while the slot changes");

/** What `deploy` needs: the busy mark on the live routers, the Deployment write, an Event. */
export const deployNeeds = (kinds: readonly RouterKindName[] = ["service"]): Need[] => [...busy(kinds), DEPLOY, EVENTS];

/** What `scale-down` needs: the busy mark on the live routers, the Deployment write, an Event. */
export const scaleDownNeeds = (kinds: readonly RouterKindName[] = ["service"]): Need[] => [...busy(kinds), RETIRE, EVENTS];

/** The first need of each verb and resource: its reason is the earliest step's. */
function unique(needs: Need[]): Need[] {
  const seen = new Map<string, Need>();
  for (const n of needs) if (!seen.has(needText(n))) seen.set(needText(n), n);
  return [...seen.values()];
}

/** The README's table: each command (and flag) with the verbs and resources it needs before its first write. */
export function permissionTable(): string {
  const step = (kind: string, more: Partial<Record<string, unknown>> = {}) => ({ kind, ...more }) as Step;
  const base = [step("check"), step("switch"), step("verify"), step("record")];
  const rows: [string, Need[]][] = [
    ["`promote`, `abort`", switchNeeds(base)],
    ["`promote`, `abort` of an app behind HTTPRoutes, GRPCRoutes or Ingresses (each kind it has)", switchNeeds(base, [{ kind: "httproute" }, { kind: "grpcroute" }, { kind: "ingress" }]).filter((n) => ["httproutes", "grpcroutes", "ingresses"].includes(n.resource))],
    ["`promote --scale-up`; `abort` when the slot it goes back to was scaled down", switchNeeds([step("scale-up")])],
    ["`--probe`", switchNeeds([step("probe", { when: "before" }), step("probe", { when: "after" })])],
    ["`--scale-down-after`", switchNeeds([step("scale-down")])],
    ["`deploy`", deployNeeds()],
    ["`scale-down`", scaleDownNeeds()],
  ];
  const cell = (ns: Need[]) => ns.map((n) => `\`${needText(n)}\`${n.without ? " (optional)" : ""}`).join(", ");
  return ["| command | checked before the first write |", "|---|---|", ...rows.map(([what, ns]) => `| ${what} | ${cell(ns)} |`)].join("\n");
}
