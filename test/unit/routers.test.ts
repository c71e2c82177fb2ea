// The router kinds (src/bluegreen/routers): where each sends traffic, the patch that moves it (everything else sent
// back as read), the patch that puts it back, what a switch depends on, and whether a gateway has taken the change.
import { describe, expect, it } from "vitest";
import { findPair } from "../../src/bluegreen/pair.js";
import { planAbort, planPromote } from "../../src/bluegreen/plan.js";
import { NO_CHECKS } from "../../src/bluegreen/checks.js";
import { ingressRouter } from "../../src/bluegreen/routers/ingress.js";
import { PREVIEW_RULE_ANNOTATION, httpRouteRouter, routeTaken, withPreview } from "../../src/bluegreen/routers/route.js";
import type { RouterObject, Routing } from "../../src/bluegreen/routers/types.js";
import { deployment, replicaSet, service } from "./builders.js";

const routing: Routing = {
  slotLabel: "color",
  slotServices: {
    blue: { name: "web-blue", selector: { app: "web", color: "blue" }, service: service("web-blue", { app: "web", color: "blue" }) },
    green: { name: "web-green", selector: { app: "web", color: "green" }, service: service("web-green", { app: "web", color: "green" }) },
  },
};

/** An HTTPRoute with a rule of the app (weighted or single) and a rule of someone else's, with filters and matches. */
function route(appRefs: object[], o: { generation?: number; parents?: object[] } = {}): RouterObject {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "web", namespace: "shop", resourceVersion: "10", generation: o.generation ?? 3 },
    spec: {
      parentRefs: [{ name: "edge" }],
      hostnames: ["web.example.com"],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/api" } }],
          filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { add: [{ name: "x-team", value: "api" }] } }],
          backendRefs: [{ name: "api", port: 80 }],
        },
        { matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: appRefs },
      ],
    },
    status: { parents: o.parents ?? [] },
  };
}

const parent = (conds: [string, string, number, string?][]) => ({
  parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "edge" },
  controllerName: "traefik.io/gateway-controller",
  conditions: conds.map(([type, status, observedGeneration, reason]) => ({ type, status, observedGeneration, reason: reason ?? type, message: "" })),
});

