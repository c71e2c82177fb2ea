// What users feel during a switch, measured on the test bed's data plane (run by scripts/bench-switch.sh).
//
// A steady stream of requests (a new connection each) goes to the app while its router is switched, SWITCHES
// times each way, by `kubectl bluegreen promote` / `abort` and by a hand-run `kubectl patch`: a Service's
// selector (requests to its ClusterIP), and, when the test bed's gateway runs, an HTTPRoute's weights and an
// Ingress's backend (requests through the gateway with the route's Host). For every switch: requests sent and
// failed while it ran, how long the command took, and the switch latency: from the router write (when a watch
// on it sees it) to the start of the last request answered by the old slot. Prints a Markdown section.
import { writeFileSync } from "node:fs";
import { bluegreenAsync, deleteNamespace, kubectlAsync, newNamespace, waitFor } from "../e2e/lib/cluster.js";
import { Load, type Sample, clusterIP, failed } from "../e2e/lib/dataplane.js";
import { GATEWAY_PARENT_REF, INGRESS_CLASS, gatewayAvailable, routeParentStatus, startGatewayLoad } from "../e2e/lib/gateway.js";
import { apply } from "../e2e/lib/cluster.js";
import { Watch, createBenchApp, pct, slotServicesYaml } from "./bench-lib.js";

const SWITCHES = Number(process.env.BLUEGREEN_BENCH_SWITCHES ?? 10);
const RATE = Number(process.env.BLUEGREEN_BENCH_RATE ?? 100);
const OUT = process.argv[2];

/** The parts of a watched router the layouts read. */
interface Watched {
  spec?: {
    selector?: Record<string, string>;
    rules?: { backendRefs?: { name?: string; weight?: number }[]; http?: { paths?: { backend?: { service?: { name?: string } } }[] } }[];
  };
}

/** One way of routing the app, and how to switch it by hand. */
interface Layout {
  /** "Service selector", "HTTPRoute", "Ingress". */
  name: string;
  /** The resource path to watch the router at. */
  watchPath: (ns: string) => string;
  /** The slot the router sends traffic to, from its object as watched. */
  slotOf: (o: Watched) => string;
  /** The hand-run switch: kubectl arguments. */
  byHand: (ns: string, to: string) => string[];
  /** What the hand-run command is, for the table. */
  handName: string;
}

const SERVICE: Layout = {
  name: "Service selector",
  watchPath: (ns) => `/api/v1/namespaces/${ns}/services?watch=1&fieldSelector=metadata.name%3Dbench`,
  slotOf: (o) => o?.spec?.selector?.slot ?? "",
  byHand: (ns, to) => ["patch", "service", "bench", "-n", ns, "-p", JSON.stringify({ spec: { selector: { slot: to } } })],
  handName: "kubectl patch svc",
};

const HTTPROUTE: Layout = {
  name: "HTTPRoute",
  watchPath: (ns) => `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes?watch=1&fieldSelector=metadata.name%3Dbench`,
  slotOf: (o) => (o?.spec?.rules?.[0]?.backendRefs ?? []).find((b: { weight?: number }) => (b.weight ?? 1) > 0)?.name?.replace(/^bench-/, "") ?? "",
  byHand: (ns, to) => [
    "patch",
    "httproute",
    "bench",
    "-n",
    ns,
    "--type",
    "json",
    "-p",
    JSON.stringify([
      { op: "replace", path: "/spec/rules/0/backendRefs/0/weight", value: to === "blue" ? 100 : 0 },
      { op: "replace", path: "/spec/rules/0/backendRefs/1/weight", value: to === "green" ? 100 : 0 },
    ]),
  ],
  handName: "kubectl patch httproute",
};

const INGRESS: Layout = {
  name: "Ingress",
  watchPath: (ns) => `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses?watch=1&fieldSelector=metadata.name%3Dbench`,
  slotOf: (o) => o?.spec?.rules?.[0]?.http?.paths?.[0]?.backend?.service?.name?.replace(/^bench-/, "") ?? "",
  byHand: (ns, to) => ["patch", "ingress", "bench", "-n", ns, "--type", "json", "-p", JSON.stringify([{ op: "replace", path: "/spec/rules/0/http/paths/0/backend/service/name", value: `bench-${to}` }])],
  handName: "kubectl patch ingress",
};

