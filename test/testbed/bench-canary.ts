// What a promote in weighted steps costs and what the gateway does with its weights, measured on the test bed's
// data plane through its gateway (run by scripts/bench-canary.sh).
//
// A steady stream of requests (a new connection each) goes through the gateway to an app behind an HTTPRoute
// between two slot Services while it is promoted RUNS times each way: all at once (`promote --to green`), in three
// steps with no pause (`--steps 10,50,100 --step-pause 0s`), and in three steps with a pause (`--step-pause 5s`),
// each followed by an abort. For each: the command's time; for the paused runs, the share of requests answered by
// the new slot while each step's weights held (from a watch on the route, leaving out the first 200 ms after each
// change). Prints a Markdown section.
import { writeFileSync } from "node:fs";
import { apply, bluegreenAsync, deleteNamespace, newNamespace, waitFor } from "../e2e/lib/cluster.js";
import { type Sample, failed } from "../e2e/lib/dataplane.js";
import { GATEWAY_PARENT_REF, gatewayAvailable, routeParentStatus, startGatewayLoad } from "../e2e/lib/gateway.js";
import { Watch, createBenchApp, pct, slotServicesYaml } from "./bench-lib.js";

const RUNS = Number(process.env.BLUEGREEN_BENCH_RUNS ?? 3);
const RATE = Number(process.env.BLUEGREEN_BENCH_RATE ?? 100);
const PAUSE_S = 5;
const SETTLE_MS = 200;
const OUT = process.argv[2];

/** The share of the route's weight that goes to bench-green, in percent. */
function greenWeight(o: unknown): number {
  const refs: { name?: string; weight?: number }[] = (o as { spec?: { rules?: { backendRefs?: [] }[] } })?.spec?.rules?.[0]?.backendRefs ?? [];
  const total = refs.reduce((a, b) => a + (b.weight ?? 1), 0);
  return total ? Math.round((100 * (refs.find((b) => b.name === "bench-green")?.weight ?? 0)) / total) : 0;
}

interface Run {
  how: string;
  start: number;
  end: number;
}

async function main(): Promise<void> {
  const gw = gatewayAvailable();
  if (!gw.on) throw new Error(`the canary benchmark needs the test bed's gateway: ${gw.reason}`);
  const ns = await newNamespace("bench-canary");
  const host = `${ns}.bench.example`;
  try {
    await createBenchApp(ns, false);
    apply(
      ns,
      `${slotServicesYaml()}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: bench }
spec:
  parentRefs: [${JSON.stringify(GATEWAY_PARENT_REF)}]
  hostnames: ["${host}"]
  rules: [{ backendRefs: [{ name: bench-blue, port: 80, weight: 100 }, { name: bench-green, port: 80, weight: 0 }] }]
`,
    );
    await waitFor("the HTTPRoute accepted", () => routeParentStatus(ns, "bench")?.conditions.ResolvedRefs?.status === "True", 60_000, 100);
    const load = startGatewayLoad(host, { rate: RATE });
    const watch = new Watch(`/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes?watch=1&fieldSelector=metadata.name%3Dbench`, greenWeight);
    await load.waitFor(RATE);
    await waitFor("requests answered by blue", () => load.samples().slice(-20).every((x) => !failed(x) && x.labels?.slot === "blue"), 60_000, 200);
    const runs: Run[] = [];
    const run = async (how: string, args: string[]) => {
      const start = Date.now();
      const r = await bluegreenAsync(args, { namespace: ns });
      const end = Date.now();
      if (r.code !== 0) throw new Error(`${args.join(" ")} failed (exit ${r.code}): ${r.stderr}`);
      runs.push({ how, start, end });
      await load.waitFor(RATE, end);
    };
    const ways: [string, string[]][] = [
      ["promote --to green", []],
      ["promote --to green --steps 10,50,100 --step-pause 0s", ["--steps", "10,50,100", "--step-pause", "0s"]],
      [`promote --to green --steps 10,50,100 --step-pause ${PAUSE_S}s`, ["--steps", "10,50,100", "--step-pause", `${PAUSE_S}s`]],
    ];
    for (let i = 0; i < RUNS; i++) {
      for (const [how, extra] of ways) {
        await run(how, ["promote", "bench", "--to", "green", ...extra]);
        await run("abort", ["abort", "bench"]);
      }
    }
    const samples = await load.stop();
    watch.stop();
    writeFileSync(OUT, report(runs, samples, watch.changes.map((c) => ({ at: c.at, green: c.value }))));
  } finally {
    deleteNamespace(ns);
  }
}

