// Expected failures: one sentence, what to do, the right exit code, no stack trace, nothing changed.
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { bluegreen } from "./lib/cluster.js";

const ns = testNamespaces();

/** stderr is `error: <one sentence>` and a hint line, nothing more. */
function expectOneSentence(stderr: string) {
  const lines = stderr.trimEnd().split("\n");
  expect(lines.length, stderr).toBeLessThanOrEqual(2);
  expect(lines[0]).toMatch(/^error: .+\.$/);
  expect(stderr).not.toMatch(/\n\s+at |TypeError|ReferenceError|node:internal/);
}

describe("expected failures", () => {
  it("unknown app: exit 3", async () => {
    const n = await ns("er-unknown");
    await createApp(n);
    for (const cmd of ["status", "promote", "abort", "diff"]) {
      const r = bluegreen([cmd, "nosuchapp"], { namespace: n });
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/^error: app "nosuchapp" \(no Deployment has label app=nosuchapp\) in namespace "er-unknown-\w+"\.\n/);
      expectOneSentence(r.stderr);
    }
  });

  it("missing namespace: exit 3", () => {
    const r = bluegreen(["promote", "myapp"], { namespace: "no-such-namespace" });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('error: namespace "no-such-namespace" not found.\nCheck -n/--namespace, or the namespace of your kubeconfig context.\n');
  });

  it("unreachable server: exit 8", async () => {
    // A port nobody listens on: bind one, then close it.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const kubeconfig = join(tmpdir(), `bluegreen-unreachable-${process.pid}.yaml`);
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`,
    );
    const r = bluegreen(["status", "myapp"], { kubeconfig, context: "" });
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/^error: list (deployments|services|replicasets): cannot reach the cluster at https:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expectOneSentence(r.stderr);
    expect(r.stderr).not.toContain("not-a-secret");
  });

  it("bad flag and missing argument: exit 2", () => {
    const bad = bluegreen(["status", "--frobnicate"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("error: unknown flag: --frobnicate.\nSee --help.\n");
    const missing = bluegreen(["promote"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("error: missing APP: name the app, or select it with -l.\nSee --help.\n");
    const ctx = bluegreen(["status"], { context: "nope" });
    expect(ctx.code).toBe(3);
    expect(ctx.stderr).toBe('error: context "nope" does not exist in the kubeconfig.\nList contexts with kubectl config get-contexts.\n');
  });

  it("--help and version work without a cluster", () => {
    const h = bluegreen(["--help"], { context: "", kubeconfig: "/nonexistent" });
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("Exit codes (the same for every command):");
    const v = bluegreen(["version"], { context: "", kubeconfig: "/nonexistent" });
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^kubectl-bluegreen v\d+\.\d+\.\d+ \(node v22\.\d+\.\d+, \w+\/\w+\)\n$/);
  });
});
