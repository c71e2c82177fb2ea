#!/usr/bin/env bash
# scripts/bench-scale.sh — status of many apps, next to kubectl listing the same objects.
#
#   scripts/bench-scale.sh        (after scripts/package.sh)
#
# Creates a namespace of BLUEGREEN_BENCH_APPS apps (default 1000: two Deployments at 0 replicas and a Service
# each) on the test bed (used when it is up, else started and stopped again here), then measures in one run
# `status -n NS` vs `kubectl get deploy,svc -n NS` and `status -A` vs `kubectl get deploy,svc -A`: medians,
# ratios and peak RSS (test/testbed/bench-startup.ts) into the "scale" section of BENCHMARKS.md. The
# namespace is deleted at the end.
#
# Environment:
#   BLUEGREEN_BENCH_APPS     apps in the namespace (default 1000; 10000 takes minutes to create)
#   BLUEGREEN_BENCH_RUNS     timed runs of each command (default 15, after 3 warm-up runs)
#   BLUEGREEN_BENCH_BEFORE   an older kubectl-bluegreen executable to measure in the same run (before/after)
#   BLUEGREEN_BENCH_NAMESPACE  a namespace already holding the BLUEGREEN_BENCH_APPS apps of an earlier run (its
#                            objects are counted first): used as is and kept
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

[ "$(node_platform)" = linux-x64 ] || die "the benchmark runs the linux/amd64 executable; this machine is $(node_platform)."
ensure_deps
ensure_command /usr/bin/time time

bench_start
bench_install

bench_bundle test/testbed/bench-startup.ts
log "creating ${BLUEGREEN_BENCH_APPS:-1000} apps, then measuring"
BLUEGREEN_ROOT="$BLUEGREEN_ROOT" node "$WORK/bench.mjs" scale "$WORK/section.md" "$EXE" ${BEFORE:+"$BEFORE"}
# One section per size: the default 1000 apps in "scale", others (10000) in "scale-N".
section=scale
[ "${BLUEGREEN_BENCH_APPS:-1000}" = 1000 ] || section="scale-$BLUEGREEN_BENCH_APPS"
bench_section "$section" "$WORK/section.md"
log "wrote the $section section of BENCHMARKS.md"
cat "$WORK/section.md"
