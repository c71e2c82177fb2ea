import { serviceRouter } from "../../src/bluegreen/routers/service.js";
import { describe, expect, it } from "vitest";
import { parseProbe, resolveProbe } from "../../src/bluegreen/checks.js";
import { type DeployOptions, type DeployPlan, mergePatchOf, planDeploy } from "../../src/bluegreen/deploy.js";
import type { Deployment, PodTemplate, Service } from "../../src/bluegreen/model.js";
import { findPair } from "../../src/bluegreen/pair.js";
import { type ScaleDownPlan, type SwitchPlan, planAbort, planPromote, planScaleDown } from "../../src/bluegreen/plan.js";
import {
  BUSY_ANNOTATION,
  DEPLOY_ANNOTATION,
  LAST_SWITCH_ANNOTATION,
  SCALE_DOWN_AT_ANNOTATION,
  busyMark,
  deployRecordOf,
  pendingScaleDownOf,
  versionHash,
} from "../../src/bluegreen/record.js";
import { appStatus, needsAttention } from "../../src/bluegreen/verdict.js";
import { deploymentGuard } from "../../src/bluegreen/guard.js";
import { replicaSet, service, tutorial, wellFormed } from "./builders.js";

const now = new Date("2026-11-22T12:00:00Z");
const ids = { by: "alice", now, id: "0123456789abcdef" };
type State = ReturnType<typeof tutorial>;

const pairOf = (t: State) => wellFormed(findPair("myapp", "blue-green", t.deployments, t.services));
const dep = (t: State, name: string) => t.deployments.find((d) => d.metadata.name === name)!;
const deploy = (t: State, o: Partial<DeployOptions> = {}, services: Service[] = t.services) =>
  planDeploy(pairOf(t), services, { images: [], env: [], from: "live", ...ids, ...o });
const promote = (t: State, o: object = {}) => planPromote(pairOf(t), { ...ids, replicaSets: t.replicaSets, ...o });
const asKind = <T>(p: { kind: string }, kind: string) => {
  expect(p.kind, JSON.stringify(p)).toBe(kind);
  return p as T;
};
const refused = (p: { kind: string }, re: RegExp) => expect(asKind<{ message: string }>(p, "refused").message).toMatch(re);
const busy = (deployment: string, action: string, at: Date) => JSON.stringify({ deployment, action, id: "feedfacefeedface", at: at.toISOString() });
const minutes = (n: number) => new Date(now.getTime() + n * 60_000);

/** Applies a planned switch as the API server would: selectors and the record (in `state`), on `only` Services. */
function applySwitch(t: State, p: SwitchPlan, state: "pending" | "verified" = "verified", only?: string[]): State {
  for (const w of p.writes) {
    if (only && !only.includes(w.name)) continue;
    const svc = t.services.find((s) => s.metadata.name === w.name)!;
    svc.metadata.annotations = { ...(svc.metadata.annotations ?? {}), [LAST_SWITCH_ANNOTATION]: JSON.stringify({ ...p.record, state }) };
    svc.spec!.selector = { ...svc.spec!.selector, ...(serviceRouter.switchTo(w.asRead, p.routing, w.to) as { selector: Record<string, string> }).selector };
  }
  return t;
}

/** The tutorial after a verified promote v1 → v2: v1 is idle and holds the version traffic left. */
function promoted(): State {
  const t = tutorial();
  return applySwitch(t, asKind<SwitchPlan>(promote(t), "switch"));
}

function setImage(d: Deployment, image: string) {
  d.spec!.template.spec!.containers[0]!.image = image;
}

describe("mergePatchOf", () => {
  it("is undefined for equal values, carries changed scalars, nulls removed keys", () => {
    const a = { a: 1, b: { c: [1, 2] }, s: "x" };
    expect(mergePatchOf(a, structuredClone(a))).toBeUndefined();
    expect(mergePatchOf("x", "x")).toBeUndefined();
    expect(mergePatchOf(1, 2)).toBe(2);
    expect(mergePatchOf({ a: 1, b: 2 }, { a: 1, b: 3 })).toEqual({ b: 3 });
    expect(mergePatchOf({ a: 1, b: 2 }, { a: 1 })).toEqual({ b: null });
    expect(mergePatchOf({ a: 1 }, { a: 1, n: { x: 1 } })).toEqual({ n: { x: 1 } });
  });

  it("patches nested objects key by key and replaces arrays whole", () => {
    expect(mergePatchOf({ m: { x: 1, y: 2, z: { q: 1 } }, k: 1 }, { m: { x: 1, y: 3, z: { q: 1 } }, k: 1 })).toEqual({ m: { y: 3 } });
    const before = { l: [{ n: "a", v: 1 }, { n: "b", v: 2 }] };
    const after = { l: [{ n: "a", v: 1 }, { n: "b", v: 3 }] };
    expect(mergePatchOf(before, after)).toEqual({ l: [{ n: "a", v: 1 }, { n: "b", v: 3 }] });
    expect(mergePatchOf(before, structuredClone(before))).toBeUndefined();
    expect(mergePatchOf({ l: [1, 2] }, { l: [1] })).toEqual({ l: [1] });
  });
});

