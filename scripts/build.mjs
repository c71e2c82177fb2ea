// Bundles the CLI into CommonJS files: what bin/kubectl-bluegreen runs in development and what the
// packaged single executables embed.
//   dist/kubectl-bluegreen.cjs       the CLI: reading the command line, --help, version, exit codes
//   dist/kubectl-bluegreen-commands.cjs
//                                    src/commands/index.ts, the commands and the API client: compiled only when a
//                                    command runs, so --help and version do not parse them (V8 parses a whole file
//                                    before running it: ~9 ms for both together); the executables carry it as a
//                                    SEA asset. It shares src/errors.ts with the CLI's bundle, whose error classes
//                                    main.ts tells apart by instanceof.
//   dist/kubectl-bluegreen-full.cjs  src/kube/full.ts: client-node's whole KubeConfig, for auth-providers and
//                                    proxy-url only. Kept out of the CLI's bundle, so no other command parses
//                                    its 2.8 MB; the executables carry it as a SEA asset.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

const FULL_BUNDLE = "kubectl-bluegreen-full.cjs";
const COMMANDS_BUNDLE = "kubectl-bluegreen-commands.cjs";
/** How the commands' bundle names src/errors.ts: the CLI's bundle hands over its own module. */
const SHARED_ERRORS = "kubectl-bluegreen:errors";
const ERRORS = fileURLToPath(new URL("../src/errors.ts", import.meta.url));
const VERSION = fileURLToPath(new URL("../src/commands/version.ts", import.meta.url));

/** @type {import("esbuild").BuildOptions} */
const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node22",
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  // Whitespace and syntax only: a tenth less start-up for `status`, and names stay readable in the stack
  // traces -v prints.
  minifyWhitespace: true,
  minifySyntax: true,
  // ws tries these optional native add-ons inside try/catch; never bundle or require them.
  external: ["bufferutil", "utf-8-validate"],
  // ESM dependencies read import.meta.url; give the bundle a real file URL.
  define: { "import.meta.url": "__bundle_url", __BLUEGREEN_VERSION__: JSON.stringify(pkg.version) },
  // "use strict" first: a banner goes before esbuild's own directive, which would then not count.
  banner: { js: '"use strict";\nconst __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
};

// JavaScript that defines loadBundle(name, req): the bundle `name` (the executable's SEA asset, else the file
// beside the bundle running it) evaluated as a CommonJS module whose require is `req`; returns its exports.
// It needs nothing but Node's own modules.
const LOAD_BUNDLE = `
function loadBundle(name, req) {
  const path = require("node:path");
  let sea;
  try { sea = require("node:sea"); } catch {}
  const inSea = Boolean(sea && sea.isSea());
  const filename = path.join(inSea ? path.dirname(process.execPath) : __dirname, name);
  const source = inSea ? sea.getAsset(name, "utf8") : require("node:fs").readFileSync(filename, "utf8");
  const m = { exports: {} };
  require("node:vm").compileFunction(source, ["module", "exports", "require", "__filename", "__dirname"], { filename })(m, m.exports, req, filename, path.dirname(filename));
  return m.exports;
}
`;

// In the commands' bundle, `import("./full.js")` loads client-node's whole KubeConfig from its own bundle.
const loader = `${LOAD_BUNDLE}
module.exports = loadBundle(${JSON.stringify(FULL_BUNDLE)}, require);
`;

/** @type {import("esbuild").Plugin} */
const fullApart = {
  name: "full-apart",
  setup(b) {
    b.onResolve({ filter: /^\.\/full\.js$/ }, (args) => (args.importer.endsWith("/src/kube/auth.ts") ? { path: "full-loader", namespace: "full-loader" } : undefined));
    b.onLoad({ filter: /.*/, namespace: "full-loader" }, () => ({ contents: loader, loader: "js" }));
  },
};

// In the CLI's bundle, src/commands/index.ts is this: version runs from the CLI's bundle (a lazily loaded module of
// it), every other command from the commands' bundle, read (the executable's SEA asset, else the file beside this
// one) and compiled on first use, with src/errors.ts handed over as this bundle's own module.
const commandsLoader = `${LOAD_BUNDLE}
const errors = require(${JSON.stringify(ERRORS)});
let loaded;
const commands = () => {
  loaded ??= loadBundle(${JSON.stringify(COMMANDS_BUNDLE)}, (id) => (id === ${JSON.stringify(SHARED_ERRORS)} ? errors : require(id)));
  return loaded;
};
exports.runInvocation = async (ctx, inv) =>
  inv.command === "version" ? (await import(${JSON.stringify(VERSION)})).version(ctx, inv.output) : commands().runInvocation(ctx, inv);
exports.kubeClient = () => commands().kubeClient();
`;

/** @type {import("esbuild").Plugin} */
const commandsApart = {
  name: "commands-apart",
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/index\.js$/ }, (args) =>
      args.importer.endsWith(`${path.sep}src${path.sep}main.ts`) ? { path: "commands-loader", namespace: "commands-loader" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "commands-loader" }, () => ({ contents: commandsLoader, loader: "js", resolveDir: path.dirname(ERRORS) }));
  },
};

/** @type {import("esbuild").Plugin} */
const errorsShared = {
  name: "errors-shared",
  setup(b) {
    b.onResolve({ filter: /errors\.js$/ }, (args) =>
      path.resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts")) === ERRORS ? { path: SHARED_ERRORS, external: true } : undefined,
    );
  },
};

await build({ ...common, entryPoints: ["src/main.ts"], outfile: "dist/kubectl-bluegreen.cjs", plugins: [commandsApart] });
await build({ ...common, entryPoints: ["src/commands/index.ts"], outfile: `dist/${COMMANDS_BUNDLE}`, plugins: [fullApart, errorsShared] });
await build({ ...common, entryPoints: ["src/kube/full.ts"], outfile: `dist/${FULL_BUNDLE}` });