describe("HTTPRoute router", () => {
  it("reads weights: all to one slot, or split", () => {
    const all = route([{ name: "web-blue", port: 80, weight: 100 }, { name: "web-green", port: 80, weight: 0 }]);
    expect(httpRouteRouter.read(all, routing)).toEqual({ slot: "blue", slots: ["blue"], text: "web-blue 100%, web-green 0%" });
    const split = route([{ name: "web-blue", port: 80, weight: 90 }, { name: "web-green", port: 80, weight: 10 }]);
    expect(httpRouteRouter.read(split, routing)).toMatchObject({ slot: undefined, slots: ["blue", "green"] });
    // Unset weights count 1 each: an even split.
    expect(httpRouteRouter.read(route([{ name: "web-blue" }, { name: "web-green" }]), routing).slot).toBeUndefined();
    expect(httpRouteRouter.read(route([{ name: "web-green", port: 80 }]), routing)).toMatchObject({ slot: "green", slots: ["green"] });
  });

  it("switches weights 100/0 → 0/100 and leaves every other rule, match and filter as it was", () => {
    const o = route([{ name: "web-blue", port: 80, weight: 100 }, { name: "web-green", port: 80, weight: 0 }]);
    const before = structuredClone(o);
    const patch = httpRouteRouter.switchTo(o, routing, "green") as { rules: unknown[] };
    expect(patch.rules[0]).toEqual(before.spec.rules[0]);
    expect(patch.rules[1]).toEqual({ matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ name: "web-blue", port: 80, weight: 0 }, { name: "web-green", port: 80, weight: 100 }] });
    expect(o).toEqual(before);
  });

  it("swaps the name of a single slot backendRef, keeping its weight, port and filters", () => {
    const o = route([{ name: "web-blue", port: 80, weight: 7, filters: [{ type: "ResponseHeaderModifier" }] }]);
    const patch = httpRouteRouter.switchTo(o, routing, "green") as { rules: { backendRefs: object[] }[] };
    expect(patch.rules[1]?.backendRefs).toEqual([{ name: "web-green", port: 80, weight: 7, filters: [{ type: "ResponseHeaderModifier" }] }]);
  });

  it("restores the backendRefs as read onto the route as it is now, keeping later changes to other rules", () => {
    const asRead = route([{ name: "web-blue", port: 80, weight: 100 }, { name: "web-green", port: 80, weight: 0 }]);
    const now = structuredClone(asRead);
    now.spec.rules[1].backendRefs = [{ name: "web-blue", port: 80, weight: 0 }, { name: "web-green", port: 80, weight: 100 }];
    now.spec.rules[0].filters = [];
    const patch = httpRouteRouter.restore(now, asRead, routing) as { rules: { backendRefs: object[]; filters?: object[] }[] };
    expect(patch.rules[1]?.backendRefs).toEqual(asRead.spec.rules[1].backendRefs);
    expect(patch.rules[0]?.filters).toEqual([]);
  });

  it("depends on every rule's backendRefs, not on filters, matches or hostnames", () => {
    const o = route([{ name: "web-blue", port: 80, weight: 100 }, { name: "web-green", port: 80, weight: 0 }]);
    const other = structuredClone(o);
    other.spec.rules[0].filters = [];
    other.spec.hostnames = ["x.example.com"];
    expect(httpRouteRouter.guard(other, routing)).toBe(httpRouteRouter.guard(o, routing));
    other.spec.rules[0].backendRefs = [{ name: "api2", port: 80 }];
    expect(httpRouteRouter.guard(other, routing)).not.toBe(httpRouteRouter.guard(o, routing));
  });

  it("is taken once every parent it had accepts it with references resolved at the written generation", () => {
    const asRead = route([], { generation: 3, parents: [parent([["Accepted", "True", 3], ["ResolvedRefs", "True", 3]])] });
    const written = route([], { generation: 4 });
    expect(routeTaken(asRead, written, asRead)).toEqual({ kind: "waiting", why: "gateway/edge has not reported Accepted for generation 4 yet" });
    const now = route([], { generation: 4, parents: [parent([["Accepted", "True", 4], ["ResolvedRefs", "True", 4]])] });
    expect(routeTaken(now, written, asRead)).toEqual({ kind: "ok" });
    const rejected = route([], { generation: 4, parents: [parent([["Accepted", "True", 4], ["ResolvedRefs", "False", 4, "BackendNotFound"]])] });
    expect(routeTaken(rejected, written, asRead)).toEqual({ kind: "failed", why: "gateway/edge reports ResolvedRefs=False (BackendNotFound) for generation 4" });
  });
});

describe("a header preview rule", () => {
  it("is recognised as ours once the API server has filled in the Gateway API's defaults, and counts for no weight, switch or guard", () => {
    const o = route([{ name: "web-blue", port: 80, weight: 100 }, { name: "web-green", port: 80, weight: 0 }]);
    const { rules, annotation } = withPreview(o, routing, { slot: "green", header: { name: "x-canary", value: "1" } });
    expect(rules[2]).toEqual({ matches: [{ path: { type: "PathPrefix", value: "/" }, headers: [{ type: "Exact", name: "x-canary", value: "1" }] }], backendRefs: [{ name: "web-green", port: 80 }] });
    // As stored: group, kind and weight filled in on the backendRef.
    const stored = structuredClone(o);
    stored.spec.rules.push({ ...rules[2], backendRefs: [{ group: "", kind: "Service", name: "web-green", port: 80, weight: 1 }] });
    stored.metadata.annotations = { [PREVIEW_RULE_ANNOTATION]: annotation ?? "" };
    expect(httpRouteRouter.read(stored, routing)).toEqual({ slot: "blue", slots: ["blue"], text: "web-blue 100%, web-green 0%" });
    expect(httpRouteRouter.guard(stored, routing)).toBe(httpRouteRouter.guard(o, routing));
    const patch = httpRouteRouter.switchTo(stored, routing, "green") as { rules: object[] };
    expect(patch.rules[2]).toEqual(stored.spec.rules[2]);
    expect(withPreview(stored, routing).rules).toEqual(o.spec.rules);
    // A rule that differs in anything but defaults is not ours.
    const other = structuredClone(stored);
    other.spec.rules[2].backendRefs[0].weight = 2;
    expect(withPreview(other, routing).rules).toHaveLength(3);
  });
});

