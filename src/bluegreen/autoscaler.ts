// HorizontalPodAutoscalers of the slots: a replica count outside an HPA's range does not hold (the HPA sets it
// back within seconds), so the commands that set replicas check it first, and status shows the range.
import { type Autoscaler, type Deployment, nameOf } from "./model.js";

/** An HPA of a slot, as status shows it. */
export interface AutoscalerView {
  name: string;
  min: number;
  max: number;
  current?: number;
}

/** The HPA that scales this Deployment (same namespace, scaleTargetRef kind Deployment and its name), if any. */
export function autoscalerOf(d: Deployment, hpas: Autoscaler[]): AutoscalerView | undefined {
  const h = hpas.find(
    (x) =>
      x.metadata.namespace === d.metadata.namespace &&
      x.spec?.scaleTargetRef.kind === "Deployment" &&
      x.spec.scaleTargetRef.name === nameOf(d) &&
      (x.spec.scaleTargetRef.apiVersion ?? "apps/v1").startsWith("apps/"),
  );
  if (!h?.spec) return undefined;
  return { name: nameOf(h), min: h.spec.minReplicas ?? 1, max: h.spec.maxReplicas, ...(h.status?.currentReplicas !== undefined ? { current: h.status.currentReplicas } : {}) };
}

/** "hpa/web (min 3, max 10)". */
export const autoscalerText = (a: AutoscalerView): string => `hpa/${a.name} (min ${a.min}, max ${a.max})`;

/**
 * Why a replica count set on a slot would not hold: its HPA keeps replicas between min and max (0 is outside
 * any range but turns the HPA off, so it holds). Undefined when it holds.
 */
export function outsideRange(a: AutoscalerView | undefined, replicas: number): string | undefined {
  if (!a || replicas === 0 || (replicas >= a.min && replicas <= a.max)) return undefined;
  return `${autoscalerText(a)} would set it back to ${replicas < a.min ? a.min : a.max} within seconds`;
}
