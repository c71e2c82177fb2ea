// deploy on pods with more than one container: what the flags name, what the live slot's template brings
// besides (said before the write), where --env goes, the version label, --set-label.
import { describe, expect, it } from "vitest";
import { parse } from "../../src/cli/app.js";
import { type DeployOptions, type DeployPlan, VERSION_LABEL, imageTag, planDeploy } from "../../src/bluegreen/deploy.js";
import type { Deployment, Service } from "../../src/bluegreen/model.js";
import { findPair } from "../../src/bluegreen/pair.js";
import { renderData } from "../../src/render/data.js";
import { deployDocument, extraDiff, renderDeployPlan, renderExtraChanges } from "../../src/render/deploy.js";
import { fixture, service, wellFormed } from "./builders.js";

const expected = (name: string) => new URL(`./expected/${name}`, import.meta.url).pathname;
const ids = { by: "alice", now: new Date("2026-11-22T12:00:00Z"), id: "0123456789abcdef" };
const R = "registry.example";
type State = ReturnType<typeof fixture>;

/** orders-blue (live: 1.1, proxy 2.0, team=shop) and orders-green (idle: 1.0, proxy 1.9, FEATURE_X, less memory). */
const orders = () => fixture("orders-sidecar.yaml");
const dep = (t: State, name: string) => t.deployments.find((d) => d.metadata.name === name)!;
const plan = (t: State, o: Partial<DeployOptions>, services: Service[] = t.services) =>
  planDeploy(wellFormed(findPair("orders", "shop", t.deployments, services)), services, { images: [], env: [], from: "live", ...ids, ...o });
const deployed = (t: State, o: Partial<DeployOptions>, services?: Service[]) => {
  const p = plan(t, o, services);
  expect(p.kind, JSON.stringify(p)).toBe("deploy");
  return p as DeployPlan;
};
const release = { images: [{ container: "orders", image: `${R}/orders:1.2` }], env: [{ name: "LOG_LEVEL", value: "warn" }] };
/** Each container's image and env as NAME=VALUE, init containers too. */
const containers = (p: DeployPlan) =>
  Object.fromEntries(
    [...(p.template.spec?.initContainers ?? []), ...(p.template.spec?.containers ?? [])].map((c) => [c.name, [c.image, ...(c.env ?? []).map((e) => `${e.name}=${e.value}`)]]),
  );

