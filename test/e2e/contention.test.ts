// Writes next to other writers, against the real API server. Every write path of the plugin runs while a
// background writer annotates the same objects every 50 ms, and again every 10 ms (GitOps agents, external-dns,
// load-balancer controllers and meshes write Services that often): each completes as it would alone, and the exit
// code and message claim only what the objects show. Then a controller that reverts the selector (Argo CD's
// self-heal, Flux): promote never reports success, and status names the drift and who wrote it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, selectorOf, testNamespaces } from "./lib/apps.js";
import { EXTERNAL_CLUSTER, type RunResult, bluegreen, bluegreenAsync, bluegreenChild, kubectlJson, kubectlOk, withControllerManagerStopped } from "./lib/cluster.js";
import { type FaultProxy, startFaultProxy } from "./lib/faultproxy.js";
import { type ObjectRef, type Writer, startAnnotator, startReverter } from "./lib/writers.js";

const ns = testNamespaces();
const RECORD = "kubectl-bluegreen/last-switch";
const TICK = "gitops.example/tick";

const serviceOf = (n: string, s: string) => kubectlJson(["get", "service", s, "-n", n]);
const record = (n: string, s: string) => JSON.parse(serviceOf(n, s).metadata.annotations?.[RECORD] ?? "null");
const replicasOf = (n: string, d: string): number => kubectlJson(["get", "deployment", d, "-n", n]).spec.replicas;
const imageOf = (n: string, d: string): string => kubectlJson(["get", "deployment", d, "-n", n]).spec.template.spec.containers[0].image;
const show = (r: RunResult, w?: Writer) => `exit ${r.code}\n${r.stdout}${r.stderr}${w ? `\nwriter: ${w.writes} writes, errors: ${w.errors.join("; ")}` : ""}`;

/**
 * Runs the command while an annotator writes every object in `refs` every everyMs; returns the result once the
 * writer has stopped. The writer must have written during the command, or the test proves nothing.
 */
async function contended(n: string, refs: ObjectRef[], everyMs: number, args: string[]): Promise<RunResult> {
  const w = startAnnotator(n, refs, everyMs);
  // At least one write before the command starts, so it reads a Service someone else writes.
  await waitForWrites(w, 1);
  const r = await bluegreenAsync(args, { namespace: n });
  const during = w.writes;
  await w.stop();
  expect(w.errors, show(r, w)).toEqual([]);
  expect(during, show(r, w)).toBeGreaterThanOrEqual(2);
  return r;
}

async function waitForWrites(w: Writer, count: number): Promise<void> {
  for (let i = 0; i < 500 && w.writes < count; i++) await new Promise((r) => setTimeout(r, 10));
  expect(w.writes, w.errors.join("; ")).toBeGreaterThanOrEqual(count);
}

