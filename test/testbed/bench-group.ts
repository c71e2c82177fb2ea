// What releasing several apps in one command costs against one promote per app in a loop (run by
// scripts/bench-group.sh), on the test bed's control plane.
//
// For N in SIZES: N apps (two slots of one replica, a Service each) in a fresh namespace; then, RUNS times each, taking
// turns: `promote APP1 … APPN --to v2` (one command, all or none) and a loop of N `promote APPi --to v2`, each followed
// by a group promote back to v1, and a loop of N `kubectl patch svc` (to the new slot and back) as the floor of what a switch
// costs. Times are wall clock from the first command's start to the last one's exit; every promote with
// `--propagation-delay 0s`, so the figures are the plugin's own work: checks, the write, verification, the record.
// Prints a Markdown section.
import { writeFileSync } from "node:fs";
import { KUBECONFIG, apply, bluegreenAsync, deleteNamespace, kubectl, kubectlAsync, kubectlJson, kubectlOk, newNamespace, onCluster, waitFor } from "../e2e/lib/cluster.js";
import { SECOND_KUBECONFIG, kubeconfigOf, secondTestbed } from "../e2e/lib/second.js";
import { deploymentYaml, serviceYaml } from "../e2e/lib/layout.js";
import { pct } from "./bench-lib.js";

const RUNS = Number(process.env.BLUEGREEN_BENCH_RUNS ?? 3);
const SIZES = (process.env.BLUEGREEN_BENCH_GROUP_SIZES ?? "1,10,50").split(",").map(Number);
const OUT = process.argv[2];
// --to: after the first round goes back, plain promote (rightly) refuses the version that was left.
const FAST = ["--propagation-delay", "0s"];
const to = (v: string) => ["--to", v, ...FAST];

const appNames = (n: number) => Array.from({ length: n }, (_, i) => `app${String(i + 1).padStart(2, "0")}`);

/** N apps, v1 live; v2 created a second later so plain promote has its evidence; both rolled out. */
async function createApps(ns: string, apps: string[]): Promise<void> {
  apply(ns, apps.flatMap((a) => [deploymentYaml(a, "app", "version", { value: "v1", replicas: 1 }), serviceYaml(a, { app: a, version: "v1" })]).join("---\n"));
  const t = Date.now();
  await waitFor("the next second on the server's clock", () => Date.now() >= t + 1100, 5000, 50);
  apply(ns, apps.map((a) => deploymentYaml(a, "app", "version", { value: "v2", replicas: 1 })).join("---\n"));
  await waitFor(`${apps.length * 2} Deployments available`, () => {
    const items: { status?: { availableReplicas?: number } }[] = kubectlJson(["get", "deployments", "-n", ns]).items;
    return items.length === apps.length * 2 && items.every((d) => d.status?.availableReplicas === 1);
  }, 300_000, 500);
}

