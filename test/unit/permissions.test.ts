import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { deployNeeds, needText, permissionTable, scaleDownNeeds, switchNeeds } from "../../src/bluegreen/permissions.js";
import type { Step } from "../../src/bluegreen/plan.js";

const step = (kind: string, more: Record<string, unknown> = {}) => ({ kind, ...more }) as Step;
const texts = (steps: Step[]) => switchNeeds(steps).map(needText);

describe("permissions a plan needs before its first write", () => {
  it("a switch: the pods check, the Service writes, the EndpointSlices, Events", () => {
    expect(texts([step("check"), step("switch"), step("verify"), step("record")])).toEqual([
      "list pods",
      "patch services",
      "list endpointslices.discovery.k8s.io",
      "watch endpointslices.discovery.k8s.io",
      "create events",
    ]);
  });

  it("each flag adds what its steps use, each verb and resource once", () => {
    expect(texts([step("scale-up"), step("check"), step("probe", { when: "before" }), step("switch"), step("probe", { when: "after" }), step("scale-down")])).toEqual([
      "patch deployments.apps",
      "list pods",
      "get pods/proxy",
      "patch services",
      "get services/proxy",
    ]);
    expect(texts([step("command", { when: "before" })])).toEqual([]);
  });

  it("optional ones (Events, the watch) say what is lost without them; the rest refuse", () => {
    const optional = switchNeeds([step("verify"), step("record")]).filter((n) => n.without);
    expect(optional.map((n) => [needText(n), n.without])).toEqual([
      ["watch endpointslices.discovery.k8s.io", "verification reads the EndpointSlices again every second instead"],
      ["create events", "no Event will be left"],
    ]);
    expect(deployNeeds().map(needText)).toEqual(["patch services", "patch deployments.apps", "create events"]);
    expect(scaleDownNeeds().map(needText)).toEqual(["patch services", "patch deployments.apps", "create events"]);
  });

  it("the README's table is the one these lists make", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const start = readme.indexOf("<!-- permissions:");
    const body = readme.slice(readme.indexOf("\n", start) + 1, readme.indexOf("<!-- end permissions -->")).trimEnd();
    expect(body, "README.md is out of date: paste this table between the permissions markers").toBe(permissionTable());
  });
});