describe("deploy from the live slot: what else it changes", () => {
  it("changes lists what the flags name; extraChanges what the live template brings besides", () => {
    const p = deployed(orders(), release);
    expect(p.changes).toEqual([
      `image of container orders: ${R}/orders:1.0 → ${R}/orders:1.2`,
      "env of container orders: LOG_LEVEL=warn (was info)",
      `pod template label ${VERSION_LABEL}: 1.0 → 1.2`,
    ]);
    expect(p.extraChanges).toEqual([
      "env of container orders: FEATURE_X removed",
      'resources of container orders: {"requests":{"memory":"128Mi"}} → {"requests":{"memory":"256Mi"}}',
      `image of container sidecar: ${R}/proxy:1.9 → ${R}/proxy:2.0`,
      `image of init container migrate: ${R}/orders-migrate:1.0 → ${R}/orders-migrate:1.1`,
      "pod template label team=shop added",
    ]);
    expect(containers(p)).toEqual({
      migrate: [`${R}/orders-migrate:1.1`],
      orders: [`${R}/orders:1.2`, "LOG_LEVEL=warn"],
      sidecar: [`${R}/proxy:2.0`],
    });
    expect(p.template.metadata?.labels).toEqual({ app: "orders", color: "green", [VERSION_LABEL]: "1.2", team: "shop" });
    // The idle template with only the named changes: what the extra changes are measured from.
    const named = structuredClone(dep(orders(), "orders-green").spec!.template);
    named.spec!.containers[0]!.image = `${R}/orders:1.2`;
    named.spec!.containers[0]!.env![0]!.value = "warn";
    named.metadata!.labels![VERSION_LABEL] = "1.2";
    expect(p.named).toEqual(named);
    expect(p.notes).toEqual([]);
  });

  it("from idle nothing comes along: no extra changes, no diff", () => {
    const p = deployed(orders(), { ...release, from: "idle" });
    expect(p.extraChanges).toEqual([]);
    expect(extraDiff(p)).toBe("");
    expect(renderExtraChanges(p)).toBe("");
    expect(containers(p)).toEqual({
      migrate: [`${R}/orders-migrate:1.0`],
      orders: [`${R}/orders:1.2`, "LOG_LEVEL=warn", "FEATURE_X=enabled"],
      sidecar: [`${R}/proxy:1.9`],
    });
  });

  it("names annotations, other container fields and other pod spec fields", () => {
    const t = orders();
    const live = dep(t, "orders-blue").spec!.template;
    live.metadata!.annotations = { "prometheus.io/scrape": "true" };
    Object.assign(live.spec!.containers[1]!, { readinessProbe: { httpGet: { path: "/ready", port: 15021 } } });
    Object.assign(live.spec!, { serviceAccountName: "orders", volumes: [{ name: "tmp", emptyDir: {} }] });
    const p = deployed(t, release);
    expect(p.extraChanges.slice(3)).toEqual([
      "other fields of container sidecar: readinessProbe",
      `image of init container migrate: ${R}/orders-migrate:1.0 → ${R}/orders-migrate:1.1`,
      "pod template label team=shop added",
      "pod template annotation prometheus.io/scrape=true added",
      "other pod template fields: spec.serviceAccountName, spec.volumes",
    ]);
  });

  it("prints the extra changes as diff does, before the write, and in the dry run and the document", async () => {
    const p = deployed(orders(), release);
    await expect(renderExtraChanges(p)).toMatchFileSnapshot(expected("deploy-extra-orders.txt"));
    await expect(renderDeployPlan(p, "admin", { dryRun: "client", wait: true, timeoutMs: 300_000 })).toMatchFileSnapshot(expected("deploy-plan-orders.txt"));
    const doc = deployDocument(p, "admin", "would-be-deployed", "client") as Record<string, unknown>;
    expect(doc.changes).toEqual([...p.changes, ...p.extraChanges]);
    expect(doc.extraChanges).toEqual(p.extraChanges);
    expect(doc.extraDiff).toBe(extraDiff(p));
    expect(renderExtraChanges(p)).toContain(`${extraDiff(p)}`);
    expect(JSON.parse(renderData("json", doc))).toMatchObject({ extraChanges: p.extraChanges });
  });
});

