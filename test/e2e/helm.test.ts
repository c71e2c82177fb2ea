// Apps shaped like common Helm charts, on the real control plane: Services whose targetPort is a port name,
// pods that declare a metrics port before the HTTP one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, selectorOf, testNamespaces } from "./lib/apps.js";
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
      'error: cannot probe grpc/: deployment/pay-green declares no container port named "grpc" (its ports: metrics 9090, http 8080); nothing changed.\nName a container port the Service leads to: --probe PORT/PATH.\n',
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

describe("hints that lead somewhere", () => {
  it("an idle slot that finished rolling out with fewer replicas than needed: --scale-up and --min-ready, not 'wait'", async () => {
    const n = await ns("hint-cap");
    await createApp(n, { slots: [{ value: "v1", replicas: 5 }, { value: "v2", replicas: 3 }] });
    const before = versions(n);
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toContain('deployment "myapp-v2" has 3 available replicas; at least 5 are needed; nothing changed.\n');
    expect(r.stderr).toContain("deployment/myapp-v2 runs 3 replicas where 5 are needed: scale it to the live slot's size first with --scale-up, or accept fewer with --min-ready 3.\n");
    expect(r.stderr).not.toContain("--wait");
    expect(versions(n)).toEqual(before);
  });

  it("an app named by app.kubernetes.io/name: says which --app-label finds it, and status of the namespace says so too", async () => {
    const n = await ns("hint-helm");
    await createApp(n, { app: "shop", appLabel: "app.kubernetes.io/name" });
    const r = bluegreen(["status", "shop"], { namespace: n });
    expect(r.code, show(r)).toBe(3);
    expect(r.stderr).toBe(`error: app "shop" (no Deployment has label app=shop) in namespace "${n}".\nDeployments there have app.kubernetes.io/name=shop: add --app-label app.kubernetes.io/name.\n`);
    const all = bluegreen(["status"], { namespace: n });
    expect(all.code, show(all)).toBe(0);
    expect(all.stderr).toBe(`No blue/green apps (Deployments with label app) found in namespace ${n}.\nhint: 2 Deployment(s) there have label app.kubernetes.io/name: add --app-label app.kubernetes.io/name.\n`);
    expect(bluegreen(["status", "shop", "--app-label", "app.kubernetes.io/name"], { namespace: n }).code).toBe(0);
  });

  it("a typo, a Deployment's name, and an app in another namespace are each named", async () => {
    const n = await ns("hint-where");
    const other = await ns("hint-empty");
    await createApp(n, { app: "api" });
    const typo = bluegreen(["status", "apii"], { namespace: n });
    expect(typo.code, show(typo)).toBe(3);
    expect(typo.stderr).toContain('\nDid you mean "api"?\n');
    const byName = bluegreen(["promote", "api-v1"], { namespace: n });
    expect(byName.code, show(byName)).toBe(3);
    expect(byName.stderr).toContain('\ndeployment/api-v1 belongs to app "api" (app=api): name the app, not the Deployment.\n');
    const elsewhere = bluegreen(["status", "api"], { namespace: other });
    expect(elsewhere.code, show(elsewhere)).toBe(3);
    expect(elsewhere.stderr).toContain(`\nApp "api" is in namespace "${n}": add -n ${n}.\n`);
  });

  it("one Service per slot is named as such, with no advice to mark one as preview (which would swap both)", async () => {
    const n = await ns("hint-slotsvc");
    await createApp(n, { app: "web", slotLabel: "color", slots: [{ value: "blue" }, { value: "green" }], services: { "web-blue": "blue", "web-green": "green" } });
    const before = versions(n);
    const r = bluegreen(["promote", "web", "--to", "green"], { namespace: n });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toContain(
      `error: app web in namespace ${n}: its Services are slot Services, one per slot (web-blue → blue, web-green → green), and no HTTPRoute, GRPCRoute or Ingress in namespace ${n} leads to them, so nothing chooses between them; nothing changed.\n`,
    );
    expect(r.stderr).not.toMatch(/annotate|role=preview/);
    expect(versions(n)).toEqual(before);
  });
});

