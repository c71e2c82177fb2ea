#!/usr/bin/env bash
# scripts/bench-startup.sh — how fast the packaged plugin starts, reads and switches, next to kubectl.
#
#   scripts/bench-startup.sh        (after scripts/package.sh)
#
# On the test bed (used when it is up, else started and stopped again here), in one run: --help and version
# vs `kubectl version --client`; status of one app vs `kubectl get deploy,svc -l app=…` (directly and as
# `kubectl bluegreen`); promote --to of a ready slot, verified, vs one `kubectl patch svc`. Medians, ratios
# and peak RSS (test/testbed/bench-startup.ts does the measuring) go to the "startup" section of
# BENCHMARKS.md, with the release archives' sizes.
#
# Environment:
#   BLUEGREEN_BENCH_RUNS     timed runs of each command (default 15, after 3 warm-up runs)
#   BLUEGREEN_BENCH_BEFORE   an older kubectl-bluegreen executable to measure in the same run (before/after)
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

EXE="$BLUEGREEN_ROOT/dist/bin/linux_amd64/kubectl-bluegreen"
[ "$(node_platform)" = linux-x64 ] || die "the benchmark runs the linux/amd64 executable; this machine is $(node_platform)."
[ -x "$EXE" ] || die "$EXE is missing: run scripts/package.sh first."
ensure_deps
ensure_command /usr/bin/time time

bench_start

bench_bundle test/testbed/bench-startup.ts
# The packaged plugin first on PATH, for `kubectl bluegreen`.
PATH="$(dirname "$EXE"):$PATH" BLUEGREEN_ROOT="$BLUEGREEN_ROOT" node "$WORK/bench.mjs" startup "$WORK/section.md" "$EXE" ${BLUEGREEN_BENCH_BEFORE:+"$BLUEGREEN_BENCH_BEFORE"}
{
  echo
  echo "\`--help\` and \`version\` never load the API client, and \`status\` of a user with a token or certificate loads"
  echo "nothing of @kubernetes/client-node (checked by \`test/package/executable.test.ts\`). Every platform's executable"
  echo "carries the same SEA blob, without a V8 code cache (which is only valid on the platform that made it): the"
  echo "bundle is small enough that compiling it lazily costs about what reading a cache did, so the other platforms"
  echo "start as this one does."
  echo
  echo "Release archives (\`scripts/package.sh\`):"
  echo
  echo "| Archive | Size |"
  echo "|---|---:|"
  for f in dist/kubectl-bluegreen_*.tar.gz dist/kubectl-bluegreen_*.zip; do
    printf '| %s | %s |\n' "$(basename "$f")" "$(awk -v b="$(stat -c %s "$f")" 'BEGIN { printf "%.1f MiB", b / 1048576 }')"
  done
} >> "$WORK/section.md"
bench_section startup "$WORK/section.md"
log "wrote the start-up section of BENCHMARKS.md"
cat "$WORK/section.md"
