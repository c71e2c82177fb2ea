#!/usr/bin/env bash
# The main job, end to end, on the local test bed: the tutorial app (namespace blue-green, Deployments
# myapp-v1 and myapp-v2 with 3 replicas each, Service myapp on version v1), then
# status, diff, promote, status, abort, status — each command shown with its output.
#
# From a fresh clone it sets itself up (Node.js, npm dependencies, build, test bed binaries).
# It stops the test bed afterwards if it started it; BLUEGREEN_DEMO_KEEP=1 leaves it running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

ensure_deps
npm run --silent build
testbed_use || die "could not start the test bed"
[ -n "${BLUEGREEN_DEMO_KEEP:-}" ] || trap testbed_release EXIT
eval "$(bash scripts/testbed.sh env)"
export PATH="$BLUEGREEN_ROOT/bin:$PATH"

# A fresh tutorial app every run.
kubectl delete namespace blue-green --ignore-not-found --wait=true >/dev/null
# v1 and its Service first, v2 later — as in a real release, so the ReplicaSets show v2 as the newer
# version (both in the same second would be no evidence either way, and plain promote would refuse).
kubectl apply -f scripts/demo/tutorial.yaml -l 'version!=v2'
kubectl rollout status deployment/myapp-v1 -n blue-green --timeout=2m
sleep 1
kubectl apply -f scripts/demo/tutorial.yaml -l 'version=v2'
kubectl rollout status deployment/myapp-v2 -n blue-green --timeout=2m

run() {
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  local rc=0
  "$@" || rc=$?
  printf '(exit %d)\n' "$rc"
}

run kubectl bluegreen status myapp -n blue-green
run kubectl bluegreen diff myapp -n blue-green
run kubectl bluegreen promote myapp -n blue-green
run kubectl bluegreen status myapp -n blue-green
run kubectl bluegreen abort myapp -n blue-green
run kubectl bluegreen status myapp -n blue-green -o wide