describe("Ingress router", () => {
  const ingress = (backend: string, other = "api"): RouterObject => ({
    metadata: { name: "web", namespace: "shop", resourceVersion: "5" },
    spec: {
      ingressClassName: "traefik",
      tls: [{ hosts: ["web.example.com"], secretName: "web-tls" }],
      rules: [
        {
          host: "web.example.com",
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: backend, port: { number: 80 } } } },
              { path: "/api", pathType: "Prefix", backend: { service: { name: other, port: { name: "http" } } } },
            ],
          },
        },
      ],
    },
  });

  it("reads, switches and restores only the paths to a slot Service", () => {
    const o = ingress("web-blue");
    expect(ingressRouter.read(o, routing)).toMatchObject({ slot: "blue", slots: ["blue"] });
    const patch = ingressRouter.switchTo(o, routing, "green") as { rules: { host: string; http: { paths: { backend: object }[] } }[] };
    expect(patch.rules[0]?.host).toBe("web.example.com");
    expect(patch.rules[0]?.http.paths.map((p) => p.backend)).toEqual([{ service: { name: "web-green", port: { number: 80 } } }, { service: { name: "api", port: { name: "http" } } }]);
    expect(ingressRouter.restore(ingress("web-green"), o, routing)).toEqual({ rules: o.spec.rules });
    expect(ingressRouter.hostnames(o)).toEqual(["web.example.com"]);
  });
});

