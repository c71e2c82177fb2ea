// The windows/amd64 executable under wine (wine64, installed with apt-get when missing; without it these
// checks are skipped, with the reason): version, --help, a usage error, and status, promote and abort against
// the test bed. Its stdout and stderr are files: through pipes Node.js fails under wine.
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_CONTEXT, EXTERNAL_CLUSTER, KUBECONFIG, deleteNamespace, kubectl, newNamespace } from "../e2e/lib/cluster.js";
import { createApp, selectorOf } from "../e2e/lib/layout.js";
import { CACHE, RELEASE, ensure, run, unpack, workDir } from "./lib.js";

const WINE = "/usr/lib/wine/wine64";
const missing = ensure(`[ -x ${WINE} ] || apt_install wine64 >&2`);
if (missing) console.warn(`skipping the windows/amd64 checks: wine64 is missing and could not be installed: ${missing}`);
const WINE_ENV = { ...process.env, WINEDEBUG: "-all", WINEPREFIX: path.join(CACHE, "wine") };

const WORK = workDir("wine");
let exe = "";
beforeAll(() => {
  exe = path.join(unpack("windows_amd64", WORK), "kubectl-bluegreen.exe");
  // A new prefix says Windows 7, which Node.js 22 refuses; winecfg makes it Windows 10 once.
  const marker = path.join(WINE_ENV.WINEPREFIX, ".windows-10");
  if (!missing && !existsSync(marker)) {
    const r = run(WINE, ["winecfg", "/v", "win10"], { env: WINE_ENV });
    if (r.code !== 0) throw new Error(`winecfg /v win10 failed: ${r.output}`);
    writeFileSync(marker, "");
  }
});

/** Runs the .exe under wine with stdout and stderr in files. */
function win(...args: string[]): { code: number; stdout: string; stderr: string; output: string } {
  const outFile = path.join(WORK, "win.out");
  const errFile = path.join(WORK, "win.err");
  const out = openSync(outFile, "w");
  const err = openSync(errFile, "w");
  try {
    const r = run(WINE, [exe, ...args], { env: WINE_ENV, stdio: ["ignore", out, err], timeout: 300_000 });
    const stdout = readFileSync(outFile, "utf8");
    const stderr = readFileSync(errFile, "utf8");
    return { code: r.code, stdout, stderr, output: `${r.output}${stdout}${stderr}` };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

describe.skipIf(missing)("windows/amd64 under wine", () => {
  it(`version --client says v${RELEASE.version}, win32/amd64`, () => {
    const r = win("version", "--client");
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain(`kubectl-bluegreen v${RELEASE.version} (node v${RELEASE.nodeVersion}, win32/amd64)`);
  });

  it("--help", () => {
    const r = win("--help");
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain("kubectl bluegreen COMMAND [APP] [flags]");
  });

  it("an unknown command is exit 2 with one sentence", () => {
    const r = win("promot", "myapp");
    expect(r.code, r.output).toBe(2);
    expect(r.stderr).toContain('error: unknown command "promot"');
  });
});

// Against the local test bed only: wine reaches it on 127.0.0.1.
const clusterMissing = EXTERNAL_CLUSTER ? "BLUEGREEN_E2E_KUBECONFIG is set" : kubectl(["get", "--raw", "/readyz"]).code !== 0 ? "the local test bed is not running" : undefined;
if (!missing && clusterMissing) console.warn(`skipping wine's status, promote and abort: ${clusterMissing}`);

describe.skipIf(missing || clusterMissing)("windows/amd64 under wine, against the test bed", () => {
  const WIN_KUBECONFIG = `Z:${KUBECONFIG.replaceAll("/", "\\")}`; // wine's drive Z: is /
  let ns = "";
  beforeAll(async () => {
    ns = await newNamespace("wine-check");
    await createApp(ns, { app: "web", slotLabel: "slot", slots: [{ value: "blue", replicas: 1 }, { value: "green", replicas: 1 }], services: { web: "blue" } });
  }, 180_000);
  afterAll(() => deleteNamespace(ns));
  const wk = (...args: string[]) => win(...args, "-n", ns, "--kubeconfig", WIN_KUBECONFIG, "--context", ADMIN_CONTEXT);

  it(`status web (kubeconfig ${WIN_KUBECONFIG})`, () => {
    const r = wk("status", "web");
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain("web (live → blue)");
  });

  it("promote web --to green switches the Service (read back with kubectl)", () => {
    const r = wk("promote", "web", "--to", "green", "--propagation-delay", "0s");
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("app web promoted: slot=green is live (was blue)");
    expect(selectorOf(ns, "web").slot).toBe("green");
  });

  it("abort web switches it back", () => {
    const r = wk("abort", "web", "--propagation-delay", "0s");
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("app web aborted: slot=blue is live again (was green)");
    expect(selectorOf(ns, "web").slot).toBe("blue");
  });
});
