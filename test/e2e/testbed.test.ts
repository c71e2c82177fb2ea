// Proof that the test bed is a real cluster: controllers, scheduler and kwok's fake kubelets do the work
// that the plugin relies on (rollouts, availability, EndpointSlices, RBAC). If one of these fails, no
// other e2e result means anything.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_CONTEXT,
  EXTERNAL_CLUSTER,
  VIEWER_CONTEXT,
  apply,
  deleteNamespace,
  kubectl,
  kubectlJson,
  kubectlOk,
  newNamespace,
  requireCluster,
  waitFor,
  waitForRollout,
} from "./lib/cluster.js";

const namespaces: string[] = [];
async function namespace(prefix: string): Promise<string> {
  const ns = await newNamespace(prefix);
  namespaces.push(ns);
  return ns;
}

function deployment(name: string, opts: { replicas?: number; image?: string; nodeSelector?: Record<string, string>; progressDeadlineSeconds?: number } = {}): string {
  const nodeSelector = opts.nodeSelector ? `      nodeSelector: ${JSON.stringify(opts.nodeSelector)}\n` : "";
  const deadline = opts.progressDeadlineSeconds ? `  progressDeadlineSeconds: ${opts.progressDeadlineSeconds}\n` : "";
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${opts.replicas ?? 3}
${deadline}  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
${nodeSelector}      containers:
        - name: app
          image: ${opts.image ?? "registry.example/myapp:v1"}
          ports: [{ containerPort: 8080 }]
`;
}

function service(name: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]
`;
}

