// abort against the real control plane.
import { describe, expect, it } from "vitest";
import { createApp, selectorOf, testNamespaces, waitForEndpoints } from "./lib/apps.js";
import { type RunResult, bluegreen, kubectlJson, kubectlOk, waitFor } from "./lib/cluster.js";

const ns = testNamespaces();

/** Exit 0, or fail showing what the plugin said. */
const expectOk = (r: RunResult) => expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);

const replicas = (n: string, d: string) => kubectlJson(["get", "deployment", d, "-n", n]).spec.replicas;

describe("abort", () => {
  it("sends traffic back to the previous slot, once", async () => {
    const n = await ns("ab-back");
    await createApp(n);
    expect(bluegreen(["abort", "myapp"], { namespace: n }).stdout).toBe(
      "nothing to abort: no promote of app myapp is recorded on its Service(s)\n",
    );
    expect(JSON.parse(bluegreen(["abort", "myapp", "-o", "json"], { namespace: n }).stdout)).toEqual({
      kind: "BlueGreenSwitch",
      result: "noop",
      message: "nothing to abort: no promote of app myapp is recorded on its Service(s)",
    });
    expectOk(bluegreen(["promote", "myapp"], { namespace: n }));
    const r = bluegreen(["abort", "myapp"], { namespace: n });
    expect(r.stderr).toBe(
      "service/myapp switched: version v2 → v1\n" +
        "verifying: waiting up to 1m for every endpoint of service/myapp to be on v1 (Ctrl-C switches back)\n" +
        "waiting 2s for kube-proxy and load balancers (Ctrl-C switches back)\n",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`service/myapp switched: version v2 → v1\napp myapp aborted: version=v1 is live again (was v2); context admin, namespace ${n}\n`);
    expect(selectorOf(n, "myapp").version).toBe("v1");
    await waitForEndpoints(n, "myapp", "v1", 3);
    const svc = kubectlJson(["get", "service", "myapp", "-n", n]);
    expect(JSON.parse(svc.metadata.annotations["kubectl-bluegreen/history"]).map((h: { action: string }) => h.action)).toEqual(["abort", "promote"]);
    expect(kubectlJson(["get", "events", "-n", n, "--field-selector", "reason=Aborted"]).items).toHaveLength(1);

    const again = bluegreen(["abort", "myapp"], { namespace: n });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^nothing to abort: the last promote of app myapp was already aborted at \S+\n$/);
    expect(selectorOf(n, "myapp").version).toBe("v1");
  });

  it("scales a previous slot that was scaled to 0 back up, waits, then switches", async () => {
    const n = await ns("ab-scaled");
    await createApp(n);
    expectOk(bluegreen(["promote", "myapp"], { namespace: n }));
    kubectlOk(["scale", "deployment", "myapp-v1", "-n", n, "--replicas=0"]);
    await waitFor("myapp-v1 to scale to 0", () => (kubectlJson(["get", "deployment", "myapp-v1", "-n", n]).status.replicas ?? 0) === 0);
    const r = bluegreen(["abort", "myapp"], { namespace: n });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("deployment.apps/myapp-v1 scaled to 3");
    expect(r.stdout).toContain("app myapp aborted: version=v1 is live again (was v2)");
    expect(replicas(n, "myapp-v1")).toBe(3);
    expect(kubectlJson(["get", "deployment", "myapp-v1", "-n", n]).status.availableReplicas).toBe(3);
    expect(selectorOf(n, "myapp").version).toBe("v1");
  });

  it("--scale-down scales the aborted slot to 0", async () => {
    const n = await ns("ab-scaledown");
    await createApp(n);
    expectOk(bluegreen(["promote", "myapp"], { namespace: n }));
    const r = bluegreen(["abort", "myapp", "--scale-down", "--scale-down-delay", "1s"], { namespace: n });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("deployment.apps/myapp-v2 scaled to 0");
    expect(selectorOf(n, "myapp").version).toBe("v1");
    expect(replicas(n, "myapp-v2")).toBe(0);
    expect(replicas(n, "myapp-v1")).toBe(3);
    // The busy mark is gone once the scale-down is done, and so is the pending scale-down on the Deployment.
    expect(kubectlJson(["get", "service", "myapp", "-n", n]).metadata.annotations["kubectl-bluegreen/busy"]).toBeUndefined();
    expect(kubectlJson(["get", "deployment", "myapp-v2", "-n", n]).metadata.annotations?.["kubectl-bluegreen/scale-down-at"]).toBeUndefined();
  });

  it("a switch refuses (exit 4) to send traffic to a slot being scaled down; a stale mark is ignored", async () => {
    const n = await ns("ab-marked");
    await createApp(n);
    const mark = (at: Date) => `kubectl-bluegreen/busy=${JSON.stringify({ deployment: "myapp-v2", action: "scale-down", id: "0123456789abcdef", at: at.toISOString() })}`;
    kubectlOk(["annotate", "service", "myapp", "-n", n, mark(new Date())]);
    const r = bluegreen(["promote", "myapp", "--to", "v2"], { namespace: n });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(4);
    expect(r.stderr).toMatch(/^error: deployment\/myapp-v2 is being scaled down \(marked on service\/myapp at \S+\); nothing changed\.\n/);
    expect(selectorOf(n, "myapp").version).toBe("v1");
    // A mark left by a killed command expires after 5 minutes.
    kubectlOk(["annotate", "service", "myapp", "-n", n, "--overwrite", mark(new Date(Date.now() - 6 * 60_000))]);
    expectOk(bluegreen(["promote", "myapp", "--to", "v2"], { namespace: n }));
    expect(selectorOf(n, "myapp").version).toBe("v2");
  });

  it("refuses (exit 4) when the Service was switched by hand since the promote", async () => {
    const n = await ns("ab-manual");
    await createApp(n);
    expectOk(bluegreen(["promote", "myapp"], { namespace: n }));
    kubectlOk(["patch", "service", "myapp", "-n", n, "-p", '{"spec":{"selector":{"version":"v1"}}}']);
    const r = bluegreen(["abort", "myapp"], { namespace: n });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: the last promote switched app myapp from v1 to v2, but version=v1 is live now/);
  });
});
