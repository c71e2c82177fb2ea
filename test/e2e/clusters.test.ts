// promote and abort across two clusters (--contexts), all or none or in waves, against two real control planes on
// this machine: the test bed and a second one started here (BLUEGREEN_TESTBED_DIR of its own).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, resourceVersionOf, selectorOf, testNamespaces } from "./lib/apps.js";
import { EXTERNAL_CLUSTER, KUBECONFIG, type RunResult, bluegreen, bluegreenAsync, bluegreenChild, kubectl, kubectlJson, kubectlOk, onCluster, waitFor } from "./lib/cluster.js";
import { type FaultProxy, startFaultProxy } from "./lib/faultproxy.js";
import { SECOND_KUBECONFIG, kubeconfigOf, secondTestbed } from "./lib/second.js";

const ns = testNamespaces();

/** Exit 0, or fail showing what the plugin said. */
const expectOk = (r: RunResult) => expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);

/** On the second cluster. */
const two = <T>(fn: () => Promise<T> | T) => onCluster(SECOND_KUBECONFIG, fn);

/** A namespace of the same name in both clusters. */
async function namespace(prefix: string): Promise<string> {
  const n = await ns(prefix);
  await two(async () => {
    kubectlOk(["create", "namespace", n]);
    await waitFor(`ServiceAccount default in namespace ${n} of the second cluster`, () => kubectl(["get", "serviceaccount", "default", "-n", n]).code === 0);
  });
  return n;
}

/** web and api in both clusters, v1 live; api's v2 in the second cluster never becomes available when `stuck`. */
async function createApps(n: string, stuck = false): Promise<void> {
  for (const app of ["web", "api"]) await createApp(n, { app });
  await two(async () => {
    for (const app of ["web", "api"]) await createApp(n, { app, slots: [{ value: "v1" }, { value: "v2", unschedulable: stuck && app === "api" }] });
  });
}

/** The slot each cluster's Service of the app selects: [first, second]. */
const versions = async (n: string, app: string) => [selectorOf(n, app).version, await two(() => selectorOf(n, app).version)];

const recordOf = (n: string, app: string) => JSON.parse(kubectlJson(["get", "service", app, "-n", n]).metadata.annotations["kubectl-bluegreen/last-switch"]);

const POST_CHECK_FAILS_IN_TWO = 'test "$BLUEGREEN_CONTEXT" != two';

