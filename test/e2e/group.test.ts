// promote and abort of several apps at once, all or none, against the real control plane.
import { describe, expect, it } from "vitest";
import { createApp, resourceVersionOf, selectorOf, testNamespaces } from "./lib/apps.js";
import { type RunResult, bluegreen, bluegreenChild, kubectlJson, kubectlOk, waitFor } from "./lib/cluster.js";

const ns = testNamespaces();

/** Exit 0, or fail showing what the plugin said. */
const expectOk = (r: RunResult) => expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);

const APPS = ["web", "api", "worker"];

/** Three apps in one namespace, each with v1 live; worker's v2 never becomes available when `stuck`. */
async function createApps(n: string, stuck = false): Promise<void> {
  for (const app of APPS) await createApp(n, { app, slots: [{ value: "v1" }, { value: "v2", unschedulable: stuck && app === "worker" }] });
}

const versions = (n: string) => APPS.map((app) => selectorOf(n, app).version);

const recordOf = (n: string, app: string) => JSON.parse(kubectlJson(["get", "service", app, "-n", n]).metadata.annotations["kubectl-bluegreen/last-switch"]);

describe("several apps at once", () => {
  it("refuses all (exit 4, nothing changed) when one app's idle slot is not ready", async () => {
    const n = await ns("gr-refuse");
    await createApps(n, true);
    const rvs = APPS.map((app) => resourceVersionOf(n, app));
    const r = bluegreen(["promote", ...APPS], { namespace: n });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^error: cannot promote 3 apps together: app worker refuses \(worker: cannot promote app worker to version=v2: Waiting for deployment "worker-v2" rollout to finish: 0 of 3 updated replicas are available\.\.\.\); nothing changed\.\nSettle the app named \(kubectl bluegreen promote worker --dry-run says what it needs\), then run the same promote again, or leave it out\.\n$/);
    expect(r.stdout.split("\n")[0]).toMatch(/^APP\s+FROM → TO\s+RESULT$/);
    expect(r.stdout).toMatch(/\nweb\s+v1 → v2\s+ready\n/);
    expect(r.stdout).toMatch(/\nworker\s+-\s+refused: cannot promote app worker to version=v2: /);
    expect(APPS.map((app) => resourceVersionOf(n, app))).toEqual(rvs);
    expect(versions(n)).toEqual(["v1", "v1", "v1"]);
  });

  it("promotes every app, with one group in each record, and aborts them together", async () => {
    const n = await ns("gr-all");
    await createApps(n);
    const dry = bluegreen(["promote", ...APPS, "--dry-run=server", "-o", "json"], { namespace: n });
    expectOk(dry);
    expect(JSON.parse(dry.stdout).items.map((i: { app: string; result: string }) => [i.app, i.result])).toEqual(APPS.map((a) => [a, "would be promoted"]));
    expect(versions(n)).toEqual(["v1", "v1", "v1"]);

    const r = bluegreen(["promote", ...APPS, "--propagation-delay", "0s"], { namespace: n });
    expectOk(r);
    expect(r.stdout).toMatch(new RegExp(`^APP +FROM → TO +RESULT\\nweb +v1 → v2 +promoted\\napi +v1 → v2 +promoted\\nworker +v1 → v2 +promoted\\n3 apps promoted together \\(group [0-9a-f]+\\); context admin, namespace ${n}\\n$`));
    expect(versions(n)).toEqual(["v2", "v2", "v2"]);
    const records = APPS.map((app) => recordOf(n, app));
    expect(records.map((x) => x.group.apps)).toEqual([APPS, APPS, APPS]);
    expect(new Set(records.map((x) => x.group.id)).size).toBe(1);
    expect(bluegreen(["status", "api"], { namespace: n }).stdout).toContain(`with apps web, worker (group ${records[0].group.id})`);

    const back = bluegreen(["abort", ...APPS, "--propagation-delay", "0s", "-o", "json"], { namespace: n });
    expectOk(back);
    const doc = JSON.parse(back.stdout);
    expect(doc).toMatchObject({ kind: "BlueGreenGroupSwitch", action: "abort", result: "done" });
    expect(doc.items.map((i: { app: string; from: string; to: string; result: string }) => [i.app, i.from, i.to, i.result])).toEqual(APPS.map((a) => [a, "v2", "v1", "aborted"]));
    expect(versions(n)).toEqual(["v1", "v1", "v1"]);
  });

  it("when one app fails its post-check, every app goes back (exit 6)", async () => {
    const n = await ns("gr-back");
    await createApps(n);
    const r = bluegreen(["promote", ...APPS, "--propagation-delay", "0s", "--post-check", 'test "$BLUEGREEN_APP" != worker'], { namespace: n });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(6);
    expect(r.stderr).toMatch(/error: the promote of 3 apps failed: app worker: .*; every app is back where it was \(web: version=v1, api: version=v1, worker: version=v1\)\.\n/);
    expect(versions(n)).toEqual(["v1", "v1", "v1"]);
    // The apps that had switched were switched back by an abort of the same group: a plain promote may run again.
    for (const app of ["web", "api"]) expect(recordOf(n, app)).toMatchObject({ action: "abort", to: "v1" });
  });

  it("kill -9 in the middle: status shows the group, a promote of the same apps finishes it, an abort undoes it", async () => {
    const n = await ns("gr-kill");
    await createApps(n);
    // The check outlives the plugin killed under it: it holds none of the plugin's output open.
    const hang = 'if [ "$BLUEGREEN_APP" = worker ]; then exec sleep 120 </dev/null >/dev/null 2>&1; fi';
    const p = bluegreenChild(["promote", ...APPS, "--propagation-delay", "0s", "--check-timeout", "10m", "--post-check", hang], { namespace: n });
    const verified = (app: string) => recordOf(n, app).state === "verified";
    await waitFor("every app switched, web and api verified", () => versions(n).every((v) => v === "v2") && verified("web") && verified("api"), 60_000, 100);
    p.kill("SIGKILL");
    await p.done;
    expect(recordOf(n, "worker").state).toBe("pending");
    const id = recordOf(n, "web").group.id;
    const s = bluegreen(["status", "worker"], { namespace: n });
    expect(s.code, s.stdout).toBe(1);
    expect(s.stdout).toContain(`(not verified), with apps web, api (group ${id})`);

    const r = bluegreen(["promote", ...APPS, "--propagation-delay", "0s"], { namespace: n });
    expectOk(r);
    expect(r.stdout).toMatch(/\nweb +- +nothing to do: app web is already promoted/);
    expect(r.stdout).toMatch(/\nworker +v1 → v2 +promoted\n/);
    expect(recordOf(n, "worker")).toMatchObject({ state: "verified", group: { id, apps: APPS } });

    expectOk(bluegreen(["abort", ...APPS, "--propagation-delay", "0s"], { namespace: n }));
    expect(versions(n)).toEqual(["v1", "v1", "v1"]);
  });

  it("refuses bad input before contacting anything", () => {
    const r = bluegreen(["promote", "web", "api", "--steps", "10,100"], { namespace: "default" });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: --steps works on one app in one context at a time: promote them one by one to use it.\nSee --help.\n");
  });

  it("promote --all -l releases every app the selector matches, and only those", async () => {
    const n = await ns("gr-selector");
    await createApps(n);
    for (const app of ["web", "api"]) kubectlOk(["label", "deployments", "-n", n, "-l", `app=${app}`, "team=shop"]);
    const none = bluegreen(["promote", "--all", "-l", "team=none", "--propagation-delay", "0s"], { namespace: n });
    expect(none.code, none.stderr).toBe(3);
    expect(none.stderr).toBe(`error: no app found with -l team=none in context admin, namespace ${n}: no Deployment matches it.\nCheck the selector with kubectl get deployments -l SELECTOR.\n`);
    const r = bluegreen(["promote", "--all", "-l", "team=shop", "--propagation-delay", "0s"], { namespace: n });
    expectOk(r);
    expect(r.stdout).toMatch(/^APP +FROM → TO +RESULT\napi +v1 → v2 +promoted\nweb +v1 → v2 +promoted\n2 apps promoted together/);
    expect(versions(n)).toEqual(["v2", "v2", "v1"]);
    expect(recordOf(n, "web").group.apps).toEqual(["api", "web"]);
  });

  it("status and diff take several apps", async () => {
    const n = await ns("gr-show");
    await createApps(n);
    const s = bluegreen(["status", "web", "worker"], { namespace: n });
    expectOk(s);
    expect(s.stdout).toMatch(/^APP +SLOT-LABEL +LIVE +IDLE +SERVICES +VERDICT\nweb +version +v1 +v2 +web +ready to promote\nworker +version +v1 +v2 +worker +ready to promote\n$/);
    const missing = bluegreen(["status", "web", "nope"], { namespace: n });
    expect(missing.code).toBe(3);
    expect(missing.stdout).toMatch(/\nweb +version +v1 +v2 /);
    expect(missing.stderr).toMatch(/^error: app "nope" \(no Deployment has label app=nope\) in namespace /);
    const d = bluegreen(["diff", "web", "api", "-o", "json"], { namespace: n });
    expect(d.code, d.stderr).toBe(1);
    const doc = JSON.parse(d.stdout);
    expect(doc.kind).toBe("List");
    expect(doc.items.map((i: { app: string; differs: boolean; images: unknown }) => [i.app, i.differs])).toEqual([
      ["web", true],
      ["api", true],
    ]);
  });
});
