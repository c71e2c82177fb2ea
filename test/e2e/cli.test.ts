// The command line as kubectl users type it, through `kubectl bluegreen`: kubectl's short-flag syntax.
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
