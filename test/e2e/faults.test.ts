// Faults against the real API server: lost replies, refused and slow requests, concurrent writers,
// kill -9 and Ctrl-C mid-switch. A fault proxy of ours sits between the plugin and kube-apiserver, and
// test bed components are stopped with SIGSTOP; every answer the plugin gets is still the API server's.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp, selectorOf, testNamespaces } from "./lib/apps.js";
import {
  EXTERNAL_CLUSTER,
  type RunResult,
  bluegreen,
  bluegreenAsync,
  bluegreenChild,
  kubectl,
  kubectlJson,
  kubectlOk,
  waitFor,
  withControllerManagerStopped,
} from "./lib/cluster.js";
import { type FaultProxy, startFaultProxy } from "./lib/faultproxy.js";

const ns = testNamespaces();
let proxy: FaultProxy;
beforeAll(async () => {
  if (!EXTERNAL_CLUSTER) proxy = await startFaultProxy();
});
afterAll(async () => {
  await proxy?.close();
});
afterEach(() => proxy?.clearRules());

const RECORD = "kubectl-bluegreen/last-switch";
const via = (n: string) => ({ namespace: n, kubeconfig: proxy.kubeconfig });
const show = (r: RunResult) => `exit ${r.code}\n${r.stdout}${r.stderr}\n--- proxy log ---\n${proxy.formatLog()}`;
const record = (n: string, svc: string) => JSON.parse(kubectlJson(["get", "service", svc, "-n", n]).metadata.annotations?.[RECORD] ?? "null");
const slots = (n: string, ...svcs: string[]) => svcs.map((s) => selectorOf(n, s).version);
const patchOf = (svc: string, n = "[^/]+") => ({ method: "PATCH", path: new RegExp(`/namespaces/${n}/services/${svc}$`) });
const SLICES = { method: "GET", path: /\/endpointslices$/ };

describe.skipIf(EXTERNAL_CLUSTER)("lost replies are settled by reading back", () => {
  const layouts: [string, Record<string, string>, string, string[], string[]][] = [
    ["the only write (one live Service)", { myapp: "v1" }, "myapp", ["myapp"], ["v2"]],
    ["the second write (two live Services)", { "myapp-a": "v1", "myapp-b": "v1" }, "myapp-b", ["myapp-a", "myapp-b"], ["v2", "v2"]],
    ["the first write (live + preview)", { myapp: "v1", "myapp-preview": "v2" }, "myapp", ["myapp", "myapp-preview"], ["v2", "v1"]],
    ["the preview write (live + preview)", { myapp: "v1", "myapp-preview": "v2" }, "myapp-preview", ["myapp", "myapp-preview"], ["v2", "v1"]],
  ];
  for (const [what, services, lost, names, want] of layouts) {
    it(`promote completes when the reply to ${what} is lost after the API server applied it`, async () => {
      const n = await ns("fa-lost");
      await createApp(n, { services });
      const rule = proxy.addRule({ ...patchOf(lost), fault: "lose-reply" });
      const r = await bluegreenAsync(["promote", "myapp"], via(n));
      expect(rule.applied, show(r)).toBe(1);
      expect(r.code, show(r)).toBe(0);
      expect(r.stderr).toContain(`service/${lost}: the reply was lost, but the switch was applied (read back)`);
      expect(slots(n, ...names)).toEqual(want);
      for (const s of names) expect(record(n, s).state).toBe("verified");
    });
  }

  it("a write answered 503 without being applied is sent again", async () => {
    const n = await ns("fa-503");
    await createApp(n);
    proxy.addRule({ ...patchOf("myapp"), fault: "status", status: 503, retryAfter: 1 });
    const r = await bluegreenAsync(["promote", "myapp"], via(n));
    expect(r.code, show(r)).toBe(0);
    expect(slots(n, "myapp")).toEqual(["v2"]);
  });

  it("when a later write never lands, the first is switched back and exit 8 says nothing changed", async () => {
    const n = await ns("fa-never");
    await createApp(n, { services: { "myapp-a": "v1", "myapp-b": "v1" } });
    proxy.addRule({ ...patchOf("myapp-b"), fault: "status", status: 503, times: Number.POSITIVE_INFINITY });
    const r = await bluegreenAsync(["promote", "myapp"], via(n));
    expect(r.code, show(r)).toBe(8);
    expect(r.stderr).toMatch(/^service\/myapp-a switched: version v1 → v2\nerror: patch service\/myapp-b: .*503.*; service\/myapp-a was switched back, so nothing changed\.\n/);
    expect(slots(n, "myapp-a", "myapp-b")).toEqual(["v1", "v1"]);
    expect(record(n, "myapp-a")).toBeNull();
  });
});

