// Switching where production routes traffic: HTTPRoutes and Ingresses between slot Services, through the test
// bed's real gateway (Traefik, in the data plane's namespace). Requests go through the gateway with the route's
// Host; the route's status is Traefik's; faults come from a proxy of ours in front of the real API server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { EXTERNAL_CLUSTER, type RunResult, VIEWER_CONTEXT, apply, bluegreen, bluegreenAsync, bluegreenChild, kubectlAsync, kubectlJson, kubectlOk, waitFor } from "./lib/cluster.js";
import { type Sample, describeSamples, failed } from "./lib/dataplane.js";
import { type FaultProxy, startFaultProxy } from "./lib/faultproxy.js";
import { GATEWAY_PARENT_REF, INGRESS_CLASS, gatewayAvailable, getThroughGateway, routeParentStatus, startGatewayLoad } from "./lib/gateway.js";

const ns = testNamespaces();
const gw = gatewayAvailable();
if (!gw.on) console.log(`route tests skipped (they need the test bed's gateway): ${gw.reason}`);

const RECORD = "kubectl-bluegreen/last-switch";
const show = (r: RunResult, proxy?: FaultProxy) => `exit ${r.code}\n${r.stdout}${r.stderr}${proxy ? `\n--- proxy log ---\n${proxy.formatLog()}` : ""}`;
const routeOf = (n: string, name: string, kind = "httproute") => kubectlJson(["get", kind, name, "-n", n]);
const weights = (n: string, name = "web", rule = 1) =>
  Object.fromEntries((routeOf(n, name).spec.rules[rule].backendRefs as { name: string; weight?: number }[]).map((b) => [b.name, b.weight ?? 1]));
const recordOn = (o: { metadata: { annotations?: Record<string, string> } }) => JSON.parse(o.metadata.annotations?.[RECORD] ?? "null");

/** web-blue (live) and web-green (idle, newer), two replicas each, and a slot Service for each. */
async function slots(n: string): Promise<void> {
  await createApp(n, {
    app: "web",
    slotLabel: "color",
    slots: [
      { value: "blue", replicas: 2 },
      { value: "green", replicas: 2 },
    ],
    services: { "web-blue": "blue", "web-green": "green" },
  });
}

/**
 * HTTPRoute `web` on the test bed's Gateway for host HOST: a rule of someone else's (path /other, with a filter,
 * to Service docs, which is not the app's) and the app's rule with `refs`.
 */
function httpRoute(n: string, host: string, refs: string, name = "web"): void {
  apply(
    n,
    `apiVersion: v1
kind: Service
metadata:
  name: docs
spec:
  selector: { app: docs }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  annotations: { team.example/owner: "shop" }
spec:
  parentRefs: [${JSON.stringify(GATEWAY_PARENT_REF)}]
  hostnames: ["${host}"]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /other } }]
      filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { add: [{ name: x-team, value: shop }] } }]
      backendRefs: [{ name: docs, port: 80 }]
    - backendRefs: ${refs}
`,
  );
}

/** Waits until the gateway accepts the route's current generation, and requests to HOST reach `slot`. */
async function routed(n: string, host: string, slot: string, name = "web", kind = "httproute"): Promise<void> {
  if (kind !== "ingress") {
    await waitFor(`${kind}/${name} accepted by the gateway`, () => {
      const s = routeParentStatus(n, name, kind);
      return s && s.observedGeneration >= s.generation && s.conditions.Accepted?.status === "True" && s.conditions.ResolvedRefs?.status === "True";
    });
  }
  await waitFor(`requests to ${host} answered by ${slot}`, () => getThroughGateway(host).labels?.color === slot, 30_000, 100);
}