describe("planDeploy", () => {
  it("from live: the live template with the idle slot's label and the new image, as a conditional merge patch", () => {
    const t = tutorial();
    dep(t, "myapp-v2").metadata.resourceVersion = "123";
    const p = asKind<DeployPlan>(deploy(t, { images: [{ image: "myapp:v3" }] }), "deploy");
    expect([p.deployment, p.slot.value, p.live.value, p.slotLabel, p.resourceVersion]).toEqual(["myapp-v2", "v2", "v1", "version", "123"]);
    const template = { metadata: { labels: { app: "myapp", version: "v2" } }, spec: { containers: [{ name: "app", image: "myapp:v3" }] } };
    expect(p.template).toEqual(template);
    expect(p.before).toEqual(dep(t, "myapp-v2").spec!.template);
    const liveV3 = structuredClone(dep(t, "myapp-v1").spec!.template);
    liveV3.spec!.containers[0]!.image = "myapp:v3";
    expect(p.record).toEqual({ id: ids.id, at: "2026-11-22T12:00:00.000Z", by: "alice", source: "live", images: ["app=myapp:v3"], replicas: 3, template: versionHash(liveV3, "version") });
    expect(p.record.template).toBe(versionHash(template, "version"));
    expect(p.patch).toEqual({
      metadata: { resourceVersion: "123", annotations: { [DEPLOY_ANNOTATION]: JSON.stringify(p.record), [SCALE_DOWN_AT_ANNOTATION]: null } },
      spec: { replicas: 3, template: { spec: { containers: [{ name: "app", image: "myapp:v3" }] } } },
    });
    expect(p.changes).toEqual(["image of container app: myapp:v2 → myapp:v3"]);
    expect(p.routers.map((r) => r.ref)).toEqual(["service/myapp"]);
    expect(p.replaces).toBeUndefined();
    expect(dep(t, "myapp-v1").spec!.template.spec!.containers[0]!.image).toBe("myapp:v1");
    expect(dep(t, "myapp-v2").spec!.template.spec!.containers[0]!.image).toBe("myapp:v2");
  });

  it("replicas default to the live slot's desired replicas; --replicas overrides", () => {
    const five = asKind<DeployPlan>(deploy(tutorial({ v1: { replicas: 5 } }), { images: [{ image: "myapp:v3" }] }), "deploy");
    expect([five.replicas, five.patch.spec.replicas, five.record.replicas]).toEqual([5, 5, 5]);
    expect(five.changes).toEqual(["image of container app: myapp:v2 → myapp:v3", "replicas: 3 → 5"]);
    const one = asKind<DeployPlan>(deploy(tutorial({ v1: { replicas: 5 } }), { images: [{ image: "myapp:v3" }], replicas: 1 }), "deploy");
    expect([one.replicas, one.patch.spec.replicas, one.record.replicas]).toEqual([1, 1, 1]);
    expect(one.changes).toEqual(["image of container app: myapp:v2 → myapp:v3", "replicas: 3 → 1"]);
  });

  it("--from idle keeps the idle template's own fields; from live drops them", () => {
    const t = tutorial();
    dep(t, "myapp-v2").spec!.template.spec!.containers[0]!.env = [{ name: "DEBUG", value: "1" }];
    const idle = asKind<DeployPlan>(deploy(t, { images: [{ image: "myapp:v3" }], from: "idle" }), "deploy");
    expect(idle.template.spec!.containers).toEqual([{ name: "app", image: "myapp:v3", env: [{ name: "DEBUG", value: "1" }] }]);
    expect(idle.record.source).toBe("idle");
    expect(idle.patch.spec.template).toEqual({ spec: { containers: [{ name: "app", image: "myapp:v3", env: [{ name: "DEBUG", value: "1" }] }] } });
    const live = asKind<DeployPlan>(deploy(t, { images: [{ image: "myapp:v3" }] }), "deploy");
    expect(live.template.spec!.containers).toEqual([{ name: "app", image: "myapp:v3" }]);
    expect(live.patch.spec.template).toEqual({ spec: { containers: [{ name: "app", image: "myapp:v3" }] } });
    expect(live.record.template).not.toBe(idle.record.template);
  });

  it("a deploy that only drops an env var of the idle slot says so in its extra changes, and writes", () => {
    const t = tutorial({ v2: { image: "myapp:v1" } });
    dep(t, "myapp-v2").spec!.template.spec!.containers[0]!.env = [{ name: "DEBUG", value: "1" }];
    const p = asKind<DeployPlan>(deploy(t, { images: [{ image: "myapp:v1" }] }), "deploy");
    expect(p.patch.spec.template).toEqual({ spec: { containers: [{ name: "app", image: "myapp:v1" }] } });
    expect(p.changes).toEqual([]);
    expect(p.extraChanges).toEqual(["env of container app: DEBUG removed"]);
    expect(p.unchanged).toBe(false);
  });

  it("a restart annotation alone is no new version: no warning that abort loses its target", () => {
    const t = promoted();
    const idle = dep(t, "myapp-v1").spec!.template;
    idle.metadata = { ...idle.metadata, annotations: { "kubectl.kubernetes.io/restartedAt": "2026-11-22T11:00:00Z" } };
    const p = asKind<DeployPlan>(deploy(t, { images: [{ image: "myapp:v1" }] }), "deploy");
    expect(p.unchanged).toBe(false);
    expect(p.replaces).toBeUndefined();
  });

  it("--env is set on the container --image changes, added or replacing a value; not on the sidecar", () => {
    const t = tutorial();
    const idle = dep(t, "myapp-v2").spec!.template.spec!;
    idle.containers = [
      { name: "app", image: "myapp:v2", env: [{ name: "LOG", value: "info" }, { name: "X", value: "1" }] },
      { name: "sidecar", image: "envoy:1" },
    ];
    const env = [
      { name: "LOG", value: "debug" },
      { name: "NEW", value: "y" },
    ];
    const p = asKind<DeployPlan>(deploy(t, { from: "idle", images: [{ container: "app", image: "myapp:v3" }], env }), "deploy");
    expect(p.template.spec!.containers).toEqual([
      { name: "app", image: "myapp:v3", env: [{ name: "LOG", value: "debug" }, { name: "X", value: "1" }, { name: "NEW", value: "y" }] },
      { name: "sidecar", image: "envoy:1" },
    ]);
    expect(p.changes).toEqual(["image of container app: myapp:v2 → myapp:v3", "env of container app: LOG=debug (was info)", "env of container app: NEW=y"]);
  });

  it("an image must name its container when there are several; unknown names are not found; init containers count", () => {
    const t = tutorial();
    const spec = dep(t, "myapp-v2").spec!.template.spec!;
    spec.containers.push({ name: "sidecar", image: "envoy:1" });
    spec.initContainers = [{ name: "init", image: "busybox:1" }];
    expect(deploy(t, { from: "idle", images: [{ image: "myapp:v3" }] })).toEqual({
      kind: "usage",
      message: "deployment/myapp-v2 has 2 containers (app, sidecar), so --image myapp:v3 must name one",
      hint: "Write --image CONTAINER=IMAGE.",
    });
    expect(deploy(t, { from: "idle", images: [{ container: "nope", image: "x:1" }] })).toEqual({
      kind: "not-found",
      message: "deployment/myapp-v2 has no container named nope; its containers are app, sidecar, init",
      hint: "Name one of them: --image CONTAINER=IMAGE.",
    });
    const p = asKind<DeployPlan>(deploy(t, { from: "idle", images: [{ container: "init", image: "busybox:2" }] }), "deploy");
    expect(p.template.spec!.initContainers).toEqual([{ name: "init", image: "busybox:2" }]);
    expect(p.record.images).toEqual(["app=myapp:v2", "sidecar=envoy:1", "init=busybox:2"]);
    expect(p.changes).toEqual(["image of init container init: busybox:1 → busybox:2"]);
    expect(p.patch.spec.template).toEqual({ spec: { initContainers: [{ name: "init", image: "busybox:2" }] } });
  });

  it("refuses an unsettled pair: a pending switch, or Services that disagree", () => {
    const t = tutorial();
    applySwitch(t, asKind<SwitchPlan>(promote(t), "switch"), "pending");
    refused(deploy(t, { images: [{ image: "myapp:v3" }] }), /^will not deploy into app myapp: a switch is in progress or was interrupted \(service\/myapp on v2\)/);
    const split = promoted();
    split.services.push(service("myapp-b", { app: "myapp", version: "v1" }));
    refused(deploy(split, { images: [{ image: "myapp:v3" }] }), /service\/myapp on v2, service\/myapp-b on v1\), so neither slot is idle for sure; nothing changed$/);
  });

  it("refuses when another Service selects the idle slot, before or after the deploy; preview Services may", () => {
    const t = tutorial();
    refused(
      deploy(t, { images: [{ image: "myapp:v3" }] }, [...t.services, service("myapp-canary", { app: "myapp", version: "v2" })]),
      /^will not deploy into deployment\/myapp-v2: service\/myapp-canary selects its pods \(app=myapp,version=v2\), so it is not idle; nothing changed$/,
    );
    const tracked = tutorial({ v1: { labels: { app: "myapp", version: "v1", track: "stable" } } });
    refused(deploy(tracked, { images: [{ image: "myapp:v3" }] }, [...tracked.services, service("stable", { track: "stable", version: "v2" })]), /service\/stable selects its pods/);
    const preview = tutorial();
    preview.services.push(service("myapp-preview", { app: "myapp", version: "v2" }));
    expect(pairOf(preview).routers.filter((s) => s.role === "preview").map((s) => s.name)).toEqual(["myapp-preview"]);
    expect(deploy(preview, { images: [{ image: "myapp:v3" }] }).kind).toBe("deploy");
  });

  it("refuses from live when the idle Deployment's selector needs a label the live template lacks", () => {
    const t = tutorial();
    const idle = dep(t, "myapp-v2");
    idle.spec!.selector = { matchLabels: { app: "myapp", version: "v2", tier: "web" } };
    idle.spec!.template.metadata = { labels: { app: "myapp", version: "v2", tier: "web" } };
    refused(deploy(t, { images: [{ image: "myapp:v3" }] }), /^the pod template of deployment\/myapp-v1 lacks tier=web, which deployment\/myapp-v2's selector needs; nothing changed$/);
    expect(asKind<DeployPlan>(deploy(t, { images: [{ image: "myapp:v3" }], from: "idle" }), "deploy").template.metadata!.labels).toEqual({ app: "myapp", version: "v2", tier: "web" });
  });

  it("refuses while a busy mark names the idle slot", () => {
    const t = tutorial();
    t.services[0]!.metadata.annotations = { [BUSY_ANNOTATION]: busy("myapp-v2", "scale-down", minutes(-1)) };
    refused(deploy(t, { images: [{ image: "myapp:v3" }] }), /^deployment\/myapp-v2 is being scaled down \(marked on service\/myapp at 2026-11-22T11:59:00.000Z\); nothing changed$/);
    t.services[0]!.metadata.annotations = { [BUSY_ANNOTATION]: busy("myapp-v2", "scale-down", minutes(-6)) };
    expect(deploy(t, { images: [{ image: "myapp:v3" }] }).kind).toBe("deploy");
  });

  it("says it replaces the version traffic left, only while the idle slot holds it and something changes", () => {
    const t = promoted();
    const p = asKind<DeployPlan>(deploy(t, { images: [{ image: "myapp:v3" }] }), "deploy");
    expect([p.deployment, p.slot.value]).toEqual(["myapp-v1", "v1"]);
    expect(p.replaces).toBe(
      "deployment/myapp-v1 holds the version traffic left at 2026-11-22T12:00:00.000Z (myapp:v1), the one abort would go back to; after this deploy, abort refuses and the previous version is gone from the cluster",
    );
    const same = asKind<DeployPlan>(deploy(t, { images: [{ image: "myapp:v1" }] }), "deploy");
    expect([same.replaces, same.changes, same.patch.spec.template]).toEqual([undefined, [], undefined]);
    setImage(dep(t, "myapp-v1"), "myapp:v3");
    expect(asKind<DeployPlan>(deploy(t, { images: [{ image: "myapp:v4" }] }), "deploy").replaces).toBeUndefined();
  });

  it("changes nothing when the idle slot already equals the live one but for the slot label", () => {
    const p = asKind<DeployPlan>(deploy(tutorial({ v2: { image: "myapp:v1" } }), { images: [{ image: "myapp:v1" }] }), "deploy");
    expect(p.changes).toEqual([]);
    expect(p.unchanged).toBe(true);
    expect(p.patch.spec).toEqual({ replicas: 3 });
    expect(p.record.template).toBe(versionHash(tutorial().deployments[0]!.spec!.template, "version"));
  });
});