describe("where --env goes", () => {
  it("without a container: the containers --image changes, never a sidecar or an init container", () => {
    const p = deployed(orders(), { ...release, images: [...release.images, { container: "migrate", image: `${R}/orders-migrate:1.2` }] });
    expect(containers(p)).toEqual({
      migrate: [`${R}/orders-migrate:1.2`],
      orders: [`${R}/orders:1.2`, "LOG_LEVEL=warn"],
      sidecar: [`${R}/proxy:2.0`],
    });
    const both = deployed(orders(), { ...release, images: [...release.images, { container: "sidecar", image: `${R}/proxy:2.1` }] });
    expect(containers(both).sidecar).toEqual([`${R}/proxy:2.1`, "LOG_LEVEL=warn"]);
  });

  it("CONTAINER:NAME=VALUE goes to that container, init containers too; an unknown one is not found", () => {
    const p = deployed(orders(), {
      env: [
        { container: "sidecar", name: "PROXY_MODE", value: "strict" },
        { container: "migrate", name: "DRY", value: "1" },
      ],
    });
    expect(containers(p)).toEqual({
      migrate: [`${R}/orders-migrate:1.1`, "DRY=1"],
      orders: [`${R}/orders:1.1`, "LOG_LEVEL=info"],
      sidecar: [`${R}/proxy:2.0`, "PROXY_MODE=strict"],
    });
    expect(plan(orders(), { env: [{ container: "nope", name: "X", value: "1" }] })).toEqual({
      kind: "not-found",
      message: "deployment/orders-green has no container named nope; its containers are orders, sidecar, migrate",
      hint: "Name one of them: --env CONTAINER:NAME=VALUE.",
    });
  });

  it("with several containers and no --image for one of them, it must name its container (exit 2); with one, it goes there", () => {
    const usage = {
      kind: "usage",
      message: "deployment/orders-green has 2 containers (orders, sidecar) and no --image names one of them, so --env LOG_LEVEL=warn must name its container",
      hint: "Write --env CONTAINER:NAME=VALUE.",
    };
    expect(plan(orders(), { env: release.env })).toEqual(usage);
    expect(plan(orders(), { env: release.env, images: [{ container: "migrate", image: "m:2" }] })).toEqual(usage);
    const t = orders();
    for (const d of t.deployments) d.spec!.template.spec!.containers.pop();
    expect(containers(deployed(t, { env: release.env })).orders).toEqual([`${R}/orders:1.1`, "LOG_LEVEL=warn"]);
  });
});

describe("the version label and --set-label", () => {
  it("app.kubernetes.io/version follows the new tag only when it followed the image --image changes", () => {
    expect(deployed(orders(), release).template.metadata?.labels?.[VERSION_LABEL]).toBe("1.2");
    // The same image again: the label stays what it is.
    expect(deployed(orders(), { images: [{ container: "orders", image: `${R}/orders:1.1` }] }).template.metadata?.labels?.[VERSION_LABEL]).toBe("1.1");
    // A sidecar's tag is not the app's version.
    expect(deployed(orders(), { images: [{ container: "sidecar", image: `${R}/proxy:2.1` }] }).template.metadata?.labels?.[VERSION_LABEL]).toBe("1.1");
    // A label that did not follow the tag is copied as it is.
    const t = orders();
    dep(t, "orders-blue").spec!.template.metadata!.labels![VERSION_LABEL] = "stable";
    const p = deployed(t, release);
    expect(p.template.metadata?.labels?.[VERSION_LABEL]).toBe("stable");
    expect(p.extraChanges).toContain(`pod template label ${VERSION_LABEL}: 1.0 → stable`);
  });

  it("an image without a usable tag leaves the label, and says so", () => {
    const digest = `${R}/orders@sha256:${"a".repeat(64)}`;
    const p = deployed(orders(), { images: [{ container: "orders", image: digest }] });
    expect(p.template.metadata?.labels?.[VERSION_LABEL]).toBe("1.1");
    expect(p.notes).toEqual([
      `pod template label ${VERSION_LABEL}=1.1 followed the image tag of container orders, but ${digest} has no tag that can be a label value, so the label stays 1.1; set it with --set-label ${VERSION_LABEL}=VALUE`,
    ]);
    expect((deployDocument(p, "admin", "deployed") as { warnings: string[] }).warnings).toEqual(p.notes);
    const long = deployed(orders(), { images: [{ container: "orders", image: `${R}/orders:${"x".repeat(64)}` }] });
    expect([long.template.metadata?.labels?.[VERSION_LABEL], long.notes.length]).toEqual(["1.1", 1]);
  });

  it("--set-label sets a pod template label, the version label too (it wins over following the tag)", () => {
    const p = deployed(orders(), {
      ...release,
      labels: [
        { key: "team", value: "payments" },
        { key: VERSION_LABEL, value: "1.2-rc1" },
      ],
    });
    expect(p.template.metadata?.labels).toEqual({ app: "orders", color: "green", [VERSION_LABEL]: "1.2-rc1", team: "payments" });
    expect(p.changes).toContain("pod template label team=payments added");
    expect(p.extraChanges).not.toContain("pod template label team=shop added");
  });

  it("refuses the slot label and the labels a selector uses (exit 2, one sentence)", () => {
    const refuse = (key: string, services?: Service[], t = orders()) => plan(t, { labels: [{ key, value: "x" }] }, services);
    expect(refuse("color")).toEqual({ kind: "usage", message: "--set-label color=x would change the slot label color, which must not change", hint: "" });
    expect(refuse("app")).toMatchObject({ kind: "usage", message: "--set-label app=x would change label app of the selector of deployment/orders-green, which must not change" });
    // A label only some Service selects the slots by, and one in a selector's matchExpressions.
    const t = orders();
    for (const d of t.deployments) d.spec!.template.metadata!.labels!.tier = "web";
    const all = service("orders-all", { app: "orders", tier: "web" }, { ns: "shop" });
    expect(refuse("tier", [...t.services, all], t)).toMatchObject({ message: "--set-label tier=x would change label tier of the selector of service/orders-all, which must not change" });
    const e = orders();
    (dep(e, "orders-blue").spec!.selector as Deployment["spec"] & { matchExpressions?: unknown }).matchExpressions = [{ key: "track", operator: "Exists" }];
    expect(refuse("track", undefined, e)).toMatchObject({ message: "--set-label track=x would change label track of the selector of deployment/orders-blue, which must not change" });
    expect(plan(orders(), { labels: [{ key: "team", value: "x" }] }).kind).toBe("deploy");
  });

  it("imageTag reads the tag of an image reference", () => {
    expect(imageTag("web:1.2")).toBe("1.2");
    expect(imageTag("registry.example:5000/team/web:v2.0.1")).toBe("v2.0.1");
    expect(imageTag("registry.example:5000/web")).toBeUndefined();
    expect(imageTag(`web:1.2@sha256:${"b".repeat(64)}`)).toBe("1.2");
    expect(imageTag(`web@sha256:${"b".repeat(64)}`)).toBeUndefined();
    expect(imageTag("web:")).toBeUndefined();
  });
});

