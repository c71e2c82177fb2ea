// A second, independent test bed (another control plane on this machine, BLUEGREEN_TESTBED_DIR of its own), for
// releases across clusters; and one kubeconfig naming the clusters' contexts side by side, as a user's would.
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ADMIN_CONTEXT, REPO_ROOT, TESTBED_DIR, kubectlJson } from "./cluster.js";

/** Where the second test bed keeps its state (beside the first; .gitignore'd). */
export const SECOND_DIR: string = `${TESTBED_DIR}-second`;
export const SECOND_KUBECONFIG: string = path.join(SECOND_DIR, "kubeconfig");

/**
 * `scripts/testbed.sh up|down` for the second test bed: its own ports, data directory and kubeconfig; no gateway and
 * no data plane (the releases across clusters switch Services, verified by their EndpointSlices). The first test
 * bed's settings (ports, directory) are not passed on.
 */
export function secondTestbed(action: "up" | "down"): void {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!(k.startsWith("BLUEGREEN_TESTBED_") && k !== "BLUEGREEN_TESTBED_CACHE") && k !== "KUBECONFIG") env[k] = v;
  Object.assign(env, { BLUEGREEN_TESTBED_DIR: SECOND_DIR, BLUEGREEN_TESTBED_GATEWAY: "off", BLUEGREEN_TESTBED_DATAPLANE: "off" });
  // Its output goes to a file: the components it starts keep their inherited descriptors, and a pipe to us would
  // stay open as long as they run.
  const log = `${SECOND_DIR}.${action}.log`;
  const fd = openSync(log, "w");
  try {
    const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "testbed.sh"), action], { env, stdio: ["ignore", fd, fd], timeout: 20 * 60_000 });
    if (r.status !== 0) throw new Error(`second test bed ${action} failed (exit ${r.status ?? r.signal}):\n${readFileSync(log, "utf8").slice(-4000)}`);
  } finally {
    closeSync(fd);
  }
}

/** One kubeconfig with a context per cluster, named as given, each the admin context of its kubeconfig; returns its path. */
export function kubeconfigOf(clusters: { name: string; kubeconfig: string }[]): string {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [] as unknown[],
    users: [] as unknown[],
    contexts: [] as unknown[],
    "current-context": clusters[0]?.name,
  };
  for (const c of clusters) {
    const view = kubectlJson(["config", "view", "--raw", "--flatten", "--minify"], { kubeconfig: c.kubeconfig, context: ADMIN_CONTEXT });
    config.clusters.push({ name: c.name, cluster: view.clusters[0].cluster });
    config.users.push({ name: c.name, user: view.users[0].user });
    config.contexts.push({ name: c.name, context: { cluster: c.name, user: c.name } });
  }
  const file = path.join(tmpdir(), `bluegreen-clusters-${clusters.map((c) => c.name).join("-")}-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}