interface Switch {
  layout: string;
  how: string;
  to: string;
  commandMs: number;
  latencyMs: number;
  sent: number;
  failed: number;
}

// nextWriteAt: the next switch's write; requests after it belong to that switch.
function measure(layout: string, how: string, to: string, from: string, samples: Sample[], writeAt: number, nextWriteAt: number, start: number, end: number): Switch {
  const during = samples.filter((s) => s.t0 >= start && s.t0 <= end);
  const oldAfter = samples.filter((s) => s.t0 > writeAt && s.t0 < nextWriteAt && s.labels?.slot === from);
  const last = oldAfter.reduce((m, s) => Math.max(m, s.t0), writeAt);
  return { layout, how, to, commandMs: end - start, latencyMs: last - writeAt, sent: during.length, failed: during.filter(failed).length };
}


/** Slot Services bench-blue and bench-green, and the route (HTTPRoute or Ingress) for host HOST between them. */
function routeYaml(layout: Layout, host: string): string {
  const route =
    layout === HTTPROUTE
      ? `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: bench }
spec:
  parentRefs: [${JSON.stringify(GATEWAY_PARENT_REF)}]
  hostnames: ["${host}"]
  rules: [{ backendRefs: [{ name: bench-blue, port: 80, weight: 100 }, { name: bench-green, port: 80, weight: 0 }] }]
`
      : `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: bench }
spec:
  ingressClassName: ${INGRESS_CLASS}
  rules: [{ host: "${host}", http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: bench-blue, port: { number: 80 } } } }] } }]
`;
  return `${slotServicesYaml()}---\n${route}`;
}

async function measureLayout(layout: Layout): Promise<{ switches: Switch[]; samples: Sample[] }> {
  const ns = await newNamespace("bench-switch");
  const host = `${ns}.bench.example`;
  try {
    await createBenchApp(ns, layout === SERVICE);
    let load: Load;
    if (layout === SERVICE) load = Load.start(`http://${clusterIP(ns, "bench")}/`, { rate: RATE });
    else {
      apply(ns, routeYaml(layout, host));
      if (layout === HTTPROUTE) {
        await waitFor("the HTTPRoute accepted", () => routeParentStatus(ns, "bench")?.conditions.ResolvedRefs?.status === "True", 60_000, 100);
      }
      load = startGatewayLoad(host, { rate: RATE });
    }
    const watch = new Watch(layout.watchPath(ns), (o) => layout.slotOf(o as Watched));
    await load.waitFor(RATE);
    // Only once every request is answered by the first slot does the measuring start.
    await waitFor("requests answered", () => load.samples().slice(-20).every((x) => !failed(x) && x.labels?.slot === "blue"), 60_000, 200);
    const runs: { how: string; to: string; from: string; start: number; end: number }[] = [];
    // Commands run asynchronously, so the watch's events are timed while they run.
    const run = async (how: string, to: string, from: string, cmd: () => Promise<{ code: number; stderr: string }>) => {
      const start = Date.now();
      const r = await cmd();
      const end = Date.now();
      if (r.code !== 0) throw new Error(`${how} to ${to} failed (exit ${r.code}): ${r.stderr}`);
      runs.push({ how, to, from, start, end });
      // Let the stream settle on the new slot before the next switch: a second of requests after it returned.
      await load.waitFor(RATE, end);
    };
    for (let i = 0; i < SWITCHES; i++) {
      // --to: after an abort, plain promote (rightly) refuses to put the aborted version back.
      await run("kubectl bluegreen promote --to", "green", "blue", () => bluegreenAsync(["promote", "bench", "--to", "green"], { namespace: ns }));
      await run("kubectl bluegreen abort", "blue", "green", () => bluegreenAsync(["abort", "bench"], { namespace: ns }));
    }
    for (let i = 0; i < SWITCHES; i++) {
      for (const [to, from] of [
        ["green", "blue"],
        ["blue", "green"],
      ]) {
        await run(layout.handName, to, from, () => kubectlAsync(layout.byHand(ns, to)));
      }
    }
    const samples = await load.stop();
    await waitFor("the watch to see every switch", () => watch.changes.length >= runs.length, 10_000, 100);
    watch.stop();
    const switches = runs.map((r, i) =>
      measure(layout.name, r.how, r.to, r.from, samples, watch.changes[i].at, watch.changes[i + 1]?.at ?? Number.POSITIVE_INFINITY, r.start, r.end),
    );
    return { switches, samples };
  } finally {
    deleteNamespace(ns);
  }
}