describe("checks", () => {
  it("parseProbe reads [PORT]/PATH and says why not", () => {
    expect(parseProbe("/")).toEqual({ path: "/" });
    expect(parseProbe("8080/healthz")).toEqual({ port: "8080", path: "/healthz" });
    expect(parseProbe("http/x")).toEqual({ port: "http", path: "/x" });
    expect(parseProbe("healthz")).toBe('"healthz" has no path: write [PORT]/PATH, for example 8080/healthz or /');
    expect(parseProbe("0/x")).toBe('port 0 of "0/x" is not between 1 and 65535');
    expect(parseProbe("70000/x")).toBe('port 70000 of "70000/x" is not between 1 and 65535');
    expect(parseProbe("/a?b")).toBe('the path of "/a?b" may not hold ?, #, spaces or control characters');
    expect(parseProbe("Bad_Name/x")).toBe('"Bad_Name" in "Bad_Name/x" is neither a port number nor a port name');
  });

  describe("resolveProbe routes a probe as the API server and kube-proxy do", () => {
    type Ports = NonNullable<Service["spec"]>["ports"];
    const svc = (name: string, ports: Ports) => ({ ...service(name, { app: "a" }), spec: { selector: { app: "a" }, ports } });
    // A Helm-shaped pod: metrics declared first, http second.
    const template = {
      spec: {
        containers: [
          { name: "app", ports: [{ name: "metrics", containerPort: 9090 }, { name: "http", containerPort: 8080 }] },
          { name: "sidecar", ports: [{ name: "admin", containerPort: 15000 }] },
        ],
      },
    };
    const pay = svc("pay", [{ name: "http", port: 80, targetPort: "http" }, { name: "metrics", port: 9090, targetPort: "metrics" }]);
    const resolve = (port: string | undefined, services = [pay], t: PodTemplate | undefined = template) =>
      resolveProbe({ ...(port === undefined ? {} : { port }), path: "/" }, "pay-green", t, services);

    it("a declared container port number: that port, through the Service port whose named target leads there", () => {
      expect(resolve("8080")).toEqual({ containerPort: 8080, servicePorts: [{ service: "pay", port: "http" }] });
      expect(resolve("9090")).toEqual({ containerPort: 9090, servicePorts: [{ service: "pay", port: "metrics" }] });
    });
    it("a port name: the container port of that name, as a number (the pod proxy fails on names)", () => {
      expect(resolve("http")).toEqual({ containerPort: 8080, servicePorts: [{ service: "pay", port: "http" }] });
    });
    it("a Service port number that no container declares: the container port behind it", () => {
      expect(resolve("80")).toEqual({ containerPort: 8080, servicePorts: [{ service: "pay", port: "http" }] });
    });
    it("a Service port name that no container declares: the container port behind it", () => {
      const web = svc("web", [{ name: "web", port: 80, targetPort: 8080 }]);
      expect(resolve("web", [web])).toEqual({ containerPort: 8080, servicePorts: [{ service: "web", port: "web" }] });
    });
    it("no port on a one-port Service with a named target: the container port it names, not the pod's first", () => {
      const one = svc("pay", [{ port: 80, targetPort: "http" }]);
      expect(resolve(undefined, [one])).toEqual({ containerPort: 8080, servicePorts: [{ service: "pay", port: "80" }] });
    });
    it("an undeclared number, when no Service port has it, is taken as it is (a container may listen on it all the same)", () => {
      const wide = svc("s", [{ port: 80, targetPort: 7000 }]);
      expect(resolve("7000", [wide], { spec: { containers: [{ name: "app" }] } })).toEqual({ containerPort: 7000, servicePorts: [{ service: "s", port: "80" }] });
    });
    it("refuses what it cannot route, in one phrase", () => {
      expect(resolve(undefined)).toBe("service/pay has 2 ports (http:80→http(8080), metrics:9090→metrics(9090)); name the port in --probe PORT/PATH");
      expect(resolve("grpc")).toBe('deployment/pay-green declares no container port named "grpc" (its ports: metrics 9090, http 8080, admin 15000)');
      expect(resolve("15000")).toBe("service/pay has no port that leads to container port 15000 (its ports: http:80→http(8080), metrics:9090→metrics(9090))");
      const stale = svc("pay", [{ port: 80, targetPort: "web" }]);
      expect(resolve(undefined, [stale])).toBe('service/pay leads to container port "web", which deployment/pay-green does not declare (its ports: metrics 9090, http 8080, admin 15000)');
      expect(resolve("80", [svc("s", [])])).toBe("service/s has no port that leads to container port 80 (its ports: none)");
    });
    it("several live Services: each through its own port that leads to the same container port", () => {
      const other = svc("pay-internal", [{ name: "h", port: 8080, targetPort: 8080 }]);
      expect(resolve("http", [pay, other])).toEqual({ containerPort: 8080, servicePorts: [{ service: "pay", port: "http" }, { service: "pay-internal", port: "h" }] });
    });
  });
});

