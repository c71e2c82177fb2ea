// Apps shaped like common Helm charts, on the real control plane: Services whose targetPort is a port name,
// pods that declare a metrics port before the HTTP one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectorOf, testNamespaces } from "./lib/apps.js";
import { EXTERNAL_CLUSTER, type RunResult, apply, bluegreen, bluegreenAsync, kubectlJson, waitForRollout } from "./lib/cluster.js";
import { dataplane } from "./lib/dataplane.js";
import { type FaultProxy, startFaultProxy } from "./lib/faultproxy.js";

const ns = testNamespaces();
const plane = dataplane();
if (!plane.on) console.log(`named-port probe tests skipped (the API server reaches pods only through the data plane): ${plane.reason}`);

const show = (r: RunResult) => `exit ${r.code}\n${r.stdout}${r.stderr}`;
/** resourceVersions of every Deployment and Service of the namespace: equal before and after means nothing was written. */
const versions = (n: string) =>
  ["deployments", "services"].flatMap((k) => kubectlJson(["get", k, "-n", n]).items.map((o: { metadata: { name: string; resourceVersion: string } }) => `${k}/${o.metadata.name}@${o.metadata.resourceVersion}`));

interface PayOptions {
  /** the Service's ports; default http 80 → http and metrics 9090 → metrics */
  ports?: string;
  /** pod annotations of the green slot */
  greenAnnotations?: Record<string, string>;
}

/**
 * pay-blue (live) and pay-green (idle), two replicas each; the pods declare metrics 9090 first and http 8080
 * second, as many charts do; Service pay selects blue through named target ports.
 */
async function pay(n: string, o: PayOptions = {}): Promise<void> {
  const slot = (color: string, annotations: Record<string, string> = {}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: pay-${color}
  labels: { app: pay, color: ${color} }
spec:
  replicas: 2
  selector:
    matchLabels: { app: pay, color: ${color} }
  template:
    metadata:
      labels: { app: pay, color: ${color} }
      annotations: ${JSON.stringify(annotations)}
    spec:
      containers:
        - name: pay
          image: registry.example/pay:1
          ports: [{ name: metrics, containerPort: 9090 }, { name: http, containerPort: 8080 }]
`;
  apply(n, slot("blue"));
  await waitForRollout(n, "pay-blue");
  // The green slot a second later, so its ReplicaSet is the newer version (plain promote's evidence).
  await new Promise((r) => setTimeout(r, 1100));
  apply(
    n,
    `${slot("green", o.greenAnnotations)}---
apiVersion: v1
kind: Service
metadata:
  name: pay
spec:
  selector: { app: pay, color: blue }
  ports: ${o.ports ?? "[{ name: http, port: 80, targetPort: http }, { name: metrics, port: 9090, targetPort: metrics }]"}
`,
  );
  await waitForRollout(n, "pay-green");
}

describe.skipIf(!plane.on)("probes reach named ports", () => {
  const cases: [string, string][] = [
    ["a container port number behind a named targetPort", "8080/"],
    ["a container port name (sent to the pod proxy as its number)", "http/"],
    ["a Service port number (probed at the container port behind it)", "80/"],
  ];
  for (const [what, probe] of cases) {
    it(`--probe ${probe}: ${what}`, async () => {
      const n = await ns("helm-port");
      await pay(n);
      const r = bluegreen(["promote", "pay", "--probe", probe, "--propagation-delay", "0s"], { namespace: n });
      expect(r.code, show(r)).toBe(0);
      expect(r.stderr).toContain("probed 2 pod(s) before the switch: every answer 2xx\n");
      expect(r.stderr).toContain("probed service/pay after the switch: every answer 2xx\n");
      expect(selectorOf(n, "pay").color).toBe("green");
    });
  }

  it("--probe /PATH on a one-port Service probes the container port the Service leads to, not the pod's first", async () => {
    const n = await ns("helm-first");
    // Users reach 8080 (http), which fails on green; 9090 (metrics, declared first) answers.
    await pay(n, { ports: "[{ port: 80, targetPort: http }]", greenAnnotations: { "testbed.kubectl-bluegreen.io/http-status-8080": "503" } });
    const before = versions(n);
    const r = bluegreen(["promote", "pay", "--probe", "/healthz", "--probe-timeout", "5s"], { namespace: n });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toMatch(/^error: the probe before the switch failed: pod\/pay-green-\S+ :8080\/healthz answered 503/m);
    expect(r.stderr).toContain("; nothing changed.\n");
    expect(versions(n)).toEqual(before);
    expect(selectorOf(n, "pay").color).toBe("blue");
  });

  it("--dry-run names the container port and the Service port a probe goes through", async () => {
    const n = await ns("helm-dry");
    await pay(n);
    const r = bluegreen(["promote", "pay", "--probe", "http/ready", "--dry-run"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/probe every ready pod of deployment\/pay-green on container port 8080 \(--probe http\/ready\) at \/ready through the API server's pod proxy/);
    expect(r.stdout).toMatch(/probe service\/pay:http \(container port 8080\) at \/ready through the API server's service proxy/);
  });

  it("a port no container declares and no Service port has is refused by name before anything is written", async () => {
    const n = await ns("helm-noport");
    await pay(n);
    const before = versions(n);
    const r = bluegreen(["promote", "pay", "--probe", "grpc/"], { namespace: n });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toBe(
      'error: cannot probe grpc/: deployment/pay-green declares no container port named "grpc" (its ports: metrics 9090, http 8080); nothing changed.\nhint: Name a container port the Service leads to: --probe PORT/PATH.\n',
    );
    expect(versions(n)).toEqual(before);
  });
});

describe.skipIf(!plane.on || EXTERNAL_CLUSTER)("a probe that gets no answer through the proxy", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy();
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it("is the probe's failure, naming the pod, while the API server answers: not 'cannot reach the cluster'", async () => {
    const n = await ns("helm-reset");
    await pay(n);
    const before = versions(n);
    proxy.addRule({ method: "GET", path: /\/pods\/[^/]+\/proxy/, fault: "reset", times: Number.POSITIVE_INFINITY });
    const r = await bluegreenAsync(["promote", "pay", "--probe", "http/"], { namespace: n, kubeconfig: proxy.kubeconfig });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toMatch(/^error: the probe before the switch failed: pod\/pay-green-\S+ :8080\/: no answer through the API server's proxy, although the API server answers other requests \(/m);
    expect(r.stderr).not.toContain("cannot reach the cluster");
    expect(versions(n)).toEqual(before);
  });
});
