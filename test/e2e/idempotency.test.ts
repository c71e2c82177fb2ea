// Idempotency that fails closed, against the real control plane: after a promote (or an abort), nothing
// but a newer version in the idle slot makes a plain promote move traffic; missing or conflicting
// evidence refuses (exit 4) and names --to.
import { describe, expect, it } from "vitest";
import { createApp, redeploy, resourceVersionOf, selectorOf, serviceYaml, testNamespaces, waitForEndpoints } from "./lib/apps.js";
import { type RunResult, apply, bluegreen, kubectlJson, kubectlOk, waitFor, waitForRollout } from "./lib/cluster.js";

const ns = testNamespaces();
const RECORD = "kubectl-bluegreen/last-switch";

const expectOk = (r: RunResult) => expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);

/** A promoted app: v1 → v2 done and verified. */
async function promotedApp(prefix: string, services?: Record<string, string>): Promise<string> {
  const n = await ns(prefix);
  await createApp(n, services ? { services } : {});
  expectOk(bluegreen(["promote", "myapp"], { namespace: n }));
  expect(selectorOf(n, "myapp").version).toBe("v2");
  return n;
}

/** Plain promote refuses with exit 4, one sentence naming the reason, a hint naming --to, and the Service unchanged. */
function expectRefused(n: string, why: RegExp, svc = "myapp") {
  const rv = resourceVersionOf(n, svc);
  const r = bluegreen(["promote", "myapp"], { namespace: n });
  expect(r.code, `${r.stdout}${r.stderr}`).toBe(4);
  expect(r.stdout).toBe("");
  const [line, hint, ...rest] = r.stderr.trimEnd().split("\n");
  expect(line).toMatch(/^error: will not promote app myapp: .*; nothing changed\.$/);
  expect(line).toMatch(why);
  expect(hint).toMatch(/kubectl bluegreen promote myapp --to v\d$/);
  expect(rest).toEqual([]);
  expect(resourceVersionOf(n, svc)).toBe(rv);
  expect(selectorOf(n, svc).version).toBe("v2");
}

const record = (n: string, svc = "myapp") => JSON.parse(kubectlJson(["get", "service", svc, "-n", n]).metadata.annotations[RECORD]);

