// kubeconfig auth methods client-node supports: client certificates (admin), bearer tokens (viewer),
// and exec credential plugins (below), against the real API server.
import { chmodSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { EXTERNAL_CLUSTER, VIEWER_CONTEXT, bluegreen, kubeconfigFor, kubectlJson } from "./lib/cluster.js";

const ns = testNamespaces();

describe.skipIf(EXTERNAL_CLUSTER)("authentication", () => {
  it("works with an exec credential plugin, and the viewer's token is what the server sees", async () => {
    const n = await ns("au-exec");
    await createApp(n);
    const raw = kubectlJson(["config", "view", "--raw", "--minify"], { context: VIEWER_CONTEXT });
    const token: string = raw.users[0].user.token;
    const plugin = join(tmpdir(), `bluegreen-exec-${process.pid}.sh`);
    writeFileSync(
      plugin,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${token}"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const kubeconfig = kubeconfigFor("exec", { exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin, interactiveMode: "Never" } }, n);
    const r = bluegreen(["status", "myapp", "-o", "json"], { kubeconfig, context: "" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).items[0]).toMatchObject({ app: "myapp", namespace: n, verdict: "ready" });
    // The same identity may not switch traffic: exit 7, as for the viewer context.
    const p = bluegreen(["promote", "myapp"], { kubeconfig, context: "" });
    expect(p.code).toBe(7);
  });
});
