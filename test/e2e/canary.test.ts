// A promote in weighted steps (--steps) on an HTTPRoute, through the test bed's real gateway: the share of
// requests each step sends to the new slot, a failed check at 10% that puts the weights back, a canary paused by
// hand (status, continue, abort), kill -9 during a step, and the layouts that have no weights.
import { describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { type RunResult, apply, bluegreen, bluegreenAsync, bluegreenChild, kubectlJson, kubectlOk, waitFor } from "./lib/cluster.js";
import { type Sample, describeSamples, failed, get } from "./lib/dataplane.js";
import {
  GATEWAY_PARENT_REF,
  PROMETHEUS_SERVICE,
  gatewayAvailable,
  gatewayUrl,
  getThroughGateway,
  prometheusAvailable,
  prometheusUrl,
  routeParentStatus,
  startGatewayLoad,
} from "./lib/gateway.js";

const ns = testNamespaces();
const gw = gatewayAvailable();
if (!gw.on) console.log(`canary tests skipped (they need the test bed's gateway): ${gw.reason}`);

const RECORD = "kubectl-bluegreen/last-switch";
const BEFORE = "kubectl-bluegreen/before-canary";
const show = (r: RunResult) => `exit ${r.code}\n${r.stdout}${r.stderr}`;
const routeOf = (n: string) => kubectlJson(["get", "httproute", "web", "-n", n]);
const weights = (n: string) => Object.fromEntries((routeOf(n).spec.rules[0].backendRefs as { name: string; weight?: number }[]).map((b) => [b.name, b.weight ?? 1]));
const annotations = (n: string): Record<string, string> => routeOf(n).metadata.annotations ?? {};

/** Tolerance of a step's observed share of requests, in percentage points, over at least SAMPLE requests. */
const TOLERANCE = 5;
const SAMPLE = 300;

/** web-blue (live) and web-green (idle, newer), two replicas each, their slot Services, and HTTPRoute web for host. */
async function app(n: string, refs = "[{ name: web-blue, port: 80, weight: 100 }, { name: web-green, port: 80, weight: 0 }]"): Promise<string> {
  await createApp(n, {
    app: "web",
    slotLabel: "color",
    slots: [
      { value: "blue", replicas: 2 },
      { value: "green", replicas: 2 },
    ],
    services: { "web-blue": "blue", "web-green": "green" },
  });
  const host = `${n}.example`;
  apply(
    n,
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs: [${JSON.stringify(GATEWAY_PARENT_REF)}]
  hostnames: ["${host}"]
  rules:
    - backendRefs: ${refs}
`,
  );
  await waitFor("httproute/web accepted by the gateway", () => {
    const s = routeParentStatus(n, "web");
    return s && s.observedGeneration >= s.generation && s.conditions.Accepted?.status === "True" && s.conditions.ResolvedRefs?.status === "True";
  });
  await waitFor(`requests to ${host} answered by blue`, () => getThroughGateway(host).labels?.color === "blue", 30_000, 100);
  return host;
}

/** The share of samples answered by green, in percent. */
const greenShare = (samples: Sample[]) => Math.round((samples.filter((s) => s.labels?.color === "green").length * 1000) / samples.length) / 10;

describe.skipIf(!gw.on)("promote --steps through the gateway", () => {
  it("under steady load, each step sends its share to the new slot (±5 points over 300+ requests), no request fails, and the last sends all", async () => {
    const n = await ns("cn-load");
    const host = await app(n);
    const load = startGatewayLoad(host, { rate: 100 });
    try {
      await load.waitFor(20);
      const shares: number[] = [];
      for (const [i, percent] of [10, 50].entries()) {
        // Step by step, stopping after each (--step-pause manual), so each share is measured while it holds.
        const r = await bluegreenAsync(i === 0 ? ["promote", "web", "--steps", "10,50,100", "--step-pause", "manual"] : ["promote", "web"], { namespace: n });
        const returned = Date.now();
        expect(r.code, show(r)).toBe(0);
        expect(r.stderr).toContain(`httproute/web weighted: ${percent}% to color=green\n`);
        expect(r.stdout).toContain(`app web: canary stopped at ${percent}% to color=green (step ${i + 1} of 3), as --step-pause manual asks; continue with kubectl bluegreen promote web, or go back with kubectl bluegreen abort web`);
        expect(weights(n)).toEqual({ "web-blue": 100 - percent, "web-green": percent });
        await load.waitFor(SAMPLE, returned);
        shares.push(greenShare(load.samples().filter((s) => s.t0 > returned)));
      }
      console.log(`canary shares through the gateway: 10% step → ${shares[0]}%, 50% step → ${shares[1]}% (${SAMPLE}+ requests each)`);
      const last = await bluegreenAsync(["promote", "web"], { namespace: n });
      const returned = Date.now();
      expect(last.code, show(last)).toBe(0);
      expect(last.stdout).toContain("app web promoted: color=green is live (was blue)");
      await load.waitFor(100, returned);
      const samples = await load.stop();
      expect(samples.filter(failed), describeSamples(samples.filter(failed), "color")).toEqual([]);
      const after = samples.filter((s) => s.t0 > returned);
      expect(after.filter((s) => s.labels?.color !== "green"), describeSamples(after, "color")).toEqual([]);
      expect(Math.abs((shares[0] ?? 0) - 10), `observed ${shares.join("%, ")}%`).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs((shares[1] ?? 0) - 50), `observed ${shares.join("%, ")}%`).toBeLessThanOrEqual(TOLERANCE);
      expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
      expect(JSON.parse(annotations(n)[RECORD] ?? "{}")).toMatchObject({ state: "verified", from: "blue", to: "green" });
      expect(JSON.parse(annotations(n)[RECORD] ?? "{}").canary).toBeUndefined();
      expect(annotations(n)[BEFORE]).toBeUndefined();
    } finally {
      await load.stop().catch(() => undefined);
    }
  });

  it("timed pauses run every step in one command, with the step and the time to the next on stderr", async () => {
    const n = await ns("cn-timed");
    await app(n);
    const r = bluegreen(["promote", "web", "--steps", "20,60,100", "--step-pause", "1s"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toMatch(/httproute\/web weighted: 20% to color=green\n(.|\n)*canary: 20% to color=green \(step 1 of 3\); 60% after 1s \(Ctrl-C switches back\)\n(.|\n)*httproute\/web weighted: 60% to color=green\n(.|\n)*canary: 60% to color=green \(step 2 of 3\); 100% after 1s(.|\n)*httproute\/web switched: color blue → green\n/);
    expect(r.stdout).toContain("app web promoted: color=green is live (was blue)");
    expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
  });

  it("a check that fails at 10% puts the weights back (exit 6); only requests during the 10% saw the new slot's errors", async () => {
    const n = await ns("cn-fail");
    const host = await app(n);
    // The new slot answers 503: a new version that fails (the pods are Ready, the app is not).
    kubectlOk(["patch", "deployment", "web-green", "-n", n, "-p", '{"spec":{"template":{"metadata":{"annotations":{"testbed.kubectl-bluegreen.io/http-status":"503"}}}}}']);
    kubectlOk(["rollout", "status", "deployment/web-green", "-n", n, "--timeout=60s"]);
    const before = annotations(n);
    const load = startGatewayLoad(host, { rate: 100 });
    try {
      await load.waitFor(20);
      const started = Date.now();
      const check = `kubectl get --raw /api/v1/namespaces/${n}/services/web-green:80/proxy/`;
      const r = await bluegreenAsync(["promote", "web", "--steps", "10,50,100", "--step-pause", "10s", "--post-check", check], { namespace: n });
      const returned = Date.now();
      expect(r.code, show(r)).toBe(6);
      expect(r.stderr).toContain("httproute/web weighted: 10% to color=green\n");
      expect(r.stderr).not.toContain("weighted: 50%");
      expect(r.stderr).toMatch(/error: the check after the switch failed: .*; httproute\/web was switched back to color=blue\./);
      expect(weights(n)).toEqual({ "web-blue": 100, "web-green": 0 });
      // Our annotations are as they were: no record of a canary, nothing kept from before it.
      expect([annotations(n)[RECORD], annotations(n)[BEFORE]]).toEqual([before[RECORD], undefined]);
      await load.waitFor(100, returned + 1000);
      const samples = await load.stop();
      const errors = samples.filter(failed);
      expect(errors.length).toBeGreaterThan(0);
      // Every failed request was the new slot's, sent while the promote ran; none after it went back.
      expect(errors.filter((s) => s.labels?.color !== "green" || s.t0 < started), describeSamples(errors, "color")).toEqual([]);
      const settled = samples.filter((s) => s.t0 > returned + 1000);
      expect(settled.filter((s) => failed(s) || s.labels?.color !== "blue"), describeSamples(settled, "color")).toEqual([]);
      // About a tenth of the requests during the canary, not half or all.
      const during = samples.filter((s) => s.t0 > started && s.t0 < returned);
      expect(errors.length / during.length).toBeLessThan(0.3);
    } finally {
      await load.stop().catch(() => undefined);
    }
  });

  it("paused by hand: status shows the canary (exit 1), abort goes back to all-old", async () => {
    const n = await ns("cn-abort");
    await app(n);
    const r = bluegreen(["promote", "web", "--steps", "25,100", "--step-pause", "manual"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    const s = bluegreen(["status", "web"], { namespace: n });
    expect(s.code, show(s)).toBe(1);
    expect(s.stdout).toMatch(/Verdict: {6}canary: 25% to color=green \(step 1 of 2, since \S+\) in the promote blue → green started \S+ by \S+; promote continues it, abort goes back, promote --to green settles at 100%\n/);
    const j = JSON.parse(bluegreen(["status", "web", "-o", "json"], { namespace: n }).stdout).items[0];
    expect(j).toMatchObject({ verdict: "canary", canary: { to: "green", percent: 25, step: 1, of: 2, steps: [25, 100], pause: "manual" } });
    // A plain promote never goes the other way, and --dry-run shows what continuing does.
    const dry = bluegreen(["promote", "web", "--dry-run"], { namespace: n });
    expect(dry.code, show(dry)).toBe(0);
    expect(dry.stdout).toMatch(/Why: continues the canary blue → green started \S+ by \S+, at 25% since \S+ \(step 1 of 2\)\n/);
    const a = bluegreen(["abort", "web"], { namespace: n });
    expect(a.code, show(a)).toBe(0);
    expect(weights(n)).toEqual({ "web-blue": 100, "web-green": 0 });
    expect(annotations(n)[BEFORE]).toBeUndefined();
    expect(getThroughGateway(`${n}.example`).labels?.color).toBe("blue");
    // The aborted version is not promoted again by a plain promote.
    const again = bluegreen(["promote", "web"], { namespace: n });
    expect(again.code, show(again)).toBe(4);
    expect(again.stderr).toContain("still holds the version that was aborted");
  });

  it("a check that fails in a later promote of the canary goes back to before its first step: all-old, our annotations as they were (exit 6)", async () => {
    const n = await ns("cn-later");
    await app(n);
    // A verified switch and its abort first, so there is a record and a history to put back.
    expect(bluegreen(["promote", "web", "--to", "green"], { namespace: n }).code).toBe(0);
    expect(bluegreen(["promote", "web", "--to", "blue"], { namespace: n }).code).toBe(0);
    kubectlOk(["patch", "deployment", "web-green", "-n", n, "-p", '{"spec":{"template":{"metadata":{"annotations":{"release":"3"}}}}}']);
    kubectlOk(["rollout", "status", "deployment/web-green", "-n", n, "--timeout=60s"]);
    const before = annotations(n);
    const r = bluegreen(["promote", "web", "--steps", "10,50,100", "--step-pause", "manual"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect(weights(n)).toEqual({ "web-blue": 90, "web-green": 10 });
    const f = bluegreen(["promote", "web", "--post-check", "exit 3"], { namespace: n });
    expect(f.code, show(f)).toBe(6);
    expect(f.stderr).toContain("httproute/web weighted: 50% to color=green\n");
    expect(f.stderr).toContain("httproute/web was switched back to color=blue.");
    expect(weights(n)).toEqual({ "web-blue": 100, "web-green": 0 });
    const after = annotations(n);
    expect([after[RECORD], after["kubectl-bluegreen/history"], after[BEFORE]]).toEqual([before[RECORD], before["kubectl-bluegreen/history"], undefined]);
    const s = bluegreen(["status", "web", "-o", "json"], { namespace: n });
    expect(JSON.parse(s.stdout).items[0].verdict).toBe("ready");
  });

  it("kill -9 during a step: status shows where it stopped, and promote continues from that step", async () => {
    const n = await ns("cn-kill");
    const host = await app(n);
    const p = bluegreenChild(["promote", "web", "--steps", "10,50,100", "--step-pause", "5m"], { namespace: n });
    await waitFor("the first step's weights", () => weights(n)["web-green"] === 10, 60_000, 100);
    p.kill("SIGKILL");
    const killed = await p.done;
    expect(killed.code).toBe(128);
    const s = bluegreen(["status", "web"], { namespace: n });
    expect(s.code, show(s)).toBe(1);
    expect(s.stdout).toMatch(/Verdict: {6}canary: 10% to color=green \(step 1 of 3, since \S+\)/);
    const r = bluegreen(["promote", "web", "--step-pause", "1s"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toContain("httproute/web weighted: 50% to color=green\n");
    expect(r.stderr).not.toContain("weighted: 10%");
    expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
    expect(getThroughGateway(host).labels?.color).toBe("green");
  });

  it("header preview: deploy --preview-header sends requests with the header to the idle slot, a canary keeps it, abort removes it; rules not ours stay as they were", async () => {
    const n = await ns("cn-preview");
    const host = await app(n);
    // A rule of someone else's besides the app's.
    apply(n, "apiVersion: v1\nkind: Service\nmetadata: { name: docs }\nspec: { selector: { app: docs }, ports: [{ port: 80, targetPort: 8080 }] }\n");
    const route = routeOf(n);
    route.spec.rules.unshift({ matches: [{ path: { type: "PathPrefix", value: "/other" } }], backendRefs: [{ name: "docs", port: 80 }], filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { add: [{ name: "x-team", value: "shop" }] } }] });
    kubectlOk(["replace", "-f", "-", "-n", n], { input: JSON.stringify(route) });
    const other = routeOf(n).spec.rules[0];
    const viaHeader = () => get(`${gatewayUrl()}/`, 3, { Host: host, "x-canary": "always" }).labels?.color;
    const d = bluegreen(["deploy", "web", "--image", "registry.example/web:v3", "--preview-header", "x-canary=always"], { namespace: n });
    expect(d.code, show(d)).toBe(0);
    expect(d.stderr).toContain("httproute/web: requests with x-canary: always go to color=green (web-green)\n");
    await waitFor("requests with the header answered by green", () => viaHeader() === "green", 30_000, 100);
    for (let i = 0; i < 5; i++) expect(getThroughGateway(host).labels?.color).toBe("blue");
    const s = bluegreen(["status", "web"], { namespace: n });
    expect(s.stdout).toContain(`Routes:       httproute/web (${host}) → blue: web-blue 100%, web-green 0%, and requests with x-canary: always → green\n`);
    // A canary step leaves the preview rule where it is.
    const c = bluegreen(["promote", "web", "--steps", "50,100", "--step-pause", "manual"], { namespace: n });
    expect(c.code, show(c)).toBe(0);
    for (let i = 0; i < 5; i++) expect(viaHeader()).toBe("green");
    const a = bluegreen(["abort", "web"], { namespace: n });
    expect(a.code, show(a)).toBe(0);
    expect(a.stderr).toContain("httproute/web: preview rule removed\n");
    const after = routeOf(n);
    expect(after.spec.rules.length).toBe(2);
    expect(after.spec.rules[0]).toEqual(other);
    expect(after.metadata.annotations?.["kubectl-bluegreen/preview-rule"]).toBeUndefined();
    await waitFor("requests with the header answered by blue", () => viaHeader() === "blue", 30_000, 100);
  });

  it("promote --preview-header: the header reaches the new slot before any weight moves; the finished promote removes the rule", async () => {
    const n = await ns("cn-preview2");
    const host = await app(n);
    const viaHeader = () => get(`${gatewayUrl()}/`, 3, { Host: host, "x-canary": "1" }).labels?.color;
    const c = bluegreen(["promote", "web", "--preview-header", "x-canary=1", "--steps", "10,100", "--step-pause", "manual"], { namespace: n });
    expect(c.code, show(c)).toBe(0);
    expect(c.stderr).toMatch(/httproute\/web: requests with x-canary: 1 go to color=green \(web-green\)\n(.|\n)*httproute\/web weighted: 10% to color=green\n/);
    await waitFor("requests with the header answered by green", () => viaHeader() === "green", 30_000, 100);
    const p = bluegreen(["promote", "web"], { namespace: n });
    expect(p.code, show(p)).toBe(0);
    expect(p.stderr).toContain("httproute/web: preview rule removed\n");
    expect(routeOf(n).spec.rules.length).toBe(1);
    expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
  });

  it("refuses what has no weights: a rule with one slot Service, and a Service selector (exit 4, nothing changed)", async () => {
    const n = await ns("cn-refuse");
    await app(n, "[{ name: web-blue, port: 80 }]");
    const before = routeOf(n);
    const r = bluegreen(["promote", "web", "--steps", "10,100"], { namespace: n });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toContain(
      "error: cannot promote app web in steps: httproute/web: its rule 1 has no backendRef to web-green; a weighted step needs one to each slot Service (add web-green with weight 0, which sends it nothing); nothing changed.",
    );
    expect(routeOf(n).metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    const m = await ns("cn-svc");
    await createApp(m, { app: "web", slots: [{ value: "v1" }, { value: "v2" }], services: { web: "v1" } });
    const svc = bluegreen(["promote", "web", "--steps", "10,100"], { namespace: m });
    expect(svc.code, show(svc)).toBe(4);
    expect(svc.stderr).toContain("error: cannot promote app web in steps: service/web has no weights (weighted steps work on HTTPRoutes and GRPCRoutes only); nothing changed.");
    expect(kubectlJson(["get", "service", "web", "-n", m]).spec.selector.version).toBe("v1");

    const bad = bluegreen(["promote", "web", "--steps", "50,10"], { namespace: m });
    expect(bad.code, show(bad)).toBe(2);
    expect(bad.stderr).toContain('error: invalid --steps "50,10": 10 does not come after 50: the steps must increase.');
  });
});

// The new slot's 5xx rate through the gateway, as Traefik counts it per backend Service
// (traefik_service_requests_total{service="NAMESPACE-SERVICE-http-PORT@kubernetesgateway", code}); `or vector(0)`
// when the new slot has answered no 5xx yet, `bool` so that a rate of 0 holds (1) and any other fails (0).
const NO_5XX = '(sum(rate(traefik_service_requests_total{service=~"{{namespace}}-{{new}}-http-.*",code=~"5.."}[5s])) or vector(0)) == bool 0';

const prom = prometheusAvailable();
if (gw.on && !prom.on) console.log(`analysis tests skipped (they need the test bed's Prometheus): ${prom.reason}`);

describe.skipIf(!prom.on)("promote --analysis with the test bed's Prometheus", () => {
  it("a new slot answering 503 fails the 5xx analysis at 10%: the weights go back (exit 6), the query and its value named; only the 10% saw errors", async () => {
    const n = await ns("cn-an-fail");
    const host = await app(n);
    kubectlOk(["patch", "deployment", "web-green", "-n", n, "-p", '{"spec":{"template":{"metadata":{"annotations":{"testbed.kubectl-bluegreen.io/http-status":"503"}}}}}']);
    kubectlOk(["rollout", "status", "deployment/web-green", "-n", n, "--timeout=60s"]);
    const before = annotations(n);
    const load = startGatewayLoad(host, { rate: 50 });
    try {
      await load.waitFor(20);
      const started = Date.now();
      const r = await bluegreenAsync(
        ["promote", "web", "--steps", "10,50,100", "--step-pause", "10s", "--prometheus-service", PROMETHEUS_SERVICE, "--analysis", NO_5XX, "--analysis-interval", "2s", "--analysis-passes", "3"],
        { namespace: n },
      );
      const returned = Date.now();
      expect(r.code, show(r)).toBe(6);
      expect(r.stderr).toContain("analysis: 1 query answers from service/prometheus:9090 in namespace monitoring (through the API server's proxy)\n");
      expect(r.stderr).toContain("httproute/web weighted: 10% to color=green\n");
      expect(r.stderr).not.toContain("weighted: 50%");
      const sent = NO_5XX.replaceAll("{{namespace}}", n).replaceAll("{{new}}", "web-green");
      expect(r.stderr).toContain(
        `error: the analysis after the switch failed: query ${JSON.stringify(NO_5XX)} (sent as ${JSON.stringify(sent)}): it returned 0; it must return a non-empty result with every value non-zero; httproute/web was switched back to color=blue.`,
      );
      expect(weights(n)).toEqual({ "web-blue": 100, "web-green": 0 });
      expect([annotations(n)[RECORD], annotations(n)[BEFORE]]).toEqual([before[RECORD], undefined]);
      await load.waitFor(50, returned + 1000);
      const samples = await load.stop();
      const errors = samples.filter(failed);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.filter((s) => s.labels?.color !== "green" || s.t0 < started), describeSamples(errors, "color")).toEqual([]);
      const settled = samples.filter((s) => s.t0 > returned + 1000);
      expect(settled.filter((s) => failed(s) || s.labels?.color !== "blue"), describeSamples(settled, "color")).toEqual([]);
      const during = samples.filter((s) => s.t0 > started && s.t0 < returned);
      expect(errors.length / during.length).toBeLessThan(0.3);
    } finally {
      await load.stop().catch(() => undefined);
    }
  });

  it("a healthy new slot passes the analysis at every step and after the switch, asked at the URL scripts/testbed.sh env prints", async () => {
    const n = await ns("cn-an-pass");
    const host = await app(n);
    const load = startGatewayLoad(host, { rate: 50 });
    try {
      await load.waitFor(20);
      // Requests to the new slot answered 2xx in the last 5 s: true only once the step's weight reaches it.
      const served = 'sum(rate(traefik_service_requests_total{service=~"{{namespace}}-{{new}}-http-.*",code=~"2.."}[5s])) > bool 0';
      const r = await bluegreenAsync(
        ["promote", "web", "--steps", "50,100", "--step-pause", "1s", "--prometheus", prometheusUrl(), "--analysis", NO_5XX, "--analysis", served, "--analysis-interval", "3s", "--analysis-passes", "2"],
        { namespace: n },
      );
      expect(r.code, show(r)).toBe(0);
      expect(r.stderr).toMatch(/httproute\/web weighted: 50% to color=green\n(.|\n)*analysis passed 2 of 2 rounds: 1; 1\n(.|\n)*httproute\/web switched: color blue → green\n(.|\n)*analysis passed 2 of 2 rounds: 1; 1\n/);
      expect(r.stdout).toContain("app web promoted: color=green is live (was blue)");
      expect(weights(n)).toEqual({ "web-blue": 0, "web-green": 100 });
      const samples = await load.stop();
      expect(samples.filter(failed), describeSamples(samples.filter(failed), "color")).toEqual([]);
    } finally {
      await load.stop().catch(() => undefined);
    }
  });

  it("a query Prometheus cannot answer refuses the promote before any write (exit 4, nothing changed)", async () => {
    const n = await ns("cn-an-bad");
    await app(n);
    const before = routeOf(n).metadata.resourceVersion;
    const r = bluegreen(["promote", "web", "--steps", "10,100", "--prometheus-service", PROMETHEUS_SERVICE, "--analysis", "sum(rate(traefik_service_requests_total[1m]"], { namespace: n });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toMatch(/^error: the analysis before the switch failed: query "sum\(rate\(traefik_service_requests_total\[1m\]": Prometheus answered bad_data: .+; nothing changed\.$/m);
    expect(routeOf(n).metadata.resourceVersion).toBe(before);
    // A placeholder that is not ours is a usage error.
    const u = bluegreen(["promote", "web", "--prometheus-service", PROMETHEUS_SERVICE, "--analysis", "up{slot=\"{{slot}}\"}"], { namespace: n });
    expect(u.code, show(u)).toBe(2);
    expect(routeOf(n).metadata.resourceVersion).toBe(before);
  });
});
