// The fault proxy (lib/faultproxy.ts) against the real test bed, driven with kubectl: each fault does what the
// fail-closed tests will rely on, judged by exit codes and by the objects read directly from the API server.
import https from "node:https";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { createApp, serviceYaml, testNamespaces } from "./lib/apps.js";
import { apply, bluegreenAsync, bluegreenChild, type KubectlOptions, kubectlAsync, kubectlJson, type RunResult } from "./lib/cluster.js";
import { type FaultProxy, startFaultProxy } from "./lib/faultproxy.js";

const newNs = testNamespaces();
let proxy: FaultProxy;
let ns: string;

beforeAll(async () => {
  proxy = await startFaultProxy();
  ns = await newNs("faultproxy");
});
afterAll(async () => {
  await proxy?.close();
});
beforeEach(() => {
  onTestFailed(() => console.error(proxy.formatLog()));
});
afterEach(() => proxy.clearRules());

/** kubectl through the proxy. */
const viaProxy = (args: string[], opts: KubectlOptions = {}): Promise<RunResult> =>
  kubectlAsync(args, { ...opts, kubeconfig: proxy.kubeconfig, env: { ...proxy.env, ...opts.env } });

/** Makes Service <name> (directly, not through the proxy) and returns a RegExp for its URL path. */
function service(name: string): RegExp {
  apply(ns, serviceYaml(name, { app: name }));
  return new RegExp(`/api/v1/namespaces/${ns}/services/${name}$`);
}

/** Service <name> as the API server has it, read directly. */
// biome-ignore lint/suspicious/noExplicitAny: a Service as JSON.
const readService = (name: string): any => kubectlJson(["get", "service", name, "-n", ns]);

const patchLabel = (name: string, key: string, value: string) =>
  viaProxy(["patch", "service", name, "-n", ns, "--type=merge", "-p", JSON.stringify({ metadata: { labels: { [key]: value } } })]);

