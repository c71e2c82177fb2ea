// The plugin reads the kubeconfig exactly as kubectl does: for each situation, kubectl and the plugin run
// with the same files and environment, and must pick the same context, cluster, user and namespace.
//
// Who answered is seen through permissions: `promote --to v2 --dry-run=server` is allowed to the admin
// (exit 0, nothing changes) and forbidden to the viewer (exit 7), like `kubectl auth can-i patch services`;
// `status` (a read) works for both but not anonymously. Every generated context points at the test's
// namespace, so the plugin runs without -n and an app found proves the namespace came from the context.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { ADMIN_CONTEXT, EXTERNAL_CLUSTER, type RunResult, VIEWER_CONTEXT, bluegreen, kubectlJson } from "./lib/cluster.js";

const ns = testNamespaces();
const dir = mkdtempSync(path.join(tmpdir(), "bluegreen-e2e-kubeconfig-"));
/** An empty home: no ~/.kube/config unless a test says so. */
const emptyHome = path.join(dir, "home");
mkdirSync(emptyHome);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: kubeconfig stanzas as JSON.
type Stanza = any;
/** The cluster and user of a test bed context, with data inlined (kubectl config view --raw --minify). */
function stanzas(context: string): { cluster: Stanza; user: Stanza } {
  const raw = kubectlJson(["config", "view", "--raw", "--minify"], { context });
  return { cluster: raw.clusters[0].cluster, user: raw.users[0].user };
}

/** Writes a kubeconfig (JSON is YAML) under the temp dir and returns its path. */
function kubeconfigFile(name: string, doc: { clusters?: Stanza; users?: Stanza; contexts?: Stanza; "current-context"?: string }): string {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, JSON.stringify({ apiVersion: "v1", kind: "Config", ...doc }));
  return p;
}

interface Situation {
  /** KUBECONFIG; "" leaves it empty (unset for kubectl and the plugin alike). */
  kubeconfig: string;
  /** Extra flags, for both: --context, --cluster, --user, --kubeconfig. */
  flags?: string[];
  home?: string;
}

// bin/kubectl-bluegreen finds the pinned Node.js under ~/.cache: keep it there when HOME changes.
const cache = process.env.BLUEGREEN_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "kubectl-bluegreen");

function envOf(s: Situation): Record<string, string> {
  // No in-cluster fallback either: the test runner might itself run in a pod.
  return { KUBECONFIG: s.kubeconfig, HOME: s.home ?? emptyHome, KUBERNETES_SERVICE_HOST: "", BLUEGREEN_CACHE: cache };
}

