import { describe, expect, it } from "vitest";
import { compareSlots } from "../../src/bluegreen/compare.js";
import { findPair } from "../../src/bluegreen/pair.js";
import { HISTORY_ANNOTATION, LAST_SWITCH_ANNOTATION } from "../../src/bluegreen/record.js";
import { appStatus } from "../../src/bluegreen/verdict.js";
import { complete, completeCommand } from "../../src/commands/completion.js";
import type { Context } from "../../src/context.js";
import { renderComparison } from "../../src/render/diff.js";
import { escapeTerminal } from "../../src/render/escape.js";
import { renderData } from "../../src/render/data.js";
import { renderAppScreen, renderAppTable, statusDocument } from "../../src/render/status.js";
import { styled, table } from "../../src/render/table.js";
import { service, tutorial, settled } from "./builders.js";

const ESC = "\u001b";
/** Any C0 control, DEL or C1 control left in the text (newlines ignored: they separate our lines). */
const controls = (s: string) =>
  [...s].filter((c) => {
    const n = c.codePointAt(0)!;
    return c !== "\n" && (n < 0x20 || (n >= 0x7f && n < 0xa0));
  });
const EVIL = "x\u001b[31mred\u001b]0;title\u0007\r\n\t\u0000\u007f\u009b2J\u0085y";

describe("escapeTerminal", () => {
  it("writes ESC and CR as kubectl does, and every other control visibly", () => {
    expect(escapeTerminal("\u001b[31m")).toBe("^[[31m");
    expect(escapeTerminal("a\rb")).toBe("a\\rb");
    expect(escapeTerminal("a\nb\tc")).toBe("a\\nb\\tc");
    expect(escapeTerminal("\u0000\u0007\u0008\u001f\u007f")).toBe("\\x00\\x07\\x08\\x1f\\x7f");
    expect(escapeTerminal("\u0080\u009b\u009f")).toBe("\\u0080\\u009b\\u009f");
    expect(escapeTerminal(EVIL)).toBe("x^[[31mred^[]0;title\\x07\\r\\n\\t\\x00\\x7f\\u009b2J\\u0085y");
  });

  it("leaves printable text alone, Unicode included", () => {
    const s = "registry.example/myapp:v2 → v1 ½ é 中 \u00a0 ~ \\ ^[";
    expect(escapeTerminal(s)).toBe(s);
  });

  it("never leaves a control character behind", () => {
    for (let c = 0; c <= 0xa0; c++) {
      const out = escapeTerminal(`a${String.fromCharCode(c)}b`);
      expect(controls(out), `U+${c.toString(16)}`).toEqual([]);
      expect(out, `U+${c.toString(16)}`).not.toContain("\n");
      if (c < 0x20 || (c >= 0x7f && c < 0xa0)) expect(out.length, `U+${c.toString(16)}`).toBeGreaterThan(3);
    }
  });
});

