import { createHash } from "node:crypto";
import type { Deployment, Service } from "./model.js";

/** The last switch, kept as JSON on every Service promote or abort changed. */
export const LAST_SWITCH_ANNOTATION = "kubectl-bluegreen/last-switch";
/** A short bounded history of switches, newest first. */
export const HISTORY_ANNOTATION = "kubectl-bluegreen/history";
export const HISTORY_LIMIT = 10;

/** One traffic switch, as recorded on the Service(s). */
export interface SwitchRecord {
  action: "promote" | "abort";
  slotLabel: string;
  /** Slot value traffic left. */
  from: string;
  /** Slot value traffic went to. */
  to: string;
  /** ISO time of the switch. */
  at: string;
  /** Who switched (SelfSubjectReview user name, else kubeconfig user). */
  by: string;
  fromDeployment: string;
  toDeployment: string;
  /** Pod template hash of the slot traffic left, to tell whether it changed since. */
  fromTemplate: string;
  /** Desired replicas of the slot traffic left, so abort can scale it back. */
  fromReplicas: number;
}

/** The short form kept in the history. */
export type HistoryEntry = Pick<SwitchRecord, "action" | "from" | "to" | "at" | "by">;

/** JSON with sorted keys and no undefined values, so equal objects hash equally. */
export function stableJson(v: unknown): string {
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : stableJson(x))).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined && x !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

/** A short hash of a Deployment's pod template: changes whenever a new version is deployed into it. */
export function templateHash(d: Deployment): string {
  return createHash("sha256").update(stableJson(d.spec?.template ?? {})).digest("hex").slice(0, 16);
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The last switch recorded on a Service, or undefined (absent or unreadable). */
export function lastSwitch(svc: Service | undefined): SwitchRecord | undefined {
  const v = parseJson(svc?.metadata.annotations?.[LAST_SWITCH_ANNOTATION]);
  if (!v || typeof v !== "object") return undefined;
  const r = v as Partial<SwitchRecord>;
  if ((r.action !== "promote" && r.action !== "abort") || typeof r.from !== "string" || typeof r.to !== "string") return undefined;
  return {
    action: r.action,
    slotLabel: String(r.slotLabel ?? ""),
    from: r.from,
    to: r.to,
    at: String(r.at ?? ""),
    by: String(r.by ?? ""),
    fromDeployment: String(r.fromDeployment ?? ""),
    toDeployment: String(r.toDeployment ?? ""),
    fromTemplate: String(r.fromTemplate ?? ""),
    fromReplicas: Number(r.fromReplicas ?? 0),
  };
}

/** The recorded history of a Service, newest first. */
export function history(svc: Service | undefined): HistoryEntry[] {
  const v = parseJson(svc?.metadata.annotations?.[HISTORY_ANNOTATION]);
  return Array.isArray(v) ? (v.filter((e) => e && typeof e === "object") as HistoryEntry[]) : [];
}

/** The annotations that record `rec` on a Service, keeping its history bounded. */
export function recordAnnotations(svc: Service, rec: SwitchRecord): Record<string, string> {
  const entry: HistoryEntry = { action: rec.action, from: rec.from, to: rec.to, at: rec.at, by: rec.by };
  return {
    [LAST_SWITCH_ANNOTATION]: JSON.stringify(rec),
    [HISTORY_ANNOTATION]: JSON.stringify([entry, ...history(svc)].slice(0, HISTORY_LIMIT)),
  };
}
