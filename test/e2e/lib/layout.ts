// Blue/green app layouts for the end-to-end tests (and the switch benchmark), created for real on the cluster.
// Free of vitest, so plain programs can use it too; ./apps.js adds the test-file helpers.
import { apply, kubectl, kubectlJson, kubectlOk, waitFor, waitForRollout } from "./cluster.js";

export interface SlotSpec {
  /** Slot label value, e.g. v1 or blue. */
  value: string;
  image?: string;
  replicas?: number;
  /** A nodeSelector that matches no node keeps the slot from ever becoming available. */
  unschedulable?: boolean;
  name?: string;
}

export interface AppSpec {
  app?: string;
  appLabel?: string;
  slotLabel?: string;
  slots?: [SlotSpec, SlotSpec];
  /** Services: name → slot value they select (undefined: no slot label in the selector). */
  services?: Record<string, string | undefined>;
  /** Extra annotations per Service. */
  annotations?: Record<string, Record<string, string>>;
  /** Wait for every schedulable slot to roll out. */
  wait?: boolean;
}

export function deploymentYaml(app: string, appLabel: string, slotLabel: string, s: SlotSpec): string {
  const labels = `{ "${appLabel}": "${app}", "${slotLabel}": "${s.value}" }`;
  const nodeSelector = s.unschedulable ? `      nodeSelector: { "no-such-node": "anywhere" }\n` : "";
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${s.name ?? `${app}-${s.value}`}
  labels: ${labels}
spec:
  replicas: ${s.replicas ?? 3}
  selector:
    matchLabels: ${labels}
  template:
    metadata:
      labels: ${labels}
    spec:
${nodeSelector}      containers:
        - name: ${app}
          image: registry.example/${app}:${s.image ?? s.value}
          ports: [{ containerPort: 8080 }]
`;
}

export function serviceYaml(name: string, selector: Record<string, string>, annotations: Record<string, string> = {}): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  annotations: ${JSON.stringify(annotations)}
spec:
  selector: ${JSON.stringify(selector)}
  ports: [{ port: 80, targetPort: 8080 }]
`;
}

/**
 * Creates the tutorial layout by default: myapp-v1/myapp-v2 (app, version), Service myapp on v1. The first
 * slot and the Services come first and the second slot only once the server's clock is a second later, so
 * the ReplicaSets show the second slot's version as the newer one (what plain promote needs as evidence).
 */
export async function createApp(ns: string, spec: AppSpec = {}): Promise<void> {
  const app = spec.app ?? "myapp";
  const appLabel = spec.appLabel ?? "app";
  const slotLabel = spec.slotLabel ?? "version";
  const given = spec.slots ?? [{ value: "v1" }, { value: "v2" }];
  const services = spec.services ?? { [app]: given[0].value };
  // The slot the first Service selects is live: it comes first, the idle one later.
  const liveValue = Object.values(services).find((v) => v !== undefined) ?? given[0].value;
  const slots: [SlotSpec, SlotSpec] = given[1].value === liveValue ? [given[1], given[0]] : given;
  const docs = [deploymentYaml(app, appLabel, slotLabel, slots[0])];
  for (const [name, value] of Object.entries(services)) {
    const selector: Record<string, string> = { [appLabel]: app };
    if (value !== undefined) selector[slotLabel] = value;
    docs.push(serviceYaml(name, selector, spec.annotations?.[name]));
  }
  apply(ns, docs.join("---\n"));
  const first = slots[0].name ?? `${app}-${slots[0].value}`;
  const created = await waitFor(`the ReplicaSet of ${first}`, () => {
    const items: { metadata: { creationTimestamp: string } }[] = kubectlJson(["get", "replicasets", "-n", ns, "-l", `${appLabel}=${app},${slotLabel}=${slots[0].value}`]).items;
    return items[0] ? Date.parse(items[0].metadata.creationTimestamp) : undefined;
  });
  // Creation times have one-second resolution; the API server runs on this machine's clock.
  await waitFor("the next second on the server's clock", () => Date.now() >= created + 1000, 5000, 50);
  apply(ns, deploymentYaml(app, appLabel, slotLabel, slots[1]));
  if (spec.wait !== false) {
    for (const s of slots) if (!s.unschedulable) await waitForRollout(ns, s.name ?? `${app}-${s.value}`);
  }
}

/** The selector of a Service. */
export function selectorOf(ns: string, svc: string): Record<string, string> {
  return kubectlJson(["get", "service", svc, "-n", ns]).spec.selector;
}

/** The resourceVersion of a Service. */
export function resourceVersionOf(ns: string, svc: string): string {
  return kubectlJson(["get", "service", svc, "-n", ns]).metadata.resourceVersion;
}

/** Pods behind a Service's ready endpoints, by their slot label value. */
export function endpointSlots(ns: string, svc: string, slotLabel = "version"): { ready: string[]; all: string[] } {
  type Endpoint = { conditions?: { ready?: boolean }; targetRef?: { name?: string } };
  type Named = { metadata: { name: string; labels?: Record<string, string> } };
  const slices: { endpoints?: Endpoint[] }[] = kubectlJson(["get", "endpointslices", "-n", ns, "-l", `kubernetes.io/service-name=${svc}`]).items;
  const pods: Named[] = kubectlJson(["get", "pods", "-n", ns]).items;
  const slotOf = new Map(pods.map((p) => [p.metadata.name, p.metadata.labels?.[slotLabel]]));
  const eps = slices.flatMap((s) => s.endpoints ?? []);
  const slot = (e: Endpoint) => slotOf.get(e.targetRef?.name ?? "") ?? "?";
  return { all: eps.map(slot), ready: eps.filter((e) => e.conditions?.ready).map(slot) };
}

/** Waits until a Service's endpoints are exactly `count` ready pods of one slot. */
export async function waitForEndpoints(ns: string, svc: string, slot: string, count: number, slotLabel = "version"): Promise<void> {
  await waitFor(`${count} ready endpoints of ${slot} behind service ${svc}`, () => {
    const e = endpointSlots(ns, svc, slotLabel);
    return e.all.length === count && e.ready.length === count && e.ready.every((x) => x === slot);
  });
}

/** The user name the API server sees for a context (kubectl auth whoami). */
export function whoami(context?: string): string {
  return kubectlJson(["auth", "whoami"], { context }).status.userInfo.username;
}

/** Makes a slot roll out a new pod template (a new image). */
export async function redeploy(ns: string, deployment: string, image: string): Promise<void> {
  const container = kubectlJson(["get", "deployment", deployment, "-n", ns]).spec.template.spec.containers[0].name;
  kubectlOk(["set", "image", `deployment/${deployment}`, `${container}=${image}`, "-n", ns]);
  await waitForRollout(ns, deployment);
}

export { kubectl };
