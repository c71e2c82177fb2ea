#!/usr/bin/env bash
# scripts/bench-switch.sh — what users feel during a switch, on the test bed's data plane.
#
#   scripts/bench-switch.sh
#
# Sends BLUEGREEN_BENCH_RATE requests a second (default 100, a new connection each) from inside the test bed's
# network namespace while the app's router switches BLUEGREEN_BENCH_SWITCHES times (default 10) each way: by
# `kubectl bluegreen promote` and `abort`, then by a hand-run `kubectl patch`. Three layouts: a Service's
# selector (requests to its ClusterIP) and, when the test bed's gateway runs, an HTTPRoute's weights and an
# Ingress's backend between slot Services (requests through the gateway). Writes requests sent, failed, the
# switch latency (p50/p99) and the command's time for each into the "switch" section of BENCHMARKS.md
# (test/testbed/bench-switch.ts does the measuring).
# The test bed is used when it is up, else started and stopped again here; its data plane must be on.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

log "switching under load (${BLUEGREEN_BENCH_SWITCHES:-10} times each way by each method)"
bench_dataplane switch test/testbed/bench-switch.ts