describe.skipIf(EXTERNAL_CLUSTER)("verification", () => {
  it("retries 429/503 and slow answers until --verify-timeout", async () => {
    const n = await ns("fa-vretry");
    await createApp(n);
    // The first EndpointSlice list is the pre-switch check; the next ones are verification.
    proxy.addRule({ ...SLICES, fault: "status", status: 429, retryAfter: 1, nth: 2 });
    proxy.addRule({ ...SLICES, fault: "status", status: 503, nth: 2 });
    proxy.addRule({ ...SLICES, fault: "delay", ms: 3000, nth: 2 });
    const r = await bluegreenAsync(["promote", "myapp", "--request-timeout", "2s"], via(n));
    expect(r.code, show(r)).toBe(0);
    expect(slots(n, "myapp")).toEqual(["v2"]);
    expect(proxy.find(SLICES).length).toBeGreaterThanOrEqual(4);
  });

  it("a 403 while verifying switches back at once (exit 6)", async () => {
    const n = await ns("fa-v403");
    await createApp(n);
    proxy.addRule({ ...SLICES, fault: "status", status: 403, nth: 2, message: "endpointslices is forbidden" });
    const r = await bluegreenAsync(["promote", "myapp"], via(n));
    expect(r.code, show(r)).toBe(6);
    expect(r.stderr).toMatch(
      /^service\/myapp switched: version v1 → v2\nverifying: waiting up to 1m for every endpoint of service\/myapp to be on v2 \(Ctrl-C switches back\)\nerror: could not verify: list endpointslices for service\/myapp: forbidden: .*; service\/myapp was switched back to version=v1\.\n/,
    );
    expect(slots(n, "myapp")).toEqual(["v1"]);
    expect(record(n, "myapp")).toBeNull();
  });

  it("the switch-back re-applies itself over a concurrent writer while the selector is still ours", async () => {
    const n = await ns("fa-writer");
    await createApp(n);
    await withControllerManagerStopped(async () => {
      // The second PATCH of the Service is the switch-back (verification cannot pass: no controller).
      const hold = proxy.addRule({ ...patchOf("myapp"), fault: "hold", nth: 2 });
      const running = bluegreenAsync(["promote", "myapp", "--verify-timeout", "3s"], via(n));
      const held = await hold.waitForHeld();
      kubectlOk(["annotate", "service", "myapp", "-n", n, "gitops/synced=yes"]);
      held.release();
      const r = await running;
      expect(r.code, show(r)).toBe(6);
      expect(r.stderr).toMatch(
        /^service\/myapp switched: version v1 → v2\nverifying: waiting up to 3s for every endpoint of service\/myapp to be on v2 \(Ctrl-C switches back\)\nerror: verification failed after 3s: .*; service\/myapp was switched back to version=v1\.\n/,
      );
      expect(proxy.find(patchOf("myapp", n)).map((x) => x.status)).toEqual([200, 409, 200]);
    });
    expect(slots(n, "myapp")).toEqual(["v1"]);
    const svc = kubectlJson(["get", "service", "myapp", "-n", n]);
    expect(svc.metadata.annotations["gitops/synced"]).toBe("yes");
    expect(svc.metadata.annotations[RECORD]).toBeUndefined();
  });

  it("gives up when someone else changed the selector, and exit 9 names each Service's slot", async () => {
    const n = await ns("fa-split");
    await createApp(n, { services: { "myapp-a": "v1", "myapp-b": "v1" } });
    await withControllerManagerStopped(async () => {
      const hold = proxy.addRule({ ...patchOf("myapp-b"), fault: "hold", nth: 2 });
      const running = bluegreenAsync(["promote", "myapp", "--verify-timeout", "2s"], via(n));
      const held = await hold.waitForHeld();
      kubectlOk(["patch", "service", "myapp-b", "-n", n, "-p", '{"spec":{"selector":{"version":"v3"}}}']);
      held.release();
      const r = await running;
      expect(r.code, show(r)).toBe(9);
      expect(r.stderr).toMatch(
        /^service\/myapp-a switched: version v1 → v2\nservice\/myapp-b switched: version v1 → v2\nverifying: waiting up to 2s for every endpoint of service\/myapp-a, service\/myapp-b to be on v2 \(Ctrl-C switches back\)\nerror: verification failed after 2s: .*; traffic is split: service\/myapp-a → version=v1, service\/myapp-b → version=v3; service\/myapp-b was changed by someone else to version=v3\.\n/,
      );
      expect(r.stderr).toContain("then finish with kubectl bluegreen promote myapp or go back with kubectl bluegreen abort myapp.");
    });
    expect(slots(n, "myapp-a", "myapp-b")).toEqual(["v1", "v3"]);
  });
});