describe("escaped human output", () => {
  it("table cells are escaped; our own coloured cells are not", () => {
    const out = table(["A", "B"], [[EVIL, styled("\u001b[32mok\u001b[39m")]]);
    expect(out).toContain("x^[[31mred");
    expect(out).toContain("\u001b[32mok\u001b[39m");
    expect(controls(out.replace("\u001b[32mok\u001b[39m", ""))).toEqual([]);
  });

  function evilTutorial() {
    const t = tutorial({ v2: { image: "myapp:v2\u001b[2J\u009b31m" } });
    const rec = {
      format: 2,
      id: "0123456789abcdef",
      state: "verified",
      action: "promote",
      slotLabel: "version",
      from: "v2",
      to: "v1",
      at: "2026-11-22T12:00:00Z",
      by: "mallory\u001b]0;pwned\u0007\r",
      fromDeployment: "myapp-v2",
      toDeployment: "myapp-v1",
      fromTemplate: "0000000000000000",
      toTemplate: "0000000000000000",
      fromReplicas: 3,
      services: { myapp: "live" },
    };
    t.services = [
      service("myapp", { app: "myapp", version: "v1" }, {
        annotations: {
          [LAST_SWITCH_ANNOTATION]: JSON.stringify(rec),
          [HISTORY_ANNOTATION]: JSON.stringify([rec, { ...rec, by: "eve\u009b\n" }]),
        },
      }),
    ];
    return appStatus(findPair("myapp", "blue-green", t.deployments, t.services), t.replicaSets);
  }
  const opts = { now: new Date("2026-11-22T12:30:00Z"), wide: true, noHeaders: false, color: true, namespaces: true };
  // Our own colour codes (SGR) are the only escape sequences allowed through.
  const withoutOurColours = (s: string) => s.replace(new RegExp(`${ESC}\\[\\d+m`, "g"), "");

  it("status screen and table", () => {
    const s = evilTutorial();
    const screen = renderAppScreen(s, opts);
    expect(screen).toContain("by mallory^[]0;pwned\\x07\\r, 30m ago");
    expect(screen).toContain("myapp:v2^[[2J\\u009b31m");
    expect(screen).toContain("by eve\\u009b\\n");
    expect(controls(withoutOurColours(screen))).toEqual([]);
    // Colour still works: the verdict is painted.
    expect(screen).toMatch(new RegExp(`${ESC}\\[\\d+m(ready to promote|not ready|promoted)${ESC}\\[\\d+m`));
    const list = renderAppTable([s], opts);
    expect(list).toContain("v2=myapp:v2^[[2J\\u009b31m");
    expect(controls(withoutOurColours(list))).toEqual([]);
  });

  it("json and yaml keep the raw value (they escape it themselves)", () => {
    const s = evilTutorial();
    const json = renderData("json", statusDocument([s]));
    expect(controls(json)).toEqual([]);
    const doc = JSON.parse(json) as { items: { lastSwitch: { by: string }; slots: { images: string[] }[] }[] };
    expect(doc.items[0]!.lastSwitch.by).toBe("mallory\u001b]0;pwned\u0007\r");
    expect(doc.items[0]!.slots[1]!.images[0]).toBe("myapp:v2\u001b[2J\u009b31m");
    expect(controls(renderData("yaml", statusDocument([s])))).toEqual([]);
  });

  it("diff: lines and image summary escaped, colours kept", () => {
    const t = tutorial({ v2: { image: "myapp:v2\u001b[2J\u009b31m" } });
    const c = compareSlots(settled(findPair("myapp", "blue-green", t.deployments, t.services)));
    // The YAML dump and the diff's file headers quote control characters themselves; the lines are
    // escaped again in case they ever do not. The image summary is ours to escape.
    c.to.deployment = "myapp-v2\u001b]0;x\u0007";
    for (const color of [false, true]) {
      const r = renderComparison(c, color);
      expect(r.text).toContain("Images: app: myapp:v1 → myapp:v2^[[2J\\u009b31m");
      expect(controls(withoutOurColours(r.text))).toEqual([]);
      expect(r.text).toContain(color ? `${ESC}[32m+        - image: "myapp:v2\\e[2J\\x9B31m"` : '+        - image: "myapp:v2\\e[2J\\x9B31m"');
    }
  });

  it("completion candidates", async () => {
    let out = "";
    const ctx = {
      env: {},
      io: {
        out: (t: string) => {
          out += t;
        },
      },
      kube: async () => ({
        namespace: "default",
        listNamespaces: async () => ["ok", "bad\u001b[31m\nns"],
        listDeployments: async () => [],
      }),
    } as unknown as Context;
    await completeCommand(ctx, ["status", "-n", ""]);
    expect(out).toBe("ok\nbad^[[31m\\nns\n:4\n");
    // A namespace that is not a DNS label is never sent to the cluster.
    const asked: unknown[] = [];
    const spy = {
      ...ctx,
      kube: async (o: unknown) => {
        asked.push(o);
        return (ctx.kube as (x: unknown) => unknown)(o);
      },
    } as unknown as Context;
    expect(await complete(spy, ["promote", "-n", "..", ""])).toEqual([]);
    expect(asked).toEqual([]);
  });
});