describe.skipIf(!gw.on)("HTTPRoute between slot Services, through the gateway", () => {
  it("weights 100/0 → 0/100: promote moves them, verifies Traefik's status, records on the route, and abort moves them back", async () => {
    const n = await ns("rt-weights");
    await slots(n);
    const host = `${n}.example`;
    httpRoute(n, host, "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]");
    await routed(n, host, "blue");
    const before = routeOf(n, "web");

    const s0 = bluegreen(["status", "web"], { namespace: n });
    expect(s0.code, show(s0)).toBe(0);
    expect(s0.stdout).toContain(`Routes:       httproute/web (${host}) → blue: web-blue 100%, web-green 0%\n`);
    expect(s0.stdout).toContain("Services:     web-blue (slot → blue), web-green (slot → green)\n");

    const r = bluegreen(["promote", "web"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^httproute\/web switched: color blue → green\napp web promoted: color=green is live \(was blue\)/);
    expect(r.stderr).toContain("verifying: waiting up to 1m for httproute/web to be accepted by its gateways and every endpoint of service/web-green to be on green");
    // Every request after promote returned reaches the new slot.
    for (let i = 0; i < 10; i++) expect(getThroughGateway(host).labels?.color).toBe("green");

    const after = routeOf(n, "web");
    expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
    // What the switch does not own is as it was: the other rule, the hostnames, the parentRefs, other annotations.
    expect(after.spec.rules[0]).toEqual(before.spec.rules[0]);
    expect(after.spec.rules[1].matches).toEqual(before.spec.rules[1].matches);
    expect([after.spec.hostnames, after.spec.parentRefs, after.metadata.annotations["team.example/owner"]]).toEqual([before.spec.hostnames, before.spec.parentRefs, "shop"]);
    expect(recordOn(after)).toMatchObject({ action: "promote", from: "blue", to: "green", state: "verified", services: { "httproute/web": "live" } });
    const events = kubectlJson(["get", "events", "-n", n, "--field-selector", "involvedObject.kind=HTTPRoute,involvedObject.name=web"]).items;
    expect(events.map((e: { reason: string }) => e.reason)).toContain("Promoted");
    // The slot Services were not written.
    expect(kubectlJson(["get", "service", "web-green", "-n", n]).metadata.annotations?.[RECORD]).toBeUndefined();

    const s1 = bluegreen(["status", "web", "-o", "json"], { namespace: n });
    const item = JSON.parse(s1.stdout).items[0];
    expect(item.verdict).toBe("promoted");
    expect(item.routes).toEqual([{ kind: "httproute", name: "web", slot: "green", sends: "web-blue 0%, web-green 100%", hostnames: [host] }]);

    const a = bluegreen(["abort", "web"], { namespace: n });
    expect(a.code, show(a)).toBe(0);
    expect(weights(n)).toEqual({ "web-blue": 100, "web-green": 0 });
    expect(getThroughGateway(host).labels?.color).toBe("blue");
  });

  it("a user who may not list routes is told so for this app, and status of the rest still works", async () => {
    const n = await ns("rt-viewer");
    await slots(n);
    httpRoute(n, `${n}.example`, "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]");
    const s = bluegreen(["status", "web"], { namespace: n, context: VIEWER_CONTEXT });
    expect(s.code, show(s)).toBe(1);
    expect(s.stdout).toMatch(/Verdict: {6}misconfigured: its Services are slot Services, one per slot \(web-blue → blue, web-green → green\), and the routes that may choose between them cannot be read \(list httproutes: forbidden; list grpcroutes: forbidden; list ingresses: forbidden\)/);
    const all = bluegreen(["status", "-A"], { context: VIEWER_CONTEXT });
    expect(all.stderr, show(all)).not.toContain("forbidden");
    expect(all.stdout).toMatch(new RegExp(`${n} +web +color +- +- +- +misconfigured`));
  });

  it("one backendRef: its name is swapped, its weight kept", async () => {
    const n = await ns("rt-single");
    await slots(n);
    const host = `${n}.example`;
    httpRoute(n, host, "[{ name: web-blue, port: 80, weight: 7 }]");
    await routed(n, host, "blue");
    const r = bluegreen(["promote", "web"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect(routeOf(n, "web").spec.rules[1].backendRefs).toEqual([{ group: "", kind: "Service", name: "web-green", port: 80, weight: 7 }]);
    expect(getThroughGateway(host).labels?.color).toBe("green");
  });

  it("a route the gateway rejects after the switch is switched back (exit 6)", async () => {
    const n = await ns("rt-reject");
    await slots(n);
    const host = `${n}.example`;
    // web-green has no port 80: the backendRef to it does not resolve once the weights point there.
    apply(n, `apiVersion: v1\nkind: Service\nmetadata: { name: web-green }\nspec:\n  selector: { app: web, color: green }\n  ports: [{ port: 81, targetPort: 8080 }]\n`);
    httpRoute(n, host, "[{ name: web-blue, port: 80, weight: 100 }]");
    await routed(n, host, "blue");
    const r = bluegreen(["promote", "web"], { namespace: n });
    expect(r.code, show(r)).toBe(6);
    expect(r.stderr).toMatch(/error: verification failed: httproute\/web: gateway\/gateway-system\/testbed reports ResolvedRefs=False \([A-Za-z]+.*\) for generation \d+; httproute\/web was switched back to color=blue\.\n/);
    expect(routeOf(n, "web").spec.rules[1].backendRefs[0].name).toBe("web-blue");
    expect(recordOn(routeOf(n, "web"))).toBeNull();
    await routed(n, host, "blue");
  });
});

describe.skipIf(!gw.on)("Ingress between slot Services, through the gateway", () => {
  it("promote swaps the backend Service of the app's paths, and leaves the others", async () => {
    const n = await ns("rt-ingress");
    await slots(n);
    const host = `${n}.example`;
    apply(
      n,
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  ingressClassName: ${INGRESS_CLASS}
  rules:
    - host: ${host}
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: web-blue, port: { number: 80 } } } }
          - { path: /pinned, pathType: Prefix, backend: { service: { name: web-other, port: { number: 80 } } } }
`,
    );
    await routed(n, host, "blue", "web", "ingress");
    const r = bluegreen(["promote", "web"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^ingress\/web switched: color blue → green\n/);
    const paths = routeOf(n, "web", "ingress").spec.rules[0].http.paths;
    expect(paths.map((p: { backend: { service: { name: string } } }) => p.backend.service.name)).toEqual(["web-green", "web-other"]);
    for (let i = 0; i < 5; i++) expect(getThroughGateway(host).labels?.color).toBe("green");
    expect(recordOn(routeOf(n, "web", "ingress"))).toMatchObject({ state: "verified", services: { "ingress/web": "live" } });
  });
});

describe.skipIf(!gw.on)("several routers of one app", () => {
  it("an HTTPRoute, a GRPCRoute and an Ingress are switched together, each verified, and --router picks one kind", async () => {
    const n = await ns("rt-several");
    await slots(n);
    const host = `${n}.example`;
    httpRoute(n, host, "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]");
    apply(
      n,
      `apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: web-grpc
spec:
  parentRefs: [${JSON.stringify(GATEWAY_PARENT_REF)}]
  hostnames: ["grpc.${host}"]
  rules: [{ backendRefs: [{ name: web-blue, port: 80 }] }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web-ing
spec:
  ingressClassName: ${INGRESS_CLASS}
  rules: [{ host: "ing.${host}", http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web-blue, port: { number: 80 } } } }] } }]
`,
    );
    await routed(n, host, "blue");
    await routed(n, `ing.${host}`, "blue", "web-ing", "ingress");
    await waitFor("grpcroute/web-grpc accepted", () => routeParentStatus(n, "web-grpc", "grpcroute")?.conditions.ResolvedRefs?.status === "True");
    const r = bluegreen(["promote", "web"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^grpcroute\/web-grpc switched: color blue → green\nhttproute\/web switched: color blue → green\ningress\/web-ing switched: color blue → green\n/);
    expect(routeOf(n, "web-grpc", "grpcroute").spec.rules[0].backendRefs[0].name).toBe("web-green");
    expect(routeOf(n, "web-ing", "ingress").spec.rules[0].http.paths[0].backend.service.name).toBe("web-green");
    expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
    expect(recordOn(routeOf(n, "web")).services).toEqual({ "grpcroute/web-grpc": "live", "httproute/web": "live", "ingress/web-ing": "live" });
    expect(getThroughGateway(`ing.${host}`).labels?.color).toBe("green");
    // One kind only: the others stay where they are, and the app is then split between its routers.
    const one = bluegreen(["abort", "web", "--router", "ingress"], { namespace: n });
    expect(one.code, show(one)).toBe(0);
    expect(routeOf(n, "web-ing", "ingress").spec.rules[0].http.paths[0].backend.service.name).toBe("web-blue");
    expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
    const s = bluegreen(["status", "web"], { namespace: n });
    expect(s.code, show(s)).toBe(1);
    expect(s.stdout).toMatch(/Verdict: {6}interrupted: .*grpcroute\/web-grpc on green, httproute\/web on green, ingress\/web-ing on blue/);
  });
});

describe.skipIf(!gw.on || EXTERNAL_CLUSTER)("faults on the route write", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy();
  });
  afterAll(async () => {
    await proxy?.close();
  });
  const via = (n: string) => ({ namespace: n, kubeconfig: proxy.kubeconfig });
  const patchOf = (kind: string, name: string) => ({ method: "PATCH", path: new RegExp(`/namespaces/[^/]+/${kind}/${name}$`) });

  it("a lost reply to the route write is settled by reading back", async () => {
    const n = await ns("rt-lost");
    await slots(n);
    const host = `${n}.example`;
    httpRoute(n, host, "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]");
    await routed(n, host, "blue");
    const rule = proxy.addRule({ ...patchOf("httproutes", "web"), fault: "lose-reply", nth: 1 });
    const r = await bluegreenAsync(["promote", "web"], via(n));
    proxy.clearRules();
    expect(rule.applied, show(r, proxy)).toBe(1);
    expect(r.code, show(r, proxy)).toBe(0);
    expect(r.stderr).toContain("httproute/web: the reply was lost, but the switch was applied (read back)");
    expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
    expect(recordOn(routeOf(n, "web")).state).toBe("verified");
  });

  it("someone else's change to the backendRefs between our read and our write is a conflict (exit 5): nothing changed", async () => {
    const n = await ns("rt-conflict");
    await slots(n);
    const host = `${n}.example`;
    httpRoute(n, host, "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]");
    await routed(n, host, "blue");
    const hold = proxy.addRule({ ...patchOf("httproutes", "web"), fault: "hold", nth: 1 });
    const running = bluegreenAsync(["promote", "web"], via(n));
    const held = await hold.waitForHeld();
    // Someone else starts a canary by hand: the switch was planned on other weights.
    kubectlOk(["patch", "httproute", "web", "-n", n, "--type", "json", "-p", '[{"op":"replace","path":"/spec/rules/1/backendRefs/0/weight","value":90},{"op":"replace","path":"/spec/rules/1/backendRefs/1/weight","value":10}]']);
    held.release();
    const r = await running;
    proxy.clearRules();
    expect(r.code, show(r, proxy)).toBe(5);
    expect(r.stderr).toMatch(/^error: patch httproute\/web: conflict: the HTTPRoute was changed by someone else since it was read \(it sends traffic to no one slot \(web-blue 90%, web-green 10%\) now\); nothing changed\.\n/);
    expect(weights(n)).toEqual({ "web-blue": 90, "web-green": 10 });
    expect(recordOn(routeOf(n, "web"))).toBeNull();
  });

  it("kill -9 between two routes: status shows it interrupted, promote finishes it", async () => {
    const n = await ns("rt-kill");
    await slots(n);
    const host = `${n}.example`;
    httpRoute(n, host, "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]");
    httpRoute(n, `api.${host}`, "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]", "web-api");
    await routed(n, host, "blue");
    await routed(n, `api.${host}`, "blue", "web-api");
    // httproute/web is written first (by name), httproute/web-api second: hold the second and kill the plugin.
    const hold = proxy.addRule({ ...patchOf("httproutes", "web-api"), fault: "hold" });
    const p = bluegreenChild(["promote", "web"], via(n));
    const held = await hold.waitForHeld();
    p.kill("SIGKILL");
    const killed = await p.done;
    held.drop();
    proxy.clearRules();
    expect(killed.code, show(killed, proxy)).toBe(128);
    expect([weights(n, "web"), weights(n, "web-api")]).toEqual([
      { "web-blue": 0, "web-green": 100 },
      { "web-blue": 100, "web-green": 0 },
    ]);
    const s = bluegreen(["status", "web"], { namespace: n });
    expect(s.code, show(s)).toBe(1);
    expect(s.stdout).toMatch(/Verdict: {6}interrupted: the promote blue → green started \S+ by \S+ is in progress or was interrupted: httproute\/web on green, httproute\/web-api on blue; promote finishes it, abort goes back\n/);
    const r = bluegreen(["promote", "web"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect([weights(n, "web"), weights(n, "web-api")]).toEqual([
      { "web-blue": 0, "web-green": 100 },
      { "web-blue": 0, "web-green": 100 },
    ]);
    expect(getThroughGateway(`api.${host}`).labels?.color).toBe("green");
  });
});

describe.skipIf(!gw.on)("next to other writers", () => {
  it("a controller that puts the weights back: promote never reports success (exit 5), and names who put them back", async () => {
    const n = await ns("rt-revert");
    await slots(n);
    const host = `${n}.example`;
    const blue = "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]";
    httpRoute(n, host, blue);
    await routed(n, host, "blue");
    let stop = false;
    let reverts = 0;
    const selfheal = (async () => {
      while (!stop) {
        const w = weights(n);
        if (w["web-green"] !== 0) {
          const r = await kubectlAsync(["patch", "httproute", "web", "-n", n, "--field-manager", "gitops-selfheal", "--type", "json", "-p", '[{"op":"replace","path":"/spec/rules/1/backendRefs/0/weight","value":100},{"op":"replace","path":"/spec/rules/1/backendRefs/1/weight","value":0}]']);
          if (r.code === 0) reverts++;
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const r = await bluegreenAsync(["promote", "web"], { namespace: n });
    stop = true;
    await selfheal;
    expect(reverts, show(r)).toBeGreaterThan(0);
    expect(r.code, show(r)).toBe(5);
    expect(r.stderr).toContain("httproute/web was changed by someone else after the switch: it sends traffic to color=blue again (its routing was last written by gitops-selfheal)");
    expect(weights(n)).toEqual({ "web-blue": 100, "web-green": 0 });
  });


  it("a writer annotating the route meanwhile is retried over", async () => {
    const n = await ns("rt-writers");
    await slots(n);
    const host = `${n}.example`;
    httpRoute(n, host, "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]");
    await routed(n, host, "blue");
    let stop = false;
    let ticks = 0;
    const annotate = (async () => {
      while (!stop) {
        const r = await kubectlAsync(["annotate", "--overwrite", "httproute", "web", "-n", n, `gitops.example/tick=${++ticks}`]);
        if (r.code !== 0) throw new Error(r.stderr);
      }
    })();
    const r = await bluegreenAsync(["promote", "web"], { namespace: n });
    stop = true;
    await annotate;
    expect(ticks).toBeGreaterThan(1);
    expect(r.code, show(r)).toBe(0);
    expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
  });
});

describe.skipIf(!gw.on)("zero failed requests through the gateway", () => {
  for (const keepalive of [false, true]) {
    it(`promote and abort under load (${keepalive ? "keep-alive connections" : "a new connection per request"}): no failed request, and every request after promote returned is answered by the new slot`, async () => {
      const n = await ns(keepalive ? "rt-load-ka" : "rt-load");
      await slots(n);
      const host = `${n}.example`;
      httpRoute(n, host, "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]");
      await routed(n, host, "blue");
      const load = startGatewayLoad(host, { rate: 50, ...(keepalive ? { keepalive: 4, connRequests: 1000 } : {}) });
      try {
        await load.waitFor(20);
        const r = await bluegreenAsync(["promote", "web"], { namespace: n });
        const returned = Date.now();
        expect(r.code, show(r)).toBe(0);
        await load.waitFor(50, returned);
        const aborting = Date.now();
        const a = await bluegreenAsync(["abort", "web"], { namespace: n });
        const aborted = Date.now();
        expect(a.code, show(a)).toBe(0);
        await load.waitFor(50, aborted);
        const samples: Sample[] = await load.stop();
        expect(samples.filter(failed), describeSamples(samples.filter(failed), "color")).toEqual([]);
        const afterPromote = samples.filter((s) => s.t0 > returned && s.t0 < aborting);
        expect(afterPromote.length).toBeGreaterThan(10);
        expect(afterPromote.filter((s) => s.labels?.color !== "green"), describeSamples(afterPromote, "color")).toEqual([]);
        const afterAbort = samples.filter((s) => s.t0 > aborted);
        expect(afterAbort.filter((s) => s.labels?.color !== "blue"), describeSamples(afterAbort, "color")).toEqual([]);
        if (keepalive) {
          // The same connections carried both: L7 moves requests, not connections.
          const conns = new Set(afterPromote.map((s) => s.conn));
          expect(afterAbort.some((s) => conns.has(s.conn))).toBe(true);
        }
      } finally {
        await load.stop().catch(() => undefined);
      }
    });
  }
});