describe("after a promote, plain promote never sends traffic back", () => {
  it("a rollout restart of the idle slot changes nothing", async () => {
    const n = await promotedApp("id-restart");
    kubectlOk(["rollout", "restart", "deployment/myapp-v1", "-n", n]);
    await waitFor("the restart's new ReplicaSet", () => kubectlJson(["get", "replicasets", "-n", n, "-l", "version=v1"]).items.length === 2);
    await waitForRollout(n, "myapp-v1");
    const rv = resourceVersionOf(n, "myapp");
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^app myapp is already promoted: version=v2 is live since \S+; the idle slot v1 is the previous version \(use abort to go back\)\n$/);
    expect(resourceVersionOf(n, "myapp")).toBe(rv);
    // status agrees with promote.
    expect(JSON.parse(bluegreen(["status", "myapp", "-o", "json"], { namespace: n }).stdout).items[0].verdict).toBe("promoted");
  });

  it("scaling the idle slot changes nothing", async () => {
    const n = await promotedApp("id-scale");
    kubectlOk(["scale", "deployment/myapp-v1", "-n", n, "--replicas=5"]);
    await waitForRollout(n, "myapp-v1");
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^app myapp is already promoted/);
    expect(selectorOf(n, "myapp").version).toBe("v2");
  });

  it("a removed record refuses (the server shows v1 is older)", async () => {
    const n = await promotedApp("id-removed");
    kubectlOk(["annotate", "service", "myapp", "-n", n, `${RECORD}-`]);
    expectRefused(n, /no switch is recorded and the idle slot v1 does not hold a newer version than the live slot v2/);
  });

  it("a Service re-created from its manifest (no record) refuses", async () => {
    const n = await promotedApp("id-recreated");
    kubectlOk(["delete", "service", "myapp", "-n", n]);
    apply(n, serviceYaml("myapp", { app: "myapp", version: "v2" }));
    expectRefused(n, /no switch is recorded/);
  });

  it("an unreadable, hand-edited or out-of-bounds record refuses", async () => {
    const n = await promotedApp("id-corrupt");
    const good = record(n);
    const cases: [string, RegExp][] = [
      ["{not json", /the switch record on service\/myapp cannot be used: it is not JSON/],
      [JSON.stringify({ ...good, fromReplicas: 1e9 }), /its field fromReplicas is missing or out of bounds/],
      [JSON.stringify({ ...good, from: "v9" }), /names version v9 → v2, which are not this app's slots/],
    ];
    for (const [text, why] of cases) {
      kubectlOk(["annotate", "service", "myapp", "-n", n, "--overwrite", `${RECORD}=${text}`]);
      expectRefused(n, why);
    }
  });

  it("a record of another plugin version refuses", async () => {
    const n = await promotedApp("id-version");
    const { format: _f, id: _i, state: _s, toTemplate: _t, services: _v, ...legacy } = record(n);
    kubectlOk(["annotate", "service", "myapp", "-n", n, "--overwrite", `${RECORD}=${JSON.stringify(legacy)}`]);
    expectRefused(n, /written by an older kubectl-bluegreen/);
    kubectlOk(["annotate", "service", "myapp", "-n", n, "--overwrite", `${RECORD}=${JSON.stringify({ ...record(n), format: 3 })}`]);
    expectRefused(n, /it has format 3/);
  });

  it("a second live Service without a record, or records that disagree, refuse", async () => {
    const n = await promotedApp("id-second");
    apply(n, serviceYaml("myapp-b", { app: "myapp", version: "v2" }));
    expectRefused(n, /service\/myapp-b has no switch record while service\/myapp has one/);
    kubectlOk(["annotate", "service", "myapp-b", "-n", n, `${RECORD}=${JSON.stringify({ ...record(n), id: "ffffffffffffffff" })}`]);
    expectRefused(n, /the switch records on service\/myapp and service\/myapp-b disagree/);
  });

  it("a second live Service on the old slot is a split that only --to settles", async () => {
    const n = await promotedApp("id-split");
    apply(n, serviceYaml("myapp-b", { app: "myapp", version: "v1" }));
    const s = bluegreen(["status", "myapp"], { namespace: n });
    expect(s.code).toBe(1);
    expect(s.stdout).toMatch(/Verdict: {6}interrupted: the Services disagree and no switch is recorded as in progress: service\/myapp on v2, service\/myapp-b on v1/);
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: will not promote app myapp: its Services disagree \(service\/myapp on v2, service\/myapp-b on v1\)/);
    expect(bluegreen(["abort", "myapp"], { namespace: n }).code).toBe(4);
    expect(selectorOf(n, "myapp-b").version).toBe("v1");
    expectOk(bluegreen(["promote", "myapp", "--to", "v2"], { namespace: n }));
    expect([selectorOf(n, "myapp").version, selectorOf(n, "myapp-b").version]).toEqual(["v2", "v2"]);
  });

  it("a newer version deployed into the idle slot is promoted", async () => {
    const n = await promotedApp("id-newer");
    await redeploy(n, "myapp-v1", "registry.example/myapp:v3");
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expectOk(r);
    expect(r.stdout).toContain("app myapp promoted: version=v1 is live (was v2)");
    expect(selectorOf(n, "myapp").version).toBe("v1");
  });
});

describe("after an abort", () => {
  it("plain promote does not re-promote the aborted template; a changed container spec does", async () => {
    const n = await promotedApp("id-abort");
    expectOk(bluegreen(["abort", "myapp"], { namespace: n }));
    await waitForEndpoints(n, "myapp", "v1", 3);
    const rv = resourceVersionOf(n, "myapp");
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: will not promote app myapp: the idle slot v2 still holds the version that was aborted at \S+; deploy a new version into it first; nothing changed\.\n/);
    expect(resourceVersionOf(n, "myapp")).toBe(rv);
    expect(JSON.parse(bluegreen(["status", "myapp", "-o", "json"], { namespace: n }).stdout).items[0].verdict).toBe("blocked");
    // A restart of the aborted slot is still the aborted version.
    kubectlOk(["rollout", "restart", "deployment/myapp-v2", "-n", n]);
    await waitForRollout(n, "myapp-v2");
    expect(bluegreen(["promote", "myapp"], { namespace: n }).code).toBe(4);
    // A changed env is a new version.
    kubectlOk(["set", "env", "deployment/myapp-v2", "-n", n, "FIXED=1"]);
    await waitForRollout(n, "myapp-v2");
    expectOk(bluegreen(["promote", "myapp"], { namespace: n }));
    expect(selectorOf(n, "myapp").version).toBe("v2");
  });
});