describe.skipIf(EXTERNAL_CLUSTER)("across two clusters", () => {
  let kubeconfig = "";
  /** The plugin with contexts one (the test bed) and two (the second control plane) in its kubeconfig. */
  const run = (args: string[], n: string, context = "") =>
    bluegreen([...args, ...(args[0] === "promote" || args[0] === "abort" ? ["--propagation-delay", "0s"] : [])], { namespace: n, kubeconfig, context });

  beforeAll(() => {
    secondTestbed("up");
    kubeconfig = kubeconfigOf([
      { name: "one", kubeconfig: KUBECONFIG },
      { name: "two", kubeconfig: SECOND_KUBECONFIG },
    ]);
  }, 30 * 60_000);
  afterAll(() => secondTestbed("down"), 120_000);

  it("refuses in both (exit 4, nothing changed) when one app's idle slot in the second cluster is not ready", async () => {
    const n = await namespace("mc-refuse");
    await createApps(n, true);
    const before = [resourceVersionOf(n, "web"), resourceVersionOf(n, "api"), ...(await two(() => [resourceVersionOf(n, "web"), resourceVersionOf(n, "api")]))];
    const r = run(["promote", "web", "api", "--contexts", "one,two"], n);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^error: cannot promote 2 apps in 2 contexts together: app api in context two refuses \(two\/api: cannot promote app api to version=v2: .+\); nothing changed\.\nSettle the app named \(kubectl bluegreen promote api --context two --dry-run says what it needs\), then run the same promote again, or leave it out\.\n$/);
    expect(r.stdout).toMatch(/^CONTEXT +APP +FROM → TO +RESULT\none +web +v1 → v2 +ready\none +api +v1 → v2 +ready\ntwo +web +v1 → v2 +ready\ntwo +api +- +refused: /);
    expect([resourceVersionOf(n, "web"), resourceVersionOf(n, "api"), ...(await two(() => [resourceVersionOf(n, "web"), resourceVersionOf(n, "api")]))]).toEqual(before);
  });

  it("promotes every app in both, one group in every record; each cluster's own status and abort still work", async () => {
    const n = await namespace("mc-all");
    await createApps(n);
    const r = run(["promote", "web", "api", "--context", "one", "--context", "two"], n);
    expectOk(r);
    expect(r.stdout).toMatch(new RegExp(`^CONTEXT +APP +FROM → TO +RESULT\\none +web +v1 → v2 +promoted\\none +api +v1 → v2 +promoted\\ntwo +web +v1 → v2 +promoted\\ntwo +api +v1 → v2 +promoted\\n2 apps in 2 contexts promoted together \\(group [0-9a-f]+\\); contexts one, two, namespace ${n}\\n$`));
    // Every line the executors print names its cluster.
    expect(r.stderr.split("\n").filter(Boolean).every((l) => /^\[(one|two)\] /.test(l)), r.stderr).toBe(true);
    expect(await versions(n, "web")).toEqual(["v2", "v2"]);
    expect(await versions(n, "api")).toEqual(["v2", "v2"]);
    const records = [recordOf(n, "web"), recordOf(n, "api"), ...(await two(() => [recordOf(n, "web"), recordOf(n, "api")]))];
    expect(records.map((x) => x.group)).toEqual(records.map(() => ({ id: records[0].group.id, apps: ["web", "api"], contexts: ["one", "two"] })));
    const status = run(["status", "web"], n, "two");
    expect(status.stdout).toContain(`promote v1 → v2, with app api in contexts one, two (group ${records[0].group.id})`);
    // One cluster alone: abort of one app there.
    expectOk(run(["abort", "web"], n, "one"));
    expect(await versions(n, "web")).toEqual(["v1", "v2"]);
    const back = run(["abort", "web", "api", "--contexts", "one,two", "-o", "json"], n);
    expectOk(back);
    const doc = JSON.parse(back.stdout);
    expect(doc.items.map((i: { context: string; app: string; result: string }) => [i.context, i.app, i.result.replace(/:.*/, "")])).toEqual([
      ["one", "web", "nothing to do"],
      ["one", "api", "aborted"],
      ["two", "web", "aborted"],
      ["two", "api", "aborted"],
    ]);
    expect([...(await versions(n, "web")), ...(await versions(n, "api"))]).toEqual(["v1", "v1", "v1", "v1"]);
  });

  it("switches both back (exit 6) when a check fails in the second cluster", async () => {
    const n = await namespace("mc-back");
    await createApp(n, { app: "web" });
    await two(() => createApp(n, { app: "web" }));
    const r = run(["promote", "web", "--contexts", "one,two", "--post-check", POST_CHECK_FAILS_IN_TWO], n);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(6);
    expect(r.stderr).toContain("[two] running --post-check");
    expect(r.stderr).toMatch(/\nerror: the promote of app web in 2 contexts failed: app web in context two: the check after the switch failed: --post-check exited with 1; .*; every app is back where it was \(one\/web: version=v1, two\/web: version=v1\)\.\n/);
    expect(await versions(n, "web")).toEqual(["v1", "v1"]);
  });

  it("--waves: stops at the second cluster with the first promoted (exit 9); --rollback all goes back in both (exit 6)", async () => {
    const n = await namespace("mc-waves");
    await createApp(n, { app: "web" });
    await two(() => createApp(n, { app: "web" }));
    const r = run(["promote", "web", "--contexts", "one,two", "--waves", "--post-check", POST_CHECK_FAILS_IN_TWO], n);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(9);
    expect(r.stderr).toMatch(/\nerror: the promote of app web in 2 contexts in waves stopped at context two: app web in context two: the check after the switch failed: --post-check exited with 1; .*; context two is back where it was, the waves before it stay switched \(one\/web: version=v2\)\.\nRun the same promote again to go on, or abort the same apps in the same contexts to go back; --rollback all goes back everywhere when a wave fails\.\n$/);
    expect(r.stdout).toMatch(/\none +web +v1 → v2 +switched \(version=v2\), its wave passed\ntwo +web +v1 → v2 +failed \(back on version=v1\): /);
    expect(await versions(n, "web")).toEqual(["v2", "v1"]);
    // The first wave's cluster: its promote was verified and checked there, so status there says promoted.
    expectOk(run(["abort", "web", "--contexts", "one,two"], n));
    expect(await versions(n, "web")).toEqual(["v1", "v1"]);

    const all = run(["promote", "web", "--to", "v2", "--contexts", "one,two", "--waves", "--wave-pause", "1s", "--rollback", "all", "--post-check", POST_CHECK_FAILS_IN_TWO], n);
    expect(all.code, `${all.stdout}${all.stderr}`).toBe(6);
    expect(all.stderr).toContain("wave 1 of 2 (context one) done; wave 2 (context two) in 1s\n");
    expect(all.stderr).toMatch(/switching back app web in context one: app web in context two failed\n/);
    expect(all.stderr).toMatch(/every app is back where it was \(one\/web: version=v1, two\/web: version=v1\)\.\n/);
    expect(await versions(n, "web")).toEqual(["v1", "v1"]);

    // Ctrl-C in the pause between two waves stops before the next context; the context done stays (exit 130).
    const p = bluegreenChild(["promote", "web", "--to", "v2", "--contexts", "one,two", "--waves", "--wave-pause", "10m", "--propagation-delay", "0s"], { namespace: n, kubeconfig, context: "" });
    let err = "";
    p.child.stderr.on("data", (d) => {
      err += d;
    });
    await waitFor("the pause before the second wave", () => err.includes("wave 2 (context two) in 10m\n"), 60_000, 100);
    p.kill("SIGINT");
    const stopped = await p.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/\nerror: the promote of app web in 2 contexts in waves stopped at context two: interrupted; context two was not started, the waves before it stay switched \(one\/web: version=v2\)\.\n/);
    expect(await versions(n, "web")).toEqual(["v2", "v1"]);
  });

  it("kill -9 while a check runs in the second cluster: status in both shows the group, the same promote finishes it, abort undoes it", async () => {
    const n = await namespace("mc-kill");
    await createApp(n, { app: "web" });
    await two(() => createApp(n, { app: "web" }));
    // The check outlives the plugin killed under it: it holds none of the plugin's output open.
    const hang = 'if [ "$BLUEGREEN_CONTEXT" = two ]; then exec sleep 120 </dev/null >/dev/null 2>&1; fi';
    const p = bluegreenChild(["promote", "web", "--contexts", "one,two", "--propagation-delay", "0s", "--check-timeout", "10m", "--post-check", hang], { namespace: n, kubeconfig, context: "" });
    let err = "";
    p.child.stderr.on("data", (d) => {
      err += d;
    });
    await waitFor("the check running in context two, web verified in context one", () => err.includes("[two] running --post-check") && recordOf(n, "web").state === "verified", 60_000, 100);
    p.kill("SIGKILL");
    await p.done;
    expect(await versions(n, "web")).toEqual(["v2", "v2"]);
    expect(await two(() => recordOf(n, "web").state)).toBe("pending");
    const id = recordOf(n, "web").group.id;

    const s = run(["status", "web", "--contexts", "one,two"], n);
    expect(s.code, s.stderr).toBe(1);
    expect(s.stdout).toMatch(/^Context: +one\nApp: +web\n/);
    expect(s.stdout).toMatch(/\nContext: +two\nApp: +web\n/);
    expect(s.stdout).toContain(`promote v1 → v2 (not verified), in contexts one, two (group ${id})`);
    const table = run(["status", "--contexts", "one,two"], n);
    expect(table.code, table.stderr).toBe(1);
    expect(table.stdout).toMatch(/^CONTEXT +APP +SLOT-LABEL +LIVE +IDLE +SERVICES +VERDICT\none +web +version +v2 +v1 +web +promoted\ntwo +web +version +v2 +v1 +web +interrupted\n$/);

    const r = run(["promote", "web", "--contexts", "one,two"], n);
    expectOk(r);
    expect(r.stdout).toMatch(/\none +web +- +nothing to do: app web is already promoted/);
    expect(r.stdout).toMatch(/\ntwo +web +v1 → v2 +promoted\n/);
    expect(await two(() => recordOf(n, "web"))).toMatchObject({ state: "verified", group: { id, apps: ["web"], contexts: ["one", "two"] } });

    expectOk(run(["abort", "web", "--contexts", "one,two"], n));
    expect(await versions(n, "web")).toEqual(["v1", "v1"]);
  });

  it("status and diff read each context: one table, a context that cannot be read said after the others", async () => {
    const n = await namespace("mc-show");
    await createApp(n, { app: "web" });
    // In the second cluster the idle slot runs the live slot's image: nothing differs there.
    await two(() => createApp(n, { app: "web", slots: [{ value: "v1" }, { value: "v2", image: "v1" }] }));
    const s = run(["status", "--context", "one", "--context", "two", "-o", "json"], n);
    expect(JSON.parse(s.stdout).items.map((i: { context: string; app: string; liveSlot: string }) => [i.context, i.app, i.liveSlot])).toEqual([
      ["one", "web", "v1"],
      ["two", "web", "v1"],
    ]);
    const missing = run(["status", "--contexts", "one,three"], n);
    expect(missing.code, missing.stderr).toBe(3);
    expect(missing.stdout).toMatch(/^CONTEXT +APP .*\none +web +version +v1 +v2 +web +ready to promote\n$/);
    expect(missing.stderr).toMatch(/^error: context three: .*three.*\n/);

    const d = run(["diff", "web", "--contexts", "one,two"], n);
    expect(d.code, d.stderr).toBe(1);
    expect(d.stdout).toMatch(/^Context: one\n/);
    expect(d.stdout).toMatch(/\nContext: two\n/);
    expect(d.stdout).toContain("\nContext: two\nNo differences between web-v1 and web-v2 (apart from the slot label).\n");
    const doc = JSON.parse(run(["diff", "web", "--contexts", "one,two", "-o", "json"], n).stdout);
    expect(doc.items.map((i: { context: string; differs: boolean }) => [i.context, i.differs])).toEqual([
      ["one", true],
      ["two", false],
    ]);
  });

  it("settles a lost reply to the switch in the second cluster (a fault proxy in front of it only) and completes", async () => {
    const n = await namespace("mc-lost");
    await createApp(n, { app: "web" });
    await two(() => createApp(n, { app: "web" }));
    let proxy: FaultProxy | undefined;
    try {
      proxy = await startFaultProxy({ kubeconfig: SECOND_KUBECONFIG });
      const lossy = kubeconfigOf([
        { name: "one", kubeconfig: KUBECONFIG },
        { name: "two", kubeconfig: proxy.kubeconfig },
      ]);
      const rule = proxy.addRule({ method: "PATCH", path: `/api/v1/namespaces/${n}/services/web`, fault: "lose-reply" });
      // Not spawnSync: the proxy runs in this process.
      const r = await bluegreenAsync(["promote", "web", "--contexts", "one,two", "--propagation-delay", "0s"], { namespace: n, kubeconfig: lossy, context: "" });
      expectOk(r);
      expect(r.stderr).toContain("[two] service/web: the reply was lost, but the switch was applied (read back)");
      expect(await rule.waitForFault()).toMatchObject({ upstreamStatus: 200, cut: true });
      expect(await versions(n, "web")).toEqual(["v2", "v2"]);
      expect(await two(() => recordOf(n, "web"))).toMatchObject({ state: "verified", to: "v2" });
    } finally {
      await proxy?.close();
    }
  });
});
