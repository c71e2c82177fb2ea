// Words the output is made of: counts agree with their noun.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findPair } from "../../src/bluegreen/pair.js";
import { degraded, promotable, rolloutStatus } from "../../src/bluegreen/readiness.js";
import { appStatus } from "../../src/bluegreen/verdict.js";
import { renderAppScreen } from "../../src/render/status.js";
import { deployment, tutorial } from "./builders.js";

const SRC = new URL("../../src/", import.meta.url).pathname;
const sources = readdirSync(SRC, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".ts"))
  .map((f) => ({ file: f, text: readFileSync(path.join(SRC, f), "utf8") }));

const d = (o: Parameters<typeof deployment>[1]) => deployment("web", { labels: { app: "web" }, ...o });

describe("1 replica, 2 replicas", () => {
  it("readiness says replica for one", () => {
    expect(rolloutStatus(d({ replicas: 1, updated: 0 })).message).toBe('Waiting for deployment "web" rollout to finish: 0 out of 1 new replica has been updated...');
    expect(rolloutStatus(d({ current: 4 })).message).toBe('Waiting for deployment "web" rollout to finish: 1 old replica is pending termination...');
    expect(rolloutStatus(d({ replicas: 1, available: 0 })).message).toBe('Waiting for deployment "web" rollout to finish: 0 of 1 updated replica is available...');
    expect(promotable(d({ replicas: 1 }), 3)).toBe('deployment "web" has 1 available replica; at least 3 are needed');
    expect(promotable(d({ replicas: 0 }), 1)).toBe('deployment "web" has 0 available replicas; at least 1 is needed');
    expect(degraded(d({ replicas: 2, available: 1 }))).toBe('deployment "web" has 1 of 2 replicas available');
    // Plural otherwise, as before.
    expect(rolloutStatus(d({ current: 5 })).message).toBe('Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...');
  });

  it("status says replica for a deploy of one", () => {
    const t = tutorial();
    const s = appStatus(findPair("myapp", "blue-green", t.deployments, t.services), t.replicaSets);
    const deploy = { id: "a1", at: "2026-11-22T12:00:00Z", by: "alice", source: "live" as const, images: ["myapp:v3"], replicas: 1, template: "0", slot: "v2", deployment: "myapp-v2", current: true };
    const screen = renderAppScreen({ ...s, lastDeploy: deploy }, { now: new Date("2026-11-22T12:30:00Z"), wide: false, noHeaders: false, color: false, namespaces: false });
    expect(screen).toContain("Last deploy:  v2 (deployment/myapp-v2): myapp:v3, 1 replica, from the live template");
  });

  it("no message puts a count before 'replicas' without choosing the noun's number", () => {
    const bare = sources.flatMap(({ file, text }) =>
      text.split("\n").flatMap((line, i) => (/\$\{[^}]*\} (?:available |new |old |updated )?replicas\b/.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(bare).toEqual([]);
  });
});
