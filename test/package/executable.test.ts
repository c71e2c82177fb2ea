// The linux/amd64 executable on this machine, and what its bundles load: --help and version never the API
// client, status with a token nothing of @kubernetes/client-node (scripts/lib/bundle-trace.mjs).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RELEASE, SEA, run, unpack, workDir } from "./lib.js";

const WORK = workDir("executable");
let exe = "";
beforeAll(() => {
  exe = path.join(unpack("linux_amd64", WORK), "kubectl-bluegreen");
});

describe("the linux/amd64 executable", () => {
  it("env -i kubectl-bluegreen version --client (no Node.js, empty environment)", () => {
    const r = run("env", ["-i", exe, "version", "--client"]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain(`v${RELEASE.version}`);
  });

  it("env -i PATH=/nonexistent kubectl-bluegreen --help", () => {
    const r = run("env", ["-i", "PATH=/nonexistent", exe, "--help"]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain("kubectl bluegreen COMMAND [APP] [flags]");
  });

  it("NODE_OPTIONS is ignored (--require of a missing file, a V8 flag): no error, no warning", () => {
    const r = run(exe, ["version", "--client"], { env: { ...process.env, NODE_OPTIONS: "--require /nonexistent.js --max-old-space-size=300" } });
    expect(r.code, r.output).toBe(0);
    expect(r.stderr).toBe("");
  });
});

// Modules bundled for lazy loading only run when a command needs them.
describe("what the CLI bundle loads", () => {
  const BUNDLE = path.join(SEA, "kubectl-bluegreen.cjs");
  const COMMANDS = path.join(SEA, "kubectl-bluegreen-commands.cjs");
  const FULL = path.join(SEA, "kubectl-bluegreen-full.cjs");
  /** The bundled modules the command evaluates (paths, one a line). */
  const traced = (...args: string[]) => {
    const r = run("node", ["scripts/lib/bundle-trace.mjs", BUNDLE, ...args]);
    expect(r.code, r.output).toBe(0);
    return r.stdout.trim().split("\n");
  };
  const loaded = (modules: string[], part: string) => modules.filter((m) => m.includes(part));
  // An address nobody serves: the command fails, but only after it loaded what it needs.
  const unreachable = path.join(WORK, "unreachable.kubeconfig");
  const withExec = path.join(WORK, "exec.kubeconfig");
  const kubeconfig = (user: string) => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: ${user}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]
current-context: c
`;
  beforeAll(() => {
    writeFileSync(unreachable, kubeconfig("{token: t}"));
    writeFileSync(withExec, kubeconfig("{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/false}}"));
  });
  const status = (config: string) => traced("status", "demo", "--kubeconfig", config, "--request-timeout=2s");
  // Two checks read the trace of status with a token: it runs once (each run waits for the refused connection).
  let withToken: string[] | undefined;
  const statusWithToken = () => {
    withToken ??= status(unreachable);
    return withToken;
  };

  it("--help does not load the API client (src/kube/client.ts), nor even the commands' bundle", () => {
    const modules = traced("--help");
    expect(loaded(modules, "src/kube/client.ts")).toEqual([]);
    expect(loaded(modules, "kubectl-bluegreen-commands.cjs")).toEqual([]);
  });

  it("version --client does not load the API client, nor even the commands' bundle", () => {
    const modules = traced("version", "--client");
    expect(loaded(modules, "src/commands/version.ts")).not.toEqual([]);
    expect(loaded(modules, "src/kube/client.ts")).toEqual([]);
    expect(loaded(modules, "kubectl-bluegreen-commands.cjs")).toEqual([]);
  });

  it("status loads the commands' bundle and the API client (the probes work)", () => {
    expect(loaded(statusWithToken(), "kubectl-bluegreen-commands.cjs")).not.toEqual([]);
    expect(loaded(statusWithToken(), "src/kube/client.ts")).not.toEqual([]);
  });

  it("status with a token loads nothing of @kubernetes/client-node", () => {
    expect(loaded(statusWithToken(), "@kubernetes/client-node")).toEqual([]);
  });

  it("status with an exec plugin loads client-node's exec_auth.js", () => {
    expect(loaded(status(withExec), "@kubernetes/client-node/dist/exec_auth.js")).not.toEqual([]);
  });

  // client-node's whole KubeConfig is a bundle of its own (a SEA asset in the executables), never in the CLI's.
  // The bundles are minified in whitespace, so no path comments: what marks them is what survives, the class
  // names (KubeConfig, the generated CoreV1… models) and undici's name. The full bundle has them (the probe works).
  const FULL_CLIENT_MARKS = /KubeConfig=class|CoreV1[A-Za-z]*=class|undici|client-node\/dist\/(gen\/|config\.js)/g;
  const marks = (file: string) => [...new Set(readFileSync(file, "utf8").match(FULL_CLIENT_MARKS) ?? [])];

  it("the full client's bundle holds KubeConfig, the generated models and undici (the check below works)", () => {
    const found = marks(FULL);
    expect(found).toContain("KubeConfig=class");
    expect(found).toContain("undici");
    expect(found.some((m) => m.startsWith("CoreV1"))).toBe(true);
  });

  it("the CLI's bundles hold none of client-node's generated APIs, its KubeConfig or undici", () => {
    expect(marks(BUNDLE)).toEqual([]);
    expect(marks(COMMANDS)).toEqual([]);
  });
});
