// Discovery and status against the real control plane, through `kubectl bluegreen`.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { ADMIN_CONTEXT, KUBECONFIG, PLUGIN_DIR, bluegreen, kubectlAsync, kubectlOk, waitFor } from "./lib/cluster.js";

const ns = testNamespaces();

/** Lines of -v request tracing: one per API request. */
const requests = (stderr: string) => stderr.split("\n").filter((l) => /^(GET|POST|PUT|PATCH|DELETE) https?:/.test(l));

describe("discovery", () => {
  it("finds the tutorial layout with no flags", async () => {
    const n = await ns("st-tutorial");
    await createApp(n);
    const r = bluegreen(["status", "myapp"], { namespace: n });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Slot label:   version");
    expect(r.stdout).toContain("Verdict:      ready to promote: idle slot v2 is rolled out and ready; promote switches version v1 → v2");
    expect(r.stdout).toMatch(/^v1 +live +myapp-v1 +registry\.example\/myapp:v1 +3\/3 +3 +3 /m);
    expect(r.stdout).toMatch(/^v2 +idle +myapp-v2 +registry\.example\/myapp:v2 +3\/3 +3 +3 /m);
    expect(r.stdout).toContain("Services:     myapp (live → v1)");
  });

  it("finds a color layout, and --slot-label / --app-label work", async () => {
    const n = await ns("st-color");
    await createApp(n, {
      app: "shop",
      appLabel: "app.kubernetes.io/name",
      slotLabel: "color",
      slots: [{ value: "blue" }, { value: "green" }],
      services: { shop: "green" },
    });
    const r = bluegreen(["status", "shop", "--app-label", "app.kubernetes.io/name", "-o", "json"], { namespace: n });
    expect(r.code).toBe(0);
    const item = JSON.parse(r.stdout).items[0];
    expect(item).toMatchObject({ app: "shop", slotLabel: "color", liveSlot: "green", verdict: "ready" });
    const forced = bluegreen(["status", "shop", "--app-label", "app.kubernetes.io/name", "--slot-label", "color", "-o", "json"], { namespace: n });
    expect(JSON.parse(forced.stdout).items[0].slotLabel).toBe("color");
    const wrong = bluegreen(["status", "shop", "--app-label", "app.kubernetes.io/name", "--slot-label", "tier"], { namespace: n });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain("misconfigured: the slot label tier is missing from the pod template of shop-blue");
  });

  it("calls three Deployments for one app misconfigured (status 1, promote 4)", async () => {
    const n = await ns("st-three");
    await createApp(n);
    await createApp(n, { slots: [{ value: "v2" }, { value: "v3" }], services: {} });
    const s = bluegreen(["status", "myapp"], { namespace: n });
    expect(s.code).toBe(1);
    expect(s.stdout).toContain("misconfigured: 3 Deployments (myapp-v1, myapp-v2, myapp-v3) belong to app myapp; a blue/green pair needs exactly two");
    const p = bluegreen(["promote", "myapp"], { namespace: n });
    expect(p.code).toBe(4);
    expect(p.stderr).toMatch(/^error: app myapp in namespace \S+ is misconfigured: 3 Deployments/);
  });

  it("refuses a Service that selects neither slot (exit 4)", async () => {
    const n = await ns("st-neither");
    await createApp(n, { services: { myapp: "v9" } });
    const p = bluegreen(["promote", "myapp"], { namespace: n });
    expect(p.code).toBe(4);
    expect(p.stderr).toContain("misconfigured: Service myapp selects version=v9, which neither myapp-v1 (v1) nor myapp-v2 (v2) has.");
    expect(bluegreen(["status", "myapp"], { namespace: n }).code).toBe(1);
  });
});