async function ok(args: string[], ns: string, run: (a: string[], o: { namespace: string }) => Promise<{ code: number; stderr: string }> = bluegreenAsync): Promise<void> {
  const r = await run(args, { namespace: ns });
  if (r.code !== 0) throw new Error(`${args.join(" ")} failed (exit ${r.code}): ${r.stderr}`);
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

interface Row {
  apps: number;
  group: number[];
  loop: number[];
  patch: number[];
}

async function measure(n: number): Promise<Row> {
  const ns = await newNamespace(`bench-group-${n}`);
  const apps = appNames(n);
  const row: Row = { apps: n, group: [], loop: [], patch: [] };
  try {
    await createApps(ns, apps);
    const patch = (a: string, v: string) => ok(["patch", "service", a, "-p", JSON.stringify({ spec: { selector: { app: a, version: v } } })], ns, (x, o) => kubectlAsync([...x, "-n", o.namespace]));
    for (let i = 0; i < RUNS; i++) {
      row.group.push(await timed(() => ok(["promote", ...apps, ...to("v2")], ns)));
      await ok(["promote", ...apps, ...to("v1")], ns);
      row.loop.push(
        await timed(async () => {
          for (const a of apps) await ok(["promote", a, ...to("v2")], ns);
        }),
      );
      await ok(["promote", ...apps, ...to("v1")], ns);
      row.patch.push(
        await timed(async () => {
          for (const a of apps) await patch(a, "v2");
        }),
      );
      for (const a of apps) await patch(a, "v1");
    }
    return row;
  } finally {
    deleteNamespace(ns);
  }
}

/** Apps per cluster in the two-cluster comparison; 0 leaves it out (no second control plane started). */
const CLUSTER_APPS = Number(process.env.BLUEGREEN_BENCH_CLUSTER_APPS ?? 10);

interface ClusterRow {
  /** promote of the apps in context one only. */
  one: number[];
  /** promote of the apps --contexts one,two: all or none across both. */
  both: number[];
  /** the same --waves: one context after the other. */
  waves: number[];
  /** two commands, one per context, one after the other (no all or none across them). */
  apart: number[];
}

/**
 * The same N apps in the test bed (context one) and in a second control plane started here (context two): a release
 * in both against a release in one, RUNS times each, taking turns, each followed by a promote of both back.
 */
async function measureClusters(n: number): Promise<ClusterRow> {
  const row: ClusterRow = { one: [], both: [], waves: [], apart: [] };
  secondTestbed("up");
  const ns = await newNamespace(`bench-clusters-${n}`);
  try {
    const kubeconfig = kubeconfigOf([
      { name: "one", kubeconfig: KUBECONFIG },
      { name: "two", kubeconfig: SECOND_KUBECONFIG },
    ]);
    const apps = appNames(n);
    await onCluster(SECOND_KUBECONFIG, async () => {
      kubectlOk(["create", "namespace", ns]);
      await waitFor(`ServiceAccount default in namespace ${ns} of the second cluster`, () => kubectl(["get", "serviceaccount", "default", "-n", ns]).code === 0);
    });
    // One cluster after the other: onCluster switches the cluster kubectl talks to for everything running meanwhile.
    await createApps(ns, apps);
    await onCluster(SECOND_KUBECONFIG, () => createApps(ns, apps));
    const run = (args: string[]) => ok(args, ns, (a, o) => bluegreenAsync(a, { ...o, kubeconfig, context: "" }));
    const back = () => run(["promote", ...apps, "--contexts", "one,two", ...to("v1")]);
    for (let i = 0; i < RUNS; i++) {
      row.one.push(await timed(() => run(["promote", ...apps, "--context", "one", ...to("v2")])));
      await back();
      row.both.push(await timed(() => run(["promote", ...apps, "--contexts", "one,two", ...to("v2")])));
      await back();
      row.waves.push(await timed(() => run(["promote", ...apps, "--contexts", "one,two", "--waves", ...to("v2")])));
      await back();
      row.apart.push(
        await timed(async () => {
          await run(["promote", ...apps, "--context", "one", ...to("v2")]);
          await run(["promote", ...apps, "--context", "two", ...to("v2")]);
        }),
      );
      await back();
    }
    return row;
  } finally {
    deleteNamespace(ns);
    secondTestbed("down");
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const n of SIZES) rows.push(await measure(n));
  const clusters = CLUSTER_APPS > 0 ? await measureClusters(CLUSTER_APPS) : undefined;
  writeFileSync(OUT, report(rows, clusters));
}

function clusterReport(c: ClusterRow): string {
  const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
  const one = pct(c.one, 50);
  const line = (what: string, xs: number[]) => `| ${what} | ${s(pct(xs, 50))} | ${(pct(xs, 50) / one).toFixed(2)}× |`;
  return `
### 2 clusters against 1

The same ${CLUSTER_APPS} apps in the test bed (context \`one\`) and in a second control plane started on this machine for the
run (context \`two\`, \`BLUEGREEN_TESTBED_DIR\` of its own), promoted ${RUNS} times each way, taking turns, each followed by a promote
of both back. Medians.

| Command | Time | ÷ one cluster |
|---|---:|---:|
${line(`\`promote APP1 … APP${CLUSTER_APPS} --context one\``, c.one)}
${line("`… --contexts one,two` (all or none across both)", c.both)}
${line("`… --contexts one,two --waves`", c.waves)}
${line("`… --context one`, then `… --context two` (two commands)", c.apart)}

Both clusters share this machine's 2 cores, so the second cluster's API server and the first's compete for them.
`;
}

function report(rows: Row[], clusters?: ClusterRow): string {
  const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
  const lines = rows.map((r) => {
    const g = pct(r.group, 50);
    const l = pct(r.loop, 50);
    const p = pct(r.patch, 50);
    return `| ${r.apps} | ${s(g)} | ${s(l)} | **${(l / g).toFixed(1)}×** | ${s(p)} | ${(g / p).toFixed(2)}× |`;
  });
  const kubectl = (kubectlJson(["version", "--client"]) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? "unknown";
  return `## Several apps in one command

Produced by \`scripts/bench-group.sh\` on ${new Date().toISOString().slice(0, 10)}, on the test bed's control plane: N apps (two slots
of one replica each, a Service selecting one), promoted to the other slot ${RUNS} times by each way below, taking turns, each
followed by a promote of them all back. Every promote with \`--propagation-delay 0s\`: the figures are the plugin's own work (planning, the
checks of every app, permissions, the writes, verification of the EndpointSlices, the records). Medians, wall clock
from the first command's start to the last one's exit.

- *Group*: \`kubectl bluegreen promote APP1 … APPN --to v2\`: all or none, apps planned and switched 8 at a time.
- *Loop*: \`for app in …; do kubectl bluegreen promote $app --to v2; done\`, one after another.
- *Patch*: \`kubectl patch service\` of each app's selector, one after another: no checks, no verification, no record
  (kubectl ${kubectl}).

| Apps | Group | Loop | Loop ÷ group | Patch loop | Group ÷ patch loop |
|---:|---:|---:|---:|---:|---:|
${lines.join("\n")}

Machine: the test bed on this machine's 2 cores.
${clusters ? clusterReport(clusters) : ""}`;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
