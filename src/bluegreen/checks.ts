// Checks around a switch: HTTP probes through the API server's proxy, and local commands. Pure: what to
// ask and whom; the executor asks.
import type { Service } from "./model.js";
import { nameOf } from "./model.js";

/** `--probe [PORT]/PATH`: PORT is a container port (number or name); none lets the API server pick the pod's first. */
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

/**
 * The Service port a probe of a container port goes through: the one whose targetPort is that port (or
 * whose port or name is), or the Service's only port when the probe names none. Undefined when there is none.
 */
export function servicePortFor(svc: Service, probe: Probe): string | undefined {
  const ports = svc.spec?.ports ?? [];
  const key = (p: (typeof ports)[number]) => p.name || String(p.port);
  if (probe.port === undefined) {
    const [only] = ports;
    return only && ports.length === 1 ? key(only) : undefined;
  }
  const want = probe.port;
  const hit =
    ports.find((p) => p.targetPort !== undefined && String(p.targetPort) === want) ??
    ports.find((p) => p.targetPort === undefined && String(p.port) === want) ??
    ports.find((p) => p.name === want || String(p.port) === want);
  return hit ? key(hit) : undefined;
}

/** Why a Service cannot carry a probe (no matching port), or undefined. */
export function probeRouteProblem(svc: Service, probe: Probe): string | undefined {
  if (servicePortFor(svc, probe) !== undefined) return undefined;
  const ports = (svc.spec?.ports ?? []).map((p) => `${p.name ? `${p.name}:` : ""}${p.port}→${p.targetPort ?? p.port}`).join(", ") || "none";
  return probe.port === undefined
    ? `service/${nameOf(svc)} has ${(svc.spec?.ports ?? []).length} ports (${ports}); name the container port in --probe PORT/PATH`
    : `service/${nameOf(svc)} has no port that leads to container port ${probe.port} (its ports: ${ports})`;
}