async function main(): Promise<void> {
  const gw = gatewayAvailable();
  const layouts = gw.on ? [SERVICE, HTTPROUTE, INGRESS] : [SERVICE];
  if (!gw.on) console.error(`no gateway (${gw.reason}): the Service selector only`);
  const all = { switches: [] as Switch[], samples: [] as Sample[], layouts };
  for (const layout of layouts) {
    const r = await measureLayout(layout);
    all.switches.push(...r.switches);
    all.samples.push(...r.samples);
  }
  writeFileSync(OUT, report(all.switches, all.samples, layouts));
}

function report(switches: Switch[], samples: Sample[], layouts: Layout[]): string {
  const rows: string[] = [];
  for (const layout of layouts) {
    const groups: [string, string][] = [
      ["kubectl bluegreen promote --to", "green"],
      ["kubectl bluegreen abort", "blue"],
      [layout.handName, "green"],
      [layout.handName, "blue"],
    ];
    for (const [how, to] of groups) {
      const g = switches.filter((s) => s.layout === layout.name && s.how === how && s.to === to);
      const ms = (x: number) => `${Math.round(x)} ms`;
      rows.push(
        `| ${layout.name} | \`${how}\` → ${to} | ${g.length} | ${g.reduce((a, s) => a + s.sent, 0)} | **${g.reduce((a, s) => a + s.failed, 0)}** | ${ms(pct(g.map((s) => s.latencyMs), 50))} | ${ms(pct(g.map((s) => s.latencyMs), 99))} | ${ms(pct(g.map((s) => s.commandMs), 50))} |`,
      );
    }
  }
  const total = samples.length;
  const bad = samples.filter(failed).length;
  const routed = layouts.length > 1;
  return `## Switching under load

Produced by \`scripts/bench-switch.sh\` on ${new Date().toISOString().slice(0, 10)}, on the test bed's data plane (real
kube-proxy in nftables mode${routed ? ", Traefik v3.6 as the Gateway API and Ingress controller" : ""}, pods answered by \`test/testbed/podserver.ts\`): ${RATE} requests a
second, a new connection each, from inside the test bed's network namespace — to the Service's ClusterIP for
the selector layout${routed ? ", through the gateway (10.1.0.1:8000, with the route's Host) for the HTTPRoute and Ingress layouts" : ""} —
while the router switched ${SWITCHES} times each way by each method (\`promote --to green\`, then \`abort\`; then
the hand-run \`kubectl patch\` to green and back). Two pods per slot, both slots always up.

- *Requests* and *failed*: started while the command ran (failed = error, reset, timeout or non-2xx).
- *Switch latency*: from the router write (a watch on it sees it) to the start of the last request answered by
  the old slot — how long kube-proxy${routed ? " or the gateway" : ""} kept sending requests the old way.
- *Command*: from start to exit of the command; the plugin's includes its checks, the write, verification (the
  EndpointSlices${routed ? "; for the HTTPRoute, the gateway's Accepted and ResolvedRefs at the new generation" : ""}), \`--propagation-delay\` (2s)
  and recording the switch.

| Layout | Switch | Switches | Requests | Failed | Latency p50 | Latency p99 | Command p50 |
|---|---|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}

In all, ${total} requests, ${bad} failed. Machine: the test bed on this machine's 2 cores, so the figures include
the load of the load helper itself.
`;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
