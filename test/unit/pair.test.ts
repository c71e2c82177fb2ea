import { describe, expect, it } from "vitest";
import { type AppPair, findApps, findPair } from "../../src/bluegreen/pair.js";
import { deployment, fixture, service, tutorial } from "./builders.js";
import { compareNames } from "../../src/bluegreen/model.js";

const names = (xs: { metadata: { name?: string } }[]) => xs.map((x) => x.metadata.name);
const live = (p: AppPair) => p.routers.filter((r) => r.role === "live").map((r) => r.name);
const previews = (p: AppPair) => p.routers.filter((r) => r.role === "preview").map((r) => r.name);

describe("findPair", () => {
  it("detects the slot label and the live slot of the tutorial layout", () => {
    const t = tutorial();
    const p = findPair("myapp", "blue-green", t.deployments, t.services);
    expect(p.problem).toBeUndefined();
    expect(p.slotLabel).toBe("version");
    expect(p.live?.value).toBe("v1");
    expect(p.idle?.value).toBe("v2");
    expect(live(p)).toEqual(["myapp"]);
  });

  it("finds colours, a preview Service and a shared Service", () => {
    const f = fixture("color-preview.yaml");
    const p = findPair("shop", "prod", f.deployments, f.services);
    expect(p.problem).toBeUndefined();
    expect(p.slotLabel).toBe("color");
    expect(p.live?.value).toBe("blue");
    expect(live(p)).toEqual(["shop"]);
    expect(previews(p)).toEqual(["shop-preview"]);
    expect(names(p.sharedServices)).toEqual(["shop-metrics"]);
  });

  it("uses the forced slot label", () => {
    const deps = [
      deployment("a", { labels: { app: "x", track: "one", build: "1" } }),
      deployment("b", { labels: { app: "x", track: "two", build: "2" } }),
    ];
    const p = findPair("x", "blue-green", deps, [service("x", { app: "x", track: "two" })], "track");
    expect(p.slotLabel).toBe("track");
    expect(p.live?.value).toBe("two");
  });

  it("picks among several differing labels the one the Service selects on", () => {
    const deps = [
      deployment("a", { labels: { app: "x", track: "one", build: "1" } }),
      deployment("b", { labels: { app: "x", track: "two", build: "2" } }),
    ];
    const p = findPair("x", "blue-green", deps, [service("x", { app: "x", build: "1" })]);
    expect(p.slotLabel).toBe("build");
    expect(p.live?.deployment.metadata.name).toBe("a");
  });

  it("refuses three Deployments", () => {
    const t = tutorial();
    const deps = [...t.deployments, deployment("myapp-v3", { labels: { app: "myapp", version: "v3" } })];
    expect(findPair("myapp", "blue-green", deps, t.services).problem).toBe(
      "3 Deployments (myapp-v1, myapp-v2, myapp-v3) belong to app myapp; a blue/green pair needs exactly two",
    );
  });

  it("refuses a Service selecting neither slot", () => {
    const t = tutorial();
    const p = findPair("myapp", "blue-green", t.deployments, [service("myapp", { app: "myapp", version: "v3" })]);
    expect(p.problem).toBe("Service myapp selects version=v3, which neither myapp-v1 (v1) nor myapp-v2 (v2) has");
  });

  it("says when no Service selects either slot", () => {
    const t = tutorial();
    expect(findPair("myapp", "blue-green", t.deployments, []).problem).toBe(
      "no Service selects either slot: a Service with selector app=myapp,version=v1 is needed",
    );
  });

  it("refuses Services on both slots when none is marked preview", () => {
    const t = tutorial();
    const svcs = [service("myapp", { app: "myapp", version: "v1" }), service("myapp-b", { app: "myapp", version: "v2" })];
    expect(findPair("myapp", "blue-green", t.deployments, svcs).problem).toMatch(/none is marked as preview/);
    svcs[1]!.metadata.annotations = { "kubectl-bluegreen/role": "preview" };
    const p = findPair("myapp", "blue-green", t.deployments, svcs);
    expect(p.problem).toBeUndefined();
    expect(previews(p)).toEqual(["myapp-b"]);
  });

  it("refuses templates that differ in no label", () => {
    const deps = [deployment("a", { labels: { app: "x" } }), deployment("b", { labels: { app: "x" } })];
    expect(findPair("x", "ns", deps, []).problem).toMatch(/differ in no label/);
  });

  it("ignores Services of other namespaces and apps", () => {
    const t = tutorial();
    const svcs = [...t.services, service("myapp", { app: "myapp", version: "v2" }, { ns: "elsewhere" }), service("o", { app: "o", version: "v2" })];
    const p = findPair("myapp", "blue-green", t.deployments, svcs);
    expect(p.problem).toBeUndefined();
    expect(live(p)).toEqual(["myapp"]);
  });
});

describe("findApps", () => {
  it("groups by namespace and app label, sorted", () => {
    const t = tutorial();
    const f = fixture("color-preview.yaml");
    const apps = findApps({ appLabel: "app" }, [...f.deployments, ...t.deployments], [...f.services, ...t.services]);
    expect(apps.map((a) => `${a.namespace}/${a.app}`)).toEqual(["blue-green/myapp", "prod/shop"]);
  });
});

describe("compareNames", () => {
  it("orders names exactly as localeCompare does", () => {
    // Random names over the plain alphabet (the code-point path) and with characters that take localeCompare's.
    const plain = "abcdefghijklmnopqrstuvwxyz0123456789-.";
    const other = `${plain}ABCXYZ_é`;
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const name = (alphabet: string) => Array.from({ length: next() % 6 }, () => alphabet[next() % alphabet.length]).join("");
    const sign = (n: number) => Math.sign(n);
    for (let i = 0; i < 20000; i++) {
      const alphabet = i % 4 === 0 ? other : plain;
      const a = name(alphabet);
      const b = name(alphabet);
      expect([a, b, sign(compareNames(a, b))]).toEqual([a, b, sign(a.localeCompare(b))]);
    }
    expect(["web-2", "web.1", "web-10", "Web", "web", "web_1", "2web"].sort(compareNames)).toEqual(
      ["web-2", "web.1", "web-10", "Web", "web", "web_1", "2web"].sort((a, b) => a.localeCompare(b)),
    );
  });
});