describe("selection with -l", () => {
  it("selects the pair with a label selector, for status and promote -o json", async () => {
    const n = await ns("st-selector");
    await createApp(n, { app: "api", slots: [{ value: "blue" }, { value: "green" }], slotLabel: "track", services: { api: "blue" } });
    const s = bluegreen(["status", "-l", "app=api", "-o", "json"], { namespace: n });
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).items[0]).toMatchObject({ app: "app=api", slotLabel: "track", liveSlot: "blue", verdict: "ready" });
    const p = bluegreen(["promote", "-l", "app=api", "-o", "json"], { namespace: n });
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({
      kind: "BlueGreenSwitch",
      action: "promote",
      from: "blue",
      to: "green",
      services: [{ name: "api", role: "live", from: "blue", to: "green" }],
    });
    expect(bluegreen(["status", "api", "-l", "app=api"], { namespace: n }).code).toBe(2);
  });
});

describe("status", () => {
  it("lists every app of the namespace, -A across namespaces, in table, json and yaml", async () => {
    const a = await ns("st-all-a");
    const b = await ns("st-all-b");
    await createApp(a);
    await createApp(a, { app: "cart", slots: [{ value: "blue" }, { value: "green" }], slotLabel: "color", services: { cart: "blue" } });
    await createApp(b, { app: "web", slots: [{ value: "v1" }, { value: "v2", unschedulable: true }], services: { web: "v1" } });
    const t = bluegreen(["status"], { namespace: a });
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^APP +SLOT-LABEL +LIVE +IDLE +SERVICES +VERDICT\n/);
    expect(t.stdout).toMatch(/^cart +color +blue +green +cart +ready to promote$/m);
    expect(t.stdout).toMatch(/^myapp +version +v1 +v2 +myapp +ready to promote$/m);
    const noHeaders = bluegreen(["status", "--no-headers"], { namespace: a });
    expect(noHeaders.stdout.split("\n")[0]).toMatch(/^cart /);

    // Other tests' namespaces may hold misconfigured apps, so -A's exit code is not asserted here.
    const all = bluegreen(["status", "-A", "-o", "json"]);
    expect(all.stderr).toBe("");
    const items = JSON.parse(all.stdout).items.filter((i: { namespace: string }) => i.namespace === a || i.namespace === b);
    expect(items.map((i: { namespace: string; app: string; verdict: string }) => `${i.namespace === a ? "a" : "b"}/${i.app}:${i.verdict}`)).toEqual(
      ["a/cart:ready", "a/myapp:ready", "b/web:not-ready"].sort((x, y) => (x < y ? -1 : 1)),
    );
    const yaml = bluegreen(["status", "web", "-o", "yaml"], { namespace: b });
    expect(yaml.stdout).toMatch(/^kind: BlueGreenStatusList\n/);
    expect(yaml.stdout).toContain("verdict: not-ready");
    expect(yaml.stdout).toMatch(/reason: 'idle slot v2: Waiting for deployment "web-v2" rollout to finish: 0 of 3 updated replicas are available...'/);
  });

  it("says degraded (exit 1) when the live slot has no available replicas", async () => {
    const n = await ns("st-degraded");
    await createApp(n, { slots: [{ value: "v1", unschedulable: true }, { value: "v2" }] });
    const r = bluegreen(["status", "myapp"], { namespace: n });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Verdict:      degraded: live slot v1: deployment "myapp-v1" has no available replicas');
  });

  it("makes at most 4 API requests, and the same few for every app or namespace (the HPA list among them)", async () => {
    const n = await ns("st-requests");
    await createApp(n);
    for (const app of ["a1", "a2", "a3"]) await createApp(n, { app, wait: false });
    const one = bluegreen(["status", "myapp", "-v"], { namespace: n });
    expect(one.code).toBe(0);
    expect(requests(one.stderr).length).toBeLessThanOrEqual(4);
    const every = bluegreen(["status", "-v"], { namespace: n });
    expect(every.stdout).toMatch(/^a3 /m);
    expect(requests(every.stderr)).toHaveLength(4);
    const allNs = bluegreen(["status", "-A", "-v"]);
    // The three route lists come only when some app (another test's, in another namespace) has slot Services.
    const routeLists = requests(allNs.stderr).filter((r) => /\/(httproutes|grpcroutes|ingresses)\?limit=500$/.test(r));
    expect([0, 3]).toContain(routeLists.length);
    const got = requests(allNs.stderr).filter((r) => !routeLists.includes(r));
    expect(got).toHaveLength(4);
    expect(got).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^GET https:\/\/\S+\/apis\/apps\/v1\/deployments\?labelSelector=app&limit=500$/),
        expect.stringMatching(/^GET https:\/\/\S+\/apis\/apps\/v1\/replicasets\?labelSelector=app&limit=500$/),
        expect.stringMatching(/^GET https:\/\/\S+\/api\/v1\/services\?limit=500$/),
        expect.stringMatching(/^GET https:\/\/\S+\/apis\/autoscaling\/v2\/horizontalpodautoscalers\?limit=500$/),
      ]),
    );
    // No credentials in the trace.
    expect(allNs.stderr).not.toMatch(/authorization|bearer|token/i);
  });

  it("lists in pages of 500: 1,200 Services in the namespace take three requests, and every app is found", async () => {
    const n = await ns("st-pages");
    await createApp(n);
    // Headless (no ClusterIP to allocate), unvalidated, four kubectl at once: 1,200 are created in seconds.
    const dir = mkdtempSync(path.join(tmpdir(), "bluegreen-pages-"));
    const headless = (i: number) => ({ apiVersion: "v1", kind: "Service", metadata: { name: `other-${i}` }, spec: { clusterIP: "None", selector: { app: `other-${i}` }, ports: [{ port: 80 }] } });
    const created = await Promise.all(
      [0, 1, 2, 3].map((part) => {
        const file = path.join(dir, `services-${part}.json`);
        writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: Array.from({ length: 300 }, (_, i) => headless(part * 300 + i)) }));
        return kubectlAsync(["create", "-n", n, "-f", file, "-o", "name", "--validate=false"]);
      }),
    );
    for (const c of created) expect(c.code, c.stderr).toBe(0);
    const r = bluegreen(["status", "myapp", "-v", "-o", "json"], { namespace: n });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).items[0]).toMatchObject({ app: "myapp", liveSlot: "v1" });
    const services = requests(r.stderr).filter((l) => /\/api\/v1\/namespaces\/[^/]+\/services\?/.test(l));
    expect(services).toHaveLength(3);
    expect(services[0]).toMatch(/\?limit=500$/);
    expect(services[1]).toMatch(/\?limit=500&continue=\S+$/);
    expect(services[2]).toMatch(/\?limit=500&continue=\S+$/);
  });

  it("--watch lists once, then follows watches (no polling), and prints the change when the idle slot becomes ready", async () => {
    const n = await ns("st-watch");
    await createApp(n, { slots: [{ value: "v1" }, { value: "v2", unschedulable: true }] });
    // kubectl execs the plugin in place, so the child's pid is the plugin's: SIGINT ends the watch.
    const child = spawn("kubectl", ["bluegreen", "status", "myapp", "--watch", "-v", "-n", n, "--context", ADMIN_CONTEXT], {
      env: { ...process.env, PATH: `${PLUGIN_DIR}:${process.env.PATH}`, KUBECONFIG, NO_COLOR: "1" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await waitFor("the first screen", () => out.includes("Verdict:      not ready"), 30_000);
    await waitFor("three watches", () => requests(err).filter((l) => l.includes("watch=1")).length === 3, 10_000);
    kubectlOk(["patch", "deployment", "myapp-v2", "-n", n, "--type=json", "-p", '[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]']);
    await waitFor("the changed screen", () => out.includes("Verdict:      ready to promote"), 60_000);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    // One list of each kind, then only watches (from the lists' resourceVersions); each screen once.
    const sent = requests(err);
    expect(sent.filter((l) => !l.includes("watch=1"))).toHaveLength(3);
    expect(sent.filter((l) => l.includes("watch=1")).every((l) => /[?&]resourceVersion=\d+/.test(l))).toBe(true);
  });
});
