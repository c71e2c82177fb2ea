// The switch record: what promote and abort write on the Services they change, and how it is read back.
import { MAX_GROUP_APPS, MAX_GROUP_CONTEXTS } from "./group.js";
import { createHash } from "node:crypto";
import type { Deployment, PodTemplate } from "./model.js";
import { MAX_STEP_PAUSE_MS, stepsProblem } from "./steps.js";

/** Any object that carries our annotations: a Service, a route, an Ingress. */
type Annotated = { metadata: { annotations?: Record<string, string> } };

/** The last switch, kept as JSON on every Service a switch wrote. */
export const LAST_SWITCH_ANNOTATION = "kubectl-bluegreen/last-switch";
/** A short bounded history of switches, newest first (live Services only). */
export const HISTORY_ANNOTATION = "kubectl-bluegreen/history";
const HISTORY_LIMIT = 10;
/**
 * Set on the live Services while a command writes the idle slot's Deployment (a scale-down to 0, or a
 * deploy): {deployment, action, id, at}. A switch that reads it refuses to send traffic to that slot.
 */
export const BUSY_ANNOTATION = "kubectl-bluegreen/busy";
/** A busy mark older than this is left over from an interrupted command and ignored. */
const BUSY_MARK_MS = 5 * 60_000;
/** What a busy mark says is being done to the slot. */
export type BusyAction = "scale-down" | "deploy";
/** The last deploy into a slot, on that slot's Deployment (metadata, not the pod template): see DeployRecord. */
export const DEPLOY_ANNOTATION = "kubectl-bluegreen/last-deploy";
/** On a Deployment while a command waits to scale it to 0: {at (due), by, id}. */
export const SCALE_DOWN_AT_ANNOTATION = "kubectl-bluegreen/scale-down-at";
/**
 * On each route while a canary (promote --steps) is in progress: our annotations as they were before its first
 * step ({lastSwitch, history}, each a string or null), so a failed step later on can put the route back as it was.
 */
export const BEFORE_CANARY_ANNOTATION = "kubectl-bluegreen/before-canary";
/** The record format this plugin writes; records of other formats are never trusted. */
export const RECORD_FORMAT = 2;
/** Annotation kubectl rollout restart sets on a pod template: a restart, not a new version. */
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";
/** The label the Deployment controller adds to each ReplicaSet's template. */
const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";
/** The most replicas a record may ask abort to scale back to (it is also bounded by the live slot). */
const MAX_RECORDED_REPLICAS = 10_000;

/** Where a switch stands: written with the selector (pending), confirmed after verification (verified). */
type SwitchState = "pending" | "verified";

/** One traffic switch, as recorded on the Service(s) it wrote. */
export interface SwitchRecord {
  format: typeof RECORD_FORMAT;
  /** Operation id: tells our own write from anyone else's when a reply is lost. */
  id: string;
  state: SwitchState;
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
  /** Version hash (see versionHash) of the slot traffic left and of the one it went to. */
  fromTemplate: string;
  toTemplate: string;
  /** Desired replicas of the slot traffic left, so abort can scale it back (bounded by the live slot when used). */
  fromReplicas: number;
  /** Every router the switch writes (by keyOf), with its role, so roles survive an interruption. */
  services: Record<string, "live" | "preview">;
  /** Set while a promote in weighted steps stands between two steps (or was interrupted in one). */
  canary?: CanaryRecord;
  /** Set when the switch was one app's part of a promote or abort of several apps at once (all or none). */
  group?: GroupRecord;
}

/**
 * A release of several apps, or of apps in several clusters, at once: its operation id, every app in it (in the order
 * given) and, across clusters, every kubeconfig context it ran in (as the user named them).
 */
export interface GroupRecord {
  id: string;
  apps: string[];
  contexts?: string[];
}

function readGroup(v: unknown): GroupRecord | undefined | "invalid" {
  if (v === undefined) return undefined;
  if (!v || typeof v !== "object" || Array.isArray(v)) return "invalid";
  const g = v as Record<string, unknown>;
  if (!isText(g.id, 64) || !/^[0-9a-f]{8,64}$/.test(g.id)) return "invalid";
  if (!Array.isArray(g.apps) || g.apps.length < 1 || g.apps.length > MAX_GROUP_APPS || !g.apps.every((a) => isLabelValue(a) && a !== "")) return "invalid";
  if (new Set(g.apps).size !== g.apps.length) return "invalid";
  let contexts: string[] | undefined;
  if (g.contexts !== undefined) {
    if (!Array.isArray(g.contexts) || g.contexts.length < 2 || g.contexts.length > MAX_GROUP_CONTEXTS) return "invalid";
    if (!g.contexts.every((c) => isText(c, 253) && c !== "") || new Set(g.contexts).size !== g.contexts.length) return "invalid";
    contexts = [...(g.contexts as string[])];
  }
  // One app is a group only across clusters.
  if (g.apps.length < 2 && !contexts) return "invalid";
  return { id: g.id, apps: [...(g.apps as string[])], ...(contexts ? { contexts } : {}) };
}

