// Ten switches at once, three times over, against the real control plane: promote, abort,
// abort --scale-down and promote --to race each other, while another writer annotates every Service every
// 50 ms. Whatever wins, the app ends settled: every live Service on one slot, the preview Service on the
// other, the selected slot never at 0 replicas, and what exit-0 commands reported is what the Services say.
import { describe, expect, it } from "vitest";
import { createApp, selectorOf, testNamespaces } from "./lib/apps.js";
import { type RunResult, bluegreen, bluegreenAsync, kubectlJson, kubectlOk, waitForRollout } from "./lib/cluster.js";
import { startAnnotator } from "./lib/writers.js";

const ns = testNamespaces();

const COMMANDS: string[][] = [
  ["promote", "myapp"],
  ["abort", "myapp"],
  ["abort", "myapp", "--scale-down", "--scale-down-delay", "1s"],
  ["promote", "myapp", "--to", "v1"],
  ["promote", "myapp", "--to", "v2"],
  ["promote", "myapp"],
  ["abort", "myapp"],
  ["promote", "myapp", "--to", "v2"],
  ["abort", "myapp", "--scale-down", "--scale-down-delay", "1s"],
  ["promote", "myapp", "--to", "v1"],
];

describe("concurrent switches", () => {
  it("always end settled, with no slot selected at 0 replicas and honest exit codes", async () => {
    const n = await ns("soak");
    await createApp(n, { services: { myapp: "v1", "myapp-preview": "v2" }, annotations: { "myapp-preview": { "kubectl-bluegreen/role": "preview" } } });
    let lastId: string | undefined;
    for (let round = 1; round <= 3; round++) {
      // Both slots up, so every command has something to do.
      for (const d of ["myapp-v1", "myapp-v2"]) kubectlOk(["scale", `deployment/${d}`, "-n", n, "--replicas=3"]);
      for (const d of ["myapp-v1", "myapp-v2"]) await waitForRollout(n, d);
      const writer = startAnnotator(n, ["services/myapp", "services/myapp-preview"], 50);
      const results: RunResult[] = await Promise.all(COMMANDS.map((args) => bluegreenAsync([...args, "--verify-timeout", "20s"], { namespace: n })));
      await writer.stop();
      const trace = results.map((r, i) => `[${COMMANDS[i]!.join(" ")}] exit ${r.code}: ${r.stdout}${r.stderr}`).join("\n");
      expect(writer.errors, trace).toEqual([]);
      expect(writer.writes, trace).toBeGreaterThan(0);
      // The other writer's annotations are not conflicts: some command switched the Services in this round.
      expect(results.some((r) => r.code === 0 && / switched: /.test(r.stdout)), trace).toBe(true);

      // Refusals, conflicts and failed verifications are fine; split (9), unexpected (10) and interrupted are not.
      for (const r of results) expect([0, 4, 5, 6], trace).toContain(r.code);
      const live = selectorOf(n, "myapp").version;
      const preview = selectorOf(n, "myapp-preview").version;
      expect(preview, trace).not.toBe(live);
      const deployment = kubectlJson(["get", "deployment", `myapp-${live}`, "-n", n]);
      expect(deployment.spec.replicas, trace).toBeGreaterThan(0);
      const status = bluegreen(["status", "myapp", "-o", "json"], { namespace: n });
      expect(["promoted", "ready", "blocked", "not-ready"], trace).toContain(JSON.parse(status.stdout).items[0].verdict);
      // The live Service's record is verified and names the live slot; an exit-0 switch reported it.
      const rec = JSON.parse(kubectlJson(["get", "service", "myapp", "-n", n]).metadata.annotations["kubectl-bluegreen/last-switch"] ?? "null");
      if (rec) {
        expect(rec, trace).toMatchObject({ to: live, state: "verified" });
        // A switch recorded in this round was reported by a command that exited 0.
        if (rec.id !== lastId) {
          const reported = results.some((r) => r.code === 0 && new RegExp(`version=${live} is live`).test(r.stdout));
          expect(reported, trace).toBe(true);
        }
        lastId = rec.id;
      }
    }
  });
});
