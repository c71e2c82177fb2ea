#!/usr/bin/env bash
# scripts/bench-startup.sh — how fast the packaged plugin starts, next to kubectl doing similar work.
#
#   scripts/bench-startup.sh        (after scripts/package.sh)
#
# Runs, in one hyperfine run (warm-up runs first, then BLUEGREEN_BENCH_RUNS timed runs each, default 20):
# the linux/amd64 executable from dist/bin with --help, version --client and status of an app on the
# test bed (directly and as `kubectl bluegreen`), the same bundle run by plain node, and for comparison
# `kubectl version --client` and `kubectl get deploy,svc -l app=bench`. Writes the medians to
# BENCHMARKS.md with the machine, the archive sizes and the command that produced them.
#
# The app: namespace bench, Deployments bench-v1 and bench-v2 (labels app=bench, version=v1|v2) and
# Service bench selecting version v1, created (or updated) with kubectl. The test bed is used when it
# is up (scripts/testbed.sh status), else started and stopped again here.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

RUNS="${BLUEGREEN_BENCH_RUNS:-20}"
WARMUP=3
EXE="$BLUEGREEN_ROOT/dist/bin/linux_amd64/kubectl-bluegreen"
[ "$(node_platform)" = linux-x64 ] || die "the benchmark runs the linux/amd64 executable; this machine is $(node_platform)."
[ -x "$EXE" ] || die "$EXE is missing: run scripts/package.sh first."
ensure_node
ensure_command hyperfine hyperfine
command -v kubectl >/dev/null || die "kubectl is needed on PATH."

WORK="$(mktemp -d)"
cleanup() {
  testbed_release
  rm -rf "$WORK"
}
trap cleanup EXIT

testbed_use || die "could not start the test bed"
eval "$(bash scripts/testbed.sh env)"
export KUBECONFIG

log "creating the app bench in namespace bench"
deployment() { # deployment SLOT
  cat <<EOF
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: bench-$1, namespace: bench, labels: { app: bench, version: $1 } }
spec:
  replicas: 2
  selector: { matchLabels: { app: bench, version: $1 } }
  template:
    metadata: { labels: { app: bench, version: $1 } }
    spec: { containers: [{ name: app, image: "registry.example/bench:$1" }] }
EOF
}
{
  kubectl create namespace bench --dry-run=client -o yaml
  deployment v1
  deployment v2
  cat <<'EOF'
---
apiVersion: v1
kind: Service
metadata: { name: bench, namespace: bench, labels: { app: bench } }
spec:
  selector: { app: bench, version: v1 }
  ports: [{ port: 80, targetPort: 8080 }]
EOF
} | kubectl apply -f - >/dev/null
kubectl -n bench rollout status deployment/bench-v1 --timeout=120s >/dev/null
kubectl -n bench rollout status deployment/bench-v2 --timeout=120s >/dev/null
"$EXE" status bench -n bench >/dev/null || die "kubectl-bluegreen status bench -n bench failed"

log "benchmarking: $WARMUP warm-up runs, then $RUNS runs of each command"
load="$(cut -d' ' -f1-3 /proc/loadavg)" # other work on the machine skews the numbers: say how busy it was
# -N: no shell in between; the plugin's directory first on PATH for `kubectl bluegreen`.
PATH="$(dirname "$EXE"):$PATH" hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
  --export-json "$WORK/bench.json" \
  -n "kubectl-bluegreen --help" "$EXE --help" \
  -n "kubectl-bluegreen version --client" "$EXE version --client" \
  -n "kubectl-bluegreen status bench -n bench" "$EXE status bench -n bench" \
  -n "kubectl bluegreen status bench -n bench" "kubectl bluegreen status bench -n bench" \
  -n "node dist/sea/kubectl-bluegreen.cjs --help (same bundle, no SEA)" "$(command -v node) dist/sea/kubectl-bluegreen.cjs --help" \
  -n "kubectl version --client" "kubectl version --client" \
  -n "kubectl get deploy,svc -l app=bench -n bench" "kubectl get deploy,svc -l app=bench -n bench" >&2

cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
kubectl_version="$(kubectl version --client -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).clientVersion.gitVersion))')"
plugin_version="$("$EXE" version --client)"
{
  cat <<EOF
## Start-up

Produced by \`scripts/bench-startup.sh\` (after \`scripts/package.sh\`) on $(date -u +%Y-%m-%d):
hyperfine $(hyperfine --version | cut -d' ' -f2), $WARMUP warm-up runs, then $RUNS runs of each command, no shell in
between (\`hyperfine -N\`). The cluster is the local test bed (\`scripts/testbed.sh\`: kube-apiserver on
127.0.0.1, with kwok's fake nodes) holding namespace bench with Deployments bench-v1 and bench-v2 and
Service bench; \`kubectl-bluegreen\` is \`dist/bin/linux_amd64/kubectl-bluegreen\` ($plugin_version).

Machine: $(nproc) CPUs ($cpu), $(uname -sr), load average $load when the run began; kubectl $kubectl_version.

| Command | Median | Mean ± σ | Min | Max |
|---|---:|---:|---:|---:|
EOF
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
    const ms = (s) => `${(s * 1000).toFixed(1)} ms`;
    for (const x of r) console.log(`| \`${x.command}\` | **${ms(x.median)}** | ${ms(x.mean)} ± ${(x.stddev * 1000).toFixed(1)} | ${ms(x.min)} | ${ms(x.max)} |`);
  ' "$WORK/bench.json"
  cat <<EOF

The linux/amd64 executable embeds V8's code cache for the bundle; the other platforms' executables do
not (the cache is only valid on the platform that made it), so they start like the \`node dist/...\`
row. \`--help\` and \`version\` never load @kubernetes/client-node (checked by \`scripts/test-package.sh\`).

Release archives (\`scripts/package.sh\`):

| Archive | Size |
|---|---:|
EOF
  for f in dist/kubectl-bluegreen_*.tar.gz dist/kubectl-bluegreen_*.zip; do
    printf '| %s | %s |\n' "$(basename "$f")" "$(awk -v b="$(stat -c %s "$f")" 'BEGIN { printf "%.1f MiB", b / 1048576 }')"
  done
} > "$WORK/section.md"
bench_section startup "$WORK/section.md"
log "wrote the start-up section of BENCHMARKS.md"
cat "$WORK/section.md"