/** Where a promote in weighted steps (--steps) stands: the weights on the routes are steps[step] percent to `to`. */
export interface CanaryRecord {
  /** Percentages to the new slot, increasing, the last one 100. */
  steps: number[];
  /** Index in steps of the weight now written (never the last: at 100 the switch is a plain pending one). */
  step: number;
  /** When that step's weights were written. */
  at: string;
  /** The pause after each step: milliseconds, or "manual" (stop after each step; a later promote continues). */
  pause: number | "manual";
}

function readCanary(v: unknown): CanaryRecord | undefined | "invalid" {
  if (v === undefined) return undefined;
  if (!v || typeof v !== "object" || Array.isArray(v)) return "invalid";
  const c = v as Record<string, unknown>;
  if (stepsProblem(c.steps)) return "invalid";
  const steps = c.steps as number[];
  if (typeof c.step !== "number" || !Number.isInteger(c.step) || c.step < 0 || c.step >= steps.length - 1) return "invalid";
  if (!isText(c.at, 64) || Number.isNaN(Date.parse(c.at))) return "invalid";
  const pauseOk = c.pause === "manual" || (typeof c.pause === "number" && Number.isInteger(c.pause) && c.pause >= 0 && c.pause <= MAX_STEP_PAUSE_MS);
  if (!pauseOk) return "invalid";
  return { steps: [...steps], step: c.step, at: c.at, pause: c.pause as number | "manual" };
}

/** The short form kept in the history. */
export interface HistoryEntry {
  action: "promote" | "abort";
  from: string;
  to: string;
  at: string;
  by: string;
}

/** What a Service's record annotation holds. */
type RecordReading =
  | { kind: "none" }
  | { kind: "valid"; record: SwitchRecord }
  /** Unreadable, of another format, or with a field out of bounds: one phrase saying why. */
  | { kind: "invalid"; why: string };

/** JSON with sorted keys and no undefined values, so equal objects hash equally. */
export function canonicalJson(v: unknown): string {
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : canonicalJson(x))).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined && x !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

const without = (o: Record<string, string> | undefined, keys: string[]) =>
  Object.fromEntries(Object.entries(o ?? {}).filter(([k]) => !keys.includes(k)));

/**
 * A hash of what a pod template runs: the template without the slot label, the controller's
 * pod-template-hash and the restartedAt annotation. A rollout restart or a scale leaves it unchanged;
 * a new image, command, env, resources, volumes or labels change it. Equal in both slots for the same version.
 */
export function versionHash(template: PodTemplate | undefined, slotLabel: string): string {
  const t = template ?? { metadata: {} };
  const normalized = {
    ...t,
    metadata: {
      ...(t.metadata ?? {}),
      labels: without(t.metadata?.labels, [slotLabel, POD_TEMPLATE_HASH_LABEL]),
      annotations: without(t.metadata?.annotations, [RESTARTED_AT_ANNOTATION]),
    },
  };
  return createHash("sha256").update(canonicalJson(normalized)).digest("hex").slice(0, 16);
}

/** The version hash of a Deployment's pod template. */
export const deploymentVersion = (d: Deployment, slotLabel: string): string => versionHash(d.spec?.template, slotLabel);

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** A Service's name, or "kind/name" for the other router kinds (keyOf). */
const ROUTER_KEY = /^((httproute|grpcroute|ingress)\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;
const isLabelValue = (v: unknown): v is string => typeof v === "string" && v.length <= 63 && LABEL_VALUE.test(v);
const isName = (v: unknown): v is string => typeof v === "string" && v.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v);
const isHash = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{16}$/.test(v);
const isText = (v: unknown, max = 512): v is string => typeof v === "string" && v.length <= max;

