import type { Deployment, PodTemplate } from "./model.js";
import { nameOf } from "./model.js";
import type { SettledPair } from "./pair.js";

/** Placeholder for the slot label's value, so the two slots compare equal where only the slot differs. */
const SLOT_PLACEHOLDER = "<slot>";

/** Drops undefined/null/empty values and Dates, keeps key order stable. */
function clean(v: unknown): unknown {
  if (v instanceof Date) return undefined;
  if (Array.isArray(v)) return v.map(clean);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = clean((v as Record<string, unknown>)[k]);
      if (x === undefined || x === null) continue;
      if (typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 0) continue;
      out[k] = x;
    }
    return out;
  }
  return v;
}

function replaceSlot(labels: Record<string, string> | undefined, slotLabel: string): Record<string, string> | undefined {
  if (!labels) return labels;
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, k === slotLabel ? SLOT_PLACEHOLDER : v]));
}

/**
 * What users get from a slot: replicas, strategy and pod template, with the noise removed (names,
 * the slot label's value, managedFields, status, timestamps, generated fields).
 */
function normalizeSlot(d: Deployment, slotLabel: string): Record<string, unknown> {
  const spec = JSON.parse(JSON.stringify(d.spec ?? {})) as Record<string, unknown> & {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: Record<string, unknown> & { labels?: Record<string, string>; name?: string; creationTimestamp?: unknown } };
  };
  if (spec.selector?.matchLabels) spec.selector.matchLabels = replaceSlot(spec.selector.matchLabels, slotLabel);
  if (spec.template?.metadata) {
    spec.template.metadata.labels = replaceSlot(spec.template.metadata.labels, slotLabel);
    delete spec.template.metadata.name;
    delete spec.template.metadata.creationTimestamp;
  }
  return clean({ spec }) as Record<string, unknown>;
}

/** A pod template normalised as `diff` shows it (under spec.template), so the two read alike. */
export const normalizeTemplate = (template: PodTemplate, slotLabel: string): Record<string, unknown> => normalizeSlot({ metadata: {}, spec: { template } }, slotLabel);

/** One container whose image differs between the slots. */
interface ImageChange {
  container: string;
  from?: string;
  to?: string;
}

const images = (d: Deployment): Map<string, string | undefined> =>
  new Map([...(d.spec?.template.spec?.initContainers ?? []), ...(d.spec?.template.spec?.containers ?? [])].map((c) => [c.name, c.image]));

/** Image changes from the live slot to the idle one, by container name. */
function imageChanges(from: Deployment, to: Deployment): ImageChange[] {
  const a = images(from);
  const b = images(to);
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  return names.filter((n) => a.get(n) !== b.get(n)).map((n) => ({ container: n, from: a.get(n), to: b.get(n) }));
}

/** The comparison `diff` shows: live slot → idle slot, and the Service changes promote would make. */
export interface SlotComparison {
  app: string;
  namespace: string;
  slotLabel: string;
  from: { slot: string; deployment: string; normalized: Record<string, unknown> };
  to: { slot: string; deployment: string; normalized: Record<string, unknown> };
  images: ImageChange[];
  /** Each router ("service/web", "httproute/web") and the slot it sends traffic from and to. */
  services: { service: string; role: "live" | "preview"; from: string; to: string }[];
}

/** Compares the live and idle slots of a well-formed pair. */
export function compareSlots(pair: SettledPair): SlotComparison {
  const { live, idle, slotLabel } = pair;
  return {
    app: pair.app,
    namespace: pair.namespace,
    slotLabel,
    from: { slot: live.value, deployment: nameOf(live.deployment), normalized: normalizeSlot(live.deployment, slotLabel) },
    to: { slot: idle.value, deployment: nameOf(idle.deployment), normalized: normalizeSlot(idle.deployment, slotLabel) },
    images: imageChanges(live.deployment, idle.deployment),
    services: pair.routers.map((s) =>
      s.role === "live" ? { service: s.ref, role: "live" as const, from: live.value, to: idle.value } : { service: s.ref, role: "preview" as const, from: idle.value, to: live.value },
    ),
  };
}
