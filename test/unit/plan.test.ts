import { serviceRouter } from "../../src/bluegreen/routers/service.js";
import { describe, expect, it } from "vitest";
import { deploymentGuard } from "../../src/bluegreen/guard.js";
import { newer, replicaSetsOwnedBy, versionAge } from "../../src/bluegreen/evidence.js";
import type { ReplicaSet } from "../../src/bluegreen/model.js";
import { findPair } from "../../src/bluegreen/pair.js";
import { type Plan, type SwitchPlan, inGroup, planAbort, planPromote, preflight } from "../../src/bluegreen/plan.js";
import { LAST_SWITCH_ANNOTATION, type SwitchRecord, readRecord, versionHash } from "../../src/bluegreen/record.js";
import { V2_CREATED, fixture, replicaSet, service, tutorial, wellFormed } from "./builders.js";

const now = new Date("2026-11-22T12:00:00Z");
const ids = { by: "alice", now, id: "0123456789abcdef" };
type State = ReturnType<typeof tutorial>;

const pairOf = (t: State) => wellFormed(findPair("myapp", "blue-green", t.deployments, t.services));
const promote = (t: State, o: { to?: string; minReady?: number } = {}) => planPromote(pairOf(t), { ...ids, ...o, replicaSets: t.replicaSets });
const abort = (t: State, o: { scaleDown?: boolean } = {}) => planAbort(pairOf(t), { ...ids, scaleDown: o.scaleDown ?? false, scaleDownDelayMs: 30_000 });
const asSwitch = (p: Plan | { kind: string }) => {
  expect(p.kind, JSON.stringify(p)).toBe("switch");
  return p as SwitchPlan;
};
const refusedWith = (p: Plan | { kind: string }, re: RegExp) => {
  expect(p.kind, JSON.stringify(p)).toBe("refused");
  expect((p as { message: string }).message).toMatch(re);
  expect((p as { hint: string }).hint).toMatch(/--to/);
};

/** Applies a planned switch to the objects as the API server would: selectors and annotations (state as given). */
function applySwitch(t: State, p: SwitchPlan, state: "pending" | "verified" = "verified", only?: string[]): State {
  for (const w of p.writes) {
    if (only && !only.includes(w.name)) continue;
    const svc = t.services.find((s) => s.metadata.name === w.name)!;
    const ann: Record<string, string> = { ...(svc.metadata.annotations ?? {}) };
    for (const [k, v] of Object.entries(w.annotations)) if (v !== null) ann[k] = v;
    ann[LAST_SWITCH_ANNOTATION] = JSON.stringify({ ...p.record, state });
    svc.metadata.annotations = ann;
    svc.spec!.selector = { ...svc.spec!.selector, ...(serviceRouter.switchTo(w.asRead, p.routing, w.to) as { selector: Record<string, string> }).selector };
  }
  return t;
}

/** The tutorial after a verified promote v1 → v2. */
function promoted(): State {
  const t = tutorial();
  return applySwitch(t, asSwitch(promote(t)));
}

/** Deploys a new template into a slot: its image changes and the controller makes a new ReplicaSet at `at`. */
function deployInto(t: State, name: string, image: string, at: string): State {
  const d = t.deployments.find((x) => x.metadata.name === name)!;
  d.spec!.template.spec!.containers[0]!.image = image;
  t.replicaSets.push(replicaSet(d, at));
  return t;
}

/** kubectl rollout restart: a restartedAt annotation and a new ReplicaSet; `prune` drops the older ones (revisionHistoryLimit 0). */
function restart(t: State, name: string, at: string, prune = false): State {
  const d = t.deployments.find((x) => x.metadata.name === name)!;
  const tm = d.spec!.template;
  tm.metadata = { ...tm.metadata, annotations: { ...(tm.metadata?.annotations ?? {}), "kubectl.kubernetes.io/restartedAt": at } };
  if (prune) t.replicaSets = t.replicaSets.filter((rs) => rs.metadata.ownerReferences?.[0]?.uid !== d.metadata.uid);
  t.replicaSets.push(replicaSet(d, at));
  return t;
}

