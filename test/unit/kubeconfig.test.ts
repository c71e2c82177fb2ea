// kubectl's kubeconfig rules (client-go tools/clientcmd), checked on real files in a temp dir.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BlueGreenError, ExitCode } from "../../src/errors.js";
import { select } from "../../src/kube/client.js";
import {
  EmptyConfig,
  type KubeconfigOverrides,
  kubeconfigSources,
  loadKubeconfig,
  noKubeconfigError,
  selectContext,
} from "../../src/kube/kubeconfig.js";

const dir = mkdtempSync(path.join(tmpdir(), "bluegreen-kubeconfig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a file under the temp dir and returns its path. */
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

const ca = file("pki/ca.crt", "not really a certificate");
file("pki/admin.crt", "cert");
file("pki/admin.key", "key");
file("pki/viewer.token", "viewer-token\n");

// a.yaml: current-context viewer; its "shared" cluster/user/context differ from b.yaml's.
const a = file(
  "a.yaml",
  `apiVersion: v1
kind: Config
clusters:
- name: shared
  cluster: {server: "https://a.example:6443", certificate-authority: pki/ca.crt}
- name: only-a
  cluster: {server: "https://only-a.example"}
users:
- name: shared
  user: {token: token-from-a}
- name: viewer
  user: {tokenFile: pki/viewer.token}
contexts:
- name: shared
  context: {cluster: shared, user: shared, namespace: from-a}
- name: viewer
  context: {cluster: shared, user: viewer}
current-context: viewer
`,
);
const b = file(
  "b.yaml",
  `apiVersion: v1
kind: Config
clusters:
- name: shared
  cluster: {server: "https://b.example:6443", insecure-skip-tls-verify: true, tls-server-name: b-only}
- name: only-b
  cluster: {server: "https://only-b.example"}
users:
- name: shared
  user: {token: token-from-b, as: someone}
- name: admin
  user: {client-certificate: pki/admin.crt, client-key: pki/admin.key}
contexts:
- name: shared
  context: {cluster: shared, user: shared, namespace: from-b}
- name: admin
  context: {cluster: only-b, user: admin, namespace: kube-system}
current-context: admin
`,
);
const noCurrent = file(
  "no-current.yaml",
  `clusters: [{name: c, cluster: {server: "https://c.example"}}]
contexts: [{name: c, context: {cluster: c}}]
`,
);
const missing = path.join(dir, "missing.yaml");

const load = (files: string[]) => loadKubeconfig({ files, explicit: false, origin: "KUBECONFIG" });
const env = (KUBECONFIG: string | undefined, HOME = dir) => ({ KUBECONFIG, HOME });

/** The error a function throws, as [exit code, message]. */
function failure(fn: () => unknown): [number, string] {
  try {
    fn();
  } catch (e) {
    if (e instanceof BlueGreenError) return [e.exitCode, e.message];
    throw e;
  }
  throw new Error("expected an error");
}

describe("which files (client-go NewDefaultClientConfigLoadingRules)", () => {
  it("--kubeconfig alone, whatever KUBECONFIG says", () => {
    expect(kubeconfigSources("/x/config", env(`${a}:${b}`))).toEqual({ files: ["/x/config"], explicit: true, origin: "--kubeconfig" });
  });

  it("KUBECONFIG: a ':' list on POSIX, ';' on Windows; empty entries and repeats dropped", () => {
    expect(kubeconfigSources(undefined, env(`${a}::${b}:${a}:`), "linux").files).toEqual([a, b]);
    expect(kubeconfigSources(undefined, env("C:\\k\\a;;C:\\k\\b"), "win32").files).toEqual(["C:\\k\\a", "C:\\k\\b"]);
  });

  it("default: ~/.kube/config; an empty KUBECONFIG counts as unset", () => {
    expect(kubeconfigSources(undefined, env(undefined, "/home/me"), "linux")).toEqual({ files: ["/home/me/.kube/config"], explicit: false, origin: "default" });
    expect(kubeconfigSources(undefined, env("", "/home/me"), "linux").files).toEqual(["/home/me/.kube/config"]);
    expect(kubeconfigSources(undefined, {}, "linux").files).toEqual([]);
  });
});

describe("merging (client-go ClientConfigLoadingRules.Load)", () => {
  it("the first file wins every name, whole, and current-context; duplicates across files are fine", () => {
    const { config, loaded, missing: gone } = load([a, b]);
    expect(loaded).toEqual([a, b]);
    expect(gone).toEqual([]);
    expect(config.currentContext).toBe("viewer");
    // a's "shared" entries, not a mix: b's tls-server-name, insecure flag and `as` are dropped.
    expect(config.clusters.get("shared")).toEqual({ server: "https://a.example:6443", certificateAuthority: ca });
    expect(config.users.get("shared")).toEqual({ token: "token-from-a" });
    expect(config.contexts.get("shared")).toEqual({ cluster: "shared", user: "shared", namespace: "from-a" });
    // Names only b defines are still there.
    expect([...config.clusters.keys()]).toEqual(["shared", "only-a", "only-b"]);
    expect([...config.contexts.keys()]).toEqual(["shared", "viewer", "admin"]);
    expect(load([b, a]).config.currentContext).toBe("admin");
  });

  it("current-context comes from the first file that sets one", () => {
    expect(load([noCurrent, b]).config.currentContext).toBe("admin");
  });

  it("missing files in the list are skipped", () => {
    const r = load([missing, b]);
    expect(r.missing).toEqual([missing]);
    expect(r.config.currentContext).toBe("admin");
    const none = load([missing]);
    expect([none.loaded, none.missing, none.config.contexts.size]).toEqual([[], [missing], 0]);
  });

  it("--kubeconfig must exist: exit 3", () => {
    expect(failure(() => loadKubeconfig({ files: [missing], explicit: true, origin: "--kubeconfig" }))).toEqual([
      ExitCode.notFound,
      `kubeconfig file ${missing} does not exist.`,
    ]);
  });

  it("an empty file is an empty config; broken files are an error (exit 2) wherever they are in the list", () => {
    expect(load([file("empty.yaml", "")]).config.contexts.size).toBe(0);
    const bad = file("bad.yaml", "clusters: [unclosed");
    expect(failure(() => load([a, bad]))[0]).toBe(ExitCode.usage);
    expect(failure(() => load([a, bad]))[1]).toMatch(new RegExp(`^kubeconfig file ${bad} is invalid: not valid YAML \\(.*\\)\\.$`));
    const twice = file("twice.yaml", "users: [{name: u, user: {token: x}}, {name: u, user: {token: y}}]");
    expect(failure(() => load([twice]))).toEqual([ExitCode.usage, `kubeconfig file ${twice} is invalid: user "u" is defined twice.`]);
    const wrongType = file("wrong-type.yaml", "clusters: [{name: c, cluster: {server: 6443}}]");
    expect(failure(() => load([wrongType]))).toEqual([ExitCode.usage, `kubeconfig file ${wrongType} is invalid: cluster "c".server is not a string.`]);
  });

  it("relative paths resolve against the directory of the file that holds them", () => {
    const nested = file(
      "nested/dir/kc.yaml",
      `clusters: [{name: c, cluster: {server: "https://x", certificate-authority: ../ca.crt}}]
users:
- name: u
  user:
    client-certificate: certs/u.crt
    client-key: /abs/u.key
    tokenFile: t/token
- name: e
  user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: ./bin/get-token}}
- name: p
  user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: gke-gcloud-auth-plugin}}
`,
    );
    const base = path.dirname(nested);
    const { config } = load([nested]);
    expect(config.clusters.get("c")?.certificateAuthority).toBe(path.join(base, "..", "ca.crt"));
    expect(config.users.get("u")).toMatchObject({ clientCertificate: path.join(base, "certs/u.crt"), clientKey: "/abs/u.key", tokenFile: path.join(base, "t/token") });
    // A command with a slash is a path; a bare name is found on PATH.
    expect(config.users.get("e")?.exec?.command).toBe(path.join(base, "bin/get-token"));
    expect(config.users.get("p")?.exec?.command).toBe("gke-gcloud-auth-plugin");
  });

  it("insecure-skip-tls-verify is read as YAML 1.1 does (yes/no too)", () => {
    const f = file("yes.yaml", "clusters: [{name: c, cluster: {server: s, insecure-skip-tls-verify: yes}}, {name: d, cluster: {server: s, insecure-skip-tls-verify: 'off'}}]");
    const { config } = load([f]);
    expect([config.clusters.get("c")?.insecureSkipTlsVerify, config.clusters.get("d")?.insecureSkipTlsVerify]).toEqual([true, false]);
  });
});

describe("choosing context, cluster and user (client-go DirectClientConfig)", () => {
  const merged = load([a, b]).config;
  const pick = (o: KubeconfigOverrides) => {
    const s = selectContext(merged, o);
    return { context: s.contextName, cluster: s.clusterName, server: s.cluster.server, user: s.userName, namespace: s.namespace };
  };

  it("the current context, its namespace or default", () => {
    expect(pick({})).toEqual({ context: "viewer", cluster: "shared", server: "https://a.example:6443", user: "viewer", namespace: "default" });
    expect(pick({ context: "admin" })).toEqual({ context: "admin", cluster: "only-b", server: "https://only-b.example", user: "admin", namespace: "kube-system" });
    expect(pick({ context: "admin", namespace: "mine" }).namespace).toBe("mine");
  });

  it("--cluster and --user replace the context's", () => {
    expect(pick({ context: "admin", cluster: "only-a", user: "shared" })).toEqual({
      context: "admin",
      cluster: "only-a",
      server: "https://only-a.example",
      user: "shared",
      namespace: "kube-system",
    });
  });

  it("names that do not exist: exit 3", () => {
    expect(failure(() => pick({ context: "nope" }))).toEqual([ExitCode.notFound, 'context "nope" does not exist in the kubeconfig.']);
    expect(failure(() => pick({ cluster: "nope" }))).toEqual([ExitCode.notFound, 'cluster "nope" does not exist in the kubeconfig.']);
    expect(failure(() => pick({ user: "nope" }))).toEqual([ExitCode.notFound, 'user "nope" does not exist in the kubeconfig.']);
    const dangling = load([file("dangling.yaml", "contexts: [{name: x, context: {cluster: gone}}]\ncurrent-context: ghost")]).config;
    expect(failure(() => selectContext(dangling, {}))).toEqual([ExitCode.notFound, `the kubeconfig's current context "ghost" does not exist.`]);
    expect(failure(() => selectContext(dangling, { context: "x" }))).toEqual([ExitCode.notFound, 'cluster "gone" of context "x" does not exist in the kubeconfig.']);
  });

  it("no context and no --cluster: the empty config (where kubectl looks for in-cluster config)", () => {
    const c = load([noCurrent]).config;
    expect(() => selectContext(c, {})).toThrow(EmptyConfig);
    // --cluster alone is enough, as for kubectl.
    expect(selectContext(c, { cluster: "c" })).toMatchObject({ contextName: "", clusterName: "c", userName: "", user: {} });
  });

  it("refuses what kubectl refuses before connecting (exit 2, or 3 for a file it cannot read)", () => {
    const f = file(
      "invalid.yaml",
      `clusters:
- {name: both-ca, cluster: {server: s, certificate-authority: pki/ca.crt, certificate-authority-data: eA==}}
- {name: insecure-ca, cluster: {server: s, certificate-authority-data: eA==, insecure-skip-tls-verify: true}}
- {name: no-server, cluster: {certificate-authority-data: eA==}}
- {name: gone-ca, cluster: {server: s, certificate-authority: pki/gone.crt}}
- {name: ok, cluster: {server: s}}
users:
- {name: no-key, user: {client-certificate: pki/admin.crt}}
- {name: token-and-password, user: {token: t, username: u, password: p}}
- {name: groups, user: {token: t, as: x, as-groups: [g]}}
- {name: gone-token-file, user: {tokenFile: pki/gone.token}}
- {name: token-and-gone-file, user: {token: t, tokenFile: pki/gone.token}}
`,
    );
    const c = load([f]).config;
    const err = (o: KubeconfigOverrides) => failure(() => selectContext(c, o));
    expect(err({ cluster: "both-ca" })).toEqual([ExitCode.usage, 'cluster "both-ca" in the kubeconfig has both certificate-authority and certificate-authority-data.']);
    expect(err({ cluster: "insecure-ca" })).toEqual([ExitCode.usage, 'cluster "insecure-ca" in the kubeconfig has both a certificate authority and insecure-skip-tls-verify.']);
    expect(err({ cluster: "no-server" })).toEqual([ExitCode.usage, 'cluster "no-server" in the kubeconfig has no server.']);
    expect(err({ cluster: "gone-ca" })).toEqual([ExitCode.notFound, `cannot read the certificate-authority of cluster "gone-ca": ${path.join(dir, "pki/gone.crt")} (ENOENT).`]);
    expect(err({ cluster: "ok", user: "no-key" })).toEqual([ExitCode.usage, 'user "no-key" in the kubeconfig has a client certificate but no client-key.']);
    expect(err({ cluster: "ok", user: "token-and-password" })[1]).toBe('user "token-and-password" in the kubeconfig has both a token and a username/password; only one is allowed.');
    expect(err({ cluster: "ok", user: "groups" })[0]).toBe(ExitCode.usage);
    expect(err({ cluster: "ok", user: "gone-token-file" })).toEqual([ExitCode.notFound, `cannot read the tokenFile of user "gone-token-file": ${path.join(dir, "pki/gone.token")} (ENOENT).`]);
    // With a token, the file only refreshes it (client-go reads it at request time).
    expect(selectContext(c, { cluster: "ok", user: "token-and-gone-file" }).user.token).toBe("t");
  });
});

describe("no kubeconfig at all", () => {
  it("names where it looked (exit 3)", () => {
    const sources = kubeconfigSources(undefined, env(undefined, "/nonexistent-home"), "linux");
    const e = noKubeconfigError(sources, []);
    expect([e.exitCode, e.message, e.hint]).toEqual([
      ExitCode.notFound,
      "no kubeconfig found: /nonexistent-home/.kube/config does not exist and KUBECONFIG is not set.",
      "Point KUBECONFIG or --kubeconfig at a kubeconfig file, or create ~/.kube/config.",
    ]);
    expect(noKubeconfigError(kubeconfigSources(undefined, env(`${missing}:/also/missing`), "linux"), []).message).toBe(
      `no kubeconfig found: no file of KUBECONFIG exists (${missing}, /also/missing).`,
    );
    expect(noKubeconfigError(kubeconfigSources(undefined, env(noCurrent), "linux"), [noCurrent]).message).toBe("the kubeconfig has no current context.");
  });

  it("select(): files first, the pod's ServiceAccount only when no kubeconfig gives a cluster", () => {
    expect(select({}, env(`${missing}:${b}`)).contextName).toBe("admin");
    expect(failure(() => select({}, env(missing)))).toEqual([ExitCode.notFound, `no kubeconfig found: no file of KUBECONFIG exists (${missing}).`]);
    expect(failure(() => select({ kubeconfig: missing }, env(b)))).toEqual([ExitCode.notFound, `kubeconfig file ${missing} does not exist.`]);
    // KUBERNETES_SERVICE_HOST without a ServiceAccount token file is not in-cluster.
    expect(failure(() => select({}, { HOME: "/nonexistent-home", KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }))[0]).toBe(ExitCode.notFound);
  });
});
