#!/usr/bin/env bash
# scripts/bench-canary.sh — what a promote in weighted steps costs, on the test bed's data plane and gateway.
#
#   scripts/bench-canary.sh
#
# Sends BLUEGREEN_BENCH_RATE requests a second (default 100, a new connection each) through the test bed's gateway to an
# app behind an HTTPRoute, while it is promoted BLUEGREEN_BENCH_RUNS times (default 3) all at once, in three steps with
# no pause, and in three steps with a 5 s pause (each followed by an abort). Writes the commands' times, what the steps
# add, and the observed share of requests per step into the "canary" section of BENCHMARKS.md
# (test/testbed/bench-canary.ts does the measuring).
# The test bed is used when it is up, else started and stopped again here; its data plane and gateway must be on.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

log "promoting in steps under load (${BLUEGREEN_BENCH_RUNS:-3} runs of each command)"
bench_dataplane canary test/testbed/bench-canary.ts