/** Per step of the paused runs: requests that started while a weight held (after SETTLE_MS), and green's share. */
function splits(runs: Run[], samples: Sample[], changes: { at: number; green: number }[]): Map<number, { sent: number; green: number; failed: number }> {
  const out = new Map<number, { sent: number; green: number; failed: number }>();
  for (const r of runs.filter((x) => x.how.includes(`${PAUSE_S}s`))) {
    const inRun = changes.filter((c) => c.at >= r.start && c.at <= r.end);
    for (const [i, c] of inRun.entries()) {
      if (c.green === 0 || c.green === 100) continue;
      const until = inRun[i + 1]?.at ?? r.end;
      const held = samples.filter((s) => s.t0 >= c.at + SETTLE_MS && s.t0 < until);
      const acc = out.get(c.green) ?? { sent: 0, green: 0, failed: 0 };
      acc.sent += held.length;
      acc.green += held.filter((s) => s.labels?.slot === "green").length;
      acc.failed += held.filter(failed).length;
      out.set(c.green, acc);
    }
  }
  return out;
}

function report(runs: Run[], samples: Sample[], changes: { at: number; green: number }[]): string {
  const ms = (x: number) => `${Math.round(x)} ms`;
  const times = (how: string) => runs.filter((r) => r.how === how).map((r) => r.end - r.start);
  const plain = pct(times("promote --to green"), 50);
  const rows = ["promote --to green", "promote --to green --steps 10,50,100 --step-pause 0s", `promote --to green --steps 10,50,100 --step-pause ${PAUSE_S}s`].map((how) => {
    const t = times(how);
    const during = samples.filter((s) => runs.some((r) => r.how === how && s.t0 >= r.start && s.t0 <= r.end));
    const added = pct(t, 50) - plain;
    return `| \`${how}\` | ${t.length} | ${ms(pct(t, 50))} | ${ms(Math.max(...t))} | ${how === "promote --to green" ? "—" : `+${ms(added)}`} | ${during.length} | **${during.filter(failed).length}** |`;
  });
  const split = [...splits(runs, samples, changes).entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([w, s]) => `| ${w}% | ${s.sent} | ${s.green} | ${((100 * s.green) / Math.max(1, s.sent)).toFixed(1)}% | **${s.failed}** |`);
  return `## A promote in weighted steps

Produced by \`scripts/bench-canary.sh\` on ${new Date().toISOString().slice(0, 10)}, on the test bed's data plane through its gateway (Traefik v3.6,
pods answered by \`test/testbed/podserver.ts\`): ${RATE} requests a second, a new connection each, from inside the test bed's
network namespace, to an app behind an HTTPRoute whose one rule weighs two slot Services (two pods each), while it
was promoted ${RUNS} times by each command below, each followed by an abort.

*Command*: from start to exit, including the checks, each step's write and verification (the gateway's Accepted and
ResolvedRefs at the new generation, the new slot's EndpointSlices), \`--propagation-delay\` (2s, after each write) and the
record. *Added*: the median over the median of the switch all at once; the two steps below 100% cost about half of it
each.

| Command | Runs | Command p50 | max | Added | Requests | Failed |
|---|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}

Observed split in the runs with \`--step-pause ${PAUSE_S}s\`: requests that started while a step's weights held (from a
watch on the route; the first ${SETTLE_MS} ms after each change left out), and how many the new slot answered.

| Weight to the new slot | Requests | By the new slot | Share | Failed |
|---:|---:|---:|---:|---:|
${split.join("\n")}

Machine: the test bed on this machine's 2 cores, so the figures include the load of the load helper itself.
`;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
