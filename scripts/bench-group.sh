#!/usr/bin/env bash
# scripts/bench-group.sh — several apps released in one command against one promote per app in a loop.
#
#   scripts/bench-group.sh
#
# For 1, 10 and 50 apps (BLUEGREEN_BENCH_GROUP_SIZES), BLUEGREEN_BENCH_RUNS times (default 3): `promote APP…` of all
# of them, a loop of single promotes, and a loop of `kubectl patch service` as the floor. Writes the medians into the
# "group" section of BENCHMARKS.md (test/testbed/bench-group.ts does the measuring). Then the same
# BLUEGREEN_BENCH_CLUSTER_APPS apps (default 10; 0 leaves it out) in the test bed and in a second control plane it
# starts and stops (BLUEGREEN_TESTBED_DIR of its own): a promote in both clusters against one in one.
# The test bed is used when it is up, else started and stopped again here; its data plane is not needed.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

log "promoting ${BLUEGREEN_BENCH_GROUP_SIZES:-1,10,50} apps in one command and one by one"
ensure_deps
npm run --silent build
bench_start
bench_bundle test/testbed/bench-group.ts
BLUEGREEN_ROOT="$BLUEGREEN_ROOT" node "$WORK/bench.mjs" "$WORK/section.md"
bench_section group "$WORK/section.md"
log "wrote the group section of BENCHMARKS.md"
cat "$WORK/section.md"
