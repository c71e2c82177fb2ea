// What users feel during a switch, measured on the test bed's data plane (run by scripts/bench-switch.sh).
//
// A steady stream of requests (a new connection each) goes to a Service's ClusterIP while the selector is
// switched, SWITCHES times each way, by `kubectl bluegreen promote` / `abort` and by the hand-run
// `kubectl patch svc` of the tutorial. For every switch: requests sent and failed while it ran, how long the
// command took, and the switch latency: from the selector write (when a watch on the Service sees it) to the
// start of the last request a new connection got answered by the old slot. Prints a Markdown section.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { KUBECONFIG, bluegreenAsync, deleteNamespace, kubectlAsync, newNamespace, waitFor } from "../e2e/lib/cluster.js";
import { Load, type Sample, clusterIP, failed } from "../e2e/lib/dataplane.js";
import { createApp } from "../e2e/lib/layout.js";

const SWITCHES = Number(process.env.BLUEGREEN_BENCH_SWITCHES ?? 10);
const RATE = Number(process.env.BLUEGREEN_BENCH_RATE ?? 100);
const OUT = process.argv[2];

/** Times (ms since the epoch) at which a watch saw the Service's selector change, with the new slot. */
class SelectorWatch {
  readonly changes: { at: number; slot: string }[] = [];
  private child: ChildProcess;
  private last = "";

  constructor(ns: string) {
    this.child = spawn("kubectl", [
      "--kubeconfig",
      KUBECONFIG,
      "get",
      "--raw",
      `/api/v1/namespaces/${ns}/services?watch=1&fieldSelector=metadata.name%3Dbench`,
    ]);
    let pending = "";
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (chunk: string) => {
      const at = Date.now();
      pending += chunk;
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const ev = JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        const slot = ev.object?.spec?.selector?.slot ?? "";
        if (slot !== this.last) {
          if (this.last) this.changes.push({ at, slot });
          this.last = slot;
        }
      }
    });
  }

  stop(): void {
    this.child.kill();
  }
}

interface Switch {
  how: string;
  to: string;
  commandMs: number;
  latencyMs: number;
  sent: number;
  failed: number;
}

// nextWriteAt: the next switch's write; requests after it belong to that switch.
function measure(how: string, to: string, from: string, samples: Sample[], writeAt: number, nextWriteAt: number, start: number, end: number): Switch {
  const during = samples.filter((s) => s.t0 >= start && s.t0 <= end);
  const oldAfter = samples.filter((s) => s.t0 > writeAt && s.t0 < nextWriteAt && s.labels?.slot === from);
  const last = oldAfter.reduce((m, s) => Math.max(m, s.t0), writeAt);
  return { how, to, commandMs: end - start, latencyMs: last - writeAt, sent: during.length, failed: during.filter(failed).length };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function main(): Promise<void> {
  const ns = await newNamespace("bench-switch");
  try {
    await createApp(ns, {
      app: "bench",
      slotLabel: "slot",
      slots: [
        { value: "blue", replicas: 2 },
        { value: "green", replicas: 2 },
      ],
      services: { bench: "blue" },
    });
    const watch = new SelectorWatch(ns);
    const load = Load.start(`http://${clusterIP(ns, "bench")}/`, { rate: RATE });
    process.on("exit", () => watch.stop());
    await load.waitFor(RATE);
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
        await run("kubectl patch svc", to, from, () =>
          kubectlAsync(["patch", "service", "bench", "-n", ns, "-p", JSON.stringify({ spec: { selector: { slot: to } } })]),
        );
      }
    }
    const samples = await load.stop();
    await waitFor("the watch to see every switch", () => watch.changes.length >= runs.length, 10_000, 100);
    watch.stop();
    const switches = runs.map((r, i) =>
      measure(r.how, r.to, r.from, samples, watch.changes[i].at, watch.changes[i + 1]?.at ?? Number.POSITIVE_INFINITY, r.start, r.end),
    );
    writeFileSync(OUT, report(switches, samples));
  } finally {
    deleteNamespace(ns);
  }
}

function report(switches: Switch[], samples: Sample[]): string {
  const rows: string[] = [];
  const groups: [string, string][] = [
    ["kubectl bluegreen promote --to", "green"],
    ["kubectl bluegreen abort", "blue"],
    ["kubectl patch svc", "green"],
    ["kubectl patch svc", "blue"],
  ];
  for (const [how, to] of groups) {
    const g = switches.filter((s) => s.how === how && s.to === to);
    const ms = (x: number) => `${Math.round(x)} ms`;
    rows.push(
      `| \`${how}\` → ${to} | ${g.length} | ${g.reduce((a, s) => a + s.sent, 0)} | **${g.reduce((a, s) => a + s.failed, 0)}** | ${ms(pct(g.map((s) => s.latencyMs), 50))} | ${ms(pct(g.map((s) => s.latencyMs), 99))} | ${ms(pct(g.map((s) => s.commandMs), 50))} |`,
    );
  }
  const total = samples.length;
  const bad = samples.filter(failed).length;
  return `## Switching under load

Produced by \`scripts/bench-switch.sh\` on ${new Date().toISOString().slice(0, 10)}, on the test bed's data plane (real
kube-proxy in nftables mode, pods answered by \`test/testbed/podserver.ts\`): ${RATE} requests a second to the
Service's ClusterIP, a new connection each, from inside the test bed's network namespace, while the selector
switched ${SWITCHES} times each way by each method (\`promote --to green\`, then \`abort\`; then
\`kubectl patch svc\` to green and back). Two pods per slot, both slots always up.

- *Requests* and *failed*: started while the command ran (failed = error, reset, timeout or non-2xx).
- *Switch latency*: from the selector write (a watch on the Service sees it) to the start of the last request a
  new connection got answered by the old slot — how long kube-proxy kept sending new connections the old way.
- *Command*: from start to exit of the command; the plugin's includes its checks, the write, verifying the
  EndpointSlices, \`--propagation-delay\` (2s) and recording the switch.

| Switch | Switches | Requests | Failed | Latency p50 | Latency p99 | Command p50 |
|---|---:|---:|---:|---:|---:|---:|
${rows.join("\n")}

In all, ${total} requests, ${bad} failed. Machine: the test bed on this machine's 2 cores, so the figures include
the load of the load helper itself.
`;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
