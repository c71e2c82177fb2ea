// The test bed's gateway (scripts/testbed.sh up, with the data plane): Traefik in the data plane's namespace,
// controller of GatewayClass "traefik" and IngressClass "traefik", serving Gateway gateway-system/testbed
// (one HTTP listener, routes from all namespaces) on the namespace's node address, http://10.1.0.1:8000. Tests
// attach HTTPRoutes to the Gateway (parentRefs: [{ name: GATEWAY_NAME, namespace: GATEWAY_NAMESPACE }]) or make
// Ingresses with ingressClassName: INGRESS_CLASS, give each a host of its own, and send requests with that Host.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { EXTERNAL_CLUSTER, REPO_ROOT, TESTBED_DIR, kubectl, kubectlJson } from "./cluster.js";
import { type Answer, Load, dataplane, get } from "./dataplane.js";

export const GATEWAY_NAMESPACE = "gateway-system";
export const GATEWAY_NAME = "testbed";
export const GATEWAY_CLASS = "traefik";
export const INGRESS_CLASS = "traefik";

/** A parentRef to the test bed's Gateway, for an HTTPRoute's spec.parentRefs. */
export const GATEWAY_PARENT_REF = { name: GATEWAY_NAME, namespace: GATEWAY_NAMESPACE };

interface GatewayState {
  /** http://ADDRESS:PORT, from the Gateway's status.addresses and its listener's port */
  url?: string;
  /** why there is no usable gateway */
  reason: string;
}

let cached: GatewayState | undefined;

// Reads the Gateway from the API once: the address Traefik wrote into its status, the port of its listener.
function gatewayState(): GatewayState {
  if (cached?.url) return cached;
  const r = kubectl(["get", "gateway", GATEWAY_NAME, "-n", GATEWAY_NAMESPACE, "-o", "json"]);
  if (r.code !== 0) return { reason: `no Gateway ${GATEWAY_NAMESPACE}/${GATEWAY_NAME}: ${r.stderr.trim().split("\n")[0]}` };
  const gw = JSON.parse(r.stdout);
  const programmed = (gw.status?.conditions ?? []).find((c: { type: string }) => c.type === "Programmed");
  const address: string | undefined = gw.status?.addresses?.[0]?.value;
  const port: number | undefined = gw.spec?.listeners?.[0]?.port;
  if (programmed?.status !== "True") return { reason: `Gateway ${GATEWAY_NAMESPACE}/${GATEWAY_NAME} is not Programmed (${programmed?.message ?? "no status"})` };
  if (!address || !port) return { reason: `Gateway ${GATEWAY_NAMESPACE}/${GATEWAY_NAME} has no address in its status` };
  cached = { url: `http://${address}:${port}`, reason: "" };
  return cached;
}

/** Whether the test bed's gateway serves, and why not (for describe.skipIf and the skip message). */
export function gatewayAvailable(): { on: boolean; reason: string } {
  if (EXTERNAL_CLUSTER) return { on: false, reason: "BLUEGREEN_E2E_KUBECONFIG points at a cluster that is not the test bed" };
  const plane = dataplane();
  if (!plane.on) return { on: false, reason: `no data plane: ${plane.reason}` };
  const state = gatewayState();
  return state.url ? { on: true, reason: "" } : { on: false, reason: state.reason };
}

/** The gateway's base URL, http://10.1.0.1:8000, as the Gateway's status says; throws when there is none. */
export function gatewayUrl(): string {
  const state = gatewayState();
  if (!state.url) throw new Error(state.reason);
  return state.url;
}

/** The address Traefik wrote into the Gateway's status (10.1.0.1 on the test bed). */
export function gatewayAddress(): string {
  return new URL(gatewayUrl()).hostname;
}

/** GET path through the gateway with this Host header, from inside the namespace (curl, a new connection). */
export function getThroughGateway(host: string, path = "/", timeoutS = 3): Answer {
  return get(`${gatewayUrl()}${path.startsWith("/") ? path : `/${path}`}`, timeoutS, { Host: host });
}

/**
 * The load helper (test/testbed/load.ts) sending GET path through the gateway with this Host header, from inside
 * the namespace; keepalive spreads the requests over that many kept-alive connections.
 */
export function startGatewayLoad(host: string, o: { rate?: number; keepalive?: number; connRequests?: number; path?: string } = {}): Load {
  const { path = "/", ...rest } = o;
  return Load.start(`${gatewayUrl()}${path.startsWith("/") ? path : `/${path}`}`, { ...rest, host });
}

/**
 * The status an HTTPRoute (or GRPCRoute) has from the test bed's Gateway: its parent entry's conditions by type,
 * and the generation they were written for. undefined while the controller has written none.
 */
export function routeParentStatus(
  ns: string,
  name: string,
  kind = "httproute",
): { observedGeneration: number; generation: number; conditions: Record<string, { status: string; reason: string }> } | undefined {
  const route = kubectlJson(["get", kind, name, "-n", ns]);
  const parent = (route.status?.parents ?? []).find(
    (p: { parentRef: { name: string; namespace?: string } }) => p.parentRef.name === GATEWAY_NAME && (p.parentRef.namespace ?? ns) === GATEWAY_NAMESPACE,
  );
  if (!parent) return undefined;
  const conditions: Record<string, { status: string; reason: string }> = {};
  let observedGeneration = 0;
  for (const c of parent.conditions ?? []) {
    conditions[c.type] = { status: c.status, reason: c.reason };
    observedGeneration = Math.max(observedGeneration, c.observedGeneration ?? 0);
  }
  return { observedGeneration, generation: route.metadata.generation, conditions };
}

/** The test bed's Prometheus (Service monitoring/prometheus:9090, scraping the gateway), when it runs. */
export const PROMETHEUS_SERVICE = "monitoring/prometheus:9090";

/** Whether the test bed's Prometheus serves (it runs with the gateway), and why not. */
export function prometheusAvailable(): { on: boolean; reason: string } {
  const g = gatewayAvailable();
  if (!g.on) return g;
  const r = kubectl(["get", "service", "prometheus", "-n", "monitoring", "-o", "name"]);
  return r.code === 0 ? { on: true, reason: "" } : { on: false, reason: `no Service monitoring/prometheus: ${r.stderr.trim().split("\n")[0]}` };
}

/** Prometheus' URL from the host, as `scripts/testbed.sh env` prints it (BLUEGREEN_PROMETHEUS_URL); throws when it prints none. */
export function prometheusUrl(): string {
  const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "testbed.sh"), "env"], { encoding: "utf8", env: { ...process.env, BLUEGREEN_TESTBED_DIR: TESTBED_DIR } });
  const m = /^export BLUEGREEN_PROMETHEUS_URL=(\S+)$/m.exec(r.stdout ?? "");
  if (!m?.[1]) throw new Error(`scripts/testbed.sh env printed no BLUEGREEN_PROMETHEUS_URL (exit ${r.status}): ${r.stdout}${r.stderr}`);
  return m[1];
}