describe("fault proxy", () => {
  it("forwards requests to the API server and authenticates there as the admin", async () => {
    const r = await viaProxy(["get", "namespace", ns, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).metadata.uid).toBe(kubectlJson(["get", "namespace", ns]).metadata.uid);
    const who = await viaProxy(["auth", "whoami", "-o", "json"]);
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout).status.userInfo.username).toBe("admin");
    const seen = proxy.find({ method: "GET", path: `/api/v1/namespaces/${ns}` });
    expect(seen.map((e) => e.status)).toEqual([200]);
  });

  it("lose-reply: the PATCH is applied but kubectl gets no answer", async () => {
    const path = service("lost");
    const rule = proxy.addRule({ method: "PATCH", path, fault: "lose-reply" });
    const r = await patchLabel("lost", "patched", "yes");
    expect(r.code).not.toBe(0);
    const faulted = await rule.waitForFault();
    expect(faulted).toMatchObject({ upstreamStatus: 200, cut: true, done: true });
    expect(faulted.status).toBeUndefined(); // not a byte of the reply was sent
    expect(readService("lost").metadata.labels?.patched).toBe("yes");
    expect(proxy.find({ method: "PATCH", path })).toHaveLength(1); // kubectl does not resend a PATCH
  });

  it("status with Retry-After: client-go waits and retries, and -v=6 shows the 503s", async () => {
    const path = service("busy");
    const rule = proxy.addRule({ method: "GET", path, fault: "status", status: 503, retryAfter: 1, times: 2 });
    const r = await viaProxy(["get", "service", "busy", "-n", ns, "-o", "name", "-v=6"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("service/busy");
    expect(r.stderr).toMatch(/GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/[a-z0-9-]+\/services\/busy 503 Service Unavailable/);
    expect(proxy.find({ method: "GET", path }).map((e) => e.status)).toEqual([503, 503, 200]);
    expect(rule.applied).toBe(2);
  });

  it("status without Retry-After: kubectl fails with the Status, and nothing reaches the API server", async () => {
    const path = service("refused");
    const before = readService("refused").metadata.resourceVersion;
    proxy.addRule({ method: "PATCH", path, fault: "status", status: 429, message: "slow down", times: Number.POSITIVE_INFINITY });
    const r = await patchLabel("refused", "patched", "yes");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Error from server (TooManyRequests): slow down");
    const after = readService("refused");
    expect(after.metadata.resourceVersion).toBe(before);
    expect(after.metadata.labels?.patched).toBeUndefined();
    expect(proxy.find({ method: "PATCH", path }).map((e) => [e.status, e.upstreamStatus])).toEqual([[429, undefined]]);
  });

  it("hold + release: the request waits in the proxy, then completes", async () => {
    const path = service("held");
    const rule = proxy.addRule({ method: "PATCH", path, fault: "hold" });
    const arrived = proxy.waitForRequest({ method: "PATCH", path });
    const running = patchLabel("held", "patched", "yes");
    const held = await rule.waitForHeld();
    expect(held.request).toBe(await arrived);
    expect(readService("held").metadata.labels?.patched).toBeUndefined(); // not forwarded yet
    held.release();
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("service/held patched");
    expect(readService("held").metadata.labels?.patched).toBe("yes");
    expect(held.request).toMatchObject({ upstreamStatus: 200, status: 200, cut: false });
  });

  it("hold + drop: the connection is cut and the object is unchanged", async () => {
    const path = service("dropped");
    const before = readService("dropped").metadata.resourceVersion;
    const rule = proxy.addRule({ method: "PATCH", path, fault: "hold" });
    const running = patchLabel("dropped", "patched", "yes");
    await rule.waitForHeld();
    rule.drop();
    const r = await running;
    expect(r.code).not.toBe(0);
    const after = readService("dropped");
    expect(after.metadata.resourceVersion).toBe(before);
    expect(after.metadata.labels?.patched).toBeUndefined();
    expect(proxy.find({ method: "PATCH", path }).map((e) => [e.cut, e.upstreamStatus])).toEqual([[true, undefined]]);
  });

  it("reset: the connection is cut before forwarding", async () => {
    const path = service("reset");
    const rule = proxy.addRule({ method: "PATCH", path, fault: "reset" });
    const r = await patchLabel("reset", "patched", "yes");
    expect(r.code).not.toBe(0);
    expect(rule.applied).toBe(1);
    expect(readService("reset").metadata.labels?.patched).toBeUndefined();
  });

  it("nth: 2 faults only the second matching request", async () => {
    const path = service("second");
    const rule = proxy.addRule({ method: "PATCH", path, nth: 2, fault: "status", status: 500 });
    const first = await patchLabel("second", "n", "1");
    expect(first.code, first.stderr).toBe(0);
    const second = await patchLabel("second", "n", "2");
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("InternalError");
    expect(readService("second").metadata.labels?.n).toBe("1");
    const third = await patchLabel("second", "n", "3");
    expect(third.code, third.stderr).toBe(0);
    expect(readService("second").metadata.labels?.n).toBe("3");
    expect([rule.matched, rule.applied]).toEqual([3, 1]);
    expect(proxy.find({ method: "PATCH", path }).map((e) => e.status)).toEqual([200, 500, 200]);
  });

  it("delay holds the reply back", async () => {
    const path = service("slow");
    proxy.addRule({ method: "GET", path, fault: "delay", ms: 1500 });
    const t0 = Date.now();
    const r = await viaProxy(["get", "service", "slow", "-n", ns, "-o", "name"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(proxy.find({ method: "GET", path }).map((e) => [e.fault, e.status])).toEqual([["delay", 200]]);
  });

  it("streams watches: events arrive while the watch is open", async () => {
    const rv: string = kubectlJson(["get", "services", "-n", ns]).metadata.resourceVersion;
    const arrived = proxy.waitForRequest({ method: "GET", path: `/api/v1/namespaces/${ns}/services`, query: "watch=true" });
    const events: { type: string; object: { metadata: { name: string } } }[] = [];
    let onEvent = () => {};
    const req = https.get(`${proxy.url}/api/v1/namespaces/${ns}/services?watch=true&resourceVersion=${rv}`, { ca: proxy.ca }, (res) => {
      let buf = "";
      res.setEncoding("utf8").on("data", (d: string) => {
        buf += d;
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
          onEvent();
        }
      });
    });
    req.on("error", () => {});
    try {
      const watch = await arrived;
      const added = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ADDED event for service watched within 30 s; got ${JSON.stringify(events)}`)), 30_000);
        onEvent = () => {
          if (!events.some((e) => e.type === "ADDED" && e.object.metadata.name === "watched")) return;
          clearTimeout(timer);
          resolve();
        };
      });
      apply(ns, serviceYaml("watched", { app: "watched" }));
      await added;
      expect(watch).toMatchObject({ status: 200, done: false }); // still open: the event was streamed, not buffered
    } finally {
      req.destroy();
    }
  });

  it("the plugin works through the proxy with its kubeconfig", async () => {
    await createApp(ns, { app: "shop" });
    const r = await bluegreenAsync(["status", "shop"], { namespace: ns, kubeconfig: proxy.kubeconfig });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("shop");
    expect(proxy.find({ method: "GET", path: new RegExp(`/namespaces/${ns}/`) }).length).toBeGreaterThan(0);
  });

  it("bluegreenChild: kill -9 reaches the plugin while its request is held; a released request still goes through", async () => {
    await createApp(ns, { app: "kill", wait: false });
    const rule = proxy.addRule({ method: "GET", path: new RegExp(`/namespaces/${ns}/`), fault: "hold" });
    const plugin = bluegreenChild(["status", "kill"], { namespace: ns, kubeconfig: proxy.kubeconfig });
    const held = await rule.waitForHeld();
    plugin.kill("SIGKILL");
    const r = await plugin.done;
    expect(plugin.child.signalCode).toBe("SIGKILL");
    expect(r.code).toBe(128);
    expect(() => process.kill(plugin.child.pid!, 0)).toThrow(/ESRCH/);
    rule.remove(); // releases what it holds, though the client is gone
    await proxy.waitForDone(held.request);
    expect(held.request).toMatchObject({ clientGone: true, upstreamStatus: 200 });
  });
});
