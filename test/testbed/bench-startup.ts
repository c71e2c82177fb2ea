// How fast the packaged plugin starts, reads and switches, side by side with kubectl doing the same work, in
// one run on the test bed (run by scripts/bench-startup.sh and scripts/bench-scale.sh).
//
//   node bench-startup.mjs startup|scale SECTION.md PLUGIN [BEFORE]
//
// Every command runs under GNU time (for its peak RSS) after WARMUP unmeasured runs, then RUNS times, the
// commands of a row taking turns so that a busy moment of the machine hits them alike. Prints medians, the
// ratio to kubectl, and peak RSS as a Markdown section. BEFORE: an older executable measured in the same run.
//   startup: --help and version vs `kubectl version --client`; status of one app vs `kubectl get deploy,svc -l`;
//            status of an app behind an HTTPRoute vs `kubectl get` of the same seven lists; promote --to of a ready
//            slot vs two `kubectl patch svc` (the selector, then the record), one after the other; promote of a
//            group of three apps vs the six patches of their selectors and records.
//   scale:   status of a namespace of APPS apps (created here, default 1000) vs `kubectl get deploy,svc`, and
//            status -A vs `kubectl get deploy,svc -A`.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { KUBECONFIG, apply, deleteNamespace, kubectlAsync, kubectlOk, newNamespace, waitFor } from "../e2e/lib/cluster.js";
import { GATEWAY_PARENT_REF, gatewayAvailable, routeParentStatus } from "../e2e/lib/gateway.js";
import { createApp, deploymentYaml, serviceYaml } from "../e2e/lib/layout.js";

const [mode, OUT, PLUGIN, BEFORE] = process.argv.slice(2);
if ((mode !== "startup" && mode !== "scale") || !OUT || !PLUGIN) {
  console.error("usage: bench-startup.mjs startup|scale SECTION.md PLUGIN [BEFORE]");
  process.exit(2);
}
const RUNS = Number(process.env.BLUEGREEN_BENCH_RUNS ?? 15);
const WARMUP = 3;
const APPS = Number(process.env.BLUEGREEN_BENCH_APPS ?? 1000);
/** scale: a namespace an earlier run filled with the same APPS apps, used as is and kept (10,000 take minutes to make). */
const REUSE = process.env.BLUEGREEN_BENCH_NAMESPACE;
const work = mkdtempSync(path.join(tmpdir(), "bench-startup-"));
/**
 * Every command runs without NODE_EXTRA_CA_CERTS, as on a user's machine: Node reads that file's certificates into
 * its first TLS context even when the kubeconfig names the CA (kubectl never reads it). Where the environment sets it,
 * the status row measures the plugin with it too, so its cost is shown rather than hidden.
 */
const { NODE_EXTRA_CA_CERTS: EXTRA_CA_CERTS, ...INHERITED } = process.env;
const ENV = { ...INHERITED, KUBECONFIG };

interface Sample {
  ms: number;
  rssMB: number;
  code: number;
}

/** One run of argv under GNU time: wall time (ms), peak RSS (MB) and exit code. Output is discarded. */
function run1(argv: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  const rssFile = path.join(work, "rss");
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn("/usr/bin/time", ["-f", "%M", "-o", rssFile, ...argv], { env, stdio: ["ignore", "ignore", "ignore"] });
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const rssMB = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop()) / 1024;
      resolve({ ms, rssMB, code: code ?? 1 });
    });
  });
}

/**
 * Processes run one after the other, each started when the one before exits (no shell between them): the sum of
 * their wall times, the largest peak RSS, and the first failing exit code (the rest do not run then).
 */
async function once(argvs: string[][], env: NodeJS.ProcessEnv): Promise<Sample> {
  const total: Sample = { ms: 0, rssMB: 0, code: 0 };
  for (const argv of argvs) {
    const s = await run1(argv, env);
    total.ms += s.ms;
    total.rssMB = Math.max(total.rssMB, s.rssMB);
    total.code = s.code;
    if (s.code !== 0) break;
  }
  return total;
}

