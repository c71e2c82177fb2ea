// The linux/arm64 executable under qemu user-mode emulation (qemu-user-static and the arm64 C/C++ runtime,
// installed with apt-get when missing; without them these checks are skipped, with the reason).
import path from "node:path";
import { beforeAll, expect, it } from "vitest";
import { ensure, run, unpack, workDir } from "./lib.js";

const SYSROOT = "/usr/aarch64-linux-gnu";
const missing = ensure(`ensure_command qemu-aarch64-static qemu-user-static >&2
  [ -f ${SYSROOT}/lib/libstdc++.so.6 ] || apt_install libstdc++6-arm64-cross >&2`);
if (missing) console.warn(`skipping the linux/arm64 checks: qemu-user-static or libstdc++6-arm64-cross is missing and could not be installed: ${missing}`);

const WORK = workDir("qemu");
let exe = "";
beforeAll(() => {
  exe = path.join(unpack("linux_arm64", WORK), "kubectl-bluegreen");
});
const qemu = (...args: string[]) => run("qemu-aarch64-static", ["-L", SYSROOT, exe, ...args]);

it.skipIf(missing)("qemu-aarch64-static: kubectl-bluegreen --help", () => {
  const r = qemu("--help");
  expect(r.code, r.output).toBe(0);
  expect(r.stdout).toContain("kubectl bluegreen COMMAND [APP] [flags]");
});

it.skipIf(missing)("qemu-aarch64-static: kubectl-bluegreen version --client says linux/arm64", () => {
  const r = qemu("version", "--client");
  expect(r.code, r.output).toBe(0);
  expect(r.stdout).toContain("linux/arm64");
});
