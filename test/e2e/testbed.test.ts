// Proof that the test bed is a real cluster: controllers, scheduler and kwok's fake kubelets do the work
// that the plugin relies on (rollouts, availability, EndpointSlices, RBAC). If one of these fails, no
// other e2e result means anything.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "./lib/apps.js";
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
import { get } from "./lib/dataplane.js";
import { GATEWAY_PARENT_REF, gatewayAvailable, getThroughGateway, routeParentStatus } from "./lib/gateway.js";

// Prometheus runs with the gateway (scripts/testbed.sh: Service monitoring/prometheus, scraping Traefik every second).
const gw = gatewayAvailable();
const prometheus = gw.on ? kubectl(["get", "service", "prometheus", "-n", "monitoring"]).code === 0 : false;
if (!prometheus) console.log(`the Prometheus test is skipped (it needs the test bed's gateway and Prometheus): ${gw.reason || "no Service monitoring/prometheus"}`);

/** A PromQL instant query through the API server's service proxy to monitoring/prometheus:9090; the result vector. */
function promQuery(query: string): { metric: Record<string, string>; value: [number, string] }[] {
  const path = `/api/v1/namespaces/monitoring/services/prometheus:9090/proxy/api/v1/query?query=${encodeURIComponent(query)}`;
  const answer = JSON.parse(kubectlOk(["get", "--raw", path]));
  if (answer.status !== "success") throw new Error(`${query}: ${answer.error ?? answer.status}`);
  return answer.data.result;
}

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

  it.skipIf(!prometheus)("counts the gateway's requests in Prometheus per backend Service and status code, asked through the API server's service proxy", async () => {
    const ns = await namespace("tb-prom");
    await createApp(ns, {
      app: "web",
      slotLabel: "color",
      slots: [
        { value: "blue", replicas: 1 },
        { value: "green", replicas: 1 },
      ],
      services: { "web-blue": "blue", "web-green": "green" },
    });
    // The green pod answers 503 (the pod server's annotation), so the code label tells the backends apart.
    kubectlOk(["annotate", "pods", "-n", ns, "-l", "color=green", "testbed.kubectl-bluegreen.io/http-status=503"]);
    const greenIP = kubectlJson(["get", "pods", "-n", ns, "-l", "color=green"]).items[0].status.podIP;
    await waitFor("the green pod to answer 503", () => get(`http://${greenIP}:8080/`).status === 503);
    const route = (name: string, refs: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name} }
spec:
  parentRefs: [${JSON.stringify(GATEWAY_PARENT_REF)}]
  hostnames: ["${name}.${ns}.example"]
  rules: [{ backendRefs: ${refs} }]
`;
    apply(ns, `${route("single", "[{ name: web-blue, port: 80 }]")}---\n${route("weighted", "[{ name: web-blue, port: 80, weight: 1 }, { name: web-green, port: 80, weight: 1 }]")}`);
    for (const name of ["single", "weighted"]) {
      await waitFor(`httproute/${name} accepted`, () => {
        const st = routeParentStatus(ns, name);
        return st && st.observedGeneration >= st.generation && st.conditions.ResolvedRefs?.status === "True";
      });
    }
    const single = `single.${ns}.example`;
    const weighted = `weighted.${ns}.example`;
    // Until green has answered once, so both backends' series exist before the requests counted below.
    await waitFor("the gateway to route both hosts", () => getThroughGateway(single).status === 200 && getThroughGateway(weighted).status === 503, 30_000, 100);

    const blue = `${ns}-web-blue-http-80@kubernetesgateway`;
    const green = `${ns}-web-green-http-80@kubernetesgateway`;
    const counts = () =>
      Object.fromEntries(
        promQuery(`sum by (service, code) (traefik_service_requests_total{service=~"${ns}-.*"})`).map((r) => [`${r.metric.service} ${r.metric.code}`, Number(r.value[1])]),
      );
    // Prometheus has caught up with the requests that found the routes when two reads a scrape and more apart agree.
    let last = "";
    const before = await waitFor(
      "Prometheus to count the requests that found the routes",
      () => {
        const now = counts();
        const same = JSON.stringify(now) === last;
        last = JSON.stringify(now);
        return same && now[`${blue} 200`] > 0 && now[`${green} 503`] > 0 ? now : undefined;
      },
      30_000,
      1500,
    );
    const answered = { ...before };
    for (const [host, n] of [
      [single, 10],
      [weighted, 20],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const a = getThroughGateway(host);
        const key = a.status === 200 && a.labels?.color === "blue" ? `${blue} 200` : a.status === 503 ? `${green} 503` : `unexpected ${a.status}`;
        answered[key] = (answered[key] ?? 0) + 1;
      }
    }
    // Weighted round-robin 1:1: the weighted route's 20 requests alternate between blue and green.
    expect(answered).toEqual({ [`${blue} 200`]: before[`${blue} 200`] + 20, [`${green} 503`]: before[`${green} 503`] + 10 });
    await waitFor("Prometheus to count every request the gateway answered", () => JSON.stringify(counts()) === JSON.stringify(answered), 30_000, 500);

    // One series per backend Service and code, whichever routes led there; the label set is Traefik's plus job and instance.
    const series = promQuery(`traefik_service_requests_total{service=~"${ns}-.*"}`);
    expect(series.map((r) => Object.keys(r.metric).sort())).toEqual(Array(2).fill(["__name__", "code", "instance", "job", "method", "protocol", "service"]));
    expect(series.map((r): Record<string, string> => ({ ...r.metric, instance: "-" })).sort((a, b) => (a.service < b.service ? -1 : 1))).toEqual([
      { __name__: "traefik_service_requests_total", code: "200", instance: "-", job: "traefik", method: "GET", protocol: "http", service: blue },
      { __name__: "traefik_service_requests_total", code: "503", instance: "-", job: "traefik", method: "GET", protocol: "http", service: green },
    ]);
    // An analysis-style query: the new backend's 5xx rate, over requests made after its series existed.
    const rate5xx = `sum(rate(traefik_service_requests_total{service=~".*web-green.*",service=~"${ns}-.*",code=~"5.."}[30s]))`;
    const rates = await waitFor("a non-zero 5xx rate for web-green", () => {
      const r = promQuery(rate5xx);
      return r.length === 1 && Number(r[0].value[1]) > 0 ? r : undefined;
    });
    expect(Number(rates[0].value[1])).toBeGreaterThan(0);
  });

  it.skipIf(EXTERNAL_CLUSTER)("runs Kubernetes v1.34", () => {
    const v = kubectlJson(["version"]);
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.34\./);
  });
});
