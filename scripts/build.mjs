// Bundles the CLI into one CommonJS file, dist/kubectl-bluegreen.cjs: what bin/kubectl-bluegreen
// runs in development and what the packaged single executables embed.
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/kubectl-bluegreen.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node22",
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  // ws tries these optional native add-ons inside try/catch; never bundle or require them.
  external: ["bufferutil", "utf-8-validate"],
  // ESM dependencies read import.meta.url; give the bundle a real file URL.
  define: { "import.meta.url": "__bundle_url", __BLUEGREEN_VERSION__: JSON.stringify(pkg.version) },
  // "use strict" first: a banner goes before esbuild's own directive, which would then not count.
  banner: { js: '"use strict";\nconst __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
});
