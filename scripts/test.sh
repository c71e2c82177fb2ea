#!/usr/bin/env bash
# The whole test run, from a fresh clone: Node.js runtime, npm dependencies, build, test bed, then
# type-check, lint, unit tests, end-to-end tests (and the packaging checks when scripts/test-package.sh
# exists). Prints each runner's summary and ends with one line "N passed, N failed".
#
#   scripts/test.sh              everything
#   BLUEGREEN_E2E_KUBECONFIG=…   run the end-to-end tests against that cluster instead of the test bed
#   BLUEGREEN_SKIP_PACKAGE=1     skip the packaging checks
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

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
  else failed=$((failed + 1)); echo "$name: FAILED"; fi
}

# vitest_suite NAME ARGS…: runs vitest, prints its summary, adds its test counts from the JSON report.
vitest_suite() {
  local name="$1"; shift
  local report="$results/$name.json"
  log "$name tests"
  npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || true
  if [ -f "$report" ]; then
    read -r _ p f < <(vitest_counts "$report")
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

if [ -z "${BLUEGREEN_SKIP_PACKAGE:-}" ] && [ -f scripts/test-package.sh ]; then
  log "packaging checks"
  pkg_out="$results/package.out"
  bash scripts/test-package.sh 2>&1 | tee "$pkg_out" || true
  line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$pkg_out" | tail -1 || true)"
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | cut -d' ' -f1))); failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
  else
    failed=$((failed + 1)); echo "packaging checks: FAILED (no summary)"
  fi
fi

# Stop the test bed before the summary, so the summary is the last line.
cleanup
trap - EXIT
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
