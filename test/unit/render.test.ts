import { describe, expect, it } from "vitest";
import { compareSlots } from "../../src/bluegreen/compare.js";
import { findApps, findPair } from "../../src/bluegreen/pair.js";
import { type SwitchPlan, planPromote } from "../../src/bluegreen/plan.js";
import { LAST_SWITCH_ANNOTATION, recordAnnotations } from "../../src/bluegreen/record.js";
import { appStatus } from "../../src/bluegreen/verdict.js";
import { renderComparison } from "../../src/render/diff.js";
import { renderPlan } from "../../src/render/plan.js";
import { renderAppScreen, renderAppTable, statusDocument } from "../../src/render/status.js";
import { renderData } from "../../src/render/data.js";
import { humanDuration } from "../../src/render/time.js";
import { deployment, fixture, service, tutorial, wellFormed, settled } from "./builders.js";

// Fixed clock: fixture objects were created at 2026-11-22T10:00:00Z.
const now = new Date("2026-11-22T12:30:00Z");
const opts = { now, wide: false, noHeaders: false, color: false, namespaces: false };
const expected = (name: string) => new URL(`./expected/${name}`, import.meta.url).pathname;

/** The promote alice would plan at 12:00 on these objects. */
const planFor = (t: ReturnType<typeof tutorial>) =>
  planPromote(wellFormed(findPair("myapp", "blue-green", t.deployments, t.services)), {
    by: "alice",
    now: new Date("2026-11-22T12:00:00Z"),
    id: "0123456789abcdef",
    replicaSets: t.replicaSets,
  }) as SwitchPlan;

function promotedTutorial() {
  const t = tutorial();
  const p = planFor(t);
  const svc = t.services[0]!;
  svc.metadata.annotations = { ...recordAnnotations(svc, p.record, true), [LAST_SWITCH_ANNOTATION]: JSON.stringify({ ...p.record, state: "verified" }) };
  svc.spec!.selector = { app: "myapp", version: "v2" };
  return t;
}

describe("status rendering", () => {
  it("one app, ready to promote", async () => {
    const t = tutorial();
    const s = appStatus(findPair("myapp", "blue-green", t.deployments, t.services), t.replicaSets);
    expect(s.verdict).toBe("ready");
    await expect(renderAppScreen(s, opts)).toMatchFileSnapshot(expected("status-ready.txt"));
  });

  it("one app after a promote, wide", async () => {
    const t = promotedTutorial();
    const s = appStatus(findPair("myapp", "blue-green", t.deployments, t.services), t.replicaSets);
    expect(s.verdict).toBe("promoted");
    await expect(renderAppScreen(s, { ...opts, wide: true })).toMatchFileSnapshot(expected("status-promoted-wide.txt"));
  });

  it("all apps in a table, with a not-ready and a misconfigured app", async () => {
    const t = tutorial({ v2: { available: 1, ready: 1 } });
    const f = fixture("color-preview.yaml");
    // A third app with one Deployment only: misconfigured.
    const solo = deployment("solo-v1", { labels: { app: "solo", version: "v1" } });
    const list = findApps({ appLabel: "app" }, [...t.deployments, ...f.deployments, solo], [...t.services, ...f.services]).map((p) =>
      appStatus(p, [...t.replicaSets, ...f.replicaSets]),
    );
    await expect(renderAppTable(list, { ...opts, namespaces: true })).toMatchFileSnapshot(expected("status-table.txt"));
    await expect(renderAppTable(list, { ...opts, namespaces: true, wide: true, noHeaders: true })).toMatchFileSnapshot(
      expected("status-table-wide-noheaders.txt"),
    );
    expect(list.map((s) => [s.app, s.verdict])).toEqual([
      ["myapp", "not-ready"],
      ["solo", "misconfigured"],
      ["shop", "not-ready"],
    ]);
  });

  it("json document", async () => {
    const t = promotedTutorial();
    const s = appStatus(findPair("myapp", "blue-green", t.deployments, t.services), t.replicaSets);
    await expect(renderData("json", statusDocument([s]))).toMatchFileSnapshot(expected("status.json"));
    await expect(renderData("yaml", statusDocument([s]))).toMatchFileSnapshot(expected("status.yaml"));
  });

  it("an interrupted switch names what each Service selects", async () => {
    const t = tutorial();
    t.services.push(service("myapp-b", { app: "myapp", version: "v1" }, { rv: "201" }));
    const p = planFor(t);
    // Killed after the first write: myapp switched (pending), myapp-b not.
    const svc = t.services[0]!;
    svc.metadata.annotations = recordAnnotations(svc, p.record, true);
    svc.spec!.selector = { app: "myapp", version: "v2" };
    const s = appStatus(findPair("myapp", "blue-green", t.deployments, t.services), t.replicaSets);
    expect(s.verdict).toBe("interrupted");
    await expect(renderAppScreen(s, opts)).toMatchFileSnapshot(expected("status-interrupted.txt"));
  });

  it("degraded and misconfigured verdicts", () => {
    const t = tutorial({ v1: { available: 1, ready: 1 } });
    expect(appStatus(findPair("myapp", "blue-green", t.deployments, t.services), t.replicaSets)).toMatchObject({
      verdict: "degraded",
      reason: 'live slot v1: deployment "myapp-v1" has 1 of 3 replicas available',
    });
    expect(appStatus(findPair("myapp", "blue-green", t.deployments, []), t.replicaSets).verdict).toBe("misconfigured");
  });
});