describe.skipIf(EXTERNAL_CLUSTER)("interrupted switches", () => {
  /** Two live Services; the plugin is killed (-9) while the second write is held, which is then dropped. */
  async function killedBetweenWrites(prefix: string): Promise<string> {
    const n = await ns(prefix);
    await createApp(n, { services: { "myapp-a": "v1", "myapp-b": "v1" } });
    const hold = proxy.addRule({ ...patchOf("myapp-b"), fault: "hold" });
    const p = bluegreenChild(["promote", "myapp"], via(n));
    const held = await hold.waitForHeld();
    p.kill("SIGKILL");
    const r = await p.done;
    held.drop();
    expect(r.code, show(r)).toBe(128);
    expect(slots(n, "myapp-a", "myapp-b")).toEqual(["v2", "v1"]);
    const s = bluegreen(["status", "myapp"], { namespace: n });
    expect(s.code).toBe(1);
    expect(s.stdout).toMatch(
      /Verdict: {6}interrupted: the promote v1 → v2 started \S+ by \S+ is in progress or was interrupted: service\/myapp-a on v2, service\/myapp-b on v1; promote finishes it, abort goes back\n/,
    );
    return n;
  }

  it("kill -9 between writes: promote finishes it forward", async () => {
    const n = await killedBetweenWrites("fa-kill-fwd");
    const d = bluegreen(["diff", "myapp"], { namespace: n });
    expect(d.code).toBe(4);
    expect(d.stderr).toMatch(/^error: app myapp has no single live slot to compare from: service\/myapp-a on v2, service\/myapp-b on v1\.\n/);
    const id = record(n, "myapp-a").id;
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^service\/myapp-a kept: version=v2\nservice\/myapp-b switched: version v1 → v2\napp myapp promoted: version=v2 is live \(was v1\)/);
    expect(slots(n, "myapp-a", "myapp-b")).toEqual(["v2", "v2"]);
    for (const s of ["myapp-a", "myapp-b"]) expect(record(n, s)).toMatchObject({ id, state: "verified" });
    expect(JSON.parse(kubectlJson(["get", "service", "myapp-a", "-n", n]).metadata.annotations["kubectl-bluegreen/history"])).toHaveLength(1);
    expect(bluegreen(["status", "myapp"], { namespace: n }).code).toBe(0);
  });

  it("kill -9 between writes: abort goes back, and promote does not re-promote", async () => {
    const n = await killedBetweenWrites("fa-kill-back");
    const r = bluegreen(["abort", "myapp"], { namespace: n });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^service\/myapp-a switched: version v2 → v1\nservice\/myapp-b kept: version=v1\napp myapp aborted: version=v1 is live again \(was v2\)/);
    expect(slots(n, "myapp-a", "myapp-b")).toEqual(["v1", "v1"]);
    expect(bluegreen(["promote", "myapp"], { namespace: n }).code).toBe(4);
  });

  it("kill -9 during verification: status names it, promote verifies it", async () => {
    const n = await ns("fa-kill-verify");
    await createApp(n);
    await withControllerManagerStopped(async () => {
      const p = bluegreenChild(["promote", "myapp"], via(n));
      await proxy.waitForRequest(patchOf("myapp"));
      await proxy.waitForRequest(SLICES); // verifying now
      p.kill("SIGKILL");
      await p.done;
    });
    expect(record(n, "myapp").state).toBe("pending");
    const s = bluegreen(["status", "myapp"], { namespace: n });
    expect(s.code).toBe(1);
    expect(s.stdout).toMatch(/interrupted: the promote v1 → v2 .* before verification: service\/myapp on v2/);
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^service\/myapp kept: version=v2\napp myapp promoted/);
    expect(record(n, "myapp").state).toBe("verified");
  });

  it("Ctrl-C during verification switches back; a second Ctrl-C does not abandon the switch-back", async () => {
    const n = await ns("fa-ctrlc");
    await createApp(n);
    await withControllerManagerStopped(async () => {
      const hold = proxy.addRule({ ...patchOf("myapp"), fault: "hold", nth: 2 });
      const p = bluegreenChild(["promote", "myapp"], via(n));
      let stderr = "";
      p.child.stderr.on("data", (d: string) => {
        stderr += d;
      });
      await proxy.waitForRequest(patchOf("myapp"));
      await proxy.waitForRequest(SLICES);
      p.kill("SIGINT");
      const held = await hold.waitForHeld();
      p.kill("SIGINT");
      await waitFor("the plugin to say it keeps switching back", () => stderr.includes("still switching back"));
      held.release();
      const r = await p.done;
      expect(r.code, show(r)).toBe(130);
      expect(r.stderr).toContain("still switching back; it finishes on its own");
      expect(r.stderr).toMatch(/error: interrupted: service\/myapp was switched back to version=v1, so nothing changed\.\n/);
    });
    expect(slots(n, "myapp")).toEqual(["v1"]);
  });

  it("a promote that finishes a switch still running elsewhere: both end all-new, neither undoes the other", async () => {
    const n = await ns("fa-finish");
    await createApp(n, { services: { myapp: "v1", "myapp-preview": "v2" } });
    // The first promote's write of the preview Service is held: the live Service is switched, its record pending.
    const hold = proxy.addRule({ ...patchOf("myapp-preview"), fault: "hold" });
    const first = bluegreenAsync(["promote", "myapp"], via(n));
    const held = await hold.waitForHeld();
    // A second promote sees that pending switch and finishes it forward, under the same operation id.
    const second = await bluegreenAsync(["promote", "myapp"], { namespace: n });
    expect(second.code, `${second.stdout}${second.stderr}`).toBe(0);
    expect(slots(n, "myapp", "myapp-preview")).toEqual(["v2", "v1"]);
    // The held write now meets a 409; the record on the Service says it is this very switch, landed.
    held.release();
    const r = await first;
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toContain("service/myapp-preview: another command finished this switch (read back)\n");
    expect(proxy.find(patchOf("myapp-preview", n)).map((x) => x.status)[0]).toBe(409);
    expect(slots(n, "myapp", "myapp-preview")).toEqual(["v2", "v1"]);
    expect(record(n, "myapp")).toMatchObject({ state: "verified" });
  });

  it("a write that meets someone else's annotation is sent again on the fresh resourceVersion", async () => {
    const n = await ns("fa-benign");
    await createApp(n);
    const hold = proxy.addRule({ ...patchOf("myapp"), fault: "hold" });
    const running = bluegreenAsync(["promote", "myapp"], via(n));
    const held = await hold.waitForHeld();
    kubectlOk(["annotate", "service", "myapp", "-n", n, "team=payments"]);
    held.release();
    const r = await running;
    expect(r.code, show(r)).toBe(0);
    expect(proxy.find(patchOf("myapp", n)).map((x) => x.status).slice(0, 2)).toEqual([409, 200]);
    expect(slots(n, "myapp")).toEqual(["v2"]);
    expect(kubectlJson(["get", "service", "myapp", "-n", n]).metadata.annotations.team).toBe("payments");
  });

  it("a write conflicting with a change it depends on fails cleanly (exit 5) and changes nothing", async () => {
    const n = await ns("fa-conflict");
    await createApp(n);
    const hold = proxy.addRule({ ...patchOf("myapp"), fault: "hold" });
    const running = bluegreenAsync(["promote", "myapp"], via(n));
    const held = await hold.waitForHeld();
    // Someone else adds a key to the selector: the switch was planned on another one.
    kubectlOk(["patch", "service", "myapp", "-n", n, "-p", '{"spec":{"selector":{"tier":"web"}}}']);
    held.release();
    const r = await running;
    expect(r.code, show(r)).toBe(5);
    expect(r.stderr).toMatch(/^error: patch service\/myapp: conflict: the Service was changed by someone else since it was read \(its selector is app=myapp,tier=web,version=v1 now\); nothing changed\.\n/);
    expect(selectorOf(n, "myapp")).toEqual({ app: "myapp", tier: "web", version: "v1" });
    expect(kubectl(["get", "service", "myapp", "-n", n, "-o", `jsonpath={.metadata.annotations.${RECORD.replace(/[./]/g, "\\$&")}}`]).stdout).toBe("");
  });
});
