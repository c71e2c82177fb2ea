#!/usr/bin/env bash
# The whole test run, from a fresh clone: Node.js runtime, npm dependencies, build, test bed, then
# type-check, lint, unit tests, end-to-end tests, the release (scripts/package.sh) and its checks (vitest
# project "package", test/package), and end-to-end tests through the krew-installed plugin. Prints each
# runner's summary and ends with one line "N passed, N failed".
#
#   scripts/test.sh              everything
#   BLUEGREEN_E2E_KUBECONFIG=…   run the end-to-end tests against that cluster instead of the test bed
#   BLUEGREEN_SKIP_PACKAGE=1     skip the release and its checks
#   BLUEGREEN_PACKAGE_REUSE=1    check dist/ and krew-manifest.yaml as they are (no scripts/package.sh)
#   BLUEGREEN_PACKAGE_E2E=all    run every end-to-end file through the krew-installed plugin (default: the
#                                files below); =none none
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

# The end-to-end files run again through the krew-installed plugin: the commands' main paths.
KREW_E2E_FILES=(test/e2e/{status,promote,abort,diff,errors,faults,transport,release}.test.ts)

passed=0
failed=0
results="$(mktemp -d)"
cleanup() {
  testbed_release
  rm -rf "$results"
}
trap cleanup EXIT

# check NAME CMD…: one pass/fail for a command that is not a test runner.
check() {
  local name="$1"; shift
  log "$name"
  if "$@"; then passed=$((passed + 1)); echo "$name: ok"
  else failed=$((failed + 1)); echo "$name: FAILED"; echo "$name: FAILED" >> "$results/failures"; fi
}

# vitest_suite NAME ARGS…: runs vitest, prints its summary, adds its test counts from the JSON report.
vitest_suite() {
  local name="$1"; shift
  local report="$results/$name.json"
  log "$name tests"
  npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || true
  if [ -f "$report" ]; then
    read -r _ p f < <(vitest_counts "$report")
    vitest_failures "$name" "$report" >> "$results/failures"
  else
    p=0; f=1
  fi
  echo "$name: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
}

ensure_deps
log "building the CLI"
npm run --silent build

check "type-check" npx tsc --noEmit -p tsconfig.json
check "type-check of the packaging helpers (scripts/*.mjs)" npx tsc --noEmit -p tsconfig.scripts.json
check "lint" npx biome lint --error-on-warnings src test scripts
vitest_suite unit --project unit

if [ -z "${BLUEGREEN_E2E_KUBECONFIG:-}" ]; then
  testbed_use || { failed=$((failed + 1)); echo "test bed: FAILED to start"; }
fi
vitest_suite e2e --project e2e

# The release: built from this tree, checked (test/package), then the end-to-end tests again through the
# plugin as krew installed it (dist/krew/bin, made by test/package/krew.test.ts).
if [ -z "${BLUEGREEN_SKIP_PACKAGE:-}" ]; then
  if [ -z "${BLUEGREEN_PACKAGE_REUSE:-}" ]; then
    check "scripts/package.sh (the release, built from this tree)" bash scripts/package.sh
  fi
  vitest_suite package --project package
  case "${BLUEGREEN_PACKAGE_E2E:-}" in
    none) ;;
    all) BLUEGREEN_E2E_PLUGIN_DIR="$BLUEGREEN_ROOT/dist/krew/bin" vitest_suite e2e-krew --project e2e ;;
    *) BLUEGREEN_E2E_PLUGIN_DIR="$BLUEGREEN_ROOT/dist/krew/bin" vitest_suite e2e-krew --project e2e "${KREW_E2E_FILES[@]}" ;;
  esac
fi

# The test bed stopped, then what failed, then the summary as the last line.
failures="$(cut -c1-400 "$results/failures" 2>/dev/null || true)"
cleanup
trap - EXIT
if [ -n "$failures" ]; then
  echo "--- what failed"
  echo "$failures"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
