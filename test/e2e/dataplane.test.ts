// The data plane: pods that answer HTTP behind real kube-proxy rules, and what users feel while the plugin
// switches: requests sent to the Service during promote and abort, whether any failed, and where they went.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createApp, deploymentYaml, serviceYaml, waitForEndpoints } from "./lib/apps.js";
import { TESTBED_DIR, apply, bluegreen, deleteNamespace, kubectlJson, kubectlOk, newNamespace, waitFor, waitForRollout } from "./lib/cluster.js";
import { type Sample, Load, clusterIP, dataplane, describeSamples, failed, get } from "./lib/dataplane.js";

const plane = dataplane();
if (!plane.on) console.log(`data-plane tests skipped: ${plane.reason}`);

const SLOT = "slot";
const slotOf = (s: { labels?: Record<string, string> }) => s.labels?.[SLOT];

/** Deploys app's blue (live, behind Service APP) and green (idle) slots, two pods each; returns the ClusterIP. */
async function blueGreen(ns: string, app: string): Promise<string> {
  await createApp(ns, {
    app,
    slotLabel: SLOT,
    slots: [
      { value: "blue", replicas: 2 },
      { value: "green", replicas: 2 },
    ],
    services: { [app]: "blue" },
  });
  await waitForEndpoints(ns, app, "blue", 2, SLOT);
  const ip = clusterIP(ns, app);
  // Endpoints are not yet a route: kube-proxy programs the new ClusterIP on its own time (later still right
  // after the test above stopped and resumed it). The load must start on a Service that answers.
  await answersOnceAt(`http://${ip}/`, "blue", 0);
  return ip;
}

/** Answers from a URL until one comes from a pod of slot; then n more, returned. */
async function answersOnceAt(url: string, slot: string, n: number) {
  await waitFor(`${url} to answer from slot ${slot}`, () => slotOf(get(url, 1)) === slot, 30_000, 100);
  return Array.from({ length: n }, () => get(url));
}

/** The TCP addresses a process listens on ("127.0.0.1:2379"), read from its network namespace's tables. */
function listening(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const out: string[] = [];
  for (const table of ["tcp", "tcp6"]) {
    for (const row of readFileSync(`/proc/${pid}/net/${table}`, "utf8").trim().split("\n").slice(1)) {
      const f = row.trim().split(/\s+/);
      if (f[3] !== "0A" || !inodes.has(f[9])) continue; // 0A: LISTEN
      const [hex, port] = f[1].split(":");
      const ip = hex.length === 8 ? (hex.match(/../g) ?? []).reverse().map((b) => Number.parseInt(b, 16)).join(".") : `[${hex}]`;
      out.push(`${ip}:${Number.parseInt(port, 16)}`);
    }
  }
  return out;
}

