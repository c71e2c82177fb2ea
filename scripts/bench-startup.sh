#!/usr/bin/env bash
# scripts/bench-startup.sh — how fast the packaged plugin starts, reads and switches, next to kubectl.
#
#   scripts/bench-startup.sh        (after scripts/package.sh)
#
# On the test bed (used when it is up, else started and stopped again here), in one run: --help and version
# vs `kubectl version --client`; status of one app vs `kubectl get deploy,svc -l app=…` (directly, as
# `kubectl bluegreen`, and a Node program doing only its four lists); status of an app behind an HTTPRoute vs
# `kubectl get` of the same seven lists; promote --to of a ready slot, verified, vs two `kubectl patch svc` in a
# row (selector, then record); promote of three apps vs the six patches of theirs. The plugin measured is the one
# unpacked from the linux/amd64 release archive. Medians, ratios and peak RSS (test/testbed/bench-startup.ts does
# the measuring) go to the "startup" section of BENCHMARKS.md, with the release archives' sizes.
#
# Environment:
#   BLUEGREEN_BENCH_RUNS     timed runs of each command (default 15, after 3 warm-up runs)
#   BLUEGREEN_BENCH_BEFORE   an older kubectl-bluegreen executable to measure in the same run (before/after)
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
# The packaged plugin first on PATH, for `kubectl bluegreen`.
PATH="$(dirname "$EXE"):$PATH" BLUEGREEN_ROOT="$BLUEGREEN_ROOT" node "$WORK/bench.mjs" startup "$WORK/section.md" "$EXE" ${BEFORE:+"$BEFORE"}
{
  echo
  echo "\`--help\` and \`version\` never load the API client, and \`status\` of a user with a token or certificate loads"
  echo "nothing of @kubernetes/client-node (checked by \`test/package/executable.test.ts\`). Every platform's executable"
  echo "carries the same SEA blob, without a V8 code cache (only valid on the platform that made it, and under the V8"
  echo "hash seed of the run that made it: see scripts/package.sh), and runs with \`--max-semi-space-size=4 --no-opt\`."
  echo "The two patches of a switch by hand (the selector, then the record) and the six of three apps run one after"
  echo "the other. The test bed's API server is reached through its forwarder (\`test/testbed/forward.ts\`), which sets"
  echo "TCP_NODELAY on both sides since 2026-12-06; before that it held back the end of every answer larger than a TCP"
  echo "segment until the client acknowledged the rest (Nagle's algorithm against delayed ACK), about 40 ms on such an"
  echo "answer for kubectl and the plugin alike, so figures of earlier runs are higher and their ratios lower."
  echo "Commands run without NODE_EXTRA_CA_CERTS, as on a user's machine; where it was set for the run, the row"
  echo "\"(NODE_EXTRA_CA_CERTS set)\" shows the plugin with it (Node reads that file into its first TLS context)."
  echo "\"node: … (floor)\" is the pinned Node with the executable's V8 flags doing nothing but the four lists of"
  echo "\`status APP\` over one HTTPS agent (the program is in \`test/testbed/bench-startup.ts\`): what any Node.js"
  echo "program pays for that read, before the plugin's own code."
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