describe("planPromote with checks and retirement", () => {
  const checks = { probes: [{ port: "8080", path: "/" }], probeTimeoutMs: 5000, preCheck: "a", postCheck: "b", checkTimeoutMs: 1000 };

  it("probes the target's pods before and each live Service after, around the commands", () => {
    const t = tutorial();
    t.services[0]!.spec!.ports = [{ port: 80, targetPort: 8080 }];
    const s = asKind<SwitchPlan>(promote(t, { checks }), "switch");
    expect(s.steps.map((x) => x.kind)).toEqual(["check", "probe", "command", "switch", "verify", "probe", "command", "record"]);
    const probe = { port: "8080", path: "/" };
    expect(s.steps[1]).toEqual({ kind: "probe", when: "before", timeoutMs: 5000, targets: [{ kind: "pods", deployment: "myapp-v2", port: 8080, probe }] });
    expect(s.steps[2]).toEqual({ kind: "command", when: "before", command: "a", timeoutMs: 1000 });
    expect(s.steps[5]).toEqual({ kind: "probe", when: "after", timeoutMs: 5000, targets: [{ kind: "service", service: "myapp", port: "80", containerPort: 8080, probe }] });
    expect(s.steps[6]).toEqual({ kind: "command", when: "after", command: "b", timeoutMs: 1000 });
  });

  it("refuses a probe whose port no live Service leads to", () => {
    const t = tutorial();
    t.services[0]!.spec!.ports = [{ port: 80, targetPort: 9090 }];
    expect(promote(t, { checks })).toEqual({
      kind: "refused",
      message: "cannot probe 8080/: service/myapp has no port that leads to container port 8080 (its ports: 80→9090); nothing changed",
      hint: "Name a container port the Service leads to: --probe PORT/PATH.",
    });
  });

  it("--scale-up scales a smaller target first; --scale-down-after retires the old slot last", () => {
    const t = tutorial({ v2: { replicas: 1 } });
    const s = asKind<SwitchPlan>(promote(t, { scaleUp: true, scaleDownAfterMs: 5000 }), "switch");
    expect(s.steps[0]).toEqual({ kind: "scale-up", deployment: "myapp-v2", replicas: 3, was: 1, resourceVersion: "100", guard: deploymentGuard(dep(t, "myapp-v2")) });
    expect(s.steps.at(-1)).toEqual({ kind: "scale-down", deployment: "myapp-v1", delayMs: 5000, version: s.record.fromTemplate });
    expect(s.record.fromTemplate).toBe(versionHash(tutorial().deployments[0]!.spec!.template, "version"));
    const equal = asKind<SwitchPlan>(promote(tutorial(), { scaleUp: true }), "switch");
    expect(equal.steps.map((x) => x.kind)).toEqual(["check", "switch", "verify", "record"]);
  });

  it("abort refuses once the idle slot no longer holds the version traffic left", () => {
    const t = promoted();
    setImage(dep(t, "myapp-v1"), "myapp:v3");
    t.replicaSets.push(replicaSet(dep(t, "myapp-v1"), "2026-11-22T13:00:00Z"));
    refused(planAbort(pairOf(t), { ...ids, scaleDown: false, scaleDownDelayMs: 0 }), /the idle slot v1 no longer holds the version traffic left at 2026-11-22T12:00:00.000Z/);
  });
});

