#!/usr/bin/env bash
# The main job, end to end, on the local test bed: the tutorial app (namespace blue-green, Deployments
# myapp-v1 and myapp-v2 with 3 replicas each, both running registry.example/myapp:v1, Service myapp on
# version v1), then a whole release through the plugin — status, deploy v2 into the idle slot, status, diff,
# promote with a probe, status, scale-down of the old slot, abort (which scales it back and switches), status —
# each command shown with its output.
#
# From a fresh clone it sets itself up (Node.js, npm dependencies, build, test bed binaries).
# It stops the test bed afterwards if it started it; BLUEGREEN_DEMO_KEEP=1 leaves it running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

demo_start

# A fresh tutorial app every run: myapp-v2 is the idle slot, still on the previous release (v1).
kubectl delete namespace blue-green --ignore-not-found --wait=true >/dev/null
kubectl apply -f scripts/demo/tutorial.yaml
kubectl rollout status deployment/myapp-v1 -n blue-green --timeout=2m
kubectl rollout status deployment/myapp-v2 -n blue-green --timeout=2m
# Plain promote's evidence is the ReplicaSets' creation times, one second apart at best: on a warm test bed the
# deploy below can land in the same second as the live slot's ReplicaSet, and promote would (rightly) refuse.
sleep 1
# The probe goes through the API server's pod proxy, which needs the test bed's data plane (pods that answer).
probe=(--probe 8080/)
grep -qx 'DATAPLANE=on' "${BLUEGREEN_TESTBED_DIR:-$BLUEGREEN_ROOT/.testbed}/run/dataplane.env" 2>/dev/null || { probe=(); echo "(data plane off: promote runs without --probe)"; }

demo_run kubectl bluegreen status myapp -n blue-green
demo_run kubectl bluegreen deploy myapp -n blue-green --image registry.example/myapp:v2
demo_run kubectl bluegreen status myapp -n blue-green
demo_run kubectl bluegreen diff myapp -n blue-green
demo_run kubectl bluegreen promote myapp -n blue-green "${probe[@]}"
demo_run kubectl bluegreen status myapp -n blue-green
demo_run kubectl bluegreen scale-down myapp -n blue-green --delay 5s
demo_run kubectl bluegreen abort myapp -n blue-green
demo_run kubectl bluegreen status myapp -n blue-green -o wide