describe.each([50, 10])("a writer annotating the same objects every %i ms", (everyMs) => {
  it("promote switches, verifies and records", async () => {
    const n = await ns(`ct${everyMs}-promote`);
    await createApp(n);
    const r = await contended(n, ["services/myapp"], everyMs, ["promote", "myapp"]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/^service\/myapp switched: version v1 → v2\napp myapp promoted: version=v2 is live \(was v1\)/);
    expect(selectorOf(n, "myapp").version).toBe("v2");
    expect(record(n, "myapp")).toMatchObject({ action: "promote", to: "v2", state: "verified" });
    expect(serviceOf(n, "myapp").metadata.annotations[TICK]).toBeDefined();
  });

  it("the switch-back after a failed verification happens, and exit 6 is true", async () => {
    const n = await ns(`ct${everyMs}-back`);
    await createApp(n);
    const r = await withControllerManagerStopped(() => contended(n, ["services/myapp"], everyMs, ["promote", "myapp", "--verify-timeout", "3s"]));
    expect(r.code, show(r)).toBe(6);
    expect(r.stderr).toMatch(
      /^service\/myapp switched: version v1 → v2\nverifying: waiting up to 3s for every endpoint of service\/myapp to be on v2 \(Ctrl-C switches back\)\nerror: verification failed after 3s: .*; service\/myapp was switched back to version=v1\.\n/,
    );
    expect(selectorOf(n, "myapp").version).toBe("v1");
    expect(record(n, "myapp")).toBeNull();
  });

  it("abort switches back", async () => {
    const n = await ns(`ct${everyMs}-abort`);
    await createApp(n);
    expect(bluegreen(["promote", "myapp"], { namespace: n }).code).toBe(0);
    const r = await contended(n, ["services/myapp"], everyMs, ["abort", "myapp"]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/app myapp aborted: version=v1 is live again \(was v2\)/);
    expect(selectorOf(n, "myapp").version).toBe("v1");
    expect(record(n, "myapp")).toMatchObject({ action: "abort", to: "v1", state: "verified" });
  });

  it("abort --scale-down switches back and scales the aborted slot to 0", async () => {
    const n = await ns(`ct${everyMs}-abortsd`);
    await createApp(n);
    expect(bluegreen(["promote", "myapp"], { namespace: n }).code).toBe(0);
    const r = await contended(n, ["services/myapp", "deployments/myapp-v2"], everyMs, ["abort", "myapp", "--scale-down", "--scale-down-delay", "0s"]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toContain("deployment.apps/myapp-v2 scaled to 0\n");
    expect(selectorOf(n, "myapp").version).toBe("v1");
    expect(replicasOf(n, "myapp-v2")).toBe(0);
  });

  it("abort scales a retired slot back up, then switches back", async () => {
    const n = await ns(`ct${everyMs}-scaleup`);
    await createApp(n);
    expect(bluegreen(["promote", "myapp", "--scale-down-after", "0s"], { namespace: n }).code).toBe(0);
    expect(replicasOf(n, "myapp-v1")).toBe(0);
    const r = await contended(n, ["services/myapp", "deployments/myapp-v1"], everyMs, ["abort", "myapp"]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toContain("deployment.apps/myapp-v1 scaled to 3\n");
    expect(selectorOf(n, "myapp").version).toBe("v1");
    expect(replicasOf(n, "myapp-v1")).toBe(3);
  });

  it("promote --scale-down-after retires the old slot", async () => {
    const n = await ns(`ct${everyMs}-sda`);
    await createApp(n);
    const r = await contended(n, ["services/myapp", "deployments/myapp-v1"], everyMs, ["promote", "myapp", "--scale-down-after", "0s"]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toContain("deployment.apps/myapp-v1 scaled to 0\n");
    expect(selectorOf(n, "myapp").version).toBe("v2");
    expect(replicasOf(n, "myapp-v1")).toBe(0);
    // Our busy mark is gone; the other writer's annotation stays.
    expect(serviceOf(n, "myapp").metadata.annotations["kubectl-bluegreen/busy"]).toBeUndefined();
  });

  it("scale-down retires the old slot", async () => {
    const n = await ns(`ct${everyMs}-sd`);
    await createApp(n);
    expect(bluegreen(["promote", "myapp"], { namespace: n }).code).toBe(0);
    const r = await contended(n, ["services/myapp", "deployments/myapp-v1"], everyMs, ["scale-down", "myapp", "--delay", "0s"]);
    expect(r.code, show(r)).toBe(0);
    expect(replicasOf(n, "myapp-v1")).toBe(0);
    expect(serviceOf(n, "myapp").metadata.annotations["kubectl-bluegreen/busy"]).toBeUndefined();
  });

  it("deploy writes the idle slot", async () => {
    const n = await ns(`ct${everyMs}-deploy`);
    await createApp(n);
    const live = kubectlJson(["get", "deployment", "myapp-v1", "-n", n]).metadata.generation;
    const r = await contended(n, ["services/myapp", "deployments/myapp-v2"], everyMs, ["deploy", "myapp", "--image", "registry.example/myapp:v3"]);
    expect(r.code, show(r)).toBe(0);
    expect(imageOf(n, "myapp-v2")).toBe("registry.example/myapp:v3");
    expect(kubectlJson(["get", "deployment", "myapp-v1", "-n", n]).metadata.generation).toBe(live);
    expect(serviceOf(n, "myapp").metadata.annotations["kubectl-bluegreen/busy"]).toBeUndefined();
  });

  describe.skipIf(EXTERNAL_CLUSTER)("an interrupted switch", () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy();
    });
    afterAll(async () => {
      await proxy?.close();
    });

    it("promote finishes it forward", async () => {
      const n = await ns(`ct${everyMs}-finish`);
      await createApp(n, { services: { "myapp-a": "v1", "myapp-b": "v1" } });
      // Killed (-9) while its second write is held: myapp-a switched, myapp-b not.
      const hold = proxy.addRule({ method: "PATCH", path: new RegExp(`/namespaces/${n}/services/myapp-b$`), fault: "hold" });
      const p = bluegreenChild(["promote", "myapp"], { namespace: n, kubeconfig: proxy.kubeconfig });
      const held = await hold.waitForHeld();
      p.kill("SIGKILL");
      await p.done;
      held.drop();
      proxy.clearRules();
      expect([selectorOf(n, "myapp-a").version, selectorOf(n, "myapp-b").version]).toEqual(["v2", "v1"]);
      const r = await contended(n, ["services/myapp-a", "services/myapp-b"], everyMs, ["promote", "myapp"]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toMatch(/^service\/myapp-a kept: version=v2\nservice\/myapp-b switched: version v1 → v2\napp myapp promoted/);
      expect([selectorOf(n, "myapp-a").version, selectorOf(n, "myapp-b").version]).toEqual(["v2", "v2"]);
      for (const s of ["myapp-a", "myapp-b"]) expect(record(n, s).state).toBe("verified");
    });
  });
});

describe("a controller that reverts the selector", () => {
  it("promote never reports success: exit 5 names where traffic is and who reverted it", async () => {
    const n = await ns("ct-revert");
    await createApp(n);
    const reverter = startReverter(n, "myapp", { version: "v1" }, "gitops-selfheal");
    const r = await bluegreenAsync(["promote", "myapp"], { namespace: n });
    await reverter.stop();
    expect(reverter.errors).toEqual([]);
    expect(reverter.writes, show(r)).toBeGreaterThanOrEqual(1);
    expect(r.code, show(r)).toBe(5);
    expect(r.stderr).toMatch(
      // Taken back while verifying, or after the propagation wait.
      /^service\/myapp switched: version v1 → v2\nverifying: waiting up to 1m for every endpoint of service\/myapp to be on v2 \(Ctrl-C switches back\)\n(waiting 2s for kube-proxy and load balancers \(Ctrl-C switches back\)\n)?error: (switched and verified, but )?service\/myapp was changed by someone else after the switch: it selects version=v1 again \(its selector was last written by gitops-selfheal\); traffic is all-old: service\/myapp → version=v1\.\n/,
    );
    expect(selectorOf(n, "myapp").version).toBe("v1");
  });

  it("the same on two Services, where one is reverted: the other is switched back, exit 5, all-old", async () => {
    const n = await ns("ct-revert2");
    await createApp(n, { services: { "myapp-a": "v1", "myapp-b": "v1" } });
    const reverter = startReverter(n, "myapp-b", { version: "v1" }, "gitops-selfheal");
    const r = await bluegreenAsync(["promote", "myapp"], { namespace: n });
    await reverter.stop();
    expect(r.code, show(r)).toBe(5);
    expect(r.stderr).toContain("service/myapp-b was changed by someone else after the switch: it selects version=v1 again (its selector was last written by gitops-selfheal)");
    expect(r.stderr).toContain("traffic is all-old: service/myapp-a → version=v1, service/myapp-b → version=v1.");
    expect([selectorOf(n, "myapp-a").version, selectorOf(n, "myapp-b").version]).toEqual(["v1", "v1"]);
    expect(record(n, "myapp-a")).toBeNull();
  });

  it("after a promote, status names the drift and the field manager (exit 1); promote refuses", async () => {
    const n = await ns("ct-drift");
    await createApp(n);
    expect(bluegreen(["promote", "myapp"], { namespace: n }).code).toBe(0);
    const at = record(n, "myapp").at;
    kubectlOk(["patch", "service", "myapp", "-n", n, "--field-manager", "gitops-selfheal", "-p", '{"spec":{"selector":{"version":"v1"}}}']);
    const s = bluegreen(["status", "myapp"], { namespace: n });
    expect(s.code, `${s.stdout}${s.stderr}`).toBe(1);
    expect(s.stdout).toContain(
      `Verdict:      drifted: service/myapp selects version=v1, but the last switch (promote, ${at} by admin) left it on v2; its selector was last written by gitops-selfheal;`,
    );
    const json = JSON.parse(bluegreen(["status", "myapp", "-o", "json"], { namespace: n }).stdout).items[0];
    expect(json.verdict).toBe("drifted");
    expect(json.drift).toEqual([{ router: "service/myapp", selects: "v1", recorded: "v2", writer: "gitops-selfheal" }]);
    const p = bluegreen(["promote", "myapp"], { namespace: n });
    expect(p.code, `${p.stdout}${p.stderr}`).toBe(4);
    expect(selectorOf(n, "myapp").version).toBe("v1");
    // Putting it back where the switch left it ends the drift.
    expect(bluegreen(["promote", "myapp", "--to", "v2"], { namespace: n }).code).toBe(0);
    expect(bluegreen(["status", "myapp"], { namespace: n }).code).toBe(0);
  });
});
