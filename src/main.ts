// The only file that touches process, the environment and exit codes.
import { basename } from "node:path";
import { run } from "./cli/app.js";
import type { Clock, Context, IO, ShellResult } from "./context.js";
import { BlueGreenError, ExitCode } from "./errors.js";
import { kubeClient, runInvocation } from "./commands/index.js";
import { escapeTerminal } from "./render/escape.js";
import { asciiGlyphs, utf8Locale } from "./render/glyphs.js";

/** The streams; `dataOut()` says stdout carries a -o json|yaml document (its values go out as they are). */
function makeIO(env: NodeJS.ProcessEnv, dataOut: () => boolean): IO {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  const unicode = utf8Locale(env);
  return {
    out: (t) => void process.stdout.write(unicode || dataOut() ? t : asciiGlyphs(t)),
    err: (t) => void process.stderr.write(unicode ? t : asciiGlyphs(t)),
    errIsTTY: Boolean(process.stderr.isTTY),
    color: Boolean(process.stdout.isTTY) && !noColor && env.TERM !== "dumb",
    columns: process.stdout.columns || 100,
    unicode,
  };
}

const clock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    }),
};

/** Context.shell: the command in its own process group (POSIX), so a timeout or Ctrl-C stops all it started. */
async function shell(command: string, o: { env: Record<string, string>; timeoutMs: number; signal: AbortSignal }): Promise<ShellResult> {
  if (o.signal.aborted) return { kind: "interrupted" };
  const { spawn } = await import("./spawn.js");
  if (o.signal.aborted) return { kind: "interrupted" };
  const posix = process.platform !== "win32";
  return new Promise((resolve) => {
    const child = spawn(command, { shell: process.env.SHELL || true, env: { ...process.env, ...o.env }, stdio: ["ignore", 2, 2], detached: posix });
    let why: "timed-out" | "interrupted" | undefined;
    let hard: NodeJS.Timeout | undefined;
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (posix && child.pid) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        // Already gone.
      }
    };
    const stop = (w: "timed-out" | "interrupted") => {
      why ??= w;
      kill("SIGTERM");
      hard ??= setTimeout(() => kill("SIGKILL"), 5000);
    };
    const timer = o.timeoutMs > 0 ? setTimeout(() => stop("timed-out"), o.timeoutMs) : undefined;
    const onAbort = () => stop("interrupted");
    o.signal.addEventListener("abort", onAbort, { once: true });
    let settled = false;
    const finish = (r: ShellResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(hard);
      o.signal.removeEventListener("abort", onAbort);
      resolve(r);
    };
    child.on("error", (e) => finish({ kind: "failed-to-start", message: e.message }));
    child.on("exit", (code, signal) => finish(why ? { kind: why } : code !== null ? { kind: "exited", code } : { kind: "signalled", signal: signal ?? "a signal" }));
  });
}

async function main(): Promise<number> {
  let argv = process.argv.slice(2);
  // kubectl (>= 1.26) runs `kubectl_complete-bluegreen ARGS… PARTIAL` to complete plugin arguments.
  const invokedAs = basename(process.argv[1] ?? "", ".exe");
  const execName = basename(process.execPath, ".exe");
  if (invokedAs === "kubectl_complete-bluegreen" || execName === "kubectl_complete-bluegreen") argv = ["__complete", ...argv];

  // Set from the parsed command line, before the command runs.
  let dataOut = false;
  const io = makeIO(process.env, () => dataOut);
  const controller = new AbortController();
  let shielded = 0;
  const stop = () => {
    if (!controller.signal.aborted) {
      controller.abort();
      if (shielded) io.err("interrupted: finishing the write in progress first (kill -9 would leave the switch interrupted)\n");
      return;
    }
    // A second signal ends the process, except while Services are being written or switched back.
    if (shielded) io.err("still switching back; it finishes on its own (kill -9 would leave the switch interrupted)\n");
    else process.exit(130);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // -v (any level, as -v=6 in kubectl): request tracing, and a stack trace for unexpected errors. Set
  // from the parsed command line, before the command runs.
  let verbose = false;
  const ctx: Context = {
    io,
    clock,
    env: process.env,
    runtime: { node: process.version, platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}` },
    signal: controller.signal,
    shell,
    uninterruptible: async (fn) => {
      shielded++;
      try {
        return await fn();
      } finally {
        shielded--;
      }
    },
    kube: async (opts) => {
      const { connect } = await kubeClient();
      // kubectl ignores NODE_TLS_REJECT_UNAUTHORIZED, and so do we: every TLS connection states
      // rejectUnauthorized. Node.js would still warn that the variable disables verification, which is false
      // here, so it leaves our environment; connect() hands it to exec credential plugins from this snapshot,
      // as kubectl passes its own environment on.
      const env = { ...process.env };
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      return connect(opts, env, verbose ? (line) => io.err(`${line}\n`) : undefined);
    },
  };
  try {
    return await run(argv, ctx, (c, inv) => {
      verbose = "global" in inv && inv.global.verbose;
      dataOut = "global" in inv && (inv.global.output === "json" || inv.global.output === "yaml");
      return runInvocation(c, inv);
    });
  } catch (e) {
    // Messages quote names and API error text from the cluster and the command line: escaped, so
    // the message and the hint stay one line each and cannot drive the terminal.
    if (e instanceof BlueGreenError) {
      io.err(`error: ${escapeTerminal(e.message)}${e.hint ? `\n${escapeTerminal(e.hint)}` : ""}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    io.err(`error: unexpected: ${escapeTerminal(err?.message ?? String(e))}\nRun again with -v for details.\n`);
    if (verbose && err?.stack) io.err(`${err.stack.split("\n").map(escapeTerminal).join("\n")}\n`);
    return ExitCode.unexpected;
  }
}

main().then(
  (code) => {
    // Exit once stdout has drained; open keep-alive sockets must not hold the process.
    process.stdout.write("", () => process.exit(code));
  },
  (e) => {
    process.stderr.write(`error: unexpected: ${escapeTerminal(String(e))}\n`);
    process.exit(ExitCode.unexpected);
  },
);
