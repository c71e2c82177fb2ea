// What the data-plane benchmarks (bench-switch.ts, bench-canary.ts) share: the app behind slot Services, a watch on
// one object that times each change, and percentiles.
import { type ChildProcess, spawn } from "node:child_process";
import { KUBECONFIG } from "../e2e/lib/cluster.js";
import { createApp } from "../e2e/lib/layout.js";

/** App "bench" with slots blue and green (slot label "slot", two pods each) and, when asked, Service bench on blue. */
export async function createBenchApp(ns: string, selectorService: boolean): Promise<void> {
  await createApp(ns, {
    app: "bench",
    slotLabel: "slot",
    slots: [
      { value: "blue", replicas: 2 },
      { value: "green", replicas: 2 },
    ],
    services: selectorService ? { bench: "blue" } : {},
  });
}

/** Slot Services bench-blue and bench-green (port 80 → the pods' 8080), as YAML documents. */
export const slotServicesYaml = (): string =>
  ["blue", "green"]
    .map((c) => `apiVersion: v1\nkind: Service\nmetadata: { name: bench-${c} }\nspec: { selector: { app: bench, slot: ${c} }, ports: [{ port: 80, targetPort: 8080 }] }\n`)
    .join("---\n");

/**
 * Watches the objects at a watch path (`kubectl get --raw PATH?watch=1…`) and records when what `key` reads from the
 * object changes (the first value is where it starts, not a change).
 */
export class Watch<T> {
  readonly changes: { at: number; value: T }[] = [];
  private child: ChildProcess;

  constructor(watchPath: string, key: (o: unknown) => T) {
    this.child = spawn("kubectl", ["--kubeconfig", KUBECONFIG, "get", "--raw", watchPath]);
    let pending = "";
    let last: string | undefined;
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (chunk: string) => {
      const at = Date.now();
      pending += chunk;
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const ev = JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        const value = key(ev.object);
        const text = JSON.stringify(value);
        if (text !== last) {
          if (last !== undefined) this.changes.push({ at, value });
          last = text;
        }
      }
    });
    process.on("exit", () => this.stop());
  }

  stop(): void {
    this.child.kill();
  }
}

/** The p-th percentile (nearest rank) of xs; 0 for none. */
export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};