interface Command {
  label: string;
  /** argv for run i (alternating commands need the index); several processes run one after the other (see once). */
  argv: (i: number) => string[] | string[][];
  /** Exit codes that count as success (status exits 1 when an app needs attention). */
  ok?: number[];
  /** The environment, when not ENV. */
  env?: NodeJS.ProcessEnv;
}

interface Row {
  name: string;
  commands: Command[];
  /** The command whose median the others are compared with. */
  baseline: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function measure(row: Row): Promise<string[]> {
  const samples = new Map<string, Sample[]>(row.commands.map((c) => [c.label, []]));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const c of row.commands) {
      const argvs = c.argv(i);
      const seq = Array.isArray(argvs[0]) ? (argvs as string[][]) : [argvs as string[]];
      const s = await once(seq, c.env ?? ENV);
      if (!(c.ok ?? [0]).includes(s.code)) throw new Error(`${c.label} (run ${i}) exited with ${s.code}: ${seq.map((a) => a.join(" ")).join("; ")}`);
      if (i >= WARMUP) samples.get(c.label)!.push(s);
    }
  }
  const base = median(samples.get(row.baseline)!.map((s) => s.ms));
  return row.commands.map((c) => {
    const ss = samples.get(c.label)!;
    const ms = median(ss.map((s) => s.ms));
    const ratio = c.label === row.baseline ? "1.00×" : `**${(ms / base).toFixed(2)}×**`;
    return `| ${row.name} | \`${c.label}\` | ${ms.toFixed(1)} ms | ${ratio} | ${median(ss.map((s) => s.rssMB)).toFixed(0)} MB |`;
  });
}

type Who = "now" | "before";
/** The plugin, and the older executable when given, as commands of a row. */
function variants(label: string, args: (i: number, who: Who) => string[], ok?: number[]): Command[] {
  const cmds: Command[] = [{ label: `kubectl-bluegreen ${label}`, argv: (i) => [PLUGIN!, ...args(i, "now")], ok }];
  if (BEFORE) cmds.push({ label: `before: kubectl-bluegreen ${label}`, argv: (i) => [BEFORE, ...args(i, "before")], ok });
  return cmds;
}

/**
 * The floor under `status APP` for any Node.js program: the pinned Node with the executables' V8 flags, reading the
 * test bed's kubeconfig (inline certificates, found by pattern: no YAML parser), then the same four lists as the
 * plugin over one keep-alive HTTPS agent, parsed, one line printed per object. Everything the plugin adds (its
 * bundle, the kubeconfig's YAML, the plan, the screen) is above this line.
 */
const FLOOR = `"use strict";
const fs = require("node:fs");
const https = require("node:https");
const tls = require("node:tls");
const [kubeconfig, ns, app] = process.argv.slice(2);
const kc = fs.readFileSync(kubeconfig, "utf8");
const field = (k) => new RegExp(k + ": *([A-Za-z0-9+/=:.-]+)").exec(kc)[1];
const data = (k) => Buffer.from(field(k), "base64");
const secureContext = tls.createSecureContext({ ca: data("certificate-authority-data"), cert: data("client-certificate-data"), key: data("client-key-data") });
const agent = new https.Agent({ keepAlive: true, secureContext });
const sel = "labelSelector=" + encodeURIComponent("app=" + app) + "&limit=500";
const paths = ["/apis/apps/v1/namespaces/" + ns + "/deployments?" + sel, "/api/v1/namespaces/" + ns + "/services?limit=500",
  "/apis/apps/v1/namespaces/" + ns + "/replicasets?" + sel, "/apis/autoscaling/v2/namespaces/" + ns + "/horizontalpodautoscalers?limit=500"];
const get = (p) => new Promise((resolve, reject) => {
  https.get(field("server") + p, { agent, headers: { Accept: "application/json" } }, (res) => {
    const chunks = [];
    res.on("data", (c) => chunks.push(c));
    res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))) : reject(new Error(p + ": HTTP " + res.statusCode))));
  }).on("error", reject);
});
Promise.all(paths.map(get)).then((lists) => {
  for (const l of lists) for (const o of l.items) process.stdout.write(o.metadata.name + "\\n");
  process.exit(0);
}, (e) => { console.error(e.message); process.exit(1); });
`;

