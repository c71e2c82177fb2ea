// The whole release from the plugin against the real control plane: deploy into the idle slot, check it
// (probes through the API server's proxy, local commands), promote, retire the old slot, abort, deploy again.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createApp, selectorOf, testNamespaces } from "./lib/apps.js";
import { type RunResult, bluegreen, bluegreenAsync, kubectlJson, kubectlOk, waitFor, waitForRollout } from "./lib/cluster.js";
import { dataplane } from "./lib/dataplane.js";

const ns = testNamespaces();
const plane = dataplane();
if (!plane.on) console.log(`probe tests skipped (the API server reaches pods only through the data plane): ${plane.reason}`);

/** Exit 0, or fail showing what the plugin said. */
const expectOk = (r: RunResult) => expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
const IMAGE = "registry.example/shop";
const deploymentOf = (n: string, d: string) => kubectlJson(["get", "deployment", d, "-n", n]);
const imageOf = (n: string, d: string): string => deploymentOf(n, d).spec.template.spec.containers[0].image;
const replicasOf = (n: string, d: string): number => deploymentOf(n, d).spec.replicas;
/** resourceVersions of every Deployment and Service of the namespace: equal before and after means nothing was written. */
const versions = (n: string) =>
  ["deployments", "services"].flatMap((k) => kubectlJson(["get", k, "-n", n]).items.map((o: { metadata: { name: string; resourceVersion: string } }) => `${k}/${o.metadata.name}@${o.metadata.resourceVersion}`));
const statusOf = (n: string) => JSON.parse(bluegreen(["status", "shop", "-o", "json"], { namespace: n }).stdout).items[0];

/** shop-blue (live, behind Service shop) and shop-green (idle), both running IMAGE:1, slot label color. */
async function shop(n: string, o: { replicas?: number } = {}): Promise<void> {
  await createApp(n, {
    app: "shop",
    slotLabel: "color",
    slots: [
      { value: "blue", image: "1", replicas: o.replicas ?? 2 },
      { value: "green", image: "1", replicas: o.replicas ?? 2 },
    ],
    services: { shop: "blue" },
  });
}

