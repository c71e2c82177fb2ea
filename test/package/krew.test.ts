// krew, built from source (pinned in scripts/krew/go.mod), validates the manifest and installs every
// platform's archive from dist/; the install for this machine goes to dist/krew, where scripts/test.sh then
// runs the end-to-end tests through it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, copyFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CACHE, DIST, KREW_ROOT, RELEASE, REPO_ROOT, exeName, run, workDir } from "./lib.js";

const KREW_VERSION = /^\s*sigs\.k8s\.io\/krew (\S+)/m.exec(readFileSync(path.join(REPO_ROOT, "scripts/krew/go.mod"), "utf8"))?.[1] ?? "";
const KREW_BIN = path.join(CACHE, "krew", KREW_VERSION);
const WORK = workDir("krew");
const MANIFEST = path.join(REPO_ROOT, "krew-manifest.yaml");

/** Builds krew and validate-krew-manifest once into the cache (Go >= 1.24, through the module proxy). */
function buildKrew(): void {
  if (existsSync(path.join(KREW_BIN, "kubectl-krew")) && existsSync(path.join(KREW_BIN, "validate-krew-manifest"))) return;
  const out = path.join(WORK, "build");
  mkdirSync(out, { recursive: true });
  const r = run(
    "go",
    ["build", "-trimpath", "-ldflags", `-X sigs.k8s.io/krew/internal/version.gitTag=${KREW_VERSION}`, "-o", `${out}/`, "sigs.k8s.io/krew/cmd/krew", "sigs.k8s.io/krew/cmd/validate-krew-manifest"],
    { cwd: path.join(REPO_ROOT, "scripts/krew"), env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local" }, timeout: 1_800_000 },
  );
  if (r.code !== 0) throw new Error(`could not build krew ${KREW_VERSION} (Go is needed once): ${r.output}`);
  mkdirSync(KREW_BIN, { recursive: true });
  renameSync(path.join(out, "validate-krew-manifest"), path.join(KREW_BIN, "validate-krew-manifest"));
  renameSync(path.join(out, "krew"), path.join(KREW_BIN, "kubectl-krew")); // kubectl finds plugins by name: `kubectl krew`
}

/** `kubectl krew ARGS` with our krew first on PATH, as if on platform os_arch when given. */
function krew(args: string[], root: string, platform?: string) {
  const [os, arch] = platform?.split("_") ?? [];
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${KREW_BIN}${path.delimiter}${process.env.PATH}`, KREW_ROOT: root, KREW_NO_UPGRADE_CHECK: "1" };
  if (os && arch) Object.assign(env, { KREW_OS: os, KREW_ARCH: arch });
  return run("kubectl", ["krew", ...args], { env, input: "" });
}

const installArgs = (p: string) => ["install", `--manifest=${MANIFEST}`, `--archive=${path.join(DIST, RELEASE.archive[p] ?? "")}`];

// An install from an earlier run must not stand in for this one's if the build or the install fails.
rmSync(KREW_ROOT, { recursive: true, force: true });
beforeAll(buildKrew, 1_800_000);

it(`validate-krew-manifest -skip-install (krew ${KREW_VERSION})`, () => {
  // The validator wants the file named after the plugin; its install step downloads every platform's uri,
  // so it is left out here and done below from the local archives.
  const named = path.join(WORK, "bluegreen.yaml");
  copyFileSync(MANIFEST, named);
  const r = run(path.join(KREW_BIN, "validate-krew-manifest"), ["-manifest", named, "-skip-install"]);
  expect(r.code, r.output).toBe(0);
});

it.each(RELEASE.platforms.filter((p) => p !== "linux_amd64"))("krew install --archive of %s (KREW_OS/KREW_ARCH)", (p) => {
  const root = path.join(WORK, `krew-${p}`);
  const r = krew(installArgs(p), root, p);
  expect(r.code, r.output).toBe(0);
  const store = path.join(root, "store", "bluegreen", `v${RELEASE.version}`);
  expect(existsSync(path.join(store, exeName(p)))).toBe(true);
  expect(existsSync(path.join(store, "LICENSE"))).toBe(true);
  expect(existsSync(path.join(root, "bin", exeName(p)))).toBe(true);
});

describe(`kubectl krew install on this machine (KREW_ROOT=${path.relative(REPO_ROOT, KREW_ROOT)})`, () => {
  const bin = path.join(KREW_ROOT, "bin");
  const plugin = (args: string[]) => run("kubectl", ["bluegreen", ...args], { env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` } });

  it(`kubectl krew install --manifest=krew-manifest.yaml --archive=dist/${RELEASE.archive.linux_amd64}`, () => {
    const r = krew(installArgs("linux_amd64"), KREW_ROOT);
    expect(r.code, r.output).toBe(0);
    expect(existsSync(path.join(bin, "kubectl-bluegreen"))).toBe(true);
  });

  it(`krew's receipt says bluegreen v${RELEASE.version}`, () => {
    expect(readFileSync(path.join(KREW_ROOT, "receipts", "bluegreen.yaml"), "utf8")).toContain(`version: v${RELEASE.version}`);
  });

  it("kubectl bluegreen version --client (through krew's bin)", () => {
    const r = plugin(["version", "--client"]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain(`v${RELEASE.version}`);
  });

  it("kubectl __complete bluegreen pro → promote (kubectl >= 1.26 runs kubectl_complete-bluegreen)", () => {
    const link = path.join(bin, "kubectl_complete-bluegreen");
    symlinkSync(path.join(bin, "kubectl-bluegreen"), link);
    try {
      const r = run("kubectl", ["__complete", "bluegreen", "pro"], { env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` } });
      expect(r.stdout.split("\n")).toContain("promote");
    } finally {
      rmSync(link);
    }
  });
});
