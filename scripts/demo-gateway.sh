#!/usr/bin/env bash
# The Gateway API layout, end to end, on the local test bed and through its real gateway (Traefik): two slot
# Services and an HTTPRoute that chooses between them by weight (scripts/demo/gateway.yaml), then a release —
# status, deploy web:2 into the idle slot, promote (the route's weights move 100/0 → 0/100, verified by what the
# gateway reports), requests through the gateway answered by the new slot, the route as it is now (the /docs rule
# untouched), abort, and requests answered by the old slot again — each command shown with its output.
#
# From a fresh clone it sets itself up like scripts/demo.sh. It stops the test bed afterwards if it started it;
# BLUEGREEN_DEMO_KEEP=1 leaves it running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BLUEGREEN_ROOT"

demo_start
kubectl get gateway testbed -n gateway-system >/dev/null 2>&1 || die "the test bed runs without its gateway (it needs the data plane): see README, The test bed"

kubectl delete namespace gateway-demo --ignore-not-found --wait=true >/dev/null
kubectl apply -f scripts/demo/gateway.yaml
kubectl rollout status deployment/web-blue -n gateway-demo --timeout=2m
kubectl rollout status deployment/web-green -n gateway-demo --timeout=2m
# Plain promote's evidence is the ReplicaSets' creation times, one second apart at best (see scripts/demo.sh).
sleep 1
kubectl wait httproute/web -n gateway-demo --for=jsonpath='{.status.parents[0].conditions[?(@.type=="ResolvedRefs")].status}'=True --timeout=1m >/dev/null
address="$(kubectl get gateway testbed -n gateway-system -o jsonpath='{.status.addresses[0].value}'):$(kubectl get gateway testbed -n gateway-system -o jsonpath='{.spec.listeners[0].port}')"

# Three requests through the gateway, as a client in the test bed's network namespace sends them.
through_gateway() {
  local i
  printf '\n\033[1m$ curl -H "Host: web.demo.example" http://%s/  (3 times, through the gateway)\033[0m\n' "$address"
  for i in 1 2 3; do bash scripts/testbed.sh exec -- curl -s --max-time 3 -H "Host: web.demo.example" "http://$address/"; done
}

demo_run kubectl bluegreen status web -n gateway-demo
through_gateway
demo_run kubectl bluegreen deploy web -n gateway-demo --image registry.example/web:2
demo_run kubectl bluegreen promote web -n gateway-demo
through_gateway
demo_run kubectl get httproute web -n gateway-demo -o jsonpath='{range .spec.rules[*]}{.matches[0].path.value} → {range .backendRefs[*]}{.name}:{.weight} {end}{"\n"}{end}'
demo_run kubectl bluegreen status web -n gateway-demo
demo_run kubectl bluegreen abort web -n gateway-demo
through_gateway
