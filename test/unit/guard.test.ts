import { describe, expect, it } from "vitest";
import { deploymentGuard, serviceGuard } from "../../src/bluegreen/guard.js";
import { serviceRouter } from "../../src/bluegreen/routers/service.js";

const selectorWriter = (s: Service, slotLabel: string) => serviceRouter.writer(s, { slotLabel, slotServices: {} });
import type { Service } from "../../src/bluegreen/model.js";
import { deployment, service } from "./builders.js";

describe("serviceGuard: what a write to a Service depends on", () => {
  const base = service("myapp", { app: "myapp", version: "v1" }, { annotations: { "kubectl-bluegreen/last-switch": "{}", team: "a" } });
  const changed = (f: (s: Service) => void): Service => {
    const s = structuredClone(base);
    f(s);
    return s;
  };

  it("ignores the resourceVersion, foreign annotations, labels and status", () => {
    const other = changed((s) => {
      s.metadata.resourceVersion = "999";
      s.metadata.annotations = { ...s.metadata.annotations, team: "b", "gitops/synced": "yes" };
      s.metadata.labels = { owner: "x" };
    });
    expect(serviceGuard(other)).toBe(serviceGuard(base));
  });

  it("sees a change to the selector or to any of our annotations", () => {
    expect(serviceGuard(changed((s) => (s.spec!.selector!.version = "v2")))).not.toBe(serviceGuard(base));
    expect(serviceGuard(changed((s) => (s.spec!.selector!.tier = "web")))).not.toBe(serviceGuard(base));
    expect(serviceGuard(changed((s) => (s.metadata.annotations!["kubectl-bluegreen/last-switch"] = '{"id":"x"}')))).not.toBe(serviceGuard(base));
    expect(serviceGuard(changed((s) => (s.metadata.annotations!["kubectl-bluegreen/busy"] = "{}")))).not.toBe(serviceGuard(base));
  });
});

describe("deploymentGuard: what a write to a Deployment depends on", () => {
  const base = deployment("myapp-v2", { labels: { app: "myapp", version: "v2" } });

  it("ignores its status, foreign annotations and the generation they bump", () => {
    const d = structuredClone(base);
    d.status = { ...d.status, availableReplicas: 1, observedGeneration: 7 };
    d.metadata.generation = 8;
    d.metadata.resourceVersion = "555";
    d.metadata.annotations = { "deployment.kubernetes.io/revision": "4" };
    expect(deploymentGuard(d)).toBe(deploymentGuard(base));
  });

  it("sees a new template, other replicas and our annotations", () => {
    for (const f of [
      (d: typeof base) => (d.spec!.template.spec!.containers[0]!.image = "myapp:v3"),
      (d: typeof base) => (d.spec!.replicas = 1),
      (d: typeof base) => (d.metadata.annotations = { "kubectl-bluegreen/scale-down-at": "{}" }),
    ]) {
      const d = structuredClone(base);
      f(d);
      expect(deploymentGuard(d)).not.toBe(deploymentGuard(base));
    }
  });
});

describe("the Service router's writer", () => {
  const fields = (...keys: string[]) => ({ "f:spec": { "f:selector": Object.fromEntries(keys.map((k) => [`f:${k}`, {}])) } });

  it("names the newest manager that owns the slot label of the selector", () => {
    const s = service("web", { app: "web", version: "v1" });
    s.metadata.managedFields = [
      { manager: "kubectl-client-side-apply", operation: "Update", time: "2026-12-01T10:00:00Z", fieldsV1: fields("app") },
      { manager: "kubectl-bluegreen", operation: "Update", time: "2026-12-01T10:05:00Z", fieldsV1: { "f:metadata": { "f:annotations": {} } } },
      { manager: "argocd-controller", operation: "Update", time: "2026-12-01T10:06:00Z", fieldsV1: fields("version") },
      { manager: "older", operation: "Apply", time: "2026-12-01T09:00:00Z", fieldsV1: fields("version") },
    ];
    expect(selectorWriter(s, "version")).toBe("argocd-controller");
    expect(selectorWriter(s, "color")).toBeUndefined();
  });

  it("reads the atomic selector a Service has, as the API server writes it", () => {
    const s = service("web", { app: "web", version: "v1" });
    s.metadata.managedFields = [
      { manager: "kubectl-client-side-apply", operation: "Update", time: "2026-12-03T21:12:49Z", fieldsV1: { "f:spec": { "f:type": {} } } },
      { manager: "gitops-selfheal", operation: "Update", time: "2026-12-03T21:12:53Z", fieldsV1: { "f:spec": { "f:selector": {} } } },
      { manager: "kubectl-bluegreen", operation: "Update", time: "2026-12-03T21:12:53Z", fieldsV1: { "f:metadata": { "f:annotations": {} } } },
    ];
    expect(selectorWriter(s, "version")).toBe("gitops-selfheal");
  });

  it("is undefined for a Service read without managedFields", () => {
    expect(selectorWriter(service("web", { version: "v1" }), "version")).toBeUndefined();
  });
});