describe("HPAs in view", () => {
  const hpa = (target: string, min: number, max: number) => `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: ${target} }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: ${target} }
  minReplicas: ${min}
  maxReplicas: ${max}
  metrics: [{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 80 } } }]
`;

  it("status shows each slot's HPA; deploy --replicas outside its range is refused, nothing changed", async () => {
    const n = await ns("hpa-deploy");
    await createApp(n);
    apply(n, hpa("myapp-v2", 3, 3));
    const s = bluegreen(["status", "myapp"], { namespace: n });
    expect(s.code, show(s)).toBe(0);
    expect(s.stdout).toMatch(/^Autoscalers: {2}v2 by hpa\/myapp-v2 \(min 3, max 3(, current \d+)?\)$/m);
    const json = JSON.parse(bluegreen(["status", "myapp", "-o", "json"], { namespace: n }).stdout).items[0];
    expect(json.slots.find((x: { slot: string }) => x.slot === "v2").autoscaler).toMatchObject({ name: "myapp-v2", min: 3, max: 3 });
    expect(json.slots.find((x: { slot: string }) => x.slot === "v1").autoscaler).toBeUndefined();
    const before = versions(n);
    const r = bluegreen(["deploy", "myapp", "--image", "registry.example/myapp:v9", "--replicas", "1"], { namespace: n });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toBe(
      "error: will not set deployment/myapp-v2 to --replicas 1: hpa/myapp-v2 (min 3, max 3) would set it back to 3 within seconds; nothing changed.\n" +
        `Choose a count from 3 to 3, or change the HPA's range first (kubectl patch hpa myapp-v2 -n ${n} ...).\n`,
    );
    expect(versions(n)).toEqual(before);
  });

  it("promote --scale-up beyond the target's HPA maximum is refused before anything is written", async () => {
    const n = await ns("hpa-scaleup");
    await createApp(n, { slots: [{ value: "v1", replicas: 5 }, { value: "v2", replicas: 1 }] });
    apply(n, hpa("myapp-v2", 1, 3));
    const before = versions(n);
    const r = bluegreen(["promote", "myapp", "--scale-up"], { namespace: n });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toContain(
      "error: cannot promote app myapp with --scale-up: deployment/myapp-v2 would be scaled to 5, but hpa/myapp-v2 (min 1, max 3) would cut it back to 3 after the switch; nothing changed.\n",
    );
    expect(versions(n)).toEqual(before);
    expect(selectorOf(n, "myapp").version).toBe("v1");
  });

  it("a capacity shortfall that the target's HPA maximum causes names the HPA, not --scale-up", async () => {
    const n = await ns("hpa-cap");
    await createApp(n, { slots: [{ value: "v1", replicas: 5 }, { value: "v2", replicas: 3 }] });
    apply(n, hpa("myapp-v2", 1, 3));
    const before = versions(n);
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code, show(r)).toBe(4);
    expect(r.stderr).toBe(
      "error: cannot promote app myapp: hpa/myapp-v2 (min 1, max 3) keeps deployment/myapp-v2 at 3 replicas at most, and 5 are needed; nothing changed.\n" +
        `Raise the HPA's maxReplicas to 5 first (kubectl patch hpa myapp-v2 -n ${n} -p '{"spec":{"maxReplicas":5}}'), or accept fewer with --min-ready 3.\n`,
    );
    expect(versions(n)).toEqual(before);
  });

  it("abort scaling a slot back outside its HPA's range warns, and goes back", async () => {
    const n = await ns("hpa-abort");
    await createApp(n);
    const p = bluegreen(["promote", "myapp", "--propagation-delay", "0s", "--scale-down-after", "0s"], { namespace: n });
    expect(p.code, show(p)).toBe(0);
    expect(kubectlJson(["get", "deployment", "myapp-v1", "-n", n]).spec.replicas).toBe(0);
    apply(n, hpa("myapp-v1", 5, 6));
    const r = bluegreen(["abort", "myapp", "--propagation-delay", "0s"], { namespace: n });
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toContain("warning: deployment/myapp-v1 is scaled back to 3, but hpa/myapp-v1 (min 5, max 6) would set it back to 5 within seconds\n");
    expect(selectorOf(n, "myapp").version).toBe("v1");
  });
});