describe("diff rendering", () => {
  it("shows only real differences, the images and the Service change", async () => {
    const f = fixture("color-preview.yaml");
    const r = renderComparison(compareSlots(settled(findPair("shop", "prod", f.deployments, f.services))), false);
    expect(r.differs).toBe(true);
    // Names appear only in the two file headers; no noise anywhere in the hunks.
    const body = r.text.split("\nImages:")[0]!.split("\n").slice(2).join("\n");
    expect(body).not.toMatch(/shop-blue|shop-green|managedFields|creationTimestamp|resourceVersion|generation|status|: blue|: green/);
    await expect(r.text).toMatchFileSnapshot(expected("diff-shop.txt"));
  });

  it("says when the slots are the same", () => {
    const t = tutorial({ v2: { image: "myapp:v1" } });
    const r = renderComparison(compareSlots(settled(findPair("myapp", "blue-green", t.deployments, t.services))), false);
    expect(r.differs).toBe(false);
    expect(r.text).toBe(
      "No differences between myapp-v1 and myapp-v2 (apart from the slot label).\n\nImages: no image changes\nService myapp (live): selector version: v1 → v2\n",
    );
  });
});

describe("plan rendering", () => {
  it("lists the steps in order", async () => {
    const f = fixture("color-preview.yaml");
    const p = planPromote(wellFormed(findPair("shop", "prod", f.deployments, f.services)), { by: "bob", now, id: "0123456789abcdef", replicaSets: f.replicaSets }) as SwitchPlan;
    await expect(renderPlan(p, "admin", { dryRun: "client", verifyTimeoutMs: 60_000, propagationDelayMs: 2_000, waitTimeoutMs: 300_000, blockers: [] })).toMatchFileSnapshot(
      expected("plan-shop.txt"),
    );
  });
});

describe("humanDuration", () => {
  it("prints ages as kubectl does", () => {
    expect([5e3, 119e3, 330e3, 150 * 60e3, 5 * 3600e3 + 600e3, 36 * 3600e3, 3 * 86400e3 + 4 * 3600e3, 12 * 86400e3].map(humanDuration)).toEqual([
      "5s", "119s", "5m30s", "150m", "5h10m", "36h", "3d4h", "12d",
    ]);
  });
});
