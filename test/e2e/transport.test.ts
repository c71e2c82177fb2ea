// The connection to the API server: deadlines, TLS verification from the kubeconfig alone (never from
// NODE_TLS_REJECT_UNAUTHORIZED, which kubectl ignores), and no credentials from a server URL in any output.
// Each case runs kubectl in the same situation first.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect as tcpConnect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { ADMIN_CONTEXT, EXTERNAL_CLUSTER, type RunResult, bluegreen, bluegreenAsync, kubectlAsync, kubectlJson } from "./lib/cluster.js";

const ns = testNamespaces();
const dir = mkdtempSync(path.join(tmpdir(), "bluegreen-e2e-transport-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: kubeconfig stanzas as JSON.
type Stanza = any;

function kubeconfigFile(name: string, cluster: Stanza, user: Stanza, namespace: string): string {
  const p = path.join(dir, name);
  writeFileSync(
    p,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster }],
      users: [{ name: "u", user }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u", namespace } }],
      "current-context": "c",
    }),
  );
  return p;
}

function kubectlWith(kubeconfig: string, args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
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

/** The second line of every unreachable-cluster error. */
const UNREACHABLE_HINT = "Check the cluster address, your network, and --request-timeout.";

describe("transport", () => {
  let n = "";
  let admin: { cluster: Stanza; user: Stanza };

  beforeAll(async () => {
    n = await ns("tr");
    await createApp(n);
    const raw = kubectlJson(["config", "view", "--raw", "--minify"], { context: ADMIN_CONTEXT });
    admin = { cluster: raw.clusters[0].cluster, user: raw.users[0].user };
  });

  describe("--request-timeout", () => {
    // A server on 127.0.0.1 that accepts connections and never says a word (not even the TLS handshake).
    let silent: Server;
    const sockets: Socket[] = [];
    let port = 0;
    beforeAll(async () => {
      silent = createServer((s) => {
        sockets.push(s);
        s.on("error", () => {});
      });
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      port = (silent.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it("expires: exit 8 and a sentence that names the time and the flag", async () => {
      const kc = kubeconfigFile("silent.yaml", { ...admin.cluster, server: `https://127.0.0.1:${port}` }, admin.user, n);
      expect(kubectlWith(kc, ["get", "deployments", "--request-timeout=1s"]).code).not.toBe(0);
      const started = Date.now();
      const r = await bluegreenAsync(["status", "myapp", "--request-timeout", "1s"], { context: "", kubeconfig: kc });
      expect(r.code).toBe(8);
      expect(r.stderr).toMatch(new RegExp(`^error: list (deployments|services|replicasets): the API server did not answer within 1s \\(--request-timeout\\)\\.\\n${UNREACHABLE_HINT}\\n$`));
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it("a duration no timer can hold is refused before any request: exit 2", () => {
      const r = bluegreen(["status", "myapp", "--request-timeout", "1000h"], { namespace: n });
      expect([r.code, r.stderr]).toEqual([2, 'error: invalid duration for --request-timeout: "1000h" is longer than the maximum, 596h31m23.647s.\nSee --help.\n']);
    });
  });

  describe.skipIf(EXTERNAL_CLUSTER)("TLS verification", () => {
    it("NODE_TLS_REJECT_UNAUTHORIZED=0 does not turn it off: a CA that does not match is refused (exit 8), as by kubectl", () => {
      // A CA that did not sign the test bed's serving certificate.
      const d = path.join(dir, "other-ca");
      mkdirSync(d);
      const otherCa = path.join(d, "ca.crt");
      const o = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(d, "ca.key"), "-out", otherCa, "-days", "1", "-subj", "/CN=not-the-testbed-ca"], { encoding: "utf8" });
      expect(o.status, o.stderr).toBe(0);
      const { "certificate-authority-data": _, ...server } = admin.cluster;
      const kc = kubeconfigFile("other-ca.yaml", { ...server, "certificate-authority": otherCa }, admin.user, n);
      const env = { NODE_TLS_REJECT_UNAUTHORIZED: "0" };
      const k = kubectlWith(kc, ["get", "deployments"], env);
      expect(k.code).not.toBe(0);
      expect(k.stderr).toContain("x509");
      const r = bluegreen(["status", "myapp"], { context: "", kubeconfig: kc, env });
      expect(r.code).toBe(8);
      expect(r.stderr).toMatch(
        /^error: list (deployments|services|replicasets): cannot verify the certificate of the cluster at https:\/\/[^\s]+: [A-Z_]+ \([^\n]+\)\.\nCheck certificate-authority \(or certificate-authority-data\) of the cluster in your kubeconfig\.\n$/,
      );
      // No system CA knows the test bed either.
      const noCa = kubeconfigFile("no-ca.yaml", server, admin.user, n);
      expect(kubectlWith(noCa, ["get", "deployments"], env).code).not.toBe(0);
      expect(bluegreen(["status", "myapp"], { context: "", kubeconfig: noCa, env }).code).toBe(8);
      // The same kubeconfig with the right CA works, with the variable set or not: the CA made the difference.
      const right = kubeconfigFile("right-ca.yaml", admin.cluster, admin.user, n);
      const ok = bluegreen(["status", "myapp"], { context: "", kubeconfig: right, env });
      expect([ok.code, ok.stderr]).toEqual([0, ""]);
    });

    it("insecure-skip-tls-verify in the kubeconfig does turn it off, as for kubectl", () => {
      const { "certificate-authority-data": _, ...server } = admin.cluster;
      const kc = kubeconfigFile("insecure.yaml", { ...server, "insecure-skip-tls-verify": true }, admin.user, n);
      expect(kubectlWith(kc, ["get", "deployments", "-n", n]).code).toBe(0);
      const r = bluegreen(["status", "myapp"], { context: "", kubeconfig: kc });
      expect([r.code, r.stderr]).toEqual([0, ""]);
    });
  });

  describe("credentials in the server URL", () => {
    const withCreds = (server: string) => server.replace(/^https:\/\//, "https://alice:s3cret@");

    it("are never printed, in traces or results", () => {
      const kc = kubeconfigFile("url-creds.yaml", { ...admin.cluster, server: withCreds(admin.cluster.server) }, admin.user, n);
      expect(kubectlWith(kc, ["get", "deployments"]).code).toBe(0);
      const r = bluegreen(["status", "myapp", "-v", "-o", "json"], { context: "", kubeconfig: kc });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^GET https:\/\/127\.0\.0\.1:\d+\/apis\/apps\/v1\/namespaces\//m);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/alice|s3cret/);
    });

    it("are never printed in errors", async () => {
      const port = await closedPort();
      const kc = kubeconfigFile("url-creds-dead.yaml", { ...admin.cluster, server: `https://alice:s3cret@127.0.0.1:${port}` }, admin.user, n);
      const r = bluegreen(["status", "myapp", "-v"], { context: "", kubeconfig: kc });
      expect(r.code).toBe(8);
      expect(r.stderr).toMatch(new RegExp(`^error: list (deployments|services|replicasets): cannot reach the cluster at https://127\\.0\\.0\\.1:${port}: ECONNREFUSED`, "m"));
      expect(r.stderr).not.toMatch(/alice|s3cret/);
    });
  });

  describe("proxy-url", () => {
    // An HTTP proxy of ours (CONNECT tunnels only), in front of the real API server.
    let proxy: ReturnType<typeof createHttpServer>;
    let proxyUrl = "";
    const tunnels: string[] = [];

    beforeAll(async () => {
      proxy = createHttpServer((_req, res) => res.writeHead(405).end());
      proxy.on("connect", (req, client: Socket, head: Buffer) => {
        tunnels.push(req.url ?? "");
        const [host, port] = (req.url ?? "").split(":");
        const upstream = tcpConnect(Number(port), host, () => {
          client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          upstream.write(head);
          upstream.pipe(client);
          client.pipe(upstream);
        });
        upstream.on("error", () => client.destroy());
        client.on("error", () => upstream.destroy());
      });
      await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
      proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    });
    afterAll(() => {
      proxy.closeAllConnections();
      proxy.close();
    });

    it("requests go through the kubeconfig's proxy, as kubectl's do", async () => {
      const kc = kubeconfigFile("proxy.yaml", { ...admin.cluster, "proxy-url": proxyUrl }, admin.user, n);
      const k = await kubectlAsync(["get", "deployments", "-n", n], { kubeconfig: kc, context: "" });
      expect(k.code, k.stderr).toBe(0);
      const target = new URL(admin.cluster.server).host;
      expect(tunnels).toContain(target);
      tunnels.length = 0;
      const r = await bluegreenAsync(["status", "myapp", "-o", "json"], { context: "", kubeconfig: kc });
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(JSON.parse(r.stdout).items[0].app).toBe("myapp");
      expect(tunnels.length).toBeGreaterThan(0);
      expect(new Set(tunnels)).toEqual(new Set([target]));
    });

    it("a proxy that does not answer: exit 8, one sentence", async () => {
      const port = await closedPort();
      const kc = kubeconfigFile("proxy-dead.yaml", { ...admin.cluster, "proxy-url": `http://127.0.0.1:${port}` }, admin.user, n);
      const r = await bluegreenAsync(["status", "myapp"], { context: "", kubeconfig: kc });
      expect(r.code).toBe(8);
      expect(r.stderr).toMatch(/^error: list (deployments|services|replicasets): cannot reach the cluster at https:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/m);
      expect(r.stderr.trim().split("\n").length).toBe(2);
    });
  });
});
