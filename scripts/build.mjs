// Bundles the CLI into CommonJS files: what bin/kubectl-bluegreen runs in development and what the
// packaged single executables embed.
//   dist/kubectl-bluegreen.cjs       the CLI
//   dist/kubectl-bluegreen-full.cjs  src/kube/full.ts: client-node's whole KubeConfig, for auth-providers and
//                                    proxy-url only. Kept out of the CLI's bundle, so no other command parses
//                                    its 2.8 MB; the executables carry it as a SEA asset.
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

const FULL_BUNDLE = "kubectl-bluegreen-full.cjs";

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

// In the CLI's bundle, `import("./full.js")` loads the other bundle: the executable's SEA asset, else the
// file beside this one. It needs nothing but Node's own modules.
const loader = `
const path = require("node:path");
let sea;
try { sea = require("node:sea"); } catch {}
if (sea && sea.isSea()) {
  const source = sea.getAsset(${JSON.stringify(FULL_BUNDLE)}, "utf8");
  const filename = path.join(path.dirname(process.execPath), ${JSON.stringify(FULL_BUNDLE)});
  const m = { exports: {} };
  require("node:vm").compileFunction(source, ["module", "exports", "require", "__filename", "__dirname"], { filename })(m, m.exports, require, filename, path.dirname(filename));
  module.exports = m.exports;
} else {
  module.exports = require(path.join(__dirname, ${JSON.stringify(FULL_BUNDLE)}));
}
`;

/** @type {import("esbuild").Plugin} */
const fullApart = {
  name: "full-apart",
  setup(b) {
    b.onResolve({ filter: /^\.\/full\.js$/ }, (args) => (args.importer.endsWith("/src/kube/auth.ts") ? { path: "full-loader", namespace: "full-loader" } : undefined));
    b.onLoad({ filter: /.*/, namespace: "full-loader" }, () => ({ contents: loader, loader: "js" }));
  },
};

await build({ ...common, entryPoints: ["src/main.ts"], outfile: "dist/kubectl-bluegreen.cjs", plugins: [fullApart] });
await build({ ...common, entryPoints: ["src/kube/full.ts"], outfile: `dist/${FULL_BUNDLE}` });
