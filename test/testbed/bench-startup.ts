// How fast the packaged plugin starts, reads and switches, side by side with kubectl doing the same work, in
// one run on the test bed (run by scripts/bench-startup.sh and scripts/bench-scale.sh).
//
//   node bench-startup.mjs startup|scale SECTION.md PLUGIN [BEFORE]
//
// Every command runs under GNU time (for its peak RSS) after WARMUP unmeasured runs, then RUNS times, the
// commands of a row taking turns so that a busy moment of the machine hits them alike. Prints medians, the
// ratio to kubectl, and peak RSS as a Markdown section. BEFORE: an older executable measured in the same run.
//   startup: --help and version vs `kubectl version --client`; status of one app vs `kubectl get deploy,svc -l`;
//            promote --to of a ready slot vs one `kubectl patch svc`.
//   scale:   status of a namespace of APPS apps (created here, default 1000) vs `kubectl get deploy,svc`, and
//            status -A vs `kubectl get deploy,svc -A`.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { KUBECONFIG, deleteNamespace, kubectlAsync, kubectlOk, newNamespace } from "../e2e/lib/cluster.js";
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
const ENV = { ...process.env, KUBECONFIG };

interface Sample {
  ms: number;
  rssMB: number;
  code: number;
}

/** One run of argv under GNU time: wall time (ms), peak RSS (MB) and exit code. Output is discarded. */
function once(argv: string[]): Promise<Sample> {
  const rssFile = path.join(work, "rss");
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn("/usr/bin/time", ["-f", "%M", "-o", rssFile, ...argv], { env: ENV, stdio: ["ignore", "ignore", "ignore"] });
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const rssMB = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop()) / 1024;
      resolve({ ms, rssMB, code: code ?? 1 });
    });
  });
}

interface Command {
  label: string;
  /** argv for run i (alternating commands need the index). */
  argv: (i: number) => string[];
  /** Exit codes that count as success (status exits 1 when an app needs attention). */
  ok?: number[];
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
      const s = await once(c.argv(i));
      if (!(c.ok ?? [0]).includes(s.code)) throw new Error(`${c.label} (run ${i}) exited with ${s.code}: ${c.argv(i).join(" ")}`);
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

async function startupRows(ns: string): Promise<Row[]> {
  // One app per switching command: each takes its own Service there and back (a switch by one command is a
  // change made elsewhere for the next).
  const apps = ["bench", "patched", "delayed", ...(BEFORE ? ["bench-before"] : [])];
  for (const app of apps) {
    await createApp(ns, { app, slotLabel: "slot", slots: [{ value: "blue", replicas: 2 }, { value: "green", replicas: 2 }], services: { [app]: "blue" } });
  }
  const to = (i: number) => (i % 2 === 0 ? "green" : "blue");
  return [
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
      ],
    },
    {
      name: "switch a ready slot",
      baseline: "kubectl patch svc",
      commands: [
        { label: "kubectl patch svc", argv: (i) => ["kubectl", "patch", "svc", "patched", "-n", ns, "-p", JSON.stringify({ spec: { selector: { slot: to(i) } } })] },
        ...variants("promote --to --propagation-delay 0s", (i, who) => ["promote", who === "now" ? "bench" : "bench-before", "-n", ns, "--to", to(i), "--propagation-delay", "0s"]),
        { label: "kubectl-bluegreen promote --to (default --propagation-delay 2s)", argv: (i) => [PLUGIN!, "promote", "delayed", "-n", ns, "--to", to(i)] },
      ],
    },
  ];
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
whole process each time, started without a shell, under GNU time for its peak RSS. Medians; the ratio is to
the row's kubectl command. \`kubectl-bluegreen\` is \`dist/bin/linux_amd64/kubectl-bluegreen\` (${pluginVersion})${
    BEFORE ? `; *before* is the executable of the previous release build, measured in the same run` : ""
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