describe("release lifecycle", () => {
  it.skipIf(!plane.on)("deploy → diff → promote with probe and post-check → scale-down-after → abort → deploy again", async () => {
    const n = await ns("rl-full");
    await shop(n);
    expect(imageOf(n, "shop-green")).toBe(`${IMAGE}:1`);

    // deploy puts the new version into the idle slot only.
    const blueBefore = deploymentOf(n, "shop-blue").metadata.resourceVersion;
    const d = bluegreen(["deploy", "shop", "--image", `${IMAGE}:2`], { namespace: n });
    expectOk(d);
    expect(d.stdout).toBe(
      `deployment.apps/shop-green image of container shop: ${IMAGE}:1 → ${IMAGE}:2\n` +
        `app shop: color=green (idle) rolled out with shop=${IMAGE}:2; color=blue stays live; context admin, namespace ${n}\n`,
    );
    expect(imageOf(n, "shop-green")).toBe(`${IMAGE}:2`);
    expect(deploymentOf(n, "shop-blue").metadata.resourceVersion).toBe(blueBefore);
    expect(selectorOf(n, "shop").color).toBe("blue");
    const deployed = statusOf(n).lastDeploy;
    expect(deployed).toMatchObject({ slot: "green", deployment: "shop-green", source: "live", images: [`shop=${IMAGE}:2`], replicas: 2, by: "admin", current: true });

    // diff shows the image and nothing else.
    const diff = bluegreen(["diff", "shop"], { namespace: n });
    expect(diff.code).toBe(1);
    expect(diff.stdout.split("\n").filter((l) => /^[-+] /.test(l))).toEqual([`-        - image: ${IMAGE}:1`, `+        - image: ${IMAGE}:2`]);

    // promote: probe every green pod before, the Service after; a post-check sees the release; retire blue 5s later.
    const dir = mkdtempSync(path.join(tmpdir(), "bluegreen-release-"));
    const seen = path.join(dir, "post-check.env");
    const promote = bluegreenAsync(
      ["promote", "shop", "--probe", "8080/", "--post-check", `env | grep -E '^BLUEGREEN_(APP|NAMESPACE|CONTEXT|FROM|TO|PREVIEW_SERVICE)=' | sort > ${seen}`, "--scale-down-after", "5s", "--propagation-delay", "0s"],
      { namespace: n },
    );
    const pending = await waitFor("status to show the pending scale-down", () => statusOf(n).pendingScaleDown ?? undefined, 60_000, 200);
    expect(pending).toMatchObject({ slot: "blue", deployment: "shop-blue", by: "admin" });
    expect(replicasOf(n, "shop-blue")).toBe(2);
    const p = await promote;
    expectOk(p);
    expect(p.stdout).toBe(`service/shop switched: color blue → green\napp shop promoted: color=green is live (was blue); context admin, namespace ${n}\n`);
    expect(p.stderr).toContain("probed 2 pod(s) before the switch: every answer 2xx\n");
    // Off a terminal, each probe phase says when it starts, then what it found.
    expect(p.stderr).toContain("probing before the switch: 0 of 2 answered\nprobed 2 pod(s) before the switch: every answer 2xx\n");
    expect(p.stderr).toContain("probing after the switch: 0 of 1 answered (Ctrl-C switches back)\nprobed service/shop after the switch: every answer 2xx\n");
    expect(p.stderr).toContain("deployment.apps/shop-blue scaled to 0\n");
    expect(readFileSync(seen, "utf8")).toBe(
      `BLUEGREEN_APP=shop\nBLUEGREEN_CONTEXT=admin\nBLUEGREEN_FROM=blue\nBLUEGREEN_NAMESPACE=${n}\nBLUEGREEN_TO=green\n`,
    );
    expect(selectorOf(n, "shop").color).toBe("green");
    expect(replicasOf(n, "shop-blue")).toBe(0);
    expect(statusOf(n).pendingScaleDown).toBeNull();

    // abort scales blue back to its recorded replicas, waits, and switches back.
    const a = bluegreen(["abort", "shop", "--propagation-delay", "0s"], { namespace: n });
    expectOk(a);
    expect(a.stderr).toContain("deployment.apps/shop-blue scaled to 2\n");
    expect(selectorOf(n, "shop").color).toBe("blue");
    expect(replicasOf(n, "shop-blue")).toBe(2);
    expect(imageOf(n, "shop-blue")).toBe(`${IMAGE}:1`);

    // The slot abort left idle takes the next version; blue stays live and untouched.
    const blueNow = deploymentOf(n, "shop-blue").metadata.resourceVersion;
    const d3 = bluegreen(["deploy", "shop", "--image", `${IMAGE}:3`], { namespace: n });
    expectOk(d3);
    expect(imageOf(n, "shop-green")).toBe(`${IMAGE}:3`);
    expect(deploymentOf(n, "shop-blue").metadata.resourceVersion).toBe(blueNow);
    expect(selectorOf(n, "shop").color).toBe("blue");
    expect(statusOf(n).verdict).toBe("ready");
  });

  it.skipIf(!plane.on)("--probe refuses a slot whose pods answer 503, and changes nothing", async () => {
    const n = await ns("rl-probe503");
    await shop(n);
    kubectlOk(["patch", "deployment", "shop-green", "-n", n, "-p", '{"spec":{"template":{"metadata":{"annotations":{"testbed.kubectl-bluegreen.io/http-status":"503"}}}}}']);
    await waitForRollout(n, "shop-green");
    const before = versions(n);
    const r = bluegreen(["promote", "shop", "--to", "green", "--probe", "8080/healthz", "--probe-timeout", "5s"], { namespace: n });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: the probe before the switch failed: pod\/shop-green-\S+ :8080\/healthz answered 503.*; nothing changed\.\n/m);
    expect(r.stderr).toContain("probed 2 pod(s) before the switch: 2 failed\n");
    expect(versions(n)).toEqual(before);
    expect(selectorOf(n, "shop").color).toBe("blue");
  });

  it("a failing --post-check switches back (exit 6); a failing --pre-check refuses (exit 4)", async () => {
    const n = await ns("rl-postcheck");
    await shop(n);
    expectOk(bluegreen(["deploy", "shop", "--image", `${IMAGE}:2`], { namespace: n }));
    const before = versions(n);
    const pre = bluegreen(["promote", "shop", "--pre-check", "echo checking $BLUEGREEN_TO >&2; exit 7"], { namespace: n });
    expect(pre.code).toBe(4);
    expect(pre.stderr).toContain("checking green\n");
    expect(pre.stderr).toContain("error: the check before the switch failed: --pre-check exited with 7; nothing changed.\n");
    expect(versions(n)).toEqual(before);

    // The check asks the cluster, as a smoke test would: the Service selects green now, so it fails.
    const check = `test "$(kubectl --context "$BLUEGREEN_CONTEXT" -n "$BLUEGREEN_NAMESPACE" get svc shop -o jsonpath='{.spec.selector.color}')" = blue`;
    const post = bluegreen(["promote", "shop", "--propagation-delay", "0s", "--post-check", check], { namespace: n });
    expect(post.code, post.stderr).toBe(6);
    expect(post.stderr).toContain(
      "error: the check after the switch failed: --post-check exited with 1; service/shop was switched back to color=blue.\nThe check failed with the new slot live, so traffic went back; see its output above.\n",
    );
    expect(selectorOf(n, "shop").color).toBe("blue");
  });

  it("--check-timeout stops a check that hangs, and everything it started", async () => {
    const n = await ns("rl-timeout");
    await shop(n);
    expectOk(bluegreen(["deploy", "shop", "--image", `${IMAGE}:2`], { namespace: n }));
    const dir = mkdtempSync(path.join(tmpdir(), "bluegreen-timeout-"));
    const pidFile = path.join(dir, "pid");
    const r = bluegreen(["promote", "shop", "--pre-check", `sleep 300 & echo $! > ${pidFile}; wait`, "--check-timeout", "1s"], { namespace: n });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("error: the check before the switch failed: --pre-check did not finish within 1s (--check-timeout) and was stopped; nothing changed.\n");
    const pid = Number(readFileSync(pidFile, "utf8"));
    await waitFor("the check's child to be gone", () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(selectorOf(n, "shop").color).toBe("blue");
  });

  it("deploy --from idle keeps the idle slot's own template; the default starts from the live one", async () => {
    const n = await ns("rl-from");
    await shop(n);
    kubectlOk(["set", "env", "deployment/shop-green", "-n", n, "ONLY_GREEN=yes"]);
    await waitForRollout(n, "shop-green");
    const env = () => (deploymentOf(n, "shop-green").spec.template.spec.containers[0].env ?? []).map((e: { name: string; value: string }) => `${e.name}=${e.value}`);
    expectOk(bluegreen(["deploy", "shop", "--from", "idle", "--image", `${IMAGE}:2`, "--env", "MODE=canary"], { namespace: n }));
    expect(imageOf(n, "shop-green")).toBe(`${IMAGE}:2`);
    expect(env()).toEqual(["ONLY_GREEN=yes", "MODE=canary"]);
    expectOk(bluegreen(["deploy", "shop", "--image", `${IMAGE}:3`], { namespace: n }));
    expect(imageOf(n, "shop-green")).toBe(`${IMAGE}:3`);
    expect(env()).toEqual([]);
    expect(deploymentOf(n, "shop-green").spec.template.metadata.labels.color).toBe("green");
  });

  it("--replicas 1 deploys a preview; promote refuses it until --scale-up brings it to the live count", async () => {
    const n = await ns("rl-preview");
    await shop(n, { replicas: 3 });
    expectOk(bluegreen(["deploy", "shop", "--image", `${IMAGE}:2`, "--replicas", "1"], { namespace: n }));
    expect(replicasOf(n, "shop-green")).toBe(1);
    const refused = bluegreen(["promote", "shop"], { namespace: n });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('deployment "shop-green" has 1 available replica; at least 3 are needed');
    const r = bluegreen(["promote", "shop", "--scale-up", "--propagation-delay", "0s"], { namespace: n });
    expectOk(r);
    expect(r.stderr).toContain("deployment.apps/shop-green scaled to 3\n");
    expect(replicasOf(n, "shop-green")).toBe(3);
    expect(selectorOf(n, "shop").color).toBe("green");
  });

  it("scale-down retires the slot traffic left, refuses while another Service selects it, and abort brings it back", async () => {
    const n = await ns("rl-scaledown");
    await shop(n);
    const early = bluegreen(["scale-down", "shop"], { namespace: n });
    expect(early.code).toBe(4);
    expect(early.stderr).toMatch(/^error: will not scale down app shop's idle slot: no switch is recorded on its Services/);
    expectOk(bluegreen(["deploy", "shop", "--image", `${IMAGE}:2`], { namespace: n }));
    expectOk(bluegreen(["promote", "shop", "--propagation-delay", "0s"], { namespace: n }));
    // A Service of something else that selects blue's pods.
    kubectlOk(["create", "service", "clusterip", "debug", "-n", n, "--tcp=80:8080"]);
    kubectlOk(["set", "selector", "service/debug", "-n", n, "color=blue"]);
    const before = versions(n);
    const refused = bluegreen(["scale-down", "shop", "--delay", "0s"], { namespace: n });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toBe(
      "error: will not scale down deployment/shop-blue: service/debug selects its pods (color=blue); nothing changed.\nPoint service/debug elsewhere first, or check with kubectl bluegreen status shop.\n",
    );
    expect(versions(n)).toEqual(before);
    kubectlOk(["delete", "service", "debug", "-n", n]);

    const dry = bluegreen(["scale-down", "shop", "--delay", "0s", "--dry-run=server"], { namespace: n });
    expectOk(dry);
    expect(dry.stdout).toContain("deployment/shop-blue (color=blue) 2 → 0 replicas (dry run: server)");
    expect(replicasOf(n, "shop-blue")).toBe(2);

    const r = bluegreen(["scale-down", "shop", "--delay", "0s"], { namespace: n });
    expectOk(r);
    expect(r.stdout).toBe(`app shop: deployment/shop-blue (color=blue) scaled from 2 to 0; abort scales it back; context admin, namespace ${n}\n`);
    expect(replicasOf(n, "shop-blue")).toBe(0);
    expect(bluegreen(["scale-down", "shop"], { namespace: n }).stdout).toBe("deployment/shop-blue (color=blue) is already scaled to 0\n");

    expectOk(bluegreen(["abort", "shop", "--propagation-delay", "0s"], { namespace: n }));
    expect(replicasOf(n, "shop-blue")).toBe(2);
    expect(selectorOf(n, "shop").color).toBe("blue");
  });

  it("after a deploy replaces the version traffic left, abort refuses instead of sending traffic to the new one", async () => {
    const n = await ns("rl-replaced");
    await shop(n);
    expectOk(bluegreen(["deploy", "shop", "--image", `${IMAGE}:2`], { namespace: n }));
    expectOk(bluegreen(["promote", "shop", "--propagation-delay", "0s"], { namespace: n }));
    const d = bluegreen(["deploy", "shop", "--image", `${IMAGE}:3`], { namespace: n });
    expectOk(d);
    expect(d.stderr).toMatch(/^warning: deployment\/shop-blue holds the version traffic left at \S+ \(registry\.example\/shop:1\), the one abort would go back to; after this deploy, abort refuses/m);
    const before = versions(n);
    const a = bluegreen(["abort", "shop"], { namespace: n });
    expect(a.code).toBe(4);
    expect(a.stderr).toMatch(/^error: will not abort app shop: the idle slot blue no longer holds the version traffic left at \S+ \(a new version was deployed into it since\)/);
    expect(versions(n)).toEqual(before);
    expect(selectorOf(n, "shop").color).toBe("green");
  });

  it("deploy refuses while the app is mid-switch, and never writes the live slot when it races a promote", async () => {
    const n = await ns("rl-race");
    await shop(n);
    for (let round = 1; round <= 3; round++) {
      const image = `${IMAGE}:race${round}`;
      const [p, d] = await Promise.all([
        bluegreenAsync(["promote", "shop", "--propagation-delay", "0s"], { namespace: n }),
        bluegreenAsync(["deploy", "shop", "--image", image, "--no-wait"], { namespace: n }),
      ]);
      expect([0, 4, 5], `promote: ${p.stderr}`).toContain(p.code);
      expect([0, 4, 5], `deploy: ${d.stderr}`).toContain(d.code);
      // The live slot runs exactly what the last switch verified: deploy never wrote it while it was live.
      const s = statusOf(n);
      const live = s.slots.find((x: { role: string }) => x.role === "live");
      if (s.lastSwitch) {
        expect(live.slot).toBe(s.lastSwitch.to);
        const toDeployment = deploymentOf(n, s.lastSwitch.toDeployment);
        const { versionHash } = await import("../../src/bluegreen/record.js");
        expect(versionHash(toDeployment.spec.template, "color"), `round ${round}: promote ${p.code}, deploy ${d.code}`).toBe(s.lastSwitch.toTemplate);
      } else {
        expect(imageOf(n, "shop-blue")).toBe(`${IMAGE}:1`);
      }
      await waitForRollout(n, "shop-green");
      await waitForRollout(n, "shop-blue");
      // Make sure the next round has a newer version to promote.
      if (d.code !== 0) expectOk(bluegreen(["deploy", "shop", "--image", `${image}b`], { namespace: n }));
    }
    // Mid-switch: the Service switched, its record still pending (as a promote killed before verifying leaves it).
    if (!statusOf(n).lastSwitch) expectOk(bluegreen(["promote", "shop", "--propagation-delay", "0s"], { namespace: n }));
    const svc = kubectlJson(["get", "service", "shop", "-n", n]);
    const rec = JSON.parse(svc.metadata.annotations["kubectl-bluegreen/last-switch"]);
    const live = svc.spec.selector.color;
    const idle = live === "blue" ? "green" : "blue";
    const pendingRec = { ...rec, id: "00000000000000ff", state: "pending", from: idle, to: live, fromDeployment: `shop-${idle}`, toDeployment: `shop-${live}`, at: new Date().toISOString() };
    kubectlOk(["annotate", "service", "shop", "-n", n, "--overwrite", `kubectl-bluegreen/last-switch=${JSON.stringify(pendingRec)}`]);
    const before = versions(n);
    const r = bluegreen(["deploy", "shop", "--image", `${IMAGE}:late`], { namespace: n });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: will not deploy into app shop: a switch is in progress or was interrupted/);
    expect(versions(n)).toEqual(before);
  });

  it("dry runs change nothing", async () => {
    const n = await ns("rl-dry");
    await shop(n);
    const before = versions(n);
    const client = bluegreen(["deploy", "shop", "--image", `${IMAGE}:2`, "--replicas", "1", "--dry-run"], { namespace: n });
    expectOk(client);
    expect(client.stdout).toContain(`    image of container shop: ${IMAGE}:1 → ${IMAGE}:2\n    replicas: 2 → 1\n`);
    expectOk(bluegreen(["deploy", "shop", "--image", `${IMAGE}:2`, "--dry-run=server"], { namespace: n }));
    const json = JSON.parse(bluegreen(["deploy", "shop", "--image", `${IMAGE}:2`, "--dry-run", "-o", "json"], { namespace: n }).stdout);
    expect(json).toMatchObject({ kind: "BlueGreenDeploy", result: "would-be-deployed", slot: "green", images: [`shop=${IMAGE}:2`], dryRun: "client" });
    const promote = bluegreen(["promote", "shop", "--to", "green", "--probe", "8080/", "--post-check", "true", "--scale-down-after", "1m", "--dry-run=server"], { namespace: n });
    expectOk(promote);
    expect(promote.stdout).toContain("run --post-check `true`; it must exit 0 within 120s, else switch every Service back");
    expect(promote.stdout).toContain("after 60s, scale deployment/shop-blue to 0 replicas");
    expect(versions(n)).toEqual(before);
  });

  it("bad input to deploy: one sentence, an exit code, nothing changed", async () => {
    const n = await ns("rl-badinput");
    await shop(n);
    const before = versions(n);
    const cases: [string[], number, RegExp][] = [
      [["deploy", "shop"], 2, /^error: missing --image: say what to deploy/],
      [["deploy", "shop", "--image", "nosuch=x:1"], 3, /^error: deployment\/shop-green has no container named nosuch; its containers are shop\.$/m],
      [["deploy", "shop", "--image", "Bad_Name=x:1"], 2, /^error: invalid --image "Bad_Name=x:1": "Bad_Name" is not a container name\.$/m],
      [["deploy", "shop", "--image", "x:1", "--from", "both"], 2, /^error: invalid --from "both": use live or idle\.$/m],
      [["deploy", "shop", "--image", "x:1", "--env", "1X=y"], 2, /^error: invalid --env "1X=y"/],
      [["deploy", "shop", "--image", "x:1", "--replicas", "-1"], 2, /^error: /],
      [["promote", "shop", "--probe", "healthz"], 2, /^error: invalid --probe: "healthz" has no path/],
      [["promote", "shop", "--probe", "9999/x"], 4, /^error: cannot probe 9999\/x: service\/shop has no port that leads to container port 9999/],
    ];
    for (const [args, code, error] of cases) {
      const r = bluegreen(args, { namespace: n });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(code);
      expect(r.stderr, args.join(" ")).toMatch(error);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(versions(n)).toEqual(before);
  });
});
