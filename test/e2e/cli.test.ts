// The command line as kubectl users type it, through `kubectl bluegreen`: kubectl's short-flag syntax, and
// output in the locale's character set.
import { beforeAll, describe, expect, it } from "vitest";
import { createApp, testNamespaces } from "./lib/apps.js";
import { bluegreen } from "./lib/cluster.js";

const ns = testNamespaces();

describe("kubectl's flag syntax", () => {
  let n = "";
  beforeAll(async () => {
    n = await ns("cli-syntax");
    await createApp(n);
  });

  it("takes short flags with the value attached: -nNS, -owide, -oyaml, -lapp=APP, -o=json", () => {
    const wide = bluegreen(["status", "myapp", `-n${n}`, "-owide"]);
    expect(wide.code, wide.stderr).toBe(0);
    expect(wide.stdout).toContain(`Namespace:    ${n}`);
    expect(wide.stdout).toMatch(/^SLOT +ROLE +DEPLOYMENT .* ROLLOUT$/m);

    const json = bluegreen(["status", `-n${n}`, "-lapp=myapp", "-o=json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).items.map((i: { app: string; namespace: string }) => [i.app, i.namespace]), json.stdout).toEqual([["app=myapp", n]]);
    // The same as the spaced spellings.
    const spaced = bluegreen(["status", "-n", n, "-l", "app=myapp", "-o", "json"]);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(spaced.stdout));

    const yaml = bluegreen(["status", "myapp", "-oyaml"], { namespace: n });
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout).toMatch(/^kind: BlueGreenStatusList$/m);
  });

  it("clusters booleans before a value flag, as kubectl does (-Aowide), and still refuses unknown letters", () => {
    const all = bluegreen(["status", "-Aowide"]);
    expect(all.code, all.stderr).toBeLessThanOrEqual(1);
    expect(all.stdout).toMatch(/^NAMESPACE +APP +SLOT-LABEL .* LAST-SWITCH +REASON$/m);
    expect(all.stdout).toMatch(new RegExp(`^${n} +myapp +version +v1 +v2 `, "m"));

    const plan = bluegreen(["promote", "myapp", `-n${n}`, "-ojson", "--dry-run=client"]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ app: "myapp", namespace: n });

    const bad = bluegreen(["status", "myapp", "-xowide"], { namespace: n });
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe("error: unknown flag: -xowide.");
  });
});

/** Characters outside ASCII in the text. */
const nonAscii = (s: string) => [...new Set(s.match(/[^\t\n\r -~]/g) ?? [])];

describe("the locale's character set", () => {
  let n = "";
  beforeAll(async () => {
    n = await ns("cli-locale");
    await createApp(n);
  });
  // Empty is unset: LANG alone decides.
  const locale = (LANG: string) => ({ env: { LANG, LC_ALL: "", LC_CTYPE: "" } });

  it("prints ASCII arrows where the locale is not UTF-8 (LANG=C), and keeps the values in -o json", () => {
    const screen = bluegreen(["status", "myapp"], { namespace: n, ...locale("C") });
    expect(screen.code, screen.stderr).toBe(0);
    expect(screen.stdout).toContain("promote switches version v1 -> v2");
    expect(screen.stdout).toContain("Services:     myapp (live -> v1)");
    expect(nonAscii(screen.stdout)).toEqual([]);

    const help = bluegreen(["promote", "--help"], locale("C"));
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout.replace(/\s+/g, " ")).toContain("someone else -- a controller that reverts the selector --");
    expect(nonAscii(help.stdout)).toEqual([]);

    const plan = bluegreen(["promote", "myapp", "--dry-run=client"], { namespace: n, ...locale("C") });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/^Plan: promote app myapp in namespace \S+ \(context \S+\): version v1 -> v2/m);
    expect(nonAscii(plan.stdout + plan.stderr)).toEqual([]);

    // -o json carries the values as they are: the reason keeps its arrow (as \u2192 or raw, JSON either way).
    const json = bluegreen(["status", "myapp", "-o", "json"], { namespace: n, ...locale("C") });
    expect(JSON.parse(json.stdout).items[0].reason).toContain("v1 → v2");
  });

  it("prints the arrows where the locale is UTF-8", () => {
    for (const LANG of ["C.UTF-8", "en_US.utf8"]) {
      const screen = bluegreen(["status", "myapp"], { namespace: n, ...locale(LANG) });
      expect(screen.stdout, LANG).toContain("Services:     myapp (live → v1)");
    }
  });
});
