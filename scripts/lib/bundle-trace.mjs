// Which bundled modules does a command evaluate? esbuild wraps every module that is loaded lazily
// (through import() or require()) in a function keyed by its path:
//     var init_client = __esm({ "src/kube/client.ts"() { ... } });   (minified: __esm({"src/kube/client.ts"(){…}}))
// This runs the bundle once with a probe at the start of each such function and prints the paths of
// the modules that ran, one a line (modules evaluated eagerly at start-up have no wrapper: not listed).
// The commands' bundle beside it (kubectl-bluegreen-commands.cjs, compiled when a command runs) is probed the same
// way, and its name is printed when it was loaded at all.
//
//   node scripts/lib/bundle-trace.mjs BUNDLE.cjs [ARGS...]
// The command's own output is discarded; the exit code is 0 unless the probe could not be set up.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const [bundle, ...args] = process.argv.slice(2);
if (!bundle) {
  console.error("usage: node bundle-trace.mjs BUNDLE.cjs [ARGS...]");
  process.exit(2);
}
const COMMANDS = "kubectl-bluegreen-commands.cjs";
let wrappers = 0;
/**
 * The bundle with a probe in each lazily loaded module, and one after its "use strict" line when `mark` is given.
 * @param {string} file
 * @param {string} [mark]
 */
function probe(file, mark) {
  // The bundle is minified in whitespace: `__esm({"src/kube/client.ts"(){`, with or without the spaces.
  const probed = readFileSync(file, "utf8").replace(/(__esm\(\{\s*"([^"\n]+)"\([^)\n]*\)\s*\{)/g, (_, head, key) => {
    wrappers++;
    return `${head} globalThis.__bgTrace.push(${JSON.stringify(key)});`;
  });
  if (!mark) return probed;
  const nl = probed.indexOf("\n");
  return `${probed.slice(0, nl + 1)}globalThis.__bgTrace.push(${JSON.stringify(mark)});\n${probed.slice(nl + 1)}`;
}
const probed = probe(bundle);
const commands = join(dirname(bundle), COMMANDS);
const probedCommands = existsSync(commands) ? probe(commands, COMMANDS) : undefined;
if (wrappers === 0) {
  console.error(`bundle-trace: no lazily loaded module found in ${bundle}; has esbuild's output changed?`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "bundle-trace-"));
try {
  const out = join(dir, "trace.txt");
  const prelude = `globalThis.__bgTrace = []; process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(out)}, globalThis.__bgTrace.join("\\n")));\n`;
  writeFileSync(join(dir, "bundle.cjs"), prelude + probed);
  if (probedCommands !== undefined) writeFileSync(join(dir, COMMANDS), probedCommands);
  spawnSync(process.execPath, [join(dir, "bundle.cjs"), ...args], { stdio: "ignore", timeout: 60_000 });
  let trace;
  try {
    trace = readFileSync(out, "utf8");
  } catch {
    console.error("bundle-trace: the probed bundle did not run to its exit");
    process.exit(1);
  }
  if (trace) console.log(trace);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
