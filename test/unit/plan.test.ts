import { describe, expect, it } from "vitest";
import { findPair } from "../../src/bluegreen/pair.js";
import { type SwitchPlan, planAbort, planPromote, preflight } from "../../src/bluegreen/plan.js";
import { LAST_SWITCH_ANNOTATION, recordAnnotations, templateHash } from "../../src/bluegreen/state.js";
import { fixture, tutorial } from "./fixtures.js";

const now = new Date("2026-11-22T12:00:00Z");

function pairOf(t = tutorial()) {
  return findPair("myapp", "blue-green", t.deployments, t.services);
}

/** The tutorial after a promote to v2: Service on v2 with the record of the switch. */
function promoted(o: { changeV1?: boolean; v1Replicas?: number } = {}) {
  const before = pairOf();
  const p = planPromote(before, { by: "alice", now }) as SwitchPlan;
  const t = tutorial({ v1: { replicas: o.v1Replicas ?? 3, image: o.changeV1 ? "myapp:v1-hotfix" : "myapp:v1" } });
  const svc = t.services[0]!;
  svc.spec!.selector = { app: "myapp", version: "v2" };
  svc.metadata.annotations = recordAnnotations(svc, p.record);
  return pairOf(t);
}

describe("planPromote", () => {
  it("switches the live Service to the idle slot, conditionally, and records who and when", () => {
    const p = planPromote(pairOf(), { by: "alice", now });
    expect(p.kind).toBe("switch");
    const s = p as SwitchPlan;
    expect(s.from.value).toBe("v1");
    expect(s.to.value).toBe("v2");
    expect(s.minAvailable).toBe(3);
    expect(s.writes).toHaveLength(1);
    expect(s.writes[0]!.patch.spec).toEqual({ selector: { version: "v2" } });
    expect(s.writes[0]!.patch.metadata.resourceVersion).toBe("200");
    expect(s.writes[0]!.undo).toEqual({
      metadata: { annotations: { [LAST_SWITCH_ANNOTATION]: null, "kubectl-bluegreen/history": null } },
      spec: { selector: { version: "v1" } },
    });
    expect(JSON.parse(s.writes[0]!.patch.metadata.annotations[LAST_SWITCH_ANNOTATION]!)).toMatchObject({
      action: "promote",
      from: "v1",
      to: "v2",
      by: "alice",
      at: "2026-11-22T12:00:00.000Z",
      fromDeployment: "myapp-v1",
      fromReplicas: 3,
    });
  });

  it("swaps preview Services the other way, after the live ones", () => {
    const f = fixture("color-preview.yaml");
    const s = planPromote(findPair("shop", "prod", f.deployments, f.services), { by: "bob", now }) as SwitchPlan;
    expect(s.writes.map((w) => [w.service, w.role, w.from, w.to])).toEqual([
      ["shop", "live", "blue", "green"],
      ["shop-preview", "preview", "green", "blue"],
    ]);
    expect(s.writes[1]!.patch.metadata.annotations).toEqual({});
  });

  it("is a no-op when already promoted and the idle slot is unchanged", () => {
    const p = planPromote(promoted(), { by: "alice", now });
    expect(p.kind).toBe("noop");
    expect((p as { message: string }).message).toMatch(/^app myapp is already promoted: version=v2 is live/);
  });

  it("promotes again when a new template was deployed into the idle slot", () => {
    const p = planPromote(promoted({ changeV1: true }), { by: "alice", now });
    expect(p.kind).toBe("switch");
    expect((p as SwitchPlan).to.value).toBe("v1");
  });

  it("--to: no-op on the live slot, switch to the idle one, not found otherwise", () => {
    expect(planPromote(pairOf(), { to: "v1", by: "a", now }).kind).toBe("noop");
    expect(planPromote(promoted(), { to: "v1", by: "a", now }).kind).toBe("switch");
    expect(planPromote(pairOf(), { to: "v9", by: "a", now })).toEqual({
      kind: "unknown-slot",
      message: "app myapp has no slot version=v9; its slots are v1 (live) and v2 (idle)",
    });
  });

  it("--min-ready overrides the live slot's count", () => {
    expect((planPromote(pairOf(), { minReady: 1, by: "a", now }) as SwitchPlan).minAvailable).toBe(1);
  });

  it("preflight refuses an idle slot that is not rolled out", () => {
    const p = planPromote(pairOf(tutorial({ v2: { available: 0, ready: 0 } })), { by: "a", now }) as SwitchPlan;
    expect(preflight(p)).toEqual(['Waiting for deployment "myapp-v2" rollout to finish: 0 of 3 updated replicas are available...']);
  });

  it("templateHash changes with the pod template only", () => {
    const [a, b] = tutorial().deployments;
    const a2 = structuredClone(a!);
    a2.status!.availableReplicas = 0;
    expect(templateHash(a2)).toBe(templateHash(a!));
    expect(templateHash(a!)).not.toBe(templateHash(b!));
  });
});

describe("planAbort", () => {
  it("has nothing to abort without a recorded promote", () => {
    expect(planAbort(pairOf(), { scaleDown: false, by: "a", now })).toEqual({
      kind: "noop",
      message: "nothing to abort: no promote of app myapp is recorded on its Service(s)",
    });
  });

  it("switches back to the previous slot", () => {
    const p = planAbort(promoted(), { scaleDown: true, by: "carol", now }) as SwitchPlan;
    expect(p.kind).toBe("switch");
    expect([p.from.value, p.to.value]).toEqual(["v2", "v1"]);
    expect(p.scaleUp).toBeUndefined();
    expect(p.scaleDown).toEqual({ deployment: "myapp-v2" });
    expect(p.record.action).toBe("abort");
  });

  it("scales the previous slot back when it was scaled to 0", () => {
    const p = planAbort(promoted({ v1Replicas: 0 }), { scaleDown: false, by: "a", now }) as SwitchPlan;
    expect(p.scaleUp).toEqual({ deployment: "myapp-v1", replicas: 3 });
  });

  it("has nothing to abort after an abort", () => {
    const pair = promoted();
    const ab = planAbort(pair, { scaleDown: false, by: "a", now }) as SwitchPlan;
    const t = tutorial();
    t.services[0]!.metadata.annotations = recordAnnotations(pair.liveServices[0]!, ab.record);
    const again = planAbort(pairOf(t), { scaleDown: false, by: "a", now });
    expect(again.kind).toBe("noop");
    expect((again as { message: string }).message).toMatch(/^nothing to abort: the last promote of app myapp was already aborted/);
  });

  it("refuses when the Services were changed by hand since the promote", () => {
    const pair = promoted();
    const t = tutorial();
    t.services[0]!.metadata.annotations = pair.liveServices[0]!.metadata.annotations;
    expect(planAbort(pairOf(t), { scaleDown: false, by: "a", now }).kind).toBe("refused");
  });
});
