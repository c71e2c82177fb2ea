// Helpers shared by every end-to-end test: run kubectl and the plugin against the test bed
// (scripts/testbed.sh up), make throw-away namespaces, and wait for the cluster to converge.
//
// Environment:
//   BLUEGREEN_E2E_KUBECONFIG        kubeconfig to test against (default: <test bed dir>/kubeconfig)
//   BLUEGREEN_TESTBED_DIR           the test bed's state dir (default: <repo>/.testbed)
//   BLUEGREEN_E2E_ADMIN_CONTEXT     context with full rights (default "admin")
//   BLUEGREEN_E2E_VIEWER_CONTEXT    context allowed only get/list/watch on deployments, replicasets, services,
//                                   endpointslices (default "viewer")
//   BLUEGREEN_E2E_PLUGIN_DIR        folder holding the kubectl-bluegreen executable (default: <repo>/bin)
import { type ChildProcessWithoutNullStreams, type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: this file is <repo>/test/e2e/lib/cluster.ts (BLUEGREEN_ROOT when it runs bundled elsewhere). */
export const REPO_ROOT: string = process.env.BLUEGREEN_ROOT || path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The test bed's state dir (certificates, logs, kubeconfig). */
export const TESTBED_DIR: string = path.resolve(process.env.BLUEGREEN_TESTBED_DIR || path.join(REPO_ROOT, ".testbed"));

/** True when the tests run against a cluster given by BLUEGREEN_E2E_KUBECONFIG rather than the test bed. */
export const EXTERNAL_CLUSTER: boolean = Boolean(process.env.BLUEGREEN_E2E_KUBECONFIG);

export const KUBECONFIG: string = path.resolve(process.env.BLUEGREEN_E2E_KUBECONFIG || path.join(TESTBED_DIR, "kubeconfig"));
export const ADMIN_CONTEXT: string = process.env.BLUEGREEN_E2E_ADMIN_CONTEXT ?? "admin";
export const VIEWER_CONTEXT: string = process.env.BLUEGREEN_E2E_VIEWER_CONTEXT ?? "viewer";
/** Where `kubectl bluegreen` is found by kubectl's plugin discovery. */
export const PLUGIN_DIR: string = path.resolve(process.env.BLUEGREEN_E2E_PLUGIN_DIR || path.join(REPO_ROOT, "bin"));

/** Label put on every namespace made by newNamespace, to find leftovers: kubectl delete ns -l bluegreen-e2e=true */
export const E2E_LABEL = "bluegreen-e2e";

const TIMEOUT_MS = 120_000;
const MAX_BUFFER = 256 * 1024 * 1024;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** kubeconfig context; default ADMIN_CONTEXT. "" leaves --context out (the kubeconfig's current context). */
  context?: string;
  /** stdin */
  input?: string;
  /** extra environment variables */
  env?: Record<string, string>;
  /** kubeconfig file (e.g. a fault proxy's); default KUBECONFIG */
  kubeconfig?: string;
}

export interface BluegreenOptions extends KubectlOptions {
  /** passed as `-n <namespace>` after the arguments */
  namespace?: string;
  /** kubeconfig file, given to the plugin as the KUBECONFIG environment variable; default KUBECONFIG */
  kubeconfig?: string;
}

function contextArgs(context: string | undefined): string[] {
  const ctx = context ?? ADMIN_CONTEXT;
  return ctx === "" ? [] : ["--context", ctx];
}

// A spawnSync result as a RunResult: a failure to start or a timeout becomes a non-zero code with the reason in stderr.
export function toResult(r: SpawnSyncReturns<string>, what: string): RunResult {
  let stderr = r.stderr ?? "";
  let code = r.status ?? 1;
  if (r.error) {
    stderr += `${stderr && !stderr.endsWith("\n") ? "\n" : ""}${what}: ${r.error.message}\n`;
    code = code === 0 ? 1 : code;
  } else if (r.signal) {
    stderr += `${what}: killed by ${r.signal}\n`;
    code = 128;
  }
  return { code, stdout: r.stdout ?? "", stderr };
}

/** The kubeconfig kubectl (and so every layout helper) uses when a call names none: see onCluster. */
let currentKubeconfig = KUBECONFIG;

/**
 * Runs fn with kubectl, and so the layout helpers, on another cluster (its kubeconfig, with an admin context like the
 * test bed's). Tests in a file run one after another, so nothing else runs in between.
 */
export async function onCluster<T>(kubeconfig: string, fn: () => Promise<T> | T): Promise<T> {
  const before = currentKubeconfig;
  currentKubeconfig = kubeconfig;
  try {
    return await fn();
  } finally {
    currentKubeconfig = before;
  }
}

function kubectlArgs(args: string[], opts: KubectlOptions): string[] {
  return ["--kubeconfig", opts.kubeconfig ?? currentKubeconfig, ...contextArgs(opts.context), ...args];
}

/** kubectl --kubeconfig KUBECONFIG --context <ctx> ...args. Never throws on a non-zero exit. */
export function kubectl(args: string[], opts: KubectlOptions = {}): RunResult {
  const full = kubectlArgs(args, opts);
  const r = spawnSync("kubectl", full, {
    encoding: "utf8",
    input: opts.input,
    env: { ...process.env, ...opts.env },
    timeout: TIMEOUT_MS,
    maxBuffer: MAX_BUFFER,
  });
  return toResult(r, `kubectl ${args.join(" ")}`);
}

/** Like kubectl, but throws (with stderr) on a non-zero exit; returns stdout. */
export function kubectlOk(args: string[], opts: KubectlOptions = {}): string {
  const r = kubectl(args, opts);
  if (r.code !== 0) {
    throw new Error(`kubectl ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

/** kubectl ... -o json, parsed. Throws on a non-zero exit. */
// biome-ignore lint/suspicious/noExplicitAny: callers pick the shape they need.
export function kubectlJson<T = any>(args: string[], opts: KubectlOptions = {}): T {
  return JSON.parse(kubectlOk([...args, "-o", "json"], opts)) as T;
}

/**
 * Writes a kubeconfig with one context, NAME (the current one), for this user on the test bed's cluster in
 * namespace ns; returns its path. The user entry is a kubeconfig user: { token }, { exec: … }.
 */
export function kubeconfigFor(name: string, user: Record<string, unknown>, ns: string): string {
  const cluster = kubectlJson(["config", "view", "--raw", "--minify"]).clusters[0].cluster;
  const file = path.join(tmpdir(), `bluegreen-${name}-${ns}-${process.pid}.yaml`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster }],
      users: [{ name, user }],
      contexts: [{ name, context: { cluster: "c", user: name, namespace: ns } }],
      "current-context": name,
    }),
  );
  return file;
}

/** kubectl apply -n <namespace> -f - <yaml> as the admin. Throws on failure. */
export function apply(namespace: string, yaml: string): void {
  kubectlOk(["apply", "-n", namespace, "-f", "-"], { input: yaml });
}

/** Makes a namespace named <prefix>-<random>, waits for its default ServiceAccount (pods are refused before), returns the name. */
export async function newNamespace(prefix: string): Promise<string> {
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50);
  const name = `${base || "e2e"}-${randomBytes(3).toString("hex")}`;
  kubectlOk(["create", "namespace", name]);
  kubectlOk(["label", "namespace", name, `${E2E_LABEL}=true`]);
  await waitFor(`ServiceAccount default in namespace ${name}`, () => kubectl(["get", "serviceaccount", "default", "-n", name]).code === 0);
  return name;
}

/** Deletes a namespace without waiting for it to be gone. Never throws. */
export function deleteNamespace(ns: string): void {
  kubectl(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"]);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls fn every intervalMs until it returns something other than undefined, null or false, and returns that.
 * Errors thrown by fn count as "not yet" (the last one is quoted on timeout).
 * Throws "timed out waiting for <what>" after timeoutMs.
 */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})` : "";
      throw new Error(`timed out waiting for ${what} after ${timeoutMs} ms${why}`);
    }
    await sleep(intervalMs);
  }
}

// The plugin's command line and environment, shared by bluegreen and bluegreenAsync.
function pluginInvocation(args: string[], opts: BluegreenOptions): { argv: string[]; env: NodeJS.ProcessEnv } {
  const argv = ["bluegreen", ...args, ...contextArgs(opts.context)];
  if (opts.namespace !== undefined) argv.push("-n", opts.namespace);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${PLUGIN_DIR}${path.delimiter}${process.env.PATH ?? ""}`,
    KUBECONFIG: opts.kubeconfig ?? KUBECONFIG,
    NO_COLOR: "1",
    LC_ALL: "C.UTF-8", // the tests read "→" whatever the runner's locale; a test that wants another one says so
    ...opts.env,
  };
  return { argv, env };
}

/**
 * Runs `kubectl bluegreen ...args --context <ctx> [-n <namespace>]` through kubectl's own plugin discovery
 * (PLUGIN_DIR first on PATH), with KUBECONFIG and NO_COLOR=1 in the environment. Never throws on a non-zero exit.
 */
export function bluegreen(args: string[], opts: BluegreenOptions = {}): RunResult {
  const { argv, env } = pluginInvocation(args, opts);
  const r = spawnSync("kubectl", argv, {
    encoding: "utf8",
    input: opts.input,
    env,
    timeout: TIMEOUT_MS,
    maxBuffer: MAX_BUFFER,
  });
  return toResult(r, `kubectl ${argv.join(" ")}`);
}

/** A process started by the tests: the child itself, and its outcome. */
export interface RunningProcess {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when the process has exited and its output is closed. Never rejects. */
  done: Promise<RunResult>;
}

// Spawns cmd, collects its output and kills it (SIGKILL) after TIMEOUT_MS. detached: the child leads its own
// process group, so a signal to -pid reaches it and whatever it started.
function spawnCollect(cmd: string, argv: string[], env: NodeJS.ProcessEnv, input: string | undefined, detached = false): RunningProcess {
  const what = `${path.basename(cmd)} ${argv.join(" ")}`;
  const child = spawn(cmd, argv, { env, stdio: ["pipe", "pipe", "pipe"], detached });
  const done = new Promise<RunResult>((resolve) => {
    let stdout = "";
    let stderr = "";
    let settled = false;
    const finish = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      stderr += `${what}: timed out after ${TIMEOUT_MS} ms\n`;
      child.kill("SIGKILL");
    }, TIMEOUT_MS);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", (e) => finish({ code: 1, stdout, stderr: `${stderr}${what}: ${e.message}\n` }));
    child.on("close", (code, signal) => finish({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on("error", () => {}); // the process may exit without reading stdin
    child.stdin.end(input ?? "");
  });
  return { child, done };
}

/** bluegreen, asynchronously (for tests that run several at once). Never rejects. */
export function bluegreenAsync(args: string[], opts: BluegreenOptions = {}): Promise<RunResult> {
  const { argv, env } = pluginInvocation(args, opts);
  return spawnCollect("kubectl", argv, env, opts.input).done;
}

/**
 * The plugin executable (PLUGIN_DIR/kubectl-bluegreen ...args --context <ctx> [-n <namespace>]) started directly,
 * not through kubectl, in its own process group: child.pid is the plugin's node process (the launcher script execs
 * node), so kill("SIGKILL") ends the plugin itself mid-work, with no kubectl in between to outlive it.
 */
export function bluegreenChild(args: string[], opts: BluegreenOptions = {}): RunningProcess & { kill(signal?: NodeJS.Signals): void } {
  const { argv, env } = pluginInvocation(args, opts);
  const running = spawnCollect(path.join(PLUGIN_DIR, "kubectl-bluegreen"), argv.slice(1), env, opts.input, true);
  const kill = (signal: NodeJS.Signals = "SIGKILL") => {
    const pid = running.child.pid;
    if (pid === undefined || running.child.exitCode !== null || running.child.signalCode !== null) return;
    try {
      process.kill(-pid, signal); // the whole group: the plugin and anything it started
    } catch {
      running.child.kill(signal);
    }
  };
  return { ...running, kill };
}

/**
 * kubectl, asynchronously. Use it for anything that goes through a fault proxy running in this process: the
 * synchronous kubectl() blocks the event loop the proxy answers on. Never rejects.
 */
export function kubectlAsync(args: string[], opts: KubectlOptions = {}): Promise<RunResult> {
  return spawnCollect("kubectl", kubectlArgs(args, opts), { ...process.env, ...opts.env }, opts.input).done;
}

/**
 * Throws a clear error when no cluster is reachable (call it in beforeAll): names the command that starts the test bed.
 */
export function requireCluster(): void {
  if (!existsSync(KUBECONFIG)) {
    throw new Error(`no kubeconfig at ${KUBECONFIG}: start the test bed with scripts/testbed.sh up (or set BLUEGREEN_E2E_KUBECONFIG)`);
  }
  const r = kubectl(["get", "--raw", "/readyz"]);
  if (r.code !== 0) {
    throw new Error(`the cluster in ${KUBECONFIG} is not ready (${r.stderr.trim()}): run scripts/testbed.sh up (status: scripts/testbed.sh status)`);
  }
}

/**
 * Waits until Deployment <name> has rolled out completely: the controller saw the latest spec and
 * updated, ready and available replicas all equal spec.replicas with no old pods left. Returns the Deployment.
 */
// biome-ignore lint/suspicious/noExplicitAny: a Deployment as JSON.
export async function waitForRollout(ns: string, name: string, timeoutMs = 90_000): Promise<any> {
  return waitFor(
    `Deployment ${ns}/${name} to roll out`,
    () => {
      const d = kubectlJson(["get", "deployment", name, "-n", ns]);
      const want = d.spec?.replicas ?? 1;
      const s = d.status ?? {};
      const done =
        (s.observedGeneration ?? 0) >= d.metadata.generation &&
        (s.updatedReplicas ?? 0) === want &&
        (s.readyReplicas ?? 0) === want &&
        (s.availableReplicas ?? 0) === want &&
        (s.replicas ?? 0) === want;
      return done ? d : undefined;
    },
    timeoutMs,
  );
}

/** Stops the test bed's controller-manager (EndpointSlices stop following selectors) while fn runs. */
export async function withControllerManagerStopped<T>(fn: () => Promise<T>): Promise<T> {
  const pid = Number(readFileSync(path.join(TESTBED_DIR, "run", "kube-controller-manager.pid"), "utf8").trim());
  process.kill(pid, "SIGSTOP");
  try {
    return await fn();
  } finally {
    process.kill(pid, "SIGCONT");
  }
}
