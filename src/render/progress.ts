// What a switch says on stderr while traffic moves: each Service as its write lands, then what it waits for
// (the EndpointSlices, kube-proxy and load balancers, the checks after the switch). On a terminal one line is
// rewritten with the time left; otherwise each phase is one line, with no countdown to fill a CI log.
import textWidth from "./text-width.js";
import { formatDuration } from "./time.js";

/** A router's switch as it lands: `service/myapp switched: version v1 → v2`. */
export function switchedLine(ref: string, slotLabel: string, from: string, to: string): string {
  return `${ref} switched: ${slotLabel} ${from || "(split)"} → ${to}`;
}

/** A canary step's weights as they land: `httproute/web weighted: 10% to version=green`. */
export function weighedLine(ref: string, slotLabel: string, to: string, percent: number): string {
  return `${ref} weighted: ${percent}% to ${slotLabel}=${to}`;
}

/** The live Services' endpoints, counted against the slot traffic moves to. */
export interface EndpointCount {
  total: number;
  /** Endpoints whose pod is in the target slot. */
  onTarget: number;
  /** Of those, the ready ones. */
  readyOnTarget: number;
}

/** Where a switch is after its writes landed. */
export type SwitchPhase =
  /** Waiting for the EndpointSlices: endpoints as last read, or why they could not be read (retried). */
  | {
      phase: "verify";
      /** The Services whose endpoints carry the traffic, and the routes (not Services) whose gateways must take the change. */
      services: readonly string[];
      routes?: readonly string[];
      to: string;
      timeoutMs: number;
      leftMs: number;
      endpoints?: EndpointCount;
      retrying?: string;
      /** What verification waits for now, when it is not the endpoints. */
      waiting?: string;
    }
  /** Giving kube-proxy and load balancers --propagation-delay. */
  | { phase: "propagate"; delayMs: number; leftMs: number }
  /** Verified, and the delay given: the line a terminal keeps. */
  | { phase: "verified"; to: string; endpoints: EndpointCount; delayMs: number }
  /** Probes answered so far; before the switch Ctrl-C changes nothing, after it switches back. */
  | { phase: "probe"; when: "before" | "after"; answered: number; total: number }
  /** The pause after a canary step: the step, its weights, and the time to the next one. */
  | { phase: "pause"; percent: number; to: string; index: number; of: number; next: number; delayMs: number; leftMs: number };

const BACK = "Ctrl-C switches back";

/** The progress line for a phase: on a terminal with the time left, otherwise the phase's one line. */
export function phaseLine(p: SwitchPhase, terminal: boolean): string {
  switch (p.phase) {
    case "verify": {
      const routes = p.routes?.length ? `${p.routes.join(", ")} to be accepted by ${p.routes.length === 1 ? "its" : "their"} gateways and ` : "";
      if (!terminal) return `verifying: waiting up to ${formatDuration(p.timeoutMs)} for ${routes}every endpoint of ${p.services.map((s) => `service/${s}`).join(", ")} to be on ${p.to} (${BACK})`;
      const routeWait = p.waiting && p.routes?.some((r) => p.waiting?.startsWith(`${r}:`)) ? p.waiting : undefined;
      const what = p.retrying
        ? `${p.retrying}; retrying`
        : routeWait
          ? routeWait
          : p.endpoints
            ? endpointsOn(p.endpoints, p.to)
            : `reading the endpoints of ${p.services.map((s) => `service/${s}`).join(", ")}`;
      return `verifying: ${what} (${left(p.leftMs)}; ${BACK})`;
    }
    case "propagate":
      return `waiting ${formatDuration(p.delayMs)} for kube-proxy and load balancers (${terminal ? `${left(p.leftMs)}; ` : ""}${BACK})`;
    case "verified": {
      const { total, readyOnTarget } = p.endpoints;
      const ready = readyOnTarget < total ? ` (${readyOnTarget} ready)` : "";
      const waited = p.delayMs > 0 ? `; waited ${formatDuration(p.delayMs)} for kube-proxy and load balancers` : "";
      return `verified: ${count(total, "endpoint")}, all on ${p.to}${ready}${waited}`;
    }
    case "probe":
      return `probing ${p.when} the switch: ${p.answered} of ${p.total} answered${p.when === "after" ? ` (${BACK})` : ""}`;
    case "pause": {
      const when = terminal ? `in ${left(p.leftMs).replace(/ left$/, "")}` : `after ${formatDuration(p.delayMs)}`;
      return `canary: ${p.percent}% to ${p.to} (step ${p.index} of ${p.of}); ${p.next}% ${when} (${BACK})`;
    }
  }
}

/** "2 of 3 endpoints on v2", and how many of those are ready when not all are. */
function endpointsOn(e: EndpointCount, to: string): string {
  if (e.total === 0) return "no endpoints yet";
  const ready = e.onTarget > 0 && e.readyOnTarget < e.onTarget ? `, ${e.readyOnTarget} ready` : "";
  return `${e.onTarget} of ${count(e.total, "endpoint")} on ${to}${ready}`;
}

/** Whole seconds left, rounded up: "12s left"; never below "0s left". */
const left = (ms: number) => `${ms > 0 ? formatDuration(Math.ceil(ms / 1000) * 1000) : "0s"} left`;

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

/**
 * A line cut to fit a terminal `columns` wide, ending in "…" when cut: a line that wraps cannot be rewritten in
 * place (the carriage return goes back to the start of its last row only).
 */
export function fitLine(text: string, columns: number): string {
  const room = columns - 1;
  if (room < 1 || textWidth(text) <= room) return text;
  let out = "";
  let width = 0;
  for (const ch of text) {
    width += textWidth(ch);
    if (width > room - 1) break;
    out += ch;
  }
  return `${out}…`;
}
