import { describe, expect, it } from "vitest";
import { autoscalerOf, outsideRange } from "../../src/bluegreen/autoscaler.js";
import type { Autoscaler, Deployment } from "../../src/bluegreen/model.js";

const dep = (name: string, namespace = "ns") => ({ metadata: { name, namespace } }) as Deployment;
const hpa = (target: string, min: number | undefined, max: number, o: { kind?: string; namespace?: string; current?: number } = {}): Autoscaler => ({
  metadata: { name: `h-${target}`, namespace: o.namespace ?? "ns" },
  spec: { scaleTargetRef: { kind: o.kind ?? "Deployment", name: target, apiVersion: "apps/v1" }, ...(min === undefined ? {} : { minReplicas: min }), maxReplicas: max },
  ...(o.current === undefined ? {} : { status: { currentReplicas: o.current } }),
});

describe("autoscalers of the slots", () => {
  it("finds the HPA that targets the Deployment by kind, name and namespace", () => {
    expect(autoscalerOf(dep("web-blue"), [hpa("web-green", 1, 2), hpa("web-blue", 3, 10, { current: 4 })])).toEqual({ name: "h-web-blue", min: 3, max: 10, current: 4 });
    expect(autoscalerOf(dep("web-blue"), [hpa("web-blue", 3, 10, { kind: "StatefulSet" })])).toBeUndefined();
    expect(autoscalerOf(dep("web-blue"), [hpa("web-blue", 3, 10, { namespace: "other" })])).toBeUndefined();
    expect(autoscalerOf(dep("web-blue"), [hpa("web-blue", undefined, 5)])).toEqual({ name: "h-web-blue", min: 1, max: 5 });
  });

  it("a count outside min..max would not hold; 0 turns the HPA off, so it holds", () => {
    const a = { name: "web", min: 3, max: 5 };
    expect(outsideRange(a, 1)).toBe("hpa/web (min 3, max 5) would set it back to 3 within seconds");
    expect(outsideRange(a, 8)).toBe("hpa/web (min 3, max 5) would set it back to 5 within seconds");
    expect(outsideRange(a, 4)).toBeUndefined();
    expect(outsideRange(a, 0)).toBeUndefined();
    expect(outsideRange(undefined, 1)).toBeUndefined();
  });
});