describe("test bed", () => {
  beforeAll(() => requireCluster());
  afterAll(() => {
    for (const ns of namespaces) deleteNamespace(ns);
  });

  it("makes a 3-replica Deployment available (controllers, scheduler and kwok at work)", async () => {
    const ns = await namespace("tb-avail");
    apply(ns, deployment("web"));
    const d = await waitFor(
      "3 available replicas",
      () => {
        const d = kubectlJson(["get", "deployment", "web", "-n", ns]);
        return d.status?.availableReplicas === 3 ? d : undefined;
      },
      60_000,
    );
    expect(d.status.readyReplicas).toBe(3);
    const pods = kubectlJson(["get", "pods", "-n", ns, "-l", "app=web"]).items;
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.spec.nodeName).toMatch(/\S/); // bound by the scheduler
      expect(p.status.phase).toBe("Running"); // set by kwok
      expect(p.status.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
  });

  it("lists 3 ready endpoints in the Service's EndpointSlices", async () => {
    const ns = await namespace("tb-eps");
    apply(ns, `${deployment("web")}---\n${service("web")}`);
    await waitForRollout(ns, "web");
    const endpoints = await waitFor("3 ready endpoints", () => {
      const slices = kubectlJson(["get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=web"]).items;
      // biome-ignore lint/suspicious/noExplicitAny: EndpointSlice JSON
      const eps = slices.flatMap((s: any) => s.endpoints ?? []);
      // biome-ignore lint/suspicious/noExplicitAny: EndpointSlice JSON
      return eps.length === 3 && eps.every((e: any) => e.conditions?.ready === true) ? eps : undefined;
    });
    const podIPs = kubectlJson(["get", "pods", "-n", ns, "-l", "app=web"])
      // biome-ignore lint/suspicious/noExplicitAny: Pod JSON
      .items.map((p: any) => p.status.podIP)
      .sort();
    // biome-ignore lint/suspicious/noExplicitAny: EndpointSlice JSON
    expect(endpoints.flatMap((e: any) => e.addresses).sort()).toEqual(podIPs);
  });

  it("rolls out a new ReplicaSet when the pod template changes", async () => {
    const ns = await namespace("tb-rollout");
    apply(ns, deployment("web", { image: "registry.example/myapp:v1" }));
    await waitForRollout(ns, "web");
    kubectlOk(["set", "image", "deployment/web", "app=registry.example/myapp:v2", "-n", ns]);
    await waitForRollout(ns, "web");
    // biome-ignore lint/suspicious/noExplicitAny: ReplicaSet JSON
    const rss: any[] = await waitFor("old ReplicaSet scaled to 0", () => {
      const items = kubectlJson(["get", "replicasets", "-n", ns, "-l", "app=web"]).items;
      // biome-ignore lint/suspicious/noExplicitAny: ReplicaSet JSON
      const old = items.find((rs: any) => rs.spec.template.spec.containers[0].image.endsWith(":v1"));
      return items.length === 2 && old?.status.replicas === 0 ? items : undefined;
    });
    const byImage = (tag: string) => rss.find((rs) => rs.spec.template.spec.containers[0].image.endsWith(tag));
    expect(byImage(":v2").status.readyReplicas).toBe(3);
    expect(byImage(":v2").metadata.annotations["deployment.kubernetes.io/revision"]).toBe("2");
    expect(byImage(":v1").spec.replicas).toBe(0);
    expect(byImage(":v1").status.replicas).toBe(0);
  });

  it("never makes a Deployment available when no node matches its nodeSelector", async () => {
    const ns = await namespace("tb-pending");
    apply(ns, deployment("stuck", { nodeSelector: { "bluegreen.example/no-such-node": "true" }, progressDeadlineSeconds: 5 }));
    // The Deployment controller gives up after progressDeadlineSeconds: the condition a rollout watcher sees.
    // biome-ignore lint/suspicious/noExplicitAny: Deployment JSON
    const cond = (d: any, type: string) => d.status?.conditions?.find((c: any) => c.type === type);
    await waitFor(
      "Progressing=False (ProgressDeadlineExceeded)",
      () => {
        const d = kubectlJson(["get", "deployment", "stuck", "-n", ns]);
        return cond(d, "Progressing")?.reason === "ProgressDeadlineExceeded" ? d : undefined;
      },
      60_000,
    );
    // Then ~10 s of watching: nothing ever becomes available.
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const d = kubectlJson(["get", "deployment", "stuck", "-n", ns]);
      expect(d.status.availableReplicas ?? 0).toBe(0);
      expect(cond(d, "Available")?.status).toBe("False");
      await new Promise((r) => setTimeout(r, 1000));
    }
    const pods = kubectlJson(["get", "pods", "-n", ns, "-l", "app=stuck"]).items;
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.status.phase).toBe("Pending");
      // biome-ignore lint/suspicious/noExplicitAny: Pod JSON
      const scheduled = p.status.conditions?.find((c: any) => c.type === "PodScheduled");
      expect(scheduled?.status).toBe("False");
      expect(scheduled?.reason).toBe("Unschedulable");
    }
  });

  it("lets the viewer read Deployments but refuses it a Service patch (403)", async () => {
    const ns = await namespace("tb-rbac");
    apply(ns, `${deployment("web", { replicas: 1 })}---\n${service("web")}`);
    const got = kubectlJson(["get", "deployment", "web", "-n", ns], { context: VIEWER_CONTEXT });
    expect(got.metadata.name).toBe("web");
    const list = kubectlJson(["get", "deployments", "-n", ns], { context: VIEWER_CONTEXT });
    expect(list.items.map((d: { metadata: { name: string } }) => d.metadata.name)).toEqual(["web"]);

    const before = kubectlJson(["get", "service", "web", "-n", ns]);
    // -v=6 makes kubectl log the response status, so the 403 itself is checked, not just the wording.
    const patch = kubectl(
      ["patch", "service", "web", "-n", ns, "--type=merge", "-p", '{"spec":{"selector":{"app":"other"}}}', "-v=6"],
      { context: VIEWER_CONTEXT },
    );
    expect(patch.code).not.toBe(0);
    expect(patch.stderr).toMatch(/forbidden/i);
    expect(patch.stderr).toMatch(/403 Forbidden/);
    expect(patch.stderr).toContain('User "viewer" cannot patch resource "services"');
    const after = kubectlJson(["get", "service", "web", "-n", ns], { context: ADMIN_CONTEXT });
    expect(after.spec.selector).toEqual({ app: "web" });
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it.skipIf(EXTERNAL_CLUSTER)("runs Kubernetes v1.34", () => {
    const v = kubectlJson(["version"]);
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.34\./);
  });
});