describe.skipIf(!plane.on)("the test bed's data plane", () => {
  let ns = "";
  let ip = "";
  beforeAll(async () => {
    ns = await newNamespace("dataplane");
    ip = await blueGreen(ns, "web");
  });
  afterAll(() => deleteNamespace(ns));

  test("binds nothing on the host but 127.0.0.1; everything else runs in its own network namespace", () => {
    const run = path.join(TESTBED_DIR, "run");
    const hostNet = readlinkSync("/proc/self/ns/net");
    const seen: string[] = [];
    for (const f of readdirSync(run).filter((x) => x.endsWith(".pid"))) {
      const name = f.replace(/\.pid$/, "");
      const pid = Number(readFileSync(path.join(run, f), "utf8").trim());
      const inHost = readlinkSync(`/proc/${pid}/ns/net`) === hostNet;
      for (const addr of listening(pid)) {
        seen.push(`${name} ${inHost ? "host" : "namespace"} ${addr}`);
        // In the namespace, the pod server answers on every address, and the gateway on the namespace's node address.
        const allowed = inHost ? /^127\.0\.0\.1:\d+$/ : name === "podserver" ? /./ : name === "traefik" ? /^(127\.0\.0\.1:\d+|10\.1\.0\.1:8000)$/ : /^127\.0\.0\.1:\d+$/;
        expect(addr, `${name} listens on ${addr}`).toMatch(allowed);
      }
      // Only the forwarders to the API server and to Prometheus are on the host side (on 127.0.0.1, checked above).
      expect(`${name} ${inHost ? "host" : "namespace"}`).toBe(`${name} ${name === "api-forward" || name === "prometheus-forward" ? "host" : "namespace"}`);
    }
    expect(seen).toContain("podserver namespace 0.0.0.0:8080");
  });

  test("a Service's ClusterIP answers from its pods, through kube-proxy's rules", async () => {
    const answers = await answersOnceAt(`http://${ip}/`, "blue", 30);
    const pods: { metadata: { name: string } }[] = kubectlJson(["get", "pods", "-n", ns, "-l", `${SLOT}=blue`]).items;
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    expect(new Set(answers.map((a) => a.namespace))).toEqual(new Set([ns]));
    expect(new Set(answers.map((a) => a.image))).toEqual(new Set(["registry.example/web:blue"]));
    // Both pods answer (kube-proxy picks at random: one pod alone 30 times has odds of 2^-29).
    expect(new Set(answers.map((a) => a.pod))).toEqual(new Set(pods.map((p) => p.metadata.name)));
  });

  test("a pod annotated http-status 503 answers 503; delay-ms delays it", async () => {
    const broken = deploymentYaml("broken", "app", SLOT, { value: "v1", replicas: 1 }).replace(
      "    metadata:\n      labels:",
      `    metadata:\n      annotations: { "testbed.kubectl-bluegreen.io/http-status": "503", "testbed.kubectl-bluegreen.io/delay-ms": "300" }\n      labels:`,
    );
    apply(ns, `${broken}---\n${serviceYaml("broken", { app: "broken" })}`);
    await waitForRollout(ns, "broken-v1");
    const pod = kubectlJson(["get", "pods", "-n", ns, "-l", "app=broken"]).items[0];
    const direct = get(`http://${pod.status.podIP}:8080/`);
    expect(direct).toMatchObject({ status: 503, pod: pod.metadata.name, namespace: ns });
    expect(direct.ms).toBeGreaterThanOrEqual(300);
    const svcIp = clusterIP(ns, "broken");
    await waitFor("the broken Service to answer", () => get(`http://${svcIp}/`, 1).status !== 0, 30_000, 100);
    expect(get(`http://${svcIp}/`)).toMatchObject({ status: 503, pod: pod.metadata.name });
  });

  test("after a selector change, new connections reach the new pods", async () => {
    kubectlOk(["patch", "service", "web", "-n", ns, "-p", JSON.stringify({ spec: { selector: { [SLOT]: "green" } } })]);
    const green = await answersOnceAt(`http://${ip}/`, "green", 10);
    expect(green.map((a) => `${a.status} ${slotOf(a)}`)).toEqual(Array(10).fill("200 green"));
    kubectlOk(["patch", "service", "web", "-n", ns, "-p", JSON.stringify({ spec: { selector: { [SLOT]: "blue" } } })]);
    const blue = await answersOnceAt(`http://${ip}/`, "blue", 10);
    expect(blue.map((a) => `${a.status} ${slotOf(a)}`)).toEqual(Array(10).fill("200 blue"));
  });

  test("with kube-proxy stopped, a new Service's ClusterIP does not answer; once it runs, it does", async () => {
    const pid = Number(readFileSync(path.join(TESTBED_DIR, "run", "kube-proxy.pid"), "utf8").trim());
    process.kill(pid, "SIGSTOP");
    let late = "";
    try {
      apply(ns, serviceYaml("late", { app: "web", [SLOT]: "blue" }));
      // The control plane has done its part: the Service has its ClusterIP and ready endpoints.
      await waitForEndpoints(ns, "late", "blue", 2, SLOT);
      late = clusterIP(ns, "late");
      expect([get(`http://${late}/`, 1), get(`http://${late}/`, 1)].map((a) => a.status)).toEqual([0, 0]);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const answers = await answersOnceAt(`http://${late}/`, "blue", 5);
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(200));
  });
});

/** Requests that started after `from` and ended before `to`. */
const between = (samples: Sample[], from: number, to = Number.POSITIVE_INFINITY) => samples.filter((s) => s.t0 > from && s.t1 < to);

