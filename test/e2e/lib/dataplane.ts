// The test bed's data plane from the tests: is it there, run a command inside its network namespace, send one
// request to a pod or ClusterIP, and run the load helper (test/testbed/load.ts) while the plugin switches.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EXTERNAL_CLUSTER, REPO_ROOT, TESTBED_DIR, kubectlJson, waitFor } from "./cluster.js";

const TESTBED = path.join(REPO_ROOT, "scripts", "testbed.sh");
const LOAD = path.join(REPO_ROOT, "test", "testbed", "load.ts");

/** Whether the data plane runs, and why not. */
export function dataplane(): { on: boolean; reason: string } {
  if (EXTERNAL_CLUSTER) return { on: false, reason: "BLUEGREEN_E2E_KUBECONFIG points at a cluster that is not the test bed" };
  const file = path.join(TESTBED_DIR, "run", "dataplane.env");
  if (!existsSync(file)) return { on: false, reason: `${file} is missing (is the test bed up?)` };
  const env = Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      // printf %q quotes with backslashes or $'…'; a reason is for people, so unquoting the simple cases is enough.
      .map((m) => [m[1], m[2].replace(/^\$?'(.*)'$/, "$1").replace(/\\(.)/g, "$1")]),
  );
  return env.DATAPLANE === "on" ? { on: true, reason: "" } : { on: false, reason: env.DATAPLANE_REASON || "the test bed runs without it" };
}

/** One HTTP answer from inside the namespace. status 0: no answer (refused, reset, timed out). */
export interface Answer {
  status: number;
  pod?: string;
  namespace?: string;
  labels?: Record<string, string>;
  image?: string;
  /** curl's exit code when there was no answer */
  curlExit?: number;
  ms: number;
}

/** GET url from inside the test bed's namespace, with curl (a new connection), sending these headers (e.g. Host). */
export function get(url: string, timeoutS = 3, headers: Record<string, string> = {}): Answer {
  const t0 = Date.now();
  const h = Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  const r = spawnSync("bash", [TESTBED, "exec", "--", "curl", "-s", ...h, "--max-time", String(timeoutS), "-o", "-", "-w", "\n%{http_code}", url], {
    encoding: "utf8",
    timeout: (timeoutS + 10) * 1000,
  });
  const ms = Date.now() - t0;
  const out = r.stdout ?? "";
  const nl = out.lastIndexOf("\n");
  const status = Number(out.slice(nl + 1)) || 0;
  if (r.status !== 0 || status === 0) return { status: 0, curlExit: r.status ?? -1, ms };
  try {
    return { status, ...JSON.parse(out.slice(0, nl)), ms };
  } catch {
    return { status, ms };
  }
}

/** The ClusterIP of a Service. */
export function clusterIP(ns: string, svc: string): string {
  return kubectlJson(["get", "service", svc, "-n", ns]).spec.clusterIP;
}

/** A request the load helper sent: times in ms since the epoch. */
export interface Sample {
  t0: number;
  t1: number;
  conn: number;
  connT0: number;
  status: number;
  pod?: string;
  labels?: Record<string, string>;
  error?: string;
}

export const failed = (s: Sample) => s.error !== undefined || s.status < 200 || s.status > 299;

/** The load helper, running inside the namespace; stop() ends it and returns every request it made. */
export class Load {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly exited: Promise<void>,
  ) {}

  /** host: the Host header every request sends (for a gateway's host-based routes). */
  static start(url: string, o: { rate?: number; keepalive?: number; connRequests?: number; host?: string } = {}): Load {
    const dir = mkdtempSync(path.join(tmpdir(), "bluegreen-load-"));
    const args = [TESTBED, "exec", "--", process.execPath, LOAD, "--stdin", "--url", url, "--out", path.join(dir, "samples.ndjson"), "--rate", String(o.rate ?? 50)];
    if (o.keepalive) args.push("--keepalive", String(o.keepalive), "--conn-requests", String(o.connRequests ?? 20));
    if (o.host) args.push("--host", o.host);
    // testbed.sh exec replaces itself with the command, so the child's pid is the load helper's. Its stdin is
    // a pipe from this process: when this process ends, however it ends, the helper stops too.
    const child = spawn("bash", args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    exited.then(() => {
      if (stderr && !/^load: \d+ requests/.test(stderr)) console.error(stderr);
    });
    return new Load(child, dir, exited);
  }

  /** The requests answered (or failed) so far. */
  samples(): Sample[] {
    const file = path.join(this.dir, "samples.ndjson");
    if (!existsSync(file)) return [];
    const lines = readFileSync(file, "utf8").split("\n");
    lines.pop(); // the last line may be partly written; a complete file ends with "\n", so this drops ""
    return lines.map((l) => JSON.parse(l) as Sample);
  }

  /** Waits until n requests that started after `after` (ms since the epoch) are done. */
  async waitFor(n: number, after = 0): Promise<void> {
    await waitFor(`${n} requests of the load after ${new Date(after).toISOString()}`, () => this.samples().filter((s) => s.t0 > after).length >= n, 60_000, 100);
  }

  async stop(): Promise<Sample[]> {
    this.child.kill("SIGTERM");
    await this.exited;
    const all = this.samples();
    rmSync(this.dir, { recursive: true, force: true });
    return all;
  }
}

/** A readable summary of requests, for assertion messages. */
export function describeSamples(samples: Sample[], slotLabel: string): string {
  return samples
    .slice(0, 20)
    .map((s) => `${new Date(s.t0).toISOString()} conn ${s.conn} → ${s.status} ${s.labels?.[slotLabel] ?? "-"} ${s.error ?? ""}`)
    .join("\n");
}
