// Words the output is made of: counts agree with their noun; arrows and dashes in ASCII where the locale is not UTF-8.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findApps, findPair } from "../../src/bluegreen/pair.js";
import { type SwitchPlan, planPromote } from "../../src/bluegreen/plan.js";
import { LAST_SWITCH_ANNOTATION, recordAnnotations } from "../../src/bluegreen/record.js";
import { degraded, promotable, rolloutStatus } from "../../src/bluegreen/readiness.js";
import { appStatus } from "../../src/bluegreen/verdict.js";
import { asciiGlyphs, utf8Locale } from "../../src/render/glyphs.js";
import { renderAppScreen, renderAppTable } from "../../src/render/status.js";
import { deployment, fixture, tutorial, wellFormed } from "./builders.js";

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

describe("glyphs for the locale", () => {
  it("reads the locale as POSIX picks it: LC_ALL, else LC_CTYPE, else LANG; UTF-8 only when that one says so", () => {
    expect(utf8Locale({ LANG: "en_US.UTF-8" })).toBe(true);
    expect(utf8Locale({ LANG: "C.utf8" })).toBe(true);
    expect(utf8Locale({ LC_CTYPE: "de_DE.Utf-8", LANG: "C" })).toBe(true);
    expect(utf8Locale({ LC_ALL: "", LANG: "en_GB.UTF-8" })).toBe(true);
    expect(utf8Locale({ LC_ALL: "C", LC_CTYPE: "en_US.UTF-8", LANG: "en_US.UTF-8" })).toBe(false);
    expect(utf8Locale({ LANG: "C" })).toBe(false);
    expect(utf8Locale({ LANG: "POSIX" })).toBe(false);
    expect(utf8Locale({ LANG: "en_US.ISO-8859-1" })).toBe(false);
    expect(utf8Locale({})).toBe(false);
  });

  it("spells the arrows, ellipses and dashes in ASCII", () => {
    expect(asciiGlyphs("service/myapp switched: version v1 → v2 — then … done")).toBe("service/myapp switched: version v1 -> v2 -- then ... done");
    expect(asciiGlyphs("plain text stays")).toBe("plain text stays");
  });

  it("has an ASCII spelling for every non-ASCII character the code prints", () => {
    const code = (line: string) => !/^\s*(\/\/|\*|\/\*)/.test(line);
    const unspelled = sources.flatMap(({ file, text }) =>
      text.split("\n").flatMap((line, i) => (code(line) && /[^\t\n\r -~]/.test(asciiGlyphs(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(unspelled).toEqual([]);
  });

  it("keeps a table's columns aligned in ASCII: the table spells its own arrows before measuring", async () => {
    const t = tutorial();
    const plan = planPromote(wellFormed(findPair("myapp", "blue-green", t.deployments, t.services)), {
      by: "alice",
      now: new Date("2026-11-22T12:00:00Z"),
      id: "0123456789abcdef",
      replicaSets: t.replicaSets,
    }) as SwitchPlan;
    const svc = t.services[0]!;
    svc.metadata.annotations = { ...recordAnnotations(svc, plan.record, true), [LAST_SWITCH_ANNOTATION]: JSON.stringify({ ...plan.record, state: "verified" }) };
    svc.spec!.selector = { app: "myapp", version: "v2" };
    const f = fixture("color-preview.yaml");
    const list = findApps({ appLabel: "app" }, [...t.deployments, ...f.deployments], [...t.services, ...f.services]).map((p) => appStatus(p, [...t.replicaSets, ...f.replicaSets]));
    const o = { now: new Date("2026-11-22T12:30:00Z"), wide: true, noHeaders: false, color: false, namespaces: true };
    const ascii = asciiGlyphs(renderAppTable(list, { ...o, unicode: false }));
    await expect(ascii).toMatchFileSnapshot(new URL("./expected/status-table-wide-ascii.txt", import.meta.url).pathname);
    const [header = "", ...rows] = ascii.trimEnd().split("\n");
    const reason = header.indexOf("REASON");
    for (const row of rows) expect(row.slice(reason - 3, reason + 1), row).toMatch(/^ {3}\S$/);
    expect(ascii).toMatch(/ v1->v2 30m ago /);
    expect(renderAppTable(list, o)).toMatch(/ v1→v2 30m ago /);
  });
});
