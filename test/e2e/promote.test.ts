// promote against the real control plane: preflight, conditional writes, verification, record.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createApp, endpointSlots, redeploy, resourceVersionOf, selectorOf, testNamespaces, waitForEndpoints, whoami } from "./lib/apps.js";
import {
  ADMIN_CONTEXT,
  KUBECONFIG,
  PLUGIN_DIR,
  VIEWER_CONTEXT,
  bluegreen,
  bluegreenAsync,
  bluegreenChild,
  kubectl,
  kubectlJson,
  kubectlOk,
  waitFor,
} from "./lib/cluster.js";

const ns = testNamespaces();
const policies: string[] = [];
afterAll(() => {
  for (const p of policies) kubectl(["delete", "validatingadmissionpolicy,validatingadmissionpolicybinding", p, "--ignore-not-found"]);
});

const unschedulable = '[{"op":"add","path":"/spec/template/spec/nodeSelector","value":{"no-such-node":"anywhere"}}]';
const schedulable = '[{"op":"remove","path":"/spec/template/spec/nodeSelector"}]';

describe("promote", () => {
  it("switches the Service, verifies its EndpointSlices and records who, when and from→to", async () => {
    const n = await ns("pr-happy");
    await createApp(n);
    await waitForEndpoints(n, "myapp", "v1", 3);
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    // The switch as it landed, then what promote waited for (not a terminal: one line a phase).
    expect(r.stderr).toBe(
      "service/myapp switched: version v1 → v2\n" +
        "verifying: waiting up to 1m for every endpoint of service/myapp to be on v2 (Ctrl-C switches back)\n" +
        "waiting 2s for kube-proxy and load balancers (Ctrl-C switches back)\n",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`service/myapp switched: version v1 → v2\napp myapp promoted: version=v2 is live (was v1); context admin, namespace ${n}\n`);
    expect(selectorOf(n, "myapp")).toEqual({ app: "myapp", version: "v2" });
    const eps = endpointSlots(n, "myapp");
    expect(eps.all).toEqual(["v2", "v2", "v2"]);
    expect(eps.ready).toEqual(["v2", "v2", "v2"]);

    const user = whoami();
    const svc = kubectlJson(["get", "service", "myapp", "-n", n]);
    const last = JSON.parse(svc.metadata.annotations["kubectl-bluegreen/last-switch"]);
    expect(last).toMatchObject({
      format: 2,
      state: "verified",
      action: "promote",
      from: "v1",
      to: "v2",
      by: user,
      fromDeployment: "myapp-v1",
      toDeployment: "myapp-v2",
      fromReplicas: 3,
      services: { myapp: "live" },
    });
    expect(Math.abs(Date.parse(last.at) - Date.now())).toBeLessThan(120_000);
    expect(JSON.parse(svc.metadata.annotations["kubectl-bluegreen/history"])).toHaveLength(1);
    const events = kubectlJson(["get", "events", "-n", n, "--field-selector", "involvedObject.name=myapp,reason=Promoted"]).items;
    expect(events).toHaveLength(1);
    expect(events[0].message).toBe(`Promoted app myapp: version v1 → v2 by ${user}`);
    expect(events[0].involvedObject.kind).toBe("Service");
  });

  it("says the Service is switched when the write lands, then what it waits for, while it waits", async () => {
    const n = await ns("pr-progress");
    await createApp(n);
    await waitForEndpoints(n, "myapp", "v1", 3);
    const run = bluegreenChild(["promote", "myapp", "--propagation-delay", "8s"], { namespace: n });
    let stderr = "";
    run.child.stderr.on("data", (d: string) => {
      stderr += d;
    });
    // True as soon as stderr holds text; false if the command ended without it.
    const said = (text: string) =>
      new Promise<boolean>((resolve) => {
        const check = () => {
          if (!stderr.includes(text)) return;
          run.child.stderr.off("data", check);
          resolve(true);
        };
        run.child.stderr.on("data", check);
        check();
        run.done.then(() => resolve(stderr.includes(text)));
      });

    expect(await said("service/myapp switched: version v1 → v2\n"), stderr).toBe(true);
    // At that moment the write has landed, and the command has not ended.
    expect(selectorOf(n, "myapp").version).toBe("v2");
    expect(run.child.exitCode).toBeNull();
    expect(await said("waiting 8s for kube-proxy and load balancers"), stderr).toBe(true);
    const waitSaid = Date.now();
    expect(run.child.exitCode).toBeNull();

    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    // The line came before the wait, not at its end.
    expect(Date.now() - waitSaid).toBeGreaterThan(5000);
    // Not a terminal: one line a phase, no countdown.
    expect(r.stderr).toBe(
      "service/myapp switched: version v1 → v2\n" +
        "verifying: waiting up to 1m for every endpoint of service/myapp to be on v2 (Ctrl-C switches back)\n" +
        "waiting 8s for kube-proxy and load balancers (Ctrl-C switches back)\n",
    );
    expect(r.stdout).toBe(`service/myapp switched: version v1 → v2\napp myapp promoted: version=v2 is live (was v1); context admin, namespace ${n}\n`);
  });

  it("Ctrl-C while it waits for kube-proxy switches back (exit 130), after the line that said traffic moved", async () => {
    const n = await ns("pr-progress-int");
    await createApp(n);
    await waitForEndpoints(n, "myapp", "v1", 3);
    const run = bluegreenChild(["promote", "myapp", "--propagation-delay", "30s"], { namespace: n });
    let stderr = "";
    run.child.stderr.on("data", (d: string) => {
      stderr += d;
    });
    await waitFor("promote to say it waits for kube-proxy", () => stderr.includes("waiting 30s for kube-proxy"), 60_000, 20);
    expect(selectorOf(n, "myapp").version).toBe("v2");
    run.kill("SIGINT");
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "service/myapp switched: version v1 → v2\n" +
        "verifying: waiting up to 1m for every endpoint of service/myapp to be on v2 (Ctrl-C switches back)\n" +
        "waiting 30s for kube-proxy and load balancers (Ctrl-C switches back)\n" +
        "error: interrupted: service/myapp was switched back to version=v1, so nothing changed.\n",
    );
    expect(selectorOf(n, "myapp").version).toBe("v1");
  });

  // util-linux's script(1) gives the plugin a terminal for stderr (stdout goes to a file).
  it.skipIf(process.platform !== "linux" || spawnSync("script", ["--version"]).status !== 0)("on a terminal, rewrites one line with the time left, and keeps what it waited for", async () => {
    const n = await ns("pr-tty");
    await createApp(n);
    await waitForEndpoints(n, "myapp", "v1", 3);
    const out = path.join(mkdtempSync(path.join(tmpdir(), "bluegreen-tty-")), "stdout");
    const argv = [path.join(PLUGIN_DIR, "kubectl-bluegreen"), "promote", "myapp", "--propagation-delay", "3s", "--context", ADMIN_CONTEXT, "-n", n];
    const command = `exec ${argv.map((a) => `'${a}'`).join(" ")} > '${out}'`;
    const r = spawnSync("script", ["-qefc", command, "/dev/null"], { encoding: "utf8", env: { ...process.env, KUBECONFIG, NO_COLOR: "1", LC_ALL: "C.UTF-8" }, timeout: 120_000 });
    expect(r.status, r.stdout).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(`service/myapp switched: version v1 → v2\napp myapp promoted: version=v2 is live (was v1); context admin, namespace ${n}\n`);
    // The terminal turns "\n" into "\r\n". Verification may be done at its first read (then it shows nothing).
    const rewrite = "\r\u001b[2K";
    const screen = r.stdout.replaceAll("\r\n", "\n");
    const lines = screen.split(rewrite);
    expect(lines[0]).toBe("service/myapp switched: version v1 → v2\n");
    const rest = lines.slice(1).filter((l) => !l.startsWith("verifying: "));
    expect(rest).toEqual([
      "waiting 3s for kube-proxy and load balancers (3s left; Ctrl-C switches back)",
      "waiting 3s for kube-proxy and load balancers (2s left; Ctrl-C switches back)",
      "waiting 3s for kube-proxy and load balancers (1s left; Ctrl-C switches back)",
      "verified: 3 endpoints, all on v2; waited 3s for kube-proxy and load balancers\n",
    ]);
    for (const l of lines.slice(1, -rest.length)) expect(l).toMatch(/^verifying: \d of \d endpoints? on v2(, \d ready)? \(\d+s left; Ctrl-C switches back\)$/);
  });

  it("refuses (exit 4) an idle slot that is not rolled out, and changes nothing", async () => {
    const n = await ns("pr-notready");
    await createApp(n, { slots: [{ value: "v1" }, { value: "v2", unschedulable: true }] });
    const rv = resourceVersionOf(n, "myapp");
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code).toBe(4);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^error: cannot promote app myapp to version=v2: Waiting for deployment "myapp-v2" rollout to finish: 0 of 3 updated replicas are available\.\.\.; nothing changed\.\nWait for it \(kubectl rollout status deployment\/myapp-v2 -n \S+\), or run promote with --wait\.\n$/,
    );
    expect(resourceVersionOf(n, "myapp")).toBe(rv);
  });

  it("--wait succeeds once the slot becomes ready, and times out with exit 4 when it does not", async () => {
    const n = await ns("pr-wait");
    await createApp(n, { slots: [{ value: "v1" }, { value: "v2", unschedulable: true }] });
    const late = bluegreen(["promote", "myapp", "--wait", "--timeout", "3s"], { namespace: n });
    expect(late.code).toBe(4);
    expect(late.stderr).toMatch(/error: timed out after 3s waiting for deployment\/myapp-v2: .*; nothing changed\./);
    expect(selectorOf(n, "myapp").version).toBe("v1");

    // Make the slot schedulable once promote says it is waiting for it (its progress on stderr).
    const waiting = bluegreenChild(["promote", "myapp", "--wait", "--timeout", "2m"], { namespace: n });
    let progress = "";
    await new Promise<void>((resolve) => {
      const onData = (d: string) => {
        progress += d;
        if (progress.includes("waiting for deployment/myapp-v2")) {
          waiting.child.stderr.off("data", onData);
          resolve();
        }
      };
      waiting.child.stderr.on("data", onData);
      waiting.done.then(() => resolve());
    });
    kubectlOk(["patch", "deployment", "myapp-v2", "-n", n, "--type=json", "-p", schedulable]);
    const r = await waiting.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/waiting for deployment\/myapp-v2: /);
    expect(r.stdout).toContain("app myapp promoted: version=v2 is live (was v1)");
    expect(selectorOf(n, "myapp").version).toBe("v2");
  });

  it("swaps a preview Service the other way", async () => {
    const n = await ns("pr-preview");
    await createApp(n, { services: { myapp: "v1", "myapp-preview": "v2" } });
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("service/myapp-preview switched: version v2 → v1");
    expect(selectorOf(n, "myapp").version).toBe("v2");
    expect(selectorOf(n, "myapp-preview").version).toBe("v1");
  });

  it("switches two live Services all or none: a refused second write puts the first back", async () => {
    const n = await ns("pr-allornone");
    await createApp(n, { services: { "myapp-a": "v1", "myapp-b": "v1" } });
    const policy = `freeze-${n}`;
    policies.push(policy);
    kubectlOk(["apply", "-f", "-"], {
      input: `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: ${policy} }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - { apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["services"] }
  validations:
    - expression: "object.metadata.name != 'myapp-b' || object.spec.selector == oldObject.spec.selector"
      message: "the selector of myapp-b is frozen"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: ${policy} }
spec:
  policyName: ${policy}
  validationActions: [Deny]
  matchResources:
    namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: ${n} } }
`,
    });
    // The API server loads policies asynchronously: wait until it enforces this one.
    await waitFor("the policy to deny", () => {
      const r = kubectl(["patch", "service", "myapp-b", "-n", n, "--dry-run=server", "-p", '{"spec":{"selector":{"version":"v2"}}}']);
      return r.code !== 0 && r.stderr.includes("frozen");
    });
    const rvA = resourceVersionOf(n, "myapp-a");
    const r = bluegreen(["promote", "myapp"], { namespace: n });
    expect(r.code).toBe(4);
    // myapp-a's switch is said as it lands; then the refusal of the second write, and the switch-back.
    expect(r.stderr).toMatch(/^service\/myapp-a switched: version v1 → v2\nerror: patch service\/myapp-b: the API server rejected it: .*frozen.*; service\/myapp-a was switched back, so nothing changed\.\n/);
    expect(selectorOf(n, "myapp-a").version).toBe("v1");
    expect(selectorOf(n, "myapp-b").version).toBe("v1");
    const a = kubectlJson(["get", "service", "myapp-a", "-n", n]);
    expect(a.metadata.annotations?.["kubectl-bluegreen/last-switch"]).toBeUndefined();
    expect(a.metadata.resourceVersion).not.toBe(rvA);
  });

  it("two promotes at the same moment switch once", async () => {
    const n = await ns("pr-race");
    await createApp(n);
    const [a, b] = await Promise.all([
      bluegreenAsync(["promote", "myapp", "-v"], { namespace: n }),
      bluegreenAsync(["promote", "myapp", "-v"], { namespace: n }),
    ]);
    const trace = `first (exit ${a.code}): ${a.stdout}${a.stderr}\nsecond (exit ${b.code}): ${b.stdout}${b.stderr}`;
    // Exactly one switched; the other lost the conditional write (exit 5), read after it (already promoted),
    // or read it while it was pending and finished that same switch (kept).
    const switched = [a, b].filter((r) => r.code === 0 && r.stdout.startsWith("service/myapp switched: version v1 → v2\n"));
    expect(switched, trace).toHaveLength(1);
    const other = switched[0] === a ? b : a;
    expect(
      (other.code === 5 && /conflict/.test(other.stderr)) ||
        (other.code === 0 && /^app myapp is already promoted/.test(other.stdout)) ||
        (other.code === 0 && other.stdout.startsWith("service/myapp kept: version=v2\n")),
      trace,
    ).toBe(true);
    expect(selectorOf(n, "myapp").version).toBe("v2");
    const svc = kubectlJson(["get", "service", "myapp", "-n", n]);
    expect(JSON.parse(svc.metadata.annotations["kubectl-bluegreen/history"])).toHaveLength(1);
    expect(JSON.parse(svc.metadata.annotations["kubectl-bluegreen/last-switch"]).state).toBe("verified");
  });

  it("is idempotent: a second promote does not flip back, a new template in the idle slot does", async () => {
    const n = await ns("pr-twice");
    await createApp(n);
    expect(bluegreen(["promote", "myapp"], { namespace: n }).code).toBe(0);
    const rv = resourceVersionOf(n, "myapp");
    const again = bluegreen(["promote", "myapp"], { namespace: n });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^app myapp is already promoted: version=v2 is live since \S+; the idle slot v1 is the previous version \(use abort to go back\)\n$/);
    expect(resourceVersionOf(n, "myapp")).toBe(rv);

    await redeploy(n, "myapp-v1", "registry.example/myapp:v3");
    const third = bluegreen(["promote", "myapp"], { namespace: n });
    expect(third.code).toBe(0);
    expect(third.stdout).toContain("app myapp promoted: version=v1 is live (was v2)");
    expect(selectorOf(n, "myapp").version).toBe("v1");
  });

  it("--to names the target: a no-op when live, a switch when idle, exit 3 when unknown", async () => {
    const n = await ns("pr-to");
    await createApp(n);
    const noop = bluegreen(["promote", "myapp", "--to", "v1"], { namespace: n });
    expect(noop.code).toBe(0);
    expect(noop.stdout).toBe("app myapp is already live on version=v1\n");
    expect(JSON.parse(bluegreen(["promote", "myapp", "--to", "v1", "-o", "json"], { namespace: n }).stdout)).toMatchObject({
      result: "noop",
      message: "app myapp is already live on version=v1",
    });
    expect(bluegreen(["promote", "myapp", "--to", "v7"], { namespace: n }).code).toBe(3);
    expect(bluegreen(["promote", "myapp", "--to", "v2"], { namespace: n }).code).toBe(0);
    expect(selectorOf(n, "myapp").version).toBe("v2");
    expect(bluegreen(["promote", "myapp", "--to", "v1"], { namespace: n }).code).toBe(0);
    expect(selectorOf(n, "myapp").version).toBe("v1");
  });

  it("--dry-run=client and =server print the plan and change nothing", async () => {
    const n = await ns("pr-dryrun");
    await createApp(n);
    const rv = resourceVersionOf(n, "myapp");
    for (const mode of ["client", "server"]) {
      const r = bluegreen(["promote", "myapp", `--dry-run=${mode}`], { namespace: n });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Plan: promote app myapp in namespace ${n} (context admin): version v1 → v2 (dry run: ${mode})`);
      expect(r.stdout).toContain(`patch service/myapp (live): selector version: v1 → v2, only if unchanged since resourceVersion ${rv}`);
      expect(r.stdout).toContain(`service/myapp switched: version v1 → v2 (${mode} dry run)`);
      expect(resourceVersionOf(n, "myapp")).toBe(rv);
    }
    kubectlOk(["patch", "deployment", "myapp-v2", "-n", n, "--type=json", "-p", unschedulable]);
    await waitFor("the controller to see myapp-v2's new template", () => {
      const d = kubectlJson(["get", "deployment", "myapp-v2", "-n", n]);
      return d.status.observedGeneration >= d.metadata.generation;
    });
    const refused = bluegreen(["promote", "myapp", "--dry-run=server"], { namespace: n });
    expect(refused.code).toBe(4);
    expect(refused.stdout).toMatch(/NOT MET: Waiting for deployment "myapp-v2" rollout to finish/);
    expect(resourceVersionOf(n, "myapp")).toBe(rv);
  });

  it("gives the viewer exit 7 and changes nothing", async () => {
    const n = await ns("pr-viewer");
    await createApp(n);
    const rv = resourceVersionOf(n, "myapp");
    const r = bluegreen(["promote", "myapp"], { namespace: n, context: VIEWER_CONTEXT });
    expect(r.code).toBe(7);
    // Asked before the first write: every missing permission at once.
    expect(r.stderr).toMatch(/^error: cannot promote app myapp: your credentials \(context viewer\) may not list pods \(.*\), patch services \(.*\) in namespace \S+; nothing changed\.\n/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(resourceVersionOf(n, "myapp")).toBe(rv);
  });
});