describe("deploy's command line", () => {
  const flags = async (...argv: string[]) => {
    const i = (await parse(["deploy", "orders", ...argv], 100)).inv!;
    if (i.command !== "deploy") throw new Error(`parsed as ${i.command}`);
    return i.flags;
  };
  const refused = async (argv: string[]) => {
    const r = await parse(["deploy", "orders", ...argv], 100).catch((e: Error) => e);
    return r instanceof Error ? r.message : "parsed";
  };

  it("reads --env [CONTAINER:]NAME=VALUE and --set-label KEY=VALUE, repeatable", async () => {
    const f = await flags("--env", "sidecar:MODE=a:b=c", "--env", "LOG=warn", "--set-label", "team=payments", "--set-label", `${VERSION_LABEL}=`);
    expect(f.env).toEqual([
      { container: "sidecar", name: "MODE", value: "a:b=c" },
      { container: undefined, name: "LOG", value: "warn" },
    ]);
    expect(f.labels).toEqual([
      { key: "team", value: "payments" },
      { key: VERSION_LABEL, value: "" },
    ]);
    expect((await flags("--set-label", "team=payments")).images).toEqual([]);
  });

  it("refuses malformed ones", async () => {
    expect(await refused(["--env", "Side_Car:X=1"])).toBe('invalid --env "Side_Car:X=1": "Side_Car" is not a container name.');
    expect(await refused(["--env", "sidecar:=1"])).toMatch(/^invalid --env "sidecar:=1": write \[CONTAINER:\]NAME=VALUE/);
    expect(await refused(["--set-label", "team"])).toBe('invalid --set-label "team": write KEY=VALUE.');
    expect(await refused(["--set-label", "=x"])).toBe('invalid --set-label "=x": the key is empty.');
    expect(await refused(["--set-label", "team=a b"])).toMatch(/^invalid --set-label "team=a b": value: /);
  });
});