/** kubectl ARGS in the situation (no --kubeconfig or --context of its own). */
function kubectlIn(s: Situation, args: string[]): RunResult {
  const r: SpawnSyncReturns<string> = spawnSync("kubectl", [...(s.flags ?? []), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...envOf(s) },
    timeout: 60_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** kubectl bluegreen ARGS in the situation. */
function pluginIn(s: Situation, args: string[]): RunResult {
  return bluegreen([...args, ...(s.flags ?? [])], { context: "", kubeconfig: s.kubeconfig, env: envOf(s) });
}

/** What kubectl says in the situation: current context, user, whether it may patch Services. */
function kubectlSees(s: Situation): { context: string; user: string; canPatch: boolean } {
  const ctx = kubectlIn(s, ["config", "current-context"]);
  const who = kubectlIn(s, ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
  expect(who.code, who.stderr).toBe(0);
  const can = kubectlIn(s, ["auth", "can-i", "patch", "services"]);
  return { context: ctx.code === 0 ? ctx.stdout.trim() : "", user: who.stdout.trim(), canPatch: can.code === 0 };
}

/** The plugin's verdict in the situation: status exit code and namespace, and whether a server dry-run promote may write. */
function pluginSees(s: Situation): { statusCode: number; namespace?: string; canPatch: boolean } {
  const st = pluginIn(s, ["status", "myapp", "-o", "json"]);
  const promote = pluginIn(s, ["promote", "myapp", "--to", "v2", "--dry-run=server"]);
  expect([0, 7], `promote: ${promote.stderr}`).toContain(promote.code);
  return { statusCode: st.code, namespace: st.code === 0 ? JSON.parse(st.stdout).items[0]?.namespace : undefined, canPatch: promote.code === 0 };
}

/** A port on 127.0.0.1 nobody listens on: bound, then closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** stderr is exactly one sentence and a hint line. */
function oneSentence(stderr: string): void {
  const lines = stderr.trimEnd().split("\n");
  expect(lines.length, stderr).toBe(2);
  expect(lines[0]).toMatch(/^error: .+\.$/);
}

describe.skipIf(EXTERNAL_CLUSTER)("kubeconfig: the plugin uses what kubectl uses", () => {
  let n = "";
  let admin: { cluster: Stanza; user: Stanza };
  let viewer: { cluster: Stanza; user: Stanza };
  // a.yaml: current context "viewer"; b.yaml: current context "admin". Both name their cluster "testbed".
  let a = "";
  let b = "";

  beforeAll(async () => {
    n = await ns("kc");
    await createApp(n);
    admin = stanzas(ADMIN_CONTEXT);
    viewer = stanzas(VIEWER_CONTEXT);
    a = kubeconfigFile("a.yaml", {
      clusters: [{ name: "testbed", cluster: viewer.cluster }],
      users: [{ name: "viewer", user: viewer.user }],
      contexts: [{ name: "viewer", context: { cluster: "testbed", user: "viewer", namespace: n } }],
      "current-context": "viewer",
    });
    b = kubeconfigFile("b.yaml", {
      clusters: [{ name: "testbed", cluster: admin.cluster }],
      users: [{ name: "admin", user: admin.user }],
      contexts: [{ name: "admin", context: { cluster: "testbed", user: "admin", namespace: n } }],
      "current-context": "admin",
    });
  });

  it("KUBECONFIG=a:b: the first file's current context wins (a write is forbidden, as for kubectl)", () => {
    const ab: Situation = { kubeconfig: `${a}:${b}` };
    expect(kubectlSees(ab)).toEqual({ context: "viewer", user: "viewer", canPatch: false });
    expect(pluginSees(ab)).toEqual({ statusCode: 0, namespace: n, canPatch: false });
    const ba: Situation = { kubeconfig: `${b}:${a}` };
    expect(kubectlSees(ba)).toMatchObject({ context: "admin", canPatch: true });
    expect(pluginSees(ba)).toEqual({ statusCode: 0, namespace: n, canPatch: true });
  });

  it("the same cluster, user and context names in both files: the first file's win, no error", () => {
    const same = (name: string, who: { cluster: Stanza; user: Stanza }) =>
      kubeconfigFile(name, {
        clusters: [{ name: "shared", cluster: who.cluster }],
        users: [{ name: "me", user: who.user }],
        contexts: [{ name: "ctx", context: { cluster: "shared", user: "me", namespace: n } }],
        "current-context": "ctx",
      });
    const asViewer = same("same-viewer.yaml", viewer);
    const asAdmin = same("same-admin.yaml", admin);
    const vFirst: Situation = { kubeconfig: `${asViewer}:${asAdmin}` };
    expect(kubectlSees(vFirst)).toEqual({ context: "ctx", user: "viewer", canPatch: false });
    expect(pluginSees(vFirst)).toEqual({ statusCode: 0, namespace: n, canPatch: false });
    const aFirst: Situation = { kubeconfig: `${asAdmin}:${asViewer}` };
    expect(kubectlSees(aFirst)).toMatchObject({ context: "ctx", canPatch: true });
    expect(pluginSees(aFirst)).toEqual({ statusCode: 0, namespace: n, canPatch: true });
  });

  it("a missing file in the list is skipped, and so are empty entries", () => {
    const s: Situation = { kubeconfig: `${path.join(dir, "missing.yaml")}::${a}:${b}` };
    expect(kubectlSees(s)).toEqual({ context: "viewer", user: "viewer", canPatch: false });
    expect(pluginSees(s)).toEqual({ statusCode: 0, namespace: n, canPatch: false });
  });

  it("every file of KUBECONFIG missing: exit 3, one sentence (kubectl fails too)", () => {
    const m1 = path.join(dir, "gone-1.yaml");
    const m2 = path.join(dir, "gone-2.yaml");
    const s: Situation = { kubeconfig: `${m1}:${m2}` };
    expect(kubectlIn(s, ["auth", "whoami"]).code).not.toBe(0);
    const r = pluginIn(s, ["status", "myapp"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `error: no kubeconfig found: no file of KUBECONFIG exists (${m1}, ${m2}).\nPoint KUBECONFIG or --kubeconfig at a kubeconfig file, or create ~/.kube/config.\n`,
    );
    oneSentence(r.stderr);
  });

  it("--kubeconfig FILE alone: it must exist (exit 3), and KUBECONFIG is then ignored", () => {
    const gone = path.join(dir, "gone.yaml");
    const missing: Situation = { kubeconfig: `${a}:${b}`, flags: ["--kubeconfig", gone] };
    const k = kubectlIn(missing, ["auth", "whoami"]);
    expect(k.code).not.toBe(0);
    expect(k.stderr).toContain("no such file or directory");
    const r = pluginIn(missing, ["status", "myapp"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`error: kubeconfig file ${gone} does not exist.\nCheck --kubeconfig.\n`);
    const explicit: Situation = { kubeconfig: `${a}:${b}`, flags: ["--kubeconfig", b] };
    expect(kubectlSees(explicit)).toMatchObject({ context: "admin", canPatch: true });
    expect(pluginSees(explicit)).toEqual({ statusCode: 0, namespace: n, canPatch: true });
  });

  it("no kubeconfig at all (empty HOME, no KUBECONFIG): exit 3, one sentence", () => {
    const none: Situation = { kubeconfig: "" };
    const k = kubectlIn(none, ["config", "current-context"]);
    expect(k.code).not.toBe(0);
    const r = pluginIn(none, ["status", "myapp"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `error: no kubeconfig found: ${path.join(emptyHome, ".kube", "config")} does not exist and KUBECONFIG is not set.\nPoint KUBECONFIG or --kubeconfig at a kubeconfig file, or create ~/.kube/config.\n`,
    );
    oneSentence(r.stderr);
  });

  it("~/.kube/config when KUBECONFIG is not set", () => {
    const home = path.join(dir, "home-with-config");
    mkdirSync(path.join(home, ".kube"), { recursive: true });
    writeFileSync(path.join(home, ".kube", "config"), JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "testbed", cluster: admin.cluster }], users: [{ name: "admin", user: admin.user }], contexts: [{ name: "home", context: { cluster: "testbed", user: "admin", namespace: n } }], "current-context": "home" }));
    const s: Situation = { kubeconfig: "", home };
    expect(kubectlSees(s)).toMatchObject({ context: "home", canPatch: true });
    expect(pluginSees(s)).toEqual({ statusCode: 0, namespace: n, canPatch: true });
  });

  describe("--context, --cluster, --user", () => {
    // current-context "dead" points at a cluster nobody answers on; the flags pick working parts.
    let multi = "";
    let dead = 0;
    beforeAll(async () => {
      dead = await closedPort();
      multi = kubeconfigFile("multi.yaml", {
        clusters: [
          { name: "testbed", cluster: admin.cluster },
          { name: "dead", cluster: { ...admin.cluster, server: `https://127.0.0.1:${dead}` } },
        ],
        users: [
          { name: "admin", user: admin.user },
          { name: "viewer", user: viewer.user },
        ],
        contexts: [
          { name: "admin", context: { cluster: "testbed", user: "admin", namespace: n } },
          { name: "viewer", context: { cluster: "testbed", user: "viewer", namespace: n } },
          { name: "dead", context: { cluster: "dead", user: "admin", namespace: n } },
        ],
        "current-context": "dead",
      });
    });
    const s = (...flags: string[]): Situation => ({ kubeconfig: multi, flags });

    it("the current context's cluster does not answer: exit 8 (kubectl fails too)", () => {
      expect(kubectlIn(s(), ["auth", "whoami"]).code).not.toBe(0);
      const r = pluginIn(s(), ["status", "myapp"]);
      expect(r.code).toBe(8);
      expect(r.stderr).toMatch(new RegExp(`^error: list (deployments|services|replicasets): cannot reach the cluster at https://127\\.0\\.0\\.1:${dead}: ECONNREFUSED`));
    });

    it("--cluster replaces the context's cluster", () => {
      expect(kubectlSees(s("--cluster", "testbed"))).toMatchObject({ canPatch: true });
      expect(pluginSees(s("--cluster", "testbed"))).toEqual({ statusCode: 0, namespace: n, canPatch: true });
    });

    it("--context picks another context", () => {
      expect(kubectlSees(s("--context", "viewer"))).toMatchObject({ user: "viewer", canPatch: false });
      expect(pluginSees(s("--context", "viewer"))).toEqual({ statusCode: 0, namespace: n, canPatch: false });
    });

    it("--user replaces the context's user, both ways", () => {
      expect(kubectlSees(s("--context", "admin", "--user", "viewer"))).toMatchObject({ user: "viewer", canPatch: false });
      expect(pluginSees(s("--context", "admin", "--user", "viewer"))).toEqual({ statusCode: 0, namespace: n, canPatch: false });
      expect(kubectlSees(s("--context", "viewer", "--user", "admin"))).toMatchObject({ canPatch: true });
      expect(pluginSees(s("--context", "viewer", "--user", "admin"))).toEqual({ statusCode: 0, namespace: n, canPatch: true });
    });

    it("names the kubeconfig does not have: exit 3 (kubectl refuses them too)", () => {
      for (const [flag, name, sentence] of [
        ["--context", "nope", 'context "nope" does not exist in the kubeconfig.\nList contexts with kubectl config get-contexts.'],
        ["--cluster", "nope", 'cluster "nope" does not exist in the kubeconfig.\nList clusters with kubectl config get-clusters.'],
        ["--user", "nope", 'user "nope" does not exist in the kubeconfig.\nList users with kubectl config get-users.'],
      ] as const) {
        const k = kubectlIn(s("--context", "admin", flag, name), ["auth", "whoami"]);
        expect(k.code, `kubectl ${flag}`).not.toBe(0);
        expect(k.stderr).toContain('"nope" does not exist');
        // --context twice names two contexts for status (each read), so --context is tried alone.
        const r = pluginIn(flag === "--context" ? s(flag, name) : s("--context", "admin", flag, name), ["status", "myapp"]);
        expect([r.code, r.stderr]).toEqual([3, `error: ${sentence}\n`]);
      }
    });
  });

  it("tokenFile, relative to the kubeconfig's directory (client-node alone ignores it)", () => {
    const token: string | undefined = viewer.user.token;
    expect(token, "the viewer context authenticates with a token").toBeTruthy();
    const home = path.join(dir, "token-file");
    mkdirSync(path.join(home, "secrets"), { recursive: true });
    writeFileSync(path.join(home, "secrets", "viewer.token"), `${token}\n`);
    const kc = kubeconfigFile("token-file/kubeconfig.yaml", {
      clusters: [{ name: "testbed", cluster: viewer.cluster }],
      users: [{ name: "by-file", user: { tokenFile: "secrets/viewer.token" } }],
      contexts: [{ name: "by-file", context: { cluster: "testbed", user: "by-file", namespace: n } }],
      "current-context": "by-file",
    });
    const s: Situation = { kubeconfig: kc };
    expect(kubectlSees(s)).toEqual({ context: "by-file", user: "viewer", canPatch: false });
    // status works, so the token was sent (anonymous requests are forbidden); the write is not allowed.
    expect(pluginSees(s)).toEqual({ statusCode: 0, namespace: n, canPatch: false });
  });

  it("certificate files and an exec plugin path relative to the kubeconfig's directory", () => {
    const base = path.join(dir, "relative");
    mkdirSync(path.join(base, "pki"), { recursive: true });
    mkdirSync(path.join(base, "bin"), { recursive: true });
    const decode = (b64: string) => Buffer.from(b64, "base64");
    expect(admin.user["client-certificate-data"], "the admin context authenticates with a client certificate").toBeTruthy();
    writeFileSync(path.join(base, "pki", "ca.crt"), decode(admin.cluster["certificate-authority-data"]));
    writeFileSync(path.join(base, "pki", "admin.crt"), decode(admin.user["client-certificate-data"]));
    writeFileSync(path.join(base, "pki", "admin.key"), decode(admin.user["client-key-data"]));
    const plugin = path.join(base, "bin", "token.sh");
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${viewer.user.token}"}}'\n`);
    chmodSync(plugin, 0o755);
    const { "certificate-authority-data": _, ...server } = admin.cluster;
    const kc = kubeconfigFile("relative/kubeconfig.yaml", {
      clusters: [{ name: "testbed", cluster: { ...server, "certificate-authority": "pki/ca.crt" } }],
      users: [
        { name: "cert", user: { "client-certificate": "pki/admin.crt", "client-key": "./pki/admin.key" } },
        { name: "exec", user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "./bin/token.sh", interactiveMode: "Never" } } },
      ],
      contexts: [
        { name: "cert", context: { cluster: "testbed", user: "cert", namespace: n } },
        { name: "exec", context: { cluster: "testbed", user: "exec", namespace: n } },
      ],
      "current-context": "cert",
    });
    // Run from another directory: the paths must resolve against the kubeconfig's, not the working one.
    const cert: Situation = { kubeconfig: kc };
    expect(kubectlSees(cert)).toMatchObject({ context: "cert", canPatch: true });
    expect(pluginSees(cert)).toEqual({ statusCode: 0, namespace: n, canPatch: true });
    const exec: Situation = { kubeconfig: kc, flags: ["--context", "exec"] };
    expect(kubectlSees(exec)).toMatchObject({ user: "viewer", canPatch: false });
    expect(pluginSees(exec)).toEqual({ statusCode: 0, namespace: n, canPatch: false });
  });
});
