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
import { apply, bluegreenAsync, deleteNamespace, kubectlAsync, kubectlJson, newNamespace, waitFor } from "../e2e/lib/cluster.js";
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

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const n of SIZES) rows.push(await measure(n));
  writeFileSync(OUT, report(rows));
}

function report(rows: Row[]): string {
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
`;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