describe("planPromote on a settled app", () => {
  it("switches to the idle slot when the server shows it newer, conditionally, recording a pending switch", () => {
    const s = asSwitch(promote(tutorial()));
    expect([s.from.value, s.to.value, s.minAvailable]).toEqual(["v1", "v2", 3]);
    expect(s.reason).toMatch(/^no switch is recorded, and the idle slot v2 holds a newer version \(first deployed 2026-11-22T10:00:00Z, the live slot's 2026-11-20T08:00:00Z\)$/);
    expect(s.steps.map((x) => x.kind)).toEqual(["check", "switch", "verify", "record"]);
    const w = s.writes[0]!;
    expect([w.name, w.role, w.from, w.to, w.back]).toEqual(["myapp", "live", "v1", "v2", "v1"]);
    expect(serviceRouter.switchTo(w.asRead, s.routing, w.to)).toEqual({ selector: { version: "v2" } });
    expect(w.resourceVersion).toBe("200");
    expect({ metadata: { annotations: w.undoAnnotations }, spec: serviceRouter.restore(w.asRead, w.asRead, s.routing) }).toEqual({
      metadata: { annotations: { [LAST_SWITCH_ANNOTATION]: null, "kubectl-bluegreen/history": null } },
      spec: { selector: { version: "v1" } },
    });
    const rec = JSON.parse(w.annotations[LAST_SWITCH_ANNOTATION]!);
    expect(rec).toMatchObject({ format: 2, id: "0123456789abcdef", state: "pending", action: "promote", from: "v1", to: "v2", by: "alice", fromReplicas: 3, services: { myapp: "live" } });
    expect(readRecord(service("x", {}, { annotations: { [LAST_SWITCH_ANNOTATION]: JSON.stringify(rec) } })).kind).toBe("valid");
  });

  it("records the group of a release of several apps in every record it writes, and keeps an interrupted switch's own", () => {
    const s = asSwitch(promote(tutorial()));
    const g = inGroup(s, { id: "fedcba9876543210", apps: ["myapp", "api"] }, ids.id);
    expect(g.record.group).toEqual({ id: "fedcba9876543210", apps: ["myapp", "api"] });
    const rec = JSON.parse(g.writes[0]!.annotations[LAST_SWITCH_ANNOTATION]!);
    expect(rec.group).toEqual({ id: "fedcba9876543210", apps: ["myapp", "api"] });
    const read = readRecord(service("x", {}, { annotations: { [LAST_SWITCH_ANNOTATION]: JSON.stringify(rec) } }));
    expect(read.kind === "valid" && read.record.group).toEqual({ id: "fedcba9876543210", apps: ["myapp", "api"] });
    // A plan finishing another operation's switch (its record's id is not ours) is left as it is.
    expect(inGroup(s, { id: "fedcba9876543210", apps: ["myapp", "api"] }, "aaaaaaaaaaaaaaaa")).toBe(s);
    // Across clusters: the contexts, and one app is enough.
    const fleet = { id: "fedcba9876543210", apps: ["myapp"], contexts: ["eu", "us"] };
    const across = readRecord(service("x", {}, { annotations: { [LAST_SWITCH_ANNOTATION]: JSON.stringify({ ...rec, group: fleet }) } }));
    expect(across.kind === "valid" && across.record.group).toEqual(fleet);
    expect(JSON.parse(inGroup(s, fleet, ids.id).writes[0]!.annotations[LAST_SWITCH_ANNOTATION]!).group).toEqual(fleet);
    // Out of bounds: one app in one context, a name twice, a bad id, one context, a context twice.
    for (const group of [
      { id: "fedcba9876543210", apps: ["myapp"] },
      { id: "fedcba9876543210", apps: ["a", "a"] },
      { id: "x", apps: ["a", "b"] },
      { id: "fedcba9876543210", apps: ["a"], contexts: ["eu"] },
      { id: "fedcba9876543210", apps: ["a"], contexts: ["eu", "eu"] },
    ]) {
      const r = readRecord(service("x", {}, { annotations: { [LAST_SWITCH_ANNOTATION]: JSON.stringify({ ...rec, group }) } }));
      expect(r).toEqual({ kind: "invalid", why: "its field group is missing or out of bounds" });
    }
  });

  it("swaps preview Services the other way, after the live ones, and records their role", () => {
    const f = fixture("color-preview.yaml");
    const s = asSwitch(planPromote(wellFormed(findPair("shop", "prod", f.deployments, f.services)), { ...ids, replicaSets: f.replicaSets }));
    expect(s.writes.map((w) => [w.name, w.role, w.from, w.to])).toEqual([
      ["shop", "live", "blue", "green"],
      ["shop-preview", "preview", "green", "blue"],
    ]);
    expect(Object.keys(s.writes[1]!.annotations)).toEqual([LAST_SWITCH_ANNOTATION]);
    expect(s.record.services).toEqual({ shop: "live", "shop-preview": "preview" });
  });

  it("is a no-op once promoted", () => {
    const p = promote(promoted());
    expect(p.kind).toBe("noop");
    expect((p as { message: string }).message).toMatch(/^app myapp is already promoted: version=v2 is live since 2026-11-22T12:00:00.000Z/);
  });

  it("stays a no-op after a rollout restart or a scale of the idle slot", () => {
    expect(promote(restart(promoted(), "myapp-v1", "2026-11-22T13:00:00Z")).kind).toBe("noop");
    expect(promote(restart(promoted(), "myapp-v1", "2026-11-22T13:00:00Z", true)).kind).toBe("noop");
    const scaled = promoted();
    scaled.deployments[0]!.spec!.replicas = 7;
    expect(promote(scaled).kind).toBe("noop");
  });

  it("refuses, naming --to, when the record is missing, unreadable, of another format or out of bounds", () => {
    const cases: [string | undefined, RegExp][] = [
      [undefined, /no switch is recorded and the idle slot v1 does not hold a newer version than the live slot v2/],
      ["{not json", /the switch record on service\/myapp cannot be used: it is not JSON/],
      [JSON.stringify({ action: "promote", from: "v1", to: "v2" }), /written by an older kubectl-bluegreen/],
      [JSON.stringify({ format: 3 }), /it has format 3/],
    ];
    for (const [text, re] of cases) {
      const t = promoted();
      const ann = { ...t.services[0]!.metadata.annotations };
      if (text === undefined) delete ann[LAST_SWITCH_ANNOTATION];
      else ann[LAST_SWITCH_ANNOTATION] = text;
      t.services[0]!.metadata.annotations = ann;
      refusedWith(promote(t), re);
    }
    const bad = promoted();
    const rec = JSON.parse(bad.services[0]!.metadata.annotations![LAST_SWITCH_ANNOTATION]!);
    for (const [field, value] of [["fromReplicas", 1e9], ["from", "v1,evil"], ["state", "done"], ["services", {}]] as const) {
      bad.services[0]!.metadata.annotations![LAST_SWITCH_ANNOTATION] = JSON.stringify({ ...rec, [field]: value });
      refusedWith(promote(bad), new RegExp(`its field ${field} is missing or out of bounds`));
    }
    const foreign = promoted();
    foreign.services[0]!.metadata.annotations![LAST_SWITCH_ANNOTATION] = JSON.stringify({ ...rec, from: "v7" });
    refusedWith(promote(foreign), /names version v7 → v2, which are not this app's slots/);
  });

  it("refuses a restart of the idle slot with no record when the restart pruned the older ReplicaSets", () => {
    const t = restart(promoted(), "myapp-v1", "2026-11-22T13:00:00Z", true);
    delete t.services[0]!.metadata.annotations![LAST_SWITCH_ANNOTATION];
    refusedWith(promote(t), /made by a rollout restart, so its age is unknown/);
  });

  it("consults every live Service: a second one without a record, or records that disagree, refuse", () => {
    const t = promoted();
    t.services.push(service("myapp-b", { app: "myapp", version: "v2" }));
    refusedWith(promote(t), /service\/myapp-b has no switch record while service\/myapp has one/);
    const rec = JSON.parse(t.services[0]!.metadata.annotations![LAST_SWITCH_ANNOTATION]!);
    t.services[1]!.metadata.annotations = { [LAST_SWITCH_ANNOTATION]: JSON.stringify({ ...rec, id: "ffffffffffffffff" }) };
    refusedWith(promote(t), /the switch records on service\/myapp and service\/myapp-b disagree/);
  });

  it("promotes again once a new version is deployed into the idle slot", () => {
    const s = asSwitch(promote(deployInto(promoted(), "myapp-v1", "myapp:v3", "2026-11-22T14:00:00Z")));
    expect([s.from.value, s.to.value]).toEqual(["v2", "v1"]);
    expect(s.reason).toMatch(/^a new version was deployed into the idle slot v1 after the last switch/);
  });

  it("refuses an idle slot rolled back to an older version", () => {
    const t = promoted();
    const old = structuredClone(t.deployments[0]!.spec!.template);
    old.spec!.containers[0]!.image = "myapp:v0";
    t.replicaSets.push(replicaSet(t.deployments[0]!, "2026-11-19T08:00:00Z", old));
    t.deployments[0]!.spec!.template = old; // kubectl rollout undo: the old ReplicaSet becomes current again
    refusedWith(promote(t), /the idle slot v1 changed since the last switch, but not to a newer version than the live one/);
  });

  it("does not re-promote an aborted version, until a new one is deployed", () => {
    const t = promoted();
    applySwitch(t, asSwitch(abort(t)));
    refusedWith(promote(t), /the idle slot v2 still holds the version that was aborted at/);
    expect(asSwitch(promote(deployInto(t, "myapp-v2", "myapp:v2-fixed", "2026-11-22T15:00:00Z"))).to.value).toBe("v2");
  });

  it("refuses when both versions appeared in the same second", () => {
    const t = tutorial();
    t.replicaSets[0]!.metadata.creationTimestamp = V2_CREATED;
    refusedWith(promote(t), /does not hold a newer version/);
  });

  it("--to: no-op on the live slot, switch to the idle one, not found otherwise", () => {
    expect(promote(tutorial(), { to: "v1" }).kind).toBe("noop");
    expect(asSwitch(promote(promoted(), { to: "v1" })).to.value).toBe("v1");
    expect(promote(tutorial(), { to: "v9" })).toEqual({ kind: "unknown-slot", message: "app myapp has no slot version=v9; its slots are v1 (live) and v2 (idle)" });
  });

  it("--min-ready overrides the live slot's count; preflight refuses a slot that is not rolled out", () => {
    expect(asSwitch(promote(tutorial(), { minReady: 1 })).minAvailable).toBe(1);
    expect(preflight(asSwitch(promote(tutorial({ v2: { available: 0, ready: 0 } }))))).toEqual([
      'Waiting for deployment "myapp-v2" rollout to finish: 0 of 3 updated replicas are available...',
    ]);
  });
});

describe("an interrupted switch", () => {
  /** Two live Services; the switch to v2 wrote only the first. */
  function halfway(): { t: State; p: SwitchPlan } {
    const t = tutorial();
    t.services.push(service("myapp-b", { app: "myapp", version: "v1" }, { rv: "201" }));
    const p = asSwitch(promote(t));
    return { t: applySwitch(t, p, "pending", ["myapp"]), p };
  }

  it("is found and named, with the roles of the pending switch", () => {
    const pair = pairOf(halfway().t);
    expect(pair.problem).toBeUndefined();
    expect(pair.unsettled).toMatchObject({ split: true, pending: { from: "v1", to: "v2" } });
    expect(pair.unsettled!.routers).toEqual([
      { key: "myapp", ref: "service/myapp", role: "live", slot: "v2", switched: true },
      { key: "myapp-b", ref: "service/myapp-b", role: "live", slot: "v1", switched: false },
    ]);
  });

  it("promote finishes it forward; abort goes back and marks the version aborted", () => {
    const { t } = halfway();
    const fwd = asSwitch(promote(t));
    expect(fwd.reason).toMatch(/^finishes the promote v1 → v2 started/);
    expect(fwd.writes.map((w) => [w.name, w.from, w.to])).toEqual([["myapp", "v2", "v2"], ["myapp-b", "v1", "v2"]]);
    const back = asSwitch(abort(t));
    expect([back.action, back.to.value]).toEqual(["abort", "v1"]);
    expect(back.writes.map((w) => [w.name, w.from, w.to])).toEqual([["myapp", "v2", "v1"], ["myapp-b", "v1", "v1"]]);
    applySwitch(t, back);
    refusedWith(promote(t), /still holds the version that was aborted/);
  });

  it("keeps a preview Service a preview while it selects the live slot", () => {
    const f = fixture("color-preview.yaml");
    const state = { ...f, services: f.services };
    const pair0 = wellFormed(findPair("shop", "prod", state.deployments, state.services));
    const p = asSwitch(planPromote(pair0, { ...ids, replicaSets: f.replicaSets }));
    applySwitch(state as unknown as State, p, "pending", ["shop"]);
    const pair = wellFormed(findPair("shop", "prod", state.deployments, state.services));
    expect(pair.routers.map((s) => [s.name, s.role, s.slot])).toEqual([["shop", "live", "green"], ["shop-preview", "preview", "green"]]);
    expect(pair.unsettled?.split).toBe(true);
    expect(asSwitch(planPromote(pair, { ...ids, replicaSets: f.replicaSets })).writes.map((w) => [w.name, w.to])).toEqual([["shop", "green"], ["shop-preview", "blue"]]);
  });

  it("a switch written but not verified: promote verifies it, abort goes back", () => {
    const t = tutorial();
    applySwitch(t, asSwitch(promote(t)), "pending");
    const pair = pairOf(t);
    expect(pair.live?.value).toBe("v2");
    expect(pair.unsettled).toMatchObject({ split: false });
    expect(asSwitch(promote(t)).writes.map((w) => [w.from, w.to])).toEqual([["v2", "v2"]]);
    expect(asSwitch(abort(t)).to.value).toBe("v1");
  });

  it("Services that disagree with no switch recorded: promote and abort refuse, --to settles", () => {
    const t = promoted();
    t.services.push(service("myapp-b", { app: "myapp", version: "v1" }));
    expect(pairOf(t).unsettled).toMatchObject({ split: true });
    expect(pairOf(t).unsettled?.pending).toBeUndefined();
    refusedWith(promote(t), /its Services disagree \(service\/myapp on v2, service\/myapp-b on v1\)/);
    expect(abort(t).kind).toBe("refused");
    expect(asSwitch(promote(t, { to: "v2" })).writes.map((w) => [w.name, w.from, w.to])).toEqual([["myapp", "v2", "v2"], ["myapp-b", "v1", "v2"]]);
  });
});

describe("planAbort", () => {
  it("has nothing to abort without a recorded promote", () => {
    expect(abort(tutorial())).toEqual({ kind: "noop", message: "nothing to abort: no promote of app myapp is recorded on its Service(s)" });
  });

  it("switches back to the previous slot, and scales the aborted one down after the delay", () => {
    const p = asSwitch(abort(promoted(), { scaleDown: true }));
    expect([p.from.value, p.to.value, p.record.action]).toEqual(["v2", "v1", "abort"]);
    expect(p.steps.map((s) => s.kind)).toEqual(["check", "switch", "verify", "record", "scale-down"]);
    expect(p.steps.at(-1)).toEqual({ kind: "scale-down", deployment: "myapp-v2", delayMs: 30_000, version: p.record.fromTemplate });
  });

  it("scales a previous slot that was scaled to 0 back up, bounded by the live slot", () => {
    const t = promoted();
    t.deployments[0]!.spec!.replicas = 0;
    expect(asSwitch(abort(t)).steps[0]).toEqual({ kind: "scale-up", deployment: "myapp-v1", replicas: 3, was: 0, resourceVersion: "100", guard: deploymentGuard(t.deployments[0]!) });
    const rec = JSON.parse(t.services[0]!.metadata.annotations![LAST_SWITCH_ANNOTATION]!) as SwitchRecord;
    for (const [recorded, want] of [[2, 2], [0, 3], [5000, 3]]) {
      t.services[0]!.metadata.annotations![LAST_SWITCH_ANNOTATION] = JSON.stringify({ ...rec, fromReplicas: recorded });
      expect(asSwitch(abort(t)).steps[0]).toMatchObject({ kind: "scale-up", replicas: want });
    }
  });

  it("has nothing to abort after an abort", () => {
    const t = promoted();
    applySwitch(t, asSwitch(abort(t)));
    expect((abort(t) as { message: string }).message).toMatch(/^nothing to abort: the last promote of app myapp was already aborted/);
  });

  it("refuses when the Services were changed by hand since the promote", () => {
    const t = promoted();
    t.services[0]!.spec!.selector = { app: "myapp", version: "v1" };
    expect(abort(t).kind).toBe("refused");
  });
});

describe("versions", () => {
  const [a, b] = tutorial().deployments;
  it("the version hash ignores the slot label, the restart annotation and status, not the pod spec", () => {
    const a2 = structuredClone(a!);
    a2.status!.availableReplicas = 0;
    a2.spec!.template.metadata!.annotations = { "kubectl.kubernetes.io/restartedAt": "now" };
    expect(versionHash(a2.spec!.template, "version")).toBe(versionHash(a!.spec!.template, "version"));
    const b1 = structuredClone(b!);
    b1.spec!.template.spec!.containers[0]!.image = "myapp:v1";
    expect(versionHash(b1.spec!.template, "version")).toBe(versionHash(a!.spec!.template, "version"));
    expect(versionHash(b!.spec!.template, "version")).not.toBe(versionHash(a!.spec!.template, "version"));
  });

  it("dates a version by its oldest ReplicaSet, owned by the Deployment", () => {
    const t = tutorial();
    const foreign: ReplicaSet = { ...replicaSet(t.deployments[1]!, "2026-01-01T00:00:00Z"), metadata: { creationTimestamp: "2026-01-01T00:00:00Z", ownerReferences: [] } };
    const age = versionAge(t.deployments[1]!, [...t.replicaSets, foreign], "version");
    expect(age.since?.toISOString()).toBe("2026-11-22T10:00:00.000Z");
    expect(newer(age, versionAge(t.deployments[0]!, t.replicaSets, "version"))).toBe(true);
    expect(versionAge(t.deployments[1]!, [], "version").uncertain).toMatch(/no ReplicaSet/);
  });

  it("indexes ReplicaSets by owning Deployment: each app gets its own, once, and the same dates as from the whole list", () => {
    const t = tutorial();
    const other = tutorial({ v1: { labels: { app: "other", version: "v1" } } }).deployments[0]!;
    other.metadata.uid = "uid-other";
    const older = replicaSet(t.deployments[1]!, "2026-11-21T10:00:00Z");
    const foreign = replicaSet(other, "2026-01-01T00:00:00Z");
    const unowned: ReplicaSet = { ...replicaSet(t.deployments[0]!, "2026-01-01T00:00:00Z"), metadata: { creationTimestamp: "2026-01-01T00:00:00Z" } };
    const all = [...t.replicaSets, older, foreign, unowned];
    const owned = replicaSetsOwnedBy(all);
    expect(owned(t.deployments)).toEqual([t.replicaSets[0], t.replicaSets[1], older]);
    expect(owned([other])).toEqual([foreign]);
    expect(owned([t.deployments[0]!, t.deployments[0]!])).toEqual([t.replicaSets[0]]);
    for (const d of t.deployments) expect(versionAge(d, owned(t.deployments), "version")).toEqual(versionAge(d, all, "version"));
  });
});
