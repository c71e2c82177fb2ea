import { describe, expect, it } from "vitest";
import { degraded, promotable, rolloutStatus } from "../../src/bluegreen/readiness.js";
import { deployment } from "./builders.js";

const d = (o: Parameters<typeof deployment>[1]) => deployment("web", { labels: { app: "web" }, ...o });

describe("rolloutStatus follows kubectl rollout status", () => {
  it("waits until the spec update is observed", () => {
    expect(rolloutStatus(d({ generation: 3, observed: 2 }))).toEqual({
      done: false,
      failed: false,
      message: "Waiting for deployment spec update to be observed...",
    });
  });
  it("fails on ProgressDeadlineExceeded", () => {
    const r = rolloutStatus(d({ deadlineExceeded: true, available: 0, updated: 1 }));
    expect(r).toEqual({ done: false, failed: true, message: 'deployment "web" exceeded its progress deadline' });
  });
  it("waits for updated replicas", () => {
    expect(rolloutStatus(d({ updated: 1 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
    );
  });
  it("waits for old replicas to terminate", () => {
    expect(rolloutStatus(d({ current: 5 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...',
    );
  });
  it("waits for updated replicas to become available", () => {
    expect(rolloutStatus(d({ available: 2 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
    );
  });
  it("is done when every rule holds", () => {
    expect(rolloutStatus(d({}))).toEqual({ done: true, failed: false, message: 'deployment "web" successfully rolled out' });
  });
  it("treats a Deployment scaled to 0 as rolled out", () => {
    expect(rolloutStatus(d({ replicas: 0 })).done).toBe(true);
  });
});

describe("promotable and degraded", () => {
  it("needs as many available replicas as asked", () => {
    expect(promotable(d({ replicas: 2 }), 3)).toBe('deployment "web" has 2 available replicas; at least 3 are needed');
    expect(promotable(d({ replicas: 3 }), 3)).toBeUndefined();
  });
  it("refuses a slot that is still rolling out", () => {
    expect(promotable(d({ updated: 2 }), 1)).toMatch(/2 out of 3 new replicas/);
  });
  it("calls a live slot with missing replicas degraded", () => {
    expect(degraded(d({ available: 1 }))).toBe('deployment "web" has 1 of 3 replicas available');
    expect(degraded(d({ available: 0 }))).toBe('deployment "web" has no available replicas');
    expect(degraded(d({}))).toBeUndefined();
  });
});
