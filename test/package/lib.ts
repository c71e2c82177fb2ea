// What the packaging checks share: the release as scripts/lib/release.sh defines it, the archives in dist/,
// and running commands. The release is built by scripts/package.sh before these checks run (scripts/test.sh
// does both); these files check dist/ and krew-manifest.yaml as they are.
import { type SpawnSyncOptions, type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { REPO_ROOT, toResult } from "../e2e/lib/cluster.js";

export { REPO_ROOT };
export const DIST = path.join(REPO_ROOT, "dist");
/** Where the packaging checks install the plugin with krew (KREW_ROOT); scripts/test.sh runs the end-to-end tests through it. */
export const KREW_ROOT = path.join(DIST, "krew");
/** The folder with the executables built by scripts/package.sh (its SEA blob, the bundles). */
export const SEA = path.join(DIST, "sea");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr, for a failure message */
  output: string;
}

/** Runs a command to its end; never throws (a failure to start is a non-zero code with the reason). */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 600_000, ...opts }) as SpawnSyncReturns<string>;
  const { code, stdout, stderr } = toResult(r, cmd);
  return { code, stdout, stderr, output: `${stdout}${stderr}`.trim() };
}

/** Runs bash with scripts/lib/common.sh sourced (the release settings and the ensure_* helpers). */
export function bash(script: string, opts: SpawnSyncOptions = {}): RunResult {
  return run("bash", ["-c", `set -euo pipefail; source scripts/lib/common.sh; ${script}`], opts);
}

/** The release as scripts/lib/release.sh defines it: the one place the packager and these checks read. */
export interface Release {
  version: string;
  nodeVersion: string;
  platforms: string[];
  archive: Record<string, string>;
  npmPlatform: Record<string, string>;
  fuse: string;
}

/** The release, and where the scripts cache what they build (BLUEGREEN_CACHE): both as common.sh sets them. */
function fromScripts(): { release: Release; cache: string } {
  const r = bash(`printf '%s\\n' "$BLUEGREEN_CACHE" "$BLUEGREEN_NODE_VERSION" "$BLUEGREEN_SEA_FUSE"
    for p in "\${RELEASE_PLATFORMS[@]}"; do printf '%s %s %s\\n' "$p" "$(archive_name "$p")" "$(npm_platform "$p")"; done`);
  if (r.code !== 0) throw new Error(`could not read scripts/lib/release.sh: ${r.output}`);
  const [cache = "", nodeVersion = "", fuse = "", ...lines] = r.stdout.trim().split("\n");
  const rows = lines.map((l) => l.split(" ") as [string, string, string]);
  const version: string = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).version;
  const release: Release = {
    version,
    nodeVersion,
    fuse,
    platforms: rows.map(([p]) => p),
    archive: Object.fromEntries(rows.map(([p, a]) => [p, a])),
    npmPlatform: Object.fromEntries(rows.map(([p, , n]) => [p, n])),
  };
  return { release, cache };
}

const SCRIPTS = fromScripts();
export const RELEASE: Release = SCRIPTS.release;
/** Where the scripts cache what they build once: Node.js runtimes, krew, rcodesign, the wine prefix. */
export const CACHE: string = SCRIPTS.cache;

/** The executable's name in a platform's archive. */
export const exeName = (platform: string): string => (platform.startsWith("windows_") ? "kubectl-bluegreen.exe" : "kubectl-bluegreen");

/** A temporary folder for one test file, removed after it. */
export function workDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `bluegreen-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Why file(1) or unzip are missing ("" once they are here). */
let tools: string | undefined;

/** Unpacks a platform's archive from dist/ into dir/<platform>; returns the folder. */
export function unpack(platform: string, dir: string): string {
  tools ??= ensure("ensure_command file file >&2; ensure_command unzip unzip >&2") ?? "";
  if (tools) throw new Error(`file and unzip are needed: ${tools}`);
  const archive = path.join(DIST, RELEASE.archive[platform] ?? "");
  if (!existsSync(archive)) throw new Error(`${archive} is missing: run scripts/package.sh first.`);
  const to = path.join(dir, platform);
  mkdirSync(to, { recursive: true });
  const r = platform.startsWith("windows_") ? run("unzip", ["-q", archive, "-d", to]) : run("tar", ["-xzf", archive, "-C", to]);
  if (r.code !== 0) throw new Error(`could not unpack ${archive}: ${r.output}`);
  return to;
}

/**
 * Makes sure a tool is here, installing it (apt-get, cargo) with the scripts' own helpers when missing.
 * Returns undefined when it is, else why not (the last line the helper printed).
 */
export function ensure(script: string): string | undefined {
  const r = bash(script, { timeout: 1_800_000 });
  if (r.code === 0) return undefined;
  return r.output.split("\n").at(-1) ?? `exit ${r.code}`;
}