/** What the plugin writes on a Service after a switch (kubectl-bluegreen/last-switch), for the patches that stand for it. */
const RECORD = "kubectl-bluegreen/last-switch";
const recordPatch = (to: string) => JSON.stringify({ metadata: { annotations: { [RECORD]: JSON.stringify({ at: new Date().toISOString(), by: "bench", to }) } } });
const selectorPatch = (to: string) => JSON.stringify({ spec: { selector: { slot: to } } });
/** The two writes of a switch by hand: the Service's selector, then the record. */
const patches = (ns: string, svc: string, to: string): string[][] => [
  ["kubectl", "patch", "svc", svc, "-n", ns, "-p", selectorPatch(to)],
  ["kubectl", "patch", "svc", svc, "-n", ns, "-p", recordPatch(to)],
];

/** App ROUTE: slots blue and green (two replicas each), a slot Service for each, and HTTPRoute ROUTE on the test bed's gateway weighing them. */
async function createRouteApp(ns: string, app: string): Promise<void> {
  await createApp(ns, { app, slotLabel: "slot", slots: [{ value: "blue", replicas: 2 }, { value: "green", replicas: 2 }], services: { [`${app}-blue`]: "blue", [`${app}-green`]: "green" } });
  apply(
    ns,
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${app} }
spec:
  parentRefs: [${JSON.stringify(GATEWAY_PARENT_REF)}]
  hostnames: ["${ns}.${app}.example"]
  rules: [{ backendRefs: [{ name: ${app}-blue, port: 80, weight: 100 }, { name: ${app}-green, port: 80, weight: 0 }] }]
`,
  );
  await waitFor("the HTTPRoute accepted", () => routeParentStatus(ns, app)?.conditions.ResolvedRefs?.status === "True", 60_000, 100);
}

async function startupRows(ns: string): Promise<Row[]> {
  // One app per switching command: each takes its own Service there and back (a switch by one command is a
  // change made elsewhere for the next).
  const apps = ["bench", "patched", "patched-once", "delayed", ...(BEFORE ? ["bench-before"] : [])];
  // The groups' apps: one replica a slot.
  const group = (who: string) => ["a", "b", "c"].map((x) => `${who}-${x}`);
  const groups = ["group", "grouppatched", ...(BEFORE ? ["groupbefore"] : [])].flatMap(group);
  for (const app of [...apps, ...groups]) {
    const replicas = groups.includes(app) ? 1 : 2;
    await createApp(ns, { app, slotLabel: "slot", slots: [{ value: "blue", replicas }, { value: "green", replicas }], services: { [app]: "blue" } });
  }
  const gw = gatewayAvailable();
  if (gw.on) await createRouteApp(ns, "route");
  else console.error(`--- no gateway (${gw.reason}): no HTTPRoute row`);
  const to = (i: number) => (i % 2 === 0 ? "green" : "blue");
  const floor = path.join(work, "floor.cjs");
  writeFileSync(floor, FLOOR);
  // The V8 flags the executables run with, as scripts/package.sh wrote them into the SEA config.
  const seaExecArgv: string[] = JSON.parse(readFileSync(path.join(process.env.BLUEGREEN_ROOT ?? ".", "dist/sea/sea-config.json"), "utf8")).execArgv;
  const rows: Row[] = [
    {
      name: "help",
      baseline: "kubectl version --client",
      commands: [{ label: "kubectl version --client", argv: () => ["kubectl", "version", "--client"] }, ...variants("--help", () => ["--help"]), ...variants("version --client", () => ["version", "--client"])],
    },
    {
      name: "status of one app",
      baseline: "kubectl get deploy,svc -l app=bench",
      commands: [
        { label: "kubectl get deploy,svc -l app=bench", argv: () => ["kubectl", "get", "deploy,svc", "-l", "app=bench", "-n", ns] },
        ...variants("status bench", () => ["status", "bench", "-n", ns]),
        { label: "kubectl bluegreen status bench", argv: () => ["kubectl", "bluegreen", "status", "bench", "-n", ns] },
        ...(EXTRA_CA_CERTS
          ? [{ label: "kubectl-bluegreen status bench (NODE_EXTRA_CA_CERTS set)", argv: () => [PLUGIN!, "status", "bench", "-n", ns], env: { ...ENV, NODE_EXTRA_CA_CERTS: EXTRA_CA_CERTS } }]
          : []),
        { label: "node: the same four lists, nothing else (floor)", argv: () => [process.execPath, ...seaExecArgv, floor, KUBECONFIG, ns, "bench"] },
      ],
    },
  ];
  if (gw.on) {
    // status of an app behind an HTTPRoute lists Deployments and ReplicaSets of the app, and the namespace's Services,
    // HorizontalPodAutoscalers, HTTPRoutes, GRPCRoutes and Ingresses: kubectl gets the same seven lists.
    const kinds = "deploy,svc,rs,hpa,httproute,grpcroute,ingress";
    rows.push({
      name: "status of an HTTPRoute app",
      baseline: `kubectl get ${kinds} -l app=route`,
      commands: [{ label: `kubectl get ${kinds} -l app=route`, argv: () => ["kubectl", "get", kinds, "-l", "app=route", "-n", ns] }, ...variants("status route", () => ["status", "route", "-n", ns])],
    });
  }
  rows.push(
    {
      name: "switch a ready slot",
      baseline: "kubectl patch svc ×2",
      commands: [
        { label: "kubectl patch svc ×2", argv: (i) => patches(ns, "patched", to(i)) },
        { label: "kubectl patch svc", argv: (i) => patches(ns, "patched-once", to(i))[0]! },
        ...variants("promote --to --propagation-delay 0s", (i, who) => ["promote", who === "now" ? "bench" : "bench-before", "-n", ns, "--to", to(i), "--propagation-delay", "0s"]),
        { label: "kubectl-bluegreen promote --to (default --propagation-delay 2s)", argv: (i) => [PLUGIN!, "promote", "delayed", "-n", ns, "--to", to(i)] },
      ],
    },
    {
      name: "promote a group of 3 apps",
      baseline: "kubectl patch svc ×6",
      commands: [
        { label: "kubectl patch svc ×6", argv: (i) => group("grouppatched").flatMap((app) => patches(ns, app, to(i))) },
        ...variants("promote a b c --to --propagation-delay 0s", (i, who) => ["promote", ...group(who === "now" ? "group" : "groupbefore"), "-n", ns, "--to", to(i), "--propagation-delay", "0s"]),
      ],
    },
  );
  return rows;
}

/** APPS apps in one namespace (Deployments at 0 replicas: the objects are what status reads), made with kubectl create. */
async function scaleRows(ns: string): Promise<Row[]> {
  if (REUSE) {
    const have = JSON.parse(kubectlOk(["get", "deployments", "-n", ns, "-o", "json"])).items.length;
    if (have !== 2 * APPS) throw new Error(`namespace ${ns} holds ${have} Deployments, not the ${2 * APPS} of ${APPS} apps`);
    return rows(ns);
  }
  const docs: string[] = [];
  for (let a = 0; a < APPS; a++) {
    const app = `app-${String(a).padStart(5, "0")}`;
    for (const slot of ["blue", "green"]) docs.push(deploymentYaml(app, "app", "slot", { value: slot, replicas: 0 }));
    docs.push(serviceYaml(app, { app, slot: "blue" }));
  }
  // Batches of 600 objects, 4 kubectl processes at a time: one kubectl creates them one by one, waiting for each.
  const batches: string[] = [];
  for (let i = 0; i < docs.length; i += 600) {
    const file = path.join(work, `batch-${batches.length}.yaml`);
    writeFileSync(file, docs.slice(i, i + 600).join("---\n"));
    batches.push(file);
  }
  const started = Date.now();
  const create = async (): Promise<void> => {
    for (let file = batches.shift(); file !== undefined; file = batches.shift()) {
      const r = await kubectlAsync(["create", "-n", ns, "-f", file, "-o", "name", "--validate=false"]);
      if (r.code !== 0) throw new Error(`kubectl create -f ${file}: ${r.stderr}`);
    }
  };
  await Promise.all([create(), create(), create(), create()]);
  console.error(`--- created ${docs.length} objects in ${((Date.now() - started) / 1000).toFixed(0)}s`);
  return rows(ns);
}

/** The scale rows on a namespace of APPS apps. */
function rows(ns: string): Row[] {
  return [
    {
      name: `status of ${APPS} apps`,
      baseline: "kubectl get deploy,svc",
      commands: [{ label: "kubectl get deploy,svc", argv: () => ["kubectl", "get", "deploy,svc", "-n", ns] }, ...variants("status", () => ["status", "-n", ns], [0, 1])],
    },
    {
      name: "every namespace",
      baseline: "kubectl get deploy,svc -A",
      commands: [{ label: "kubectl get deploy,svc -A", argv: () => ["kubectl", "get", "deploy,svc", "-A"] }, ...variants("status -A", () => ["status", "-A"], [0, 1])],
    },
  ];
}

async function main(): Promise<void> {
  const load = loadavg().map((l) => l.toFixed(2)).join(" ");
  const ns = mode === "scale" && REUSE ? REUSE : await newNamespace(mode === "startup" ? "bench" : "bench-scale");
  const lines: string[] = [];
  try {
    const rows = mode === "startup" ? await startupRows(ns) : await scaleRows(ns);
    for (const row of rows) {
      console.error(`--- ${row.name}: ${WARMUP} warm-up runs, then ${RUNS} runs of each command`);
      lines.push(...(await measure(row)));
    }
  } finally {
    if (ns !== REUSE) deleteNamespace(ns);
  }
  const kubectlVersion = JSON.parse(kubectlOk(["version", "--client", "-o", "json"])).clientVersion.gitVersion;
  const pluginVersion = execFileSync(PLUGIN, ["version", "--client"], { encoding: "utf8" }).trim();
  const head =
    mode === "startup"
      ? `## Start-up\n\nProduced by \`scripts/bench-startup.sh\``
      : `## At scale\n\nProduced by \`scripts/bench-scale.sh\` with ${APPS} apps (2 Deployments at 0 replicas and a Service each) in one namespace`;
  const text = `${head} on ${new Date().toISOString().slice(0, 10)}, against the local test bed (kube-apiserver on
127.0.0.1): ${WARMUP} warm-up runs, then ${RUNS} runs of each command, the commands of a row taking turns; the
whole process each time, started without a shell, under GNU time for its peak RSS (a command of several processes
runs them one after the other: the sum of their times, the largest RSS). Medians; the ratio is to
the row's kubectl command. \`kubectl-bluegreen\` is the linux/amd64 executable (${pluginVersion}) as an install has it,
unpacked from \`dist/kubectl-bluegreen_linux_amd64.tar.gz\`${
    BEFORE ? `; *before* is the executable of the previous release build, unpacked the same way and measured in the same run` : ""
  }.

Machine: ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), load average ${load} when the run began; kubectl ${kubectlVersion}.

| Row | Command | Median | Ratio | Peak RSS |
|---|---|---:|---:|---:|
${lines.join("\n")}
`;
  writeFileSync(OUT, text);
}

main()
  .catch((e) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