/** Reads and validates the record on a Service. Nothing in it is used unless every field is in bounds. */
export function readRecord(svc: Annotated | undefined): RecordReading {
  const text = svc?.metadata.annotations?.[LAST_SWITCH_ANNOTATION];
  if (text === undefined) return { kind: "none" };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { kind: "invalid", why: "it is not JSON" };
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return { kind: "invalid", why: "it is not a JSON object" };
  const r = v as Record<string, unknown>;
  if (r.format === undefined) return { kind: "invalid", why: "it was written by an older kubectl-bluegreen (no format field)" };
  if (r.format !== RECORD_FORMAT) return { kind: "invalid", why: `it has format ${JSON.stringify(r.format)}, and this plugin reads format ${RECORD_FORMAT}` };
  const bad = (field: string) => ({ kind: "invalid" as const, why: `its field ${field} is missing or out of bounds` });
  if (!isText(r.id, 64) || !/^[0-9a-f]{8,64}$/.test(r.id)) return bad("id");
  if (r.state !== "pending" && r.state !== "verified") return bad("state");
  if (r.action !== "promote" && r.action !== "abort") return bad("action");
  if (!isText(r.slotLabel, 317) || r.slotLabel === "") return bad("slotLabel");
  if (!isLabelValue(r.from)) return bad("from");
  if (!isLabelValue(r.to) || r.to === r.from) return bad("to");
  if (!isText(r.at, 64) || Number.isNaN(Date.parse(r.at))) return bad("at");
  if (!isText(r.by)) return bad("by");
  if (!isName(r.fromDeployment)) return bad("fromDeployment");
  if (!isName(r.toDeployment)) return bad("toDeployment");
  if (!isHash(r.fromTemplate)) return bad("fromTemplate");
  if (!isHash(r.toTemplate)) return bad("toTemplate");
  if (typeof r.fromReplicas !== "number" || !Number.isInteger(r.fromReplicas) || r.fromReplicas < 0 || r.fromReplicas > MAX_RECORDED_REPLICAS) {
    return bad("fromReplicas");
  }
  if (!r.services || typeof r.services !== "object" || Array.isArray(r.services)) return bad("services");
  const services: Record<string, "live" | "preview"> = {};
  for (const [name, role] of Object.entries(r.services as Record<string, unknown>)) {
    if (!ROUTER_KEY.test(name) || name.length > 300 || (role !== "live" && role !== "preview")) return bad("services");
    services[name] = role;
  }
  if (Object.keys(services).length === 0) return bad("services");
  const canary = readCanary(r.canary);
  if (canary === "invalid" || (canary && r.state !== "pending")) return bad("canary");
  const group = readGroup(r.group);
  if (group === "invalid") return bad("group");
  return {
    kind: "valid",
    record: {
      format: RECORD_FORMAT,
      id: r.id,
      state: r.state,
      action: r.action,
      slotLabel: r.slotLabel,
      from: r.from,
      to: r.to,
      at: r.at,
      by: r.by,
      fromDeployment: r.fromDeployment,
      toDeployment: r.toDeployment,
      fromTemplate: r.fromTemplate,
      toTemplate: r.toTemplate,
      fromReplicas: r.fromReplicas,
      services,
      ...(canary ? { canary } : {}),
      ...(group ? { group } : {}),
    },
  };
}

/** Our annotations on a route as they were before a canary's first step (BEFORE_CANARY_ANNOTATION), if it has them. */
export function beforeCanaryOf(o: Annotated): Record<string, string | null> | undefined {
  const v = jsonObject(o.metadata.annotations?.[BEFORE_CANARY_ANNOTATION]);
  if (!v) return undefined;
  const value = (x: unknown) => (typeof x === "string" ? x : null);
  return { [LAST_SWITCH_ANNOTATION]: value(v.lastSwitch), [HISTORY_ANNOTATION]: value(v.history) };
}

/** The value of BEFORE_CANARY_ANNOTATION that keeps a route's annotations as read. */
export function beforeCanary(o: Annotated): string {
  const a = o.metadata.annotations ?? {};
  return JSON.stringify({ lastSwitch: a[LAST_SWITCH_ANNOTATION] ?? null, history: a[HISTORY_ANNOTATION] ?? null });
}

/** The valid record on a Service, or undefined. */
export function recordOf(svc: Annotated | undefined): SwitchRecord | undefined {
  const r = readRecord(svc);
  return r.kind === "valid" ? r.record : undefined;
}

