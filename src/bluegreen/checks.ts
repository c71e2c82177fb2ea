// Checks around a switch: HTTP probes through the API server's proxy, and local commands. Pure: what to
// ask and whom; the executor asks.
import type { PodTemplate, Service } from "./model.js";
import { nameOf } from "./model.js";
import type { PrometheusSource } from "./analysis.js";

/** `--probe [PORT]/PATH`: PORT is a container port (number or name) or a Service port; none means the port the Service leads to. */
export interface Probe {
  port?: string;
  path: string;
}

/** The checks a switch runs: probes before and after, and a command before and after. */
export interface Checks {
  probes: Probe[];
  probeTimeoutMs: number;
  preCheck?: string;
  postCheck?: string;
  checkTimeoutMs: number;
  /** --analysis: Prometheus queries (placeholders not filled in yet), where they go, how often, how many passes. */
  analysis?: { queries: string[]; source: PrometheusSource; intervalMs: number; passes: number };
}

export const NO_CHECKS: Checks = { probes: [], probeTimeoutMs: 10_000, checkTimeoutMs: 120_000 };

/** Parses `[PORT]/PATH`; returns why not in one phrase when it cannot. */
export function parseProbe(text: string): Probe | string {
  const slash = text.indexOf("/");
  if (slash < 0) return `"${text}" has no path: write [PORT]/PATH, for example 8080/healthz or /`;
  const port = text.slice(0, slash);
  const path = text.slice(slash);
  if (/[?#\s\\]/.test(path) || /[^\x21-\x7e]/.test(path)) return `the path of "${text}" may not hold ?, #, spaces or control characters`;
  if (port === "") return { path };
  if (/^\d+$/.test(port)) {
    const n = Number(port);
    if (n < 1 || n > 65535) return `port ${port} of "${text}" is not between 1 and 65535`;
    return { port: String(n), path };
  }
  // A port name (IANA_SVC_NAME): at most 15 lowercase letters, digits and dashes, with a letter.
  if (port.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(port) || !/[a-z]/.test(port) || port.includes("--")) {
    return `"${port}" in "${text}" is neither a port number nor a port name`;
  }
  return { port, path };
}

/** How a probe reads: "8080/healthz", or "/" without a port. */
export const probeText = (p: Probe): string => `${p.port ?? ""}${p.path}`;

type ServicePort = NonNullable<NonNullable<Service["spec"]>["ports"]>[number];

/** The ports a pod template's containers declare (init containers serve no traffic). */
export function declaredPorts(template: PodTemplate | undefined): { name?: string; port: number }[] {
  return (template?.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.containerPort })));
}

/** The container port a Service port leads to for pods of this template, as kube-proxy resolves it; undefined when a named targetPort names no declared port. */
export function targetPortOf(sp: ServicePort, template: PodTemplate | undefined): number | undefined {
  const t = sp.targetPort ?? sp.port;
  if (typeof t === "number") return t;
  if (/^\d+$/.test(t)) return Number(t);
  return declaredPorts(template).find((p) => p.name === t)?.port;
}

const portList = (svc: Service, template: PodTemplate | undefined): string =>
  (svc.spec?.ports ?? [])
    .map((p) => {
      const t = p.targetPort ?? p.port;
      const n = targetPortOf(p, template);
      return `${p.name ? `${p.name}:` : ""}${p.port}→${t}${typeof t === "string" && !/^\d+$/.test(t) ? `(${n ?? "undeclared"})` : ""}`;
    })
    .join(", ") || "none";

const declaredList = (template: PodTemplate | undefined): string =>
  declaredPorts(template)
    .map((p) => (p.name ? `${p.name} ${p.port}` : String(p.port)))
    .join(", ") || "none";

/** Where a probe goes: the pods' container port (a number, never a name: the pod proxy fails on names), and each live Service's port that leads there. */
export interface ResolvedProbe {
  containerPort: number;
  servicePorts: { service: string; port: string }[];
}

/**
 * Resolves a probe as the API server and kube-proxy would route it, against the target slot's pod template
 * and the live Services: a number that a container declares is that port; a name is the container port so
 * named, or else the container port a Service port of that name leads to; a number that only a Service port
 * has is the container port behind it; no port is the container port a one-port Service leads to. After the
 * switch the probe goes through each Service's port that leads to the same container port, so the gate
 * tests the port users reach. Returns why not in one phrase when it cannot.
 */
export function resolveProbe(probe: Probe, deployment: string, template: PodTemplate | undefined, services: Service[]): ResolvedProbe | string {
  const declared = declaredPorts(template);
  let containerPort: number | undefined;
  if (probe.port === undefined) {
    for (const svc of services) {
      const ports = svc.spec?.ports ?? [];
      const [only] = ports;
      if (!only || ports.length !== 1) return `service/${nameOf(svc)} has ${ports.length} ports (${portList(svc, template)}); name the port in --probe PORT/PATH`;
      const n = targetPortOf(only, template);
      if (n === undefined) return `service/${nameOf(svc)} leads to container port "${only.targetPort}", which deployment/${deployment} does not declare (its ports: ${declaredList(template)})`;
      if (containerPort !== undefined && containerPort !== n) return `the live Services lead to different container ports (${containerPort} and ${n}); name the port in --probe PORT/PATH`;
      containerPort = n;
    }
  } else if (/^\d+$/.test(probe.port)) {
    const n = Number(probe.port);
    if (declared.some((p) => p.port === n)) containerPort = n;
    else {
      // Only a Service port of that number: the user named the port they reach; probe what it leads to.
      const behind = new Set(services.flatMap((svc) => (svc.spec?.ports ?? []).filter((p) => p.port === n).map((p) => targetPortOf(p, template))));
      if (behind.size === 1) {
        const [m] = [...behind];
        if (m === undefined) return `port ${n} of the live Services leads to a container port that deployment/${deployment} does not declare (its ports: ${declaredList(template)})`;
        containerPort = m;
      } else if (behind.size > 1) return `port ${n} leads to different container ports on the live Services; name the container port in --probe PORT/PATH`;
      else containerPort = n; // undeclared ports are legal: the container may listen there all the same
    }
  } else {
    const name = probe.port;
    const hit = declared.find((p) => p.name === name);
    if (hit) containerPort = hit.port;
    else {
      const behind = new Set(services.flatMap((svc) => (svc.spec?.ports ?? []).filter((p) => p.name === name).map((p) => targetPortOf(p, template))));
      const [m] = [...behind];
      if (behind.size !== 1 || m === undefined) return `deployment/${deployment} declares no container port named "${name}" (its ports: ${declaredList(template)})`;
      containerPort = m;
    }
  }
  if (containerPort === undefined) return `there is no live Service to probe through`;
  const servicePorts: { service: string; port: string }[] = [];
  for (const svc of services) {
    const hit = (svc.spec?.ports ?? []).find((p) => targetPortOf(p, template) === containerPort);
    if (!hit) return `service/${nameOf(svc)} has no port that leads to container port ${containerPort} (its ports: ${portList(svc, template)})`;
    servicePorts.push({ service: nameOf(svc), port: hit.name || String(hit.port) });
  }
  return { containerPort, servicePorts };
}