describe.skipIf(!plane.on)("zero downtime under load", () => {
  let ns = "";
  beforeAll(async () => {
    ns = await newNamespace("zero-downtime");
  });
  afterAll(() => deleteNamespace(ns));

  // What promote and abort say on stderr (not a terminal): the switch as it lands, then each wait.
  const switching = (app: string, from: string, to: string) =>
    `service/${app} switched: ${SLOT} ${from} → ${to}\n` +
    `verifying: waiting up to 1m for every endpoint of service/${app} to be on ${to} (Ctrl-C switches back)\n` +
    "waiting 2s for kube-proxy and load balancers (Ctrl-C switches back)\n";

  // Runs promote then abort with the load on; returns the samples and when each command started and returned.
  // After each command returns, `settle` more requests are awaited.
  async function switchUnderLoad(app: string, load: Load, settle = 25) {
    await load.waitFor(25);
    const promoteStart = Date.now();
    const promoted = bluegreen(["promote", app], { namespace: ns });
    const promoteEnd = Date.now();
    expect(promoted.stderr).toBe(switching(app, "blue", "green"));
    expect(promoted.code).toBe(0);
    await load.waitFor(settle, promoteEnd);
    const abortStart = Date.now();
    const aborted = bluegreen(["abort", app], { namespace: ns });
    const abortEnd = Date.now();
    expect(aborted.stderr).toBe(switching(app, "green", "blue"));
    expect(aborted.code).toBe(0);
    await load.waitFor(settle, abortEnd);
    return { samples: await load.stop(), promoteStart, promoteEnd, abortStart, abortEnd };
  }

  test("a new connection per request: none fails; after promote returns all reach the new slot, after abort the old", async () => {
    const load = Load.start(`http://${await blueGreen(ns, "shop")}/`, { rate: 50 });
    const r = await switchUnderLoad("shop", load);
    const bad = r.samples.filter(failed);
    expect(bad, describeSamples(bad, SLOT)).toEqual([]);
    const afterPromote = between(r.samples, r.promoteEnd, r.abortStart);
    const afterAbort = between(r.samples, r.abortEnd);
    expect(afterPromote.length).toBeGreaterThanOrEqual(25);
    expect(afterAbort.length).toBeGreaterThanOrEqual(25);
    expect(afterPromote.filter((s) => slotOf(s) !== "green"), "served by another slot after promote returned").toEqual([]);
    expect(afterAbort.filter((s) => slotOf(s) !== "blue"), "served by another slot after abort returned").toEqual([]);
    // The traffic did move while each command ran (not only after it).
    expect(between(r.samples, r.promoteStart, r.promoteEnd).some((s) => slotOf(s) === "green")).toBe(true);
  });

  test("kept-alive connections: none fails; connections opened after promote returns reach the new slot, after abort the old", async () => {
    // 4 connections of 10 requests each at 50 a second: each is replaced every 0.8s.
    const load = Load.start(`http://${await blueGreen(ns, "cart")}/`, { rate: 50, keepalive: 4, connRequests: 10 });
    const r = await switchUnderLoad("cart", load, 100);
    const bad = r.samples.filter(failed);
    expect(bad, describeSamples(bad, SLOT)).toEqual([]);
    // A connection stays with the pod it reached: only connections opened after the command returned must move.
    const newConns = (from: number, to?: number) => between(r.samples, from, to).filter((s) => s.connT0 > from);
    const afterPromote = newConns(r.promoteEnd, r.abortStart);
    const afterAbort = newConns(r.abortEnd);
    expect(afterPromote.length).toBeGreaterThanOrEqual(10);
    expect(afterAbort.length).toBeGreaterThanOrEqual(10);
    expect(afterPromote.filter((s) => slotOf(s) !== "green"), "a new connection reached another slot after promote returned").toEqual([]);
    expect(afterAbort.filter((s) => slotOf(s) !== "blue"), "a new connection reached another slot after abort returned").toEqual([]);
    // A connection stays with the slot it reached first: the switch neither moves nor cuts it.
    const slotsByConn = new Map<number, Set<string | undefined>>();
    for (const s of r.samples) slotsByConn.set(s.conn, (slotsByConn.get(s.conn) ?? new Set()).add(slotOf(s)));
    expect([...slotsByConn].filter(([, slots]) => slots.size > 1).map(([conn]) => conn)).toEqual([]);
  });

  test("abort --scale-down under load: no request fails while the aborted slot goes to 0", async () => {
    const load = Load.start(`http://${await blueGreen(ns, "pay")}/`, { rate: 50 });
    await load.waitFor(25);
    expect(bluegreen(["promote", "pay"], { namespace: ns }).code).toBe(0);
    const aborted = bluegreen(["abort", "pay", "--scale-down", "--scale-down-delay", "1s"], { namespace: ns });
    expect(aborted.code, aborted.stderr).toBe(0);
    // The green pods are gone, not only scaled in the spec.
    await waitFor("the green pods to be gone", () => kubectlJson(["get", "pods", "-n", ns, "-l", `app=pay,${SLOT}=green`]).items.length === 0);
    const end = Date.now();
    await load.waitFor(25, end);
    const samples = await load.stop();
    const bad = samples.filter(failed);
    expect(bad, describeSamples(bad, SLOT)).toEqual([]);
    expect(kubectlJson(["get", "deployment", "pay-green", "-n", ns]).spec.replicas).toBe(0);
  });
});