describe("an app behind a route", () => {
  const deps = [
    deployment("web-blue", { ns: "shop", labels: { app: "web", color: "blue" }, image: "web:1" }),
    deployment("web-green", { ns: "shop", labels: { app: "web", color: "green" }, image: "web:2", created: "2026-11-23T10:00:00Z" }),
  ];
  const svcs = [service("web-blue", { app: "web", color: "blue" }, { ns: "shop" }), service("web-green", { app: "web", color: "green" }, { ns: "shop" })];
  const r = route([{ name: "web-blue", port: 80, weight: 100 }, { name: "web-green", port: 80, weight: 0 }]);

  it("asks for the routes, then makes the route its router and the Services its slot Services", () => {
    expect(findPair("web", "shop", deps, svcs)).toMatchObject({ needsRoutes: true });
    const pair = findPair("web", "shop", deps, svcs, undefined, [{ kind: "httproute", object: r }]);
    expect(pair.problem).toBeUndefined();
    expect(pair.routers.map((x) => [x.ref, x.role, x.slot])).toEqual([["httproute/web", "live", "blue"]]);
    expect(Object.values(pair.routing?.slotServices ?? {}).map((s) => s.name)).toEqual(["web-blue", "web-green"]);
    expect(pair.live?.value).toBe("blue");
  });

  it("will not switch the routes it can see while a kind it may not list could hold more", () => {
    const unreadable = [{ kind: "ingress" as const, why: "list ingresses: forbidden" }];
    const pair = findPair("web", "shop", deps, svcs, undefined, [{ kind: "httproute", object: r }], undefined, unreadable);
    expect(pair.problem).toMatch(/the routes that may choose between them cannot be read \(list ingresses: forbidden\); be allowed to list them, or name the kind to switch with --router$/);
    expect(findPair("web", "shop", deps, svcs, undefined, [{ kind: "httproute", object: r }], "httproute", unreadable).problem).toBeUndefined();
  });

  it("a route split by hand is not taken as evidence either way: promote and abort refuse, --to settles it", () => {
    const split = route([{ name: "web-blue", port: 80, weight: 90 }, { name: "web-green", port: 80, weight: 10 }]);
    const pair = findPair("web", "shop", deps, svcs, undefined, [{ kind: "httproute", object: split }]);
    if (pair.problem !== undefined) throw new Error(pair.problem);
    const now = new Date("2026-11-24T10:00:00Z");
    const o = { by: "alice", now, id: "0123456789abcdef", replicaSets: [] };
    const p = planPromote(pair, o);
    expect(p).toMatchObject({ kind: "refused" });
    expect("message" in p && p.message).toBe(
      "will not promote app web: its traffic is split (httproute/web on no one slot (web-blue 90%, web-green 10%)) and no switch is recorded as in progress; nothing changed",
    );
    expect(planAbort(pair, { ...o, scaleDown: false, scaleDownDelayMs: 0 })).toMatchObject({ kind: "refused" });
    const to = planPromote(pair, { ...o, to: "green" });
    if (to.kind !== "switch") throw new Error(JSON.stringify(to));
    expect(to.writes.map((w) => [w.ref, w.from, w.to])).toEqual([["httproute/web", "", "green"]]);
    expect(httpRouteRouter.switchTo(split, routing, "green")).toMatchObject({ rules: [{}, { backendRefs: [{ name: "web-blue", weight: 0 }, { name: "web-green", weight: 100 }] }] });
  });

  it("says so when nothing routes to the slot Services", () => {
    const pair = findPair("web", "shop", deps, svcs, undefined, []);
    expect(pair).toMatchObject({ unsupported: true });
    expect(pair.problem).toMatch(/no HTTPRoute, GRPCRoute or Ingress in namespace shop leads to them/);
  });

  it("plans a promote of the route: its own record key, the target slot Service's endpoints, and an abort back", () => {
    const pair = findPair("web", "shop", deps, svcs, undefined, [{ kind: "httproute", object: r }]);
    if (pair.problem !== undefined) throw new Error(pair.problem);
    const now = new Date("2026-11-24T10:00:00Z");
    const p = planPromote(pair, { by: "alice", now, id: "0123456789abcdef", replicaSets: deps.map((d) => replicaSet(d, String(d.metadata.creationTimestamp))) });
    if (p.kind !== "switch") throw new Error(JSON.stringify(p));
    expect(p.writes.map((w) => [w.ref, w.key, w.from, w.to, w.endpoints])).toEqual([["httproute/web", "httproute/web", "blue", "green", "web-green"]]);
    expect(p.writes[0]?.targetPods).toEqual({ app: "web", color: "green" });
    expect(p.record.services).toEqual({ "httproute/web": "live" });
    expect(p.steps.find((s) => s.kind === "verify")).toEqual({ kind: "verify", routers: ["httproute/web"], endpoints: ["web-green"] });
    expect(planAbort(pair, { by: "alice", now, id: "0123456789abcdef", scaleDown: false, scaleDownDelayMs: 0 }).kind).toBe("noop");
  });
});