describe("planScaleDown", () => {
  const scaleDown = (t: State, at = now, delayMs = 30_000) => planScaleDown(pairOf(t), { now: at, delayMs });

  it("plans the idle slot traffic left, with what is left of the delay counted from the switch", () => {
    const t = promoted();
    const p = asKind<ScaleDownPlan>(scaleDown(t, new Date("2026-11-22T12:00:10Z")), "scale-down");
    expect([p.slot.value, p.slot.deployment.metadata.name, p.live.value, p.delayMs, p.routers.map((r) => `${r.ref} ${r.role}`)]).toEqual(["v1", "myapp-v1", "v2", 20_000, ["service/myapp live"]]);
    expect(p.record).toMatchObject({ action: "promote", from: "v1", to: "v2", at: "2026-11-22T12:00:00.000Z" });
    expect(asKind<ScaleDownPlan>(scaleDown(t, minutes(5)), "scale-down").delayMs).toBe(0);
    expect(asKind<ScaleDownPlan>(scaleDown(t, minutes(-1)), "scale-down").delayMs).toBe(30_000);
  });

  it("refuses without a record, on another version, while unsettled or busy; a no-op at 0 replicas", () => {
    refused(scaleDown(tutorial()), /^will not scale down app myapp's idle slot: no switch is recorded on its Services/);
    const deployed = promoted();
    setImage(dep(deployed, "myapp-v1"), "myapp:v3");
    refused(scaleDown(deployed), /deployment\/myapp-v1 holds a version deployed after the last switch/);
    const pending = tutorial();
    applySwitch(pending, asKind<SwitchPlan>(promote(pending), "switch"), "pending");
    refused(scaleDown(pending), /a switch is in progress or was interrupted/);
    const marked = promoted();
    marked.services[0]!.metadata.annotations![BUSY_ANNOTATION] = busy("myapp-v1", "deploy", minutes(-2));
    refused(scaleDown(marked), /^deployment\/myapp-v1 is being deployed into by kubectl bluegreen deploy/);
    const zero = promoted();
    dep(zero, "myapp-v1").spec!.replicas = 0;
    expect(scaleDown(zero)).toEqual({ kind: "noop", message: "deployment/myapp-v1 (version=v1) is already scaled to 0" });
  });
});

describe("records", () => {
  const rec = { id: "abc", at: "2026-11-22T11:00:00.000Z", by: "bob", source: "live", images: ["app=myapp:v3"], replicas: 2, template: "0123456789abcdef" };
  const withAnn = (k: string, v: string): Deployment => ({ metadata: { name: "d", annotations: { [k]: v } } }) as Deployment;

  it("deployRecordOf reads a well-formed deploy record only", () => {
    expect(deployRecordOf(withAnn(DEPLOY_ANNOTATION, JSON.stringify(rec)))).toEqual(rec);
    expect(deployRecordOf(withAnn(DEPLOY_ANNOTATION, JSON.stringify({ ...rec, extra: 1 })))).toEqual(rec);
    expect(deployRecordOf(undefined)).toBeUndefined();
    const { by: _, ...noBy } = rec;
    for (const bad of [noBy, { ...rec, replicas: "2" }, { ...rec, replicas: -1 }, { ...rec, images: "app=x" }, { ...rec, source: "both" }, { ...rec, template: "xyz" }, { ...rec, at: "never" }]) {
      expect(deployRecordOf(withAnn(DEPLOY_ANNOTATION, JSON.stringify(bad))), JSON.stringify(bad)).toBeUndefined();
    }
    expect(deployRecordOf(withAnn(DEPLOY_ANNOTATION, "{not json"))).toBeUndefined();
    expect(deployRecordOf(withAnn(DEPLOY_ANNOTATION, "[1]"))).toBeUndefined();
  });

  it("pendingScaleDownOf reads {at, by, id}", () => {
    const p = { at: "2026-11-22T12:05:00.000Z", by: "bob", id: "42" };
    expect(pendingScaleDownOf(withAnn(SCALE_DOWN_AT_ANNOTATION, JSON.stringify({ ...p, extra: true })))).toEqual(p);
    expect(pendingScaleDownOf(withAnn(SCALE_DOWN_AT_ANNOTATION, JSON.stringify({ ...p, at: "soon" })))).toBeUndefined();
    expect(pendingScaleDownOf(withAnn(SCALE_DOWN_AT_ANNOTATION, JSON.stringify({ at: p.at, by: p.by })))).toBeUndefined();
    expect(pendingScaleDownOf(withAnn(SCALE_DOWN_AT_ANNOTATION, "nope"))).toBeUndefined();
  });

  it("busyMark reads recent marks with their action and ignores old ones", () => {
    const svc = (v: string) => service("myapp", {}, { annotations: { [BUSY_ANNOTATION]: v } });
    expect(busyMark(svc(busy("myapp-v2", "scale-down", minutes(-1))), now)).toEqual({ deployment: "myapp-v2", action: "scale-down", at: "2026-11-22T11:59:00.000Z" });
    expect(busyMark(svc(busy("myapp-v2", "deploy", minutes(-4))), now)).toEqual({ deployment: "myapp-v2", action: "deploy", at: "2026-11-22T11:56:00.000Z" });
    expect(busyMark(svc(busy("myapp-v2", "deploy", minutes(-5))), now)?.action).toBe("deploy");
    expect(busyMark(svc(busy("myapp-v2", "scale-down", minutes(-5.1))), now)).toBeUndefined();
    expect(busyMark(svc(JSON.stringify({ deployment: "myapp-v2", at: now.toISOString() })), now)?.action).toBe("scale-down");
    expect(busyMark(svc("{"), now)).toBeUndefined();
    expect(busyMark(service("myapp", {}), now)).toBeUndefined();
  });
});

describe("appStatus release notes", () => {
  it("shows the newest deploy record, whether its slot still holds it, and a pending scale-down", () => {
    const t = tutorial();
    const [v1, v2] = t.deployments as [Deployment, Deployment];
    const r2 = { id: "b2", at: "2026-11-22T11:00:00.000Z", by: "bob", source: "live" as const, images: ["app=myapp:v2"], replicas: 3, template: versionHash(v2.spec!.template, "version") };
    const r1 = { ...r2, id: "a1", at: "2026-11-21T11:00:00.000Z", images: ["app=myapp:v1"], template: versionHash(v1.spec!.template, "version") };
    const due = { at: "2026-11-22T12:05:00.000Z", by: "carol", id: "c3" };
    v1.metadata.annotations = { [DEPLOY_ANNOTATION]: JSON.stringify(r1), [SCALE_DOWN_AT_ANNOTATION]: JSON.stringify(due) };
    v2.metadata.annotations = { [DEPLOY_ANNOTATION]: JSON.stringify(r2) };
    const s = appStatus(pairOf(t), t.replicaSets);
    expect(s.lastDeploy).toEqual({ ...r2, slot: "v2", deployment: "myapp-v2", current: true });
    expect(s.pendingScaleDown).toEqual({ slot: "v1", deployment: "myapp-v1", at: due.at, by: "carol" });
    setImage(v2, "myapp:v2-hotfix");
    expect(appStatus(pairOf(t), t.replicaSets).lastDeploy).toEqual({ ...r2, slot: "v2", deployment: "myapp-v2", current: false });
    v1.metadata.annotations = { [DEPLOY_ANNOTATION]: JSON.stringify({ ...r1, at: "2026-11-22T11:30:00.000Z" }) };
    const newer = appStatus(pairOf(t), t.replicaSets);
    expect(newer.lastDeploy).toMatchObject({ id: "a1", slot: "v1", deployment: "myapp-v1", current: true });
    expect(newer.pendingScaleDown).toBeUndefined();
  });
});

describe("drift: a Service changed after a verified switch", () => {
  it("names the Service, the switch that left it, and who wrote its selector; exit 1", () => {
    const t = promoted();
    expect(appStatus(pairOf(t), t.replicaSets).verdict).toBe("promoted");
    // A controller puts the selector back (the record stays: it owns only the selector).
    t.services[0]!.spec!.selector = { ...t.services[0]!.spec!.selector, version: "v1" };
    const s = appStatus(pairOf(t), t.replicaSets, { "service/myapp": "argocd-controller" });
    expect(s.verdict).toBe("drifted");
    expect(s.drift).toEqual([{ router: "service/myapp", selects: "v1", recorded: "v2", writer: "argocd-controller" }]);
    expect(s.reason).toBe(
      "service/myapp selects version=v1, but the last switch (promote, 2026-11-22T12:00:00.000Z by alice) left it on v2; its selector was last written by argocd-controller; " +
        "something outside kubectl bluegreen changed it (a controller that reverts it?): stop that, then promote --to v2 puts it back",
    );
    expect(needsAttention(s)).toBe(true);
    // Without the writer (it could not be read), the rest stands.
    expect(appStatus(pairOf(t), t.replicaSets).drift).toEqual([{ router: "service/myapp", selects: "v1", recorded: "v2", writer: undefined }]);
  });

  it("a pending switch is not drift: it is an interrupted one", () => {
    const t = tutorial();
    applySwitch(t, asKind<SwitchPlan>(promote(t), "switch"), "pending");
    t.services[0]!.spec!.selector = { ...t.services[0]!.spec!.selector, version: "v1" };
    const s = appStatus(pairOf(t), t.replicaSets);
    expect(s.verdict).not.toBe("drifted");
    expect(s.drift).toBeUndefined();
  });
});