/** The recorded history of a Service, newest first; entries that are not well formed are dropped. */
export function history(svc: Annotated | undefined): HistoryEntry[] {
  const text = svc?.metadata.annotations?.[HISTORY_ANNOTATION];
  if (!text) return [];
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  return v
    .filter(
      (e): e is HistoryEntry =>
        !!e &&
        typeof e === "object" &&
        (e.action === "promote" || e.action === "abort") &&
        isLabelValue(e.from) &&
        isLabelValue(e.to) &&
        isText(e.at, 64) &&
        isText(e.by),
    )
    .slice(0, HISTORY_LIMIT)
    .map((e) => ({ action: e.action, from: e.from, to: e.to, at: e.at, by: e.by }));
}

/** The record annotation (and, for live Services, the history with this switch added). */
export function recordAnnotations(svc: Annotated, rec: SwitchRecord, withHistory: boolean): Record<string, string> {
  const out: Record<string, string> = { [LAST_SWITCH_ANNOTATION]: JSON.stringify(rec) };
  if (withHistory) {
    const entry: HistoryEntry = { action: rec.action, from: rec.from, to: rec.to, at: rec.at, by: rec.by };
    out[HISTORY_ANNOTATION] = JSON.stringify([entry, ...history(svc)].slice(0, HISTORY_LIMIT));
  }
  return out;
}

/** The Deployment a busy mark on this Service names, and what is being done to it, if the mark is recent (at `now`). */
export function busyMark(svc: Annotated, now: Date): { deployment: string; action: BusyAction; at: string } | undefined {
  const v = jsonObject(svc.metadata.annotations?.[BUSY_ANNOTATION]);
  if (!v || typeof v.deployment !== "string" || typeof v.at !== "string") return undefined;
  const action: BusyAction = v.action === "deploy" ? "deploy" : "scale-down";
  const age = now.getTime() - Date.parse(v.at);
  return age >= -BUSY_MARK_MS && age <= BUSY_MARK_MS ? { deployment: v.deployment, action, at: v.at } : undefined;
}

/** The operation id of the busy mark on this Service, whatever its age. */
export function busyMarkId(svc: Annotated): string | undefined {
  const id = jsonObject(svc.metadata.annotations?.[BUSY_ANNOTATION])?.id;
  return typeof id === "string" ? id : undefined;
}

function jsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** What deploy records on the Deployment it wrote: who put which images there, when, and from which template. */
export interface DeployRecord {
  /** Operation id: tells our own write from anyone else's when a reply is lost. */
  id: string;
  at: string;
  by: string;
  /** The template it started from: the live slot's, or the idle slot's own (--from idle). */
  source: "live" | "idle";
  /** Every container's image after the deploy ("NAME=IMAGE"), init containers included. */
  images: string[];
  replicas: number;
  /** Version hash (versionHash) of the template deploy wrote: tells whether the slot still holds it. */
  template: string;
}

/** The deploy record on a Deployment, if one is there and well formed. */
export function deployRecordOf(d: Deployment | undefined): DeployRecord | undefined {
  const v = jsonObject(d?.metadata.annotations?.[DEPLOY_ANNOTATION]);
  if (!v) return undefined;
  const ok =
    isText(v.id, 64) &&
    isText(v.at, 64) &&
    !Number.isNaN(Date.parse(v.at)) &&
    isText(v.by) &&
    (v.source === "live" || v.source === "idle") &&
    Array.isArray(v.images) &&
    v.images.length <= 64 &&
    v.images.every((i) => isText(i, 1024)) &&
    typeof v.replicas === "number" &&
    Number.isInteger(v.replicas) &&
    v.replicas >= 0 &&
    isHash(v.template);
  if (!ok) return undefined;
  return { id: v.id as string, at: v.at as string, by: v.by as string, source: v.source as "live" | "idle", images: v.images as string[], replicas: v.replicas as number, template: v.template as string };
}

/** A scale-down a command is waiting to do: when it is due, and who scheduled it. */
interface PendingScaleDown {
  at: string;
  by: string;
  id: string;
}

/** The pending scale-down noted on a Deployment, if any. */
export function pendingScaleDownOf(d: Deployment | undefined): PendingScaleDown | undefined {
  const v = jsonObject(d?.metadata.annotations?.[SCALE_DOWN_AT_ANNOTATION]);
  if (!v || !isText(v.at, 64) || Number.isNaN(Date.parse(v.at)) || !isText(v.by) || !isText(v.id, 64)) return undefined;
  return { at: v.at, by: v.by, id: v.id };
}