describe("a promote in weighted steps (--steps)", () => {
  const deps = [
    deployment("web-blue", { ns: "shop", labels: { app: "web", color: "blue" }, image: "web:1" }),
    deployment("web-green", { ns: "shop", labels: { app: "web", color: "green" }, image: "web:2", created: "2026-11-23T10:00:00Z" }),
  ];
  const svcs = [service("web-blue", { app: "web", color: "blue" }, { ns: "shop" }), service("web-green", { app: "web", color: "green" }, { ns: "shop" })];
  const now = new Date("2026-11-24T10:00:00Z");
  const o = { by: "alice", now, id: "0123456789abcdef", replicaSets: deps.map((d) => replicaSet(d, String(d.metadata.creationTimestamp))) };
  const pairOf = (r: RouterObject) => {
    const pair = findPair("web", "shop", deps, svcs, undefined, [{ kind: "httproute", object: r }]);
    if (pair.problem !== undefined) throw new Error(pair.problem);
    return pair;
  };
  const weighted = route([{ name: "web-blue", port: 80, weight: 100 }, { name: "web-green", port: 80, weight: 0 }]);

  it("weighs only the app's rules, as percentages, and reads them back", () => {
    const w = httpRouteRouter.weights;
    if (!w) throw new Error("no weights");
    const patch = w.weigh(weighted, routing, "green", 10) as { rules: { backendRefs: object[] }[] };
    expect(patch.rules[0]).toEqual(weighted.spec.rules[0]);
    expect(patch.rules[1]?.backendRefs).toEqual([{ name: "web-blue", port: 80, weight: 90 }, { name: "web-green", port: 80, weight: 10 }]);
    const at10 = { ...weighted, spec: { ...weighted.spec, ...patch } };
    expect(w.share(at10, routing, "green")).toBe(10);
    expect(w.share(weighted, routing, "green")).toBe(0);
    expect(w.unweighable(weighted, routing)).toBeUndefined();
    expect(w.unweighable(route([{ name: "web-blue", port: 80 }]), routing)).toBe(
      "its rule 2 has no backendRef to web-green; a weighted step needs one to each slot Service (add web-green with weight 0, which sends it nothing)",
    );
    expect(w.unweighable(route([{ name: "web-blue" }, { name: "web-green", weight: 0 }, { name: "other" }]), routing)).toMatch(/^its rule 2 also sends traffic to service\/other/);
  });

  it("plans each step below 100 as a weigh, its verification and a pause, then the switch; the record says the step", () => {
    const p = planPromote(pairOf(weighted), { ...o, canary: { steps: [10, 50, 100], pause: 30_000 } });
    if (p.kind !== "switch") throw new Error(JSON.stringify(p));
    expect(p.steps.map((s) => (s.kind === "weigh" ? `weigh ${s.percent}` : s.kind === "pause" ? `pause ${s.ms}` : s.kind))).toEqual([
      "check",
      "weigh 10",
      "verify",
      "pause 30000",
      "weigh 50",
      "verify",
      "pause 30000",
      "switch",
      "verify",
      "record",
    ]);
    const first = p.steps[1];
    if (first?.kind !== "weigh") throw new Error("no weigh");
    const rec = JSON.parse(first.writes[0]?.annotations["kubectl-bluegreen/last-switch"] ?? "{}");
    expect(rec).toMatchObject({ state: "pending", from: "blue", to: "green", canary: { steps: [10, 50, 100], step: 0, pause: 30_000 } });
    expect(JSON.parse(first.writes[0]?.annotations["kubectl-bluegreen/before-canary"] ?? "{}")).toEqual({ lastSwitch: null, history: null });
    // The switch at 100% records no canary and removes what the first step kept.
    expect(JSON.parse(p.writes[0]?.annotations["kubectl-bluegreen/last-switch"] ?? "{}").canary).toBeUndefined();
    expect(p.writes[0]?.annotations["kubectl-bluegreen/before-canary"]).toBeNull();
    expect(p.writes[0]?.undoAnnotations["kubectl-bluegreen/before-canary"]).toBeNull();
  });

  it("continues a canary from the step its routes are at; a failure goes back to all-old with the annotations of before it", () => {
    const first = planPromote(pairOf(weighted), { ...o, canary: { steps: [10, 50, 100], pause: "manual" } });
    if (first.kind !== "switch" || first.steps[1]?.kind !== "weigh") throw new Error(JSON.stringify(first));
    const step = first.steps[1];
    const w = step.writes[0];
    if (!w) throw new Error("no write");
    const at10: RouterObject = {
      ...weighted,
      metadata: { ...weighted.metadata, annotations: Object.fromEntries(Object.entries(w.annotations).filter((e): e is [string, string] => e[1] !== null)) },
      spec: { ...weighted.spec, ...(httpRouteRouter.weights?.weigh(weighted, routing, "green", 10) ?? {}) },
    };
    const pair = pairOf(at10);
    expect(pair.unsettled?.pending?.canary).toMatchObject({ step: 0, steps: [10, 50, 100] });
    const next = planPromote(pair, o);
    if (next.kind !== "switch") throw new Error(JSON.stringify(next));
    expect(next.reason).toMatch(/^continues the canary blue → green started 2026-11-24T10:00:00.000Z by alice, at 10% since/);
    expect(next.steps.map((s) => (s.kind === "weigh" ? `weigh ${s.percent}` : s.kind))).toEqual(["check", "weigh 50", "verify", "pause", "switch", "verify", "record"]);
    expect(next.record.id).toBe(first.record.id);
    const back = next.writes[0];
    expect(back?.back).toBe("blue");
    expect(back?.undoAnnotations).toEqual({ "kubectl-bluegreen/last-switch": null, "kubectl-bluegreen/history": null, "kubectl-bluegreen/before-canary": null });
    expect(httpRouteRouter.read(back?.asRead ?? at10, routing).slot).toBe("blue");
    // abort goes back to all-old; --to settles at 100%; --steps on a plain interrupted switch is refused.
    const abort = planAbort(pair, { ...o, scaleDown: false, scaleDownDelayMs: 0 });
    expect(abort.kind === "switch" && abort.writes.map((x) => [x.from, x.to])).toEqual([["", "blue"]]);
    const to = planPromote(pair, { ...o, to: "green" });
    expect(to.kind === "switch" && to.steps.map((s) => s.kind)).toEqual(["check", "switch", "verify", "record"]);
  });

  it("--analysis: asked once before any write, then after each step and after the switch, with {{new}} the new slot Service", () => {
    const checks = { ...NO_CHECKS, analysis: { queries: ['sum(up{service="{{new}}"}) > 0'], source: { kind: "url" as const, url: "http://127.0.0.1:9090" }, intervalMs: 1000, passes: 2 } };
    const p = planPromote(pairOf(weighted), { ...o, checks, canary: { steps: [10, 100], pause: 0 } });
    if (p.kind !== "switch") throw new Error(JSON.stringify(p));
    expect(p.steps.map((s) => (s.kind === "analysis" ? `analysis ${s.when}` : s.kind))).toEqual([
      "check",
      "analysis before",
      "weigh",
      "verify",
      "analysis after",
      "pause",
      "switch",
      "verify",
      "analysis after",
      "record",
    ]);
    const a = p.steps.find((s) => s.kind === "analysis");
    expect(a?.kind === "analysis" && a.analysis.queries).toEqual([{ given: 'sum(up{service="{{new}}"}) > 0', sent: 'sum(up{service="web-green"}) > 0' }]);
  });

  it("refuses a Service router, a rule with one slot Service, and --step-pause alone", () => {
    const single = planPromote(pairOf(route([{ name: "web-blue", port: 80 }])), { ...o, canary: { steps: [10, 100] } });
    expect(single).toMatchObject({ kind: "refused" });
    expect("message" in single && single.message).toMatch(/^cannot promote app web in steps: httproute\/web: its rule 2 has no backendRef to web-green/);
    const alone = planPromote(pairOf(weighted), { ...o, canary: { pause: 1000 } });
    expect("message" in alone && alone.message).toBe("--step-pause needs --steps: app web has no canary in progress to continue; nothing changed");
  });
});
