#!/usr/bin/env bash
# scripts/testbed.sh — a real Kubernetes control plane on this machine, for the end-to-end tests.
#
#   scripts/testbed.sh up       build/fetch the binaries once (cached), start everything, wait until ready
#   scripts/testbed.sh down     stop exactly the processes `up` started and delete the cluster's data
#   scripts/testbed.sh env      print `export KUBECONFIG=...` and, with Prometheus, `export BLUEGREEN_PROMETHEUS_URL=...`
#                               (use: eval "$(scripts/testbed.sh env)")
#   scripts/testbed.sh status   show which components run; exit 0 if all do, 1 otherwise
#   scripts/testbed.sh kubectl  build kubectl of the control plane's version once (cached) and print its path
#   scripts/testbed.sh exec -- CMD...   run CMD inside the test bed's network namespace (the data plane),
#                               e.g. scripts/testbed.sh exec -- curl -s http://CLUSTER_IP/
#
# What runs: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake nodes whose
# pods become Running/Ready without containers), each a plain process bound to 127.0.0.1 only.
# Deployments really roll out: controllers create ReplicaSets, the scheduler binds pods, kwok marks them ready.
#
# The data plane: all of it runs in a network namespace of its own (`ip netns` as root, else
# `unshare --net --map-root-user`), where the pod CIDR and the service CIDR are local routes on lo. There,
# kube-proxy (nftables mode) programs ClusterIP → pod IP rules from EndpointSlices as on a node, and one
# server of ours (test/testbed/podserver.ts) answers HTTP on every pod IP as the pod that owns it. The host
# reaches the API server on 127.0.0.1:PORT through a forwarder and a unix socket across the namespace
# boundary; nothing binds or sends to an address outside the namespace but 127.0.0.1. When no namespace can
# be made (or BLUEGREEN_TESTBED_DATAPLANE=off), the control plane runs on the host's 127.0.0.1 as before,
# without kube-proxy and the pod server, and the data-plane tests are skipped ($STATE/run/dataplane.env says why).
#
# The gateway (with the data plane, unless BLUEGREEN_TESTBED_GATEWAY=off): Traefik (built from
# scripts/testbed/traefik) runs in the namespace as a Gateway API and Ingress controller, serving HTTP on the
# namespace's node address only: http://10.1.0.1:8000 (reach it with
# `exec -- curl -H 'Host: …' http://10.1.0.1:8000/`). `up` installs the Gateway API CRDs (standard channel:
# GatewayClass, Gateway, HTTPRoute, GRPCRoute, ReferenceGrant, BackendTLSPolicy) of the version Traefik is built
# against (also without the data plane), and makes
#   GatewayClass traefik     controllerName traefik.io/gateway-controller
#   Gateway gateway-system/testbed   one listener "web", HTTP, port 8000, routes from all namespaces; Traefik
#                            writes status.addresses = 10.1.0.1 and the routes' status.parents
#   IngressClass traefik     controller traefik.io/ingress-controller (Ingresses with ingressClassName: traefik;
#                            Traefik writes their status.loadBalancer.ingress = 10.1.0.1)
# Traefik routes straight to the ready pod IPs of a Service's EndpointSlices (not through the ClusterIP), weighted
# round-robin across an HTTPRoute's backendRefs. A change applies within about 0.1 s (providersThrottleDuration
# 100ms instead of 2 s; measured here: a route's status.parents reaches the new observedGeneration 30-45 ms after
# the write, the first request on the new backend 55-170 ms after it: status comes before the data plane). Each
# status write of Traefik's changes the route's resourceVersion (only when the status changes). A backendRef to a
# missing Service or port: ResolvedRefs=False reason BackendNotFound, and its share of requests gets 500; a
# Service without ready endpoints: 503; an Ingress path to a missing or empty Service is dropped: 404.
# Its ping and API (/api/rawdata, no dashboard) answer on the namespace's 127.0.0.1:PORT_TRAEFIK (ports.env); its
# log is logs/traefik.log. A pod declaring containerPort 8000 cannot be played by the pod server (Traefik's port).
# Its Prometheus metrics (per entry point and per service: traefik_service_requests_total{service, code, method,
# protocol}, …) answer on an entry point of their own, the namespace's 127.0.0.1:PORT_TRAEFIK_METRICS/metrics.
#
# Prometheus (with the gateway, unless BLUEGREEN_TESTBED_PROMETHEUS=off; built from scripts/testbed/prometheus)
# runs in the namespace and scrapes Traefik's metrics every second (job "traefik"); its TSDB is data/prometheus,
# its log logs/prometheus.log. It listens on the namespace's 127.0.0.1:PORT_PROMETHEUS only, and is reached
#   from the host        http://127.0.0.1:PORT_PROMETHEUS (a forwarder pair as for the API server), printed by
#                        `env` as BLUEGREEN_PROMETHEUS_URL
#   through the API      the Service monitoring/prometheus (port 9090), whose one endpoint is Pod
#                        monitoring/prometheus (kwok makes it Ready and gives it a pod IP): the API server's service
#                        proxy only goes to addresses of pods (v1 Endpoints with a targetRef to a pod owning the IP),
#                        and an nftables rule of ours in the namespace redirects that pod IP's (and the Service's
#                        ClusterIP's) port 9090 to Prometheus, the way kube-proxy redirects a ClusterIP to a pod:
#                        kubectl get --raw '/api/v1/namespaces/monitoring/services/prometheus:9090/proxy/api/v1/query?query=up'
#
# The kubeconfig ($BLUEGREEN_TESTBED_DIR/kubeconfig) has two contexts:
#   admin   (current) client certificate in group system:masters, namespace default
#   viewer  bearer token of user "viewer", allowed only get/list/watch on deployments, replicasets, services,
#           endpointslices
#
# Environment:
#   BLUEGREEN_TESTBED_CACHE   binaries cache, outside the clone so fresh clones and CI reuse it
#                             (default: $BLUEGREEN_CACHE/testbed, i.e. ~/.cache/kubectl-bluegreen/testbed)
#   BLUEGREEN_TESTBED_DIR     state: certificates, etcd data, logs, pids, kubeconfig (default: <repo>/.testbed)
#   BLUEGREEN_TESTBED_APISERVER_PORT, BLUEGREEN_TESTBED_ETCD_PORT, BLUEGREEN_TESTBED_ETCD_PEER_PORT,
#   BLUEGREEN_TESTBED_CONTROLLER_MANAGER_PORT, BLUEGREEN_TESTBED_SCHEDULER_PORT, BLUEGREEN_TESTBED_KWOK_PORT,
#   BLUEGREEN_TESTBED_TRAEFIK_PORT, BLUEGREEN_TESTBED_TRAEFIK_METRICS_PORT, BLUEGREEN_TESTBED_PROMETHEUS_PORT
#                             fixed ports on 127.0.0.1 (up fails if one is busy); unset: a free port is picked at `up`
#   BLUEGREEN_TESTBED_NODES   number of fake nodes (default 2)
#   BLUEGREEN_TESTBED_DATAPLANE  auto (default: a namespace if one can be made), netns, unshare, or off
#   BLUEGREEN_TESTBED_GATEWAY    on (default: Traefik runs with the data plane) or off (not built, not started)
#   BLUEGREEN_TESTBED_PROMETHEUS on (default: Prometheus runs with the gateway) or off (not built, not started)
#
# Building the binaries the first time needs Go >= 1.24 (kube-apiserver, kube-controller-manager,
# kube-scheduler, kube-proxy from the Go module in scripts/testbed/k8s; etcd from the one in
# scripts/testbed/etcd; kwok with `go install`) and Go >= 1.25 for Traefik (from the one in
# scripts/testbed/traefik, about 8 minutes cold on 2 cores) and Go >= 1.26.7 for Prometheus (from the one in
# scripts/testbed/prometheus, about 2.5 minutes cold), all through the Go module proxy; the Gateway API
# CRDs are copied from the module cache (`go mod download`). With a warm cache only kubectl, openssl and curl
# are needed, plus for the data plane iproute2 (or util-linux's unshare/nsenter), Debian's nftables (installed
# when missing, as root) and Node.js.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

K8S_MODULE_DIR="$BLUEGREEN_ROOT/scripts/testbed/k8s"
# The Kubernetes version is the one the wrapper module requires: a single source of truth.
K8S_VERSION="$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$K8S_MODULE_DIR/go.mod")"
KWOK_VERSION="v0.7.0"
# etcd is built from its Go module; the version is the one the wrapper module requires.
ETCD_MODULE_DIR="$BLUEGREEN_ROOT/scripts/testbed/etcd"
ETCD_VERSION="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$ETCD_MODULE_DIR/go.mod")"
# Traefik (the gateway) is built from its Go module; the Gateway API CRDs come from the gateway-api module
# version Traefik's build list has (both read from the wrapper module, which copies Traefik's requirements).
TRAEFIK_MODULE_DIR="$BLUEGREEN_ROOT/scripts/testbed/traefik"
TRAEFIK_VERSION="$(awk '$1 == "github.com/traefik/traefik/v3" { print $2; exit }' "$TRAEFIK_MODULE_DIR/go.mod")"
GATEWAY_API_VERSION="$(awk '$1 == "sigs.k8s.io/gateway-api" { print $2; exit }' "$TRAEFIK_MODULE_DIR/go.mod")"
# Prometheus is built from its Go module too. Its module versions map to releases as v0.3MM.P → v3.MM.P.
PROMETHEUS_MODULE_DIR="$BLUEGREEN_ROOT/scripts/testbed/prometheus"
PROMETHEUS_MODULE_VERSION="$(awk '$1 == "github.com/prometheus/prometheus" { print $2; exit }' "$PROMETHEUS_MODULE_DIR/go.mod")"
PROMETHEUS_VERSION="$(echo "$PROMETHEUS_MODULE_VERSION" | awk -F. '{ printf "v%d.%d.%s", $2 / 100, $2 % 100, $3 }')"
GO_MIN_MINOR=24

CACHE_ROOT="${BLUEGREEN_TESTBED_CACHE:-$BLUEGREEN_CACHE/testbed}"
BIN_DIR="$CACHE_ROOT/$K8S_VERSION"            # kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy
KWOK_DIR="$BIN_DIR/kwok-$KWOK_VERSION"         # kwok
ETCD_DIR="$CACHE_ROOT/etcd-$ETCD_VERSION"       # etcd
TRAEFIK_DIR="$CACHE_ROOT/traefik-$TRAEFIK_VERSION"  # traefik
GATEWAY_API_DIR="$CACHE_ROOT/gateway-api-$GATEWAY_API_VERSION"  # standard-channel CRDs (*.yaml)
PROMETHEUS_DIR="$CACHE_ROOT/prometheus-$PROMETHEUS_VERSION"  # prometheus
STATE="${BLUEGREEN_TESTBED_DIR:-$BLUEGREEN_ROOT/.testbed}"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
PKI="$STATE/pki"
DATA="$STATE/data"
LOGS="$STATE/logs"
RUN="$STATE/run"                               # <component>.pid
PORTS_FILE="$STATE/ports.env"                  # ports of the current (or last) run
KUBECONFIG_FILE="$STATE/kubeconfig"            # for people and tests: admin + viewer contexts
ADMIN_KUBECONFIG="$PKI/admin.kubeconfig"       # for the components and this script: admin only, never edited by tests

DATAPLANE_FILE="$RUN/dataplane.env"            # DATAPLANE=on|off, DATAPLANE_REASON, NETNS_MODE, NETNS_NAME, GATEWAY=on|off,
                                               # PROMETHEUS=on|off
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy)

# Start order; `down` stops in reverse. The data-plane components run only when the namespace could be made:
#   netns-holder   (unshare mode only) the process that keeps the namespace alive
#   api-forward-in inside: unix socket $RUN/api.sock → the API server on the namespace's 127.0.0.1
#   api-forward    on the host: 127.0.0.1:PORT → $RUN/api.sock, so kubeconfigs keep pointing at 127.0.0.1
#   traefik        inside: the gateway (Gateway API and Ingress), on NODE_ADDR:GATEWAY_PORT
#   prometheus     inside: scrapes traefik; prometheus-forward-in and prometheus-forward join it to the host as the
#                  api-forward pair does the API server
ALL_COMPONENTS=(netns-holder etcd kube-apiserver api-forward-in api-forward kube-controller-manager kube-scheduler kwok kube-proxy podserver traefik
  prometheus prometheus-forward-in prometheus-forward)
CONTROL_PLANE=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
COMPONENTS=("${CONTROL_PLANE[@]}")
SERVICE_CIDR="10.96.0.0/16"
SERVICE_FIRST_IP="10.96.0.1"                   # ClusterIP of the `kubernetes` Service: in the serving cert
POD_CIDR="10.0.0.1/16"                         # kwok hands pod IPs out of it; /16 so long test runs never run dry
POD_NET="10.0.0.0/16"                          # the same range as a network: routed locally in the namespace
NODE_ADDR="10.1.0.1"                           # the namespace's "node address" on lo: kube-proxy masquerades to it
GATEWAY_PORT=8000                              # Traefik's entry point "web" on NODE_ADDR = the Gateway's listener port
GATEWAY_NS="gateway-system"; GATEWAY_NAME="testbed"; GATEWAY_CLASS="traefik"; INGRESS_CLASS="traefik"
PROMETHEUS_NS="monitoring"; PROMETHEUS_NAME="prometheus"  # the Service (and the Pod that is its endpoint)
PROMETHEUS_SERVICE_PORT=9090                   # the Service's port and its endpoint's (redirected to PORT_PROMETHEUS)
PROMETHEUS_SCRAPE_INTERVAL=1s
DATAPLANE_WANT="${BLUEGREEN_TESTBED_DATAPLANE:-auto}"
GATEWAY_WANT="${BLUEGREEN_TESTBED_GATEWAY:-on}"
PROMETHEUS_WANT="${BLUEGREEN_TESTBED_PROMETHEUS:-on}"
DATAPLANE=off; DATAPLANE_REASON="not started"; NETNS_MODE=""; NETNS_NAME=""; GATEWAY=off; PROMETHEUS=off
NODES="${BLUEGREEN_TESTBED_NODES:-2}"

# ---------------------------------------------------------------------------------------------------
# small helpers

have() { command -v "$1" >/dev/null 2>&1; }

# kc: kubectl as the cluster admin, against the running test bed.
kc() { kubectl --kubeconfig "$ADMIN_KUBECONFIG" --request-timeout=15s "$@"; }

# port_busy PORT: true when something listens on PORT (any address), read from the kernel's tables.
port_busy() {
  local hex
  hex="$(printf '%04X' "$1")"
  # Column 2 is local address:port in hex, column 4 the state; 0A = LISTEN.
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p="$hex" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == p) found = 1 } END { exit !found }'
}

# pick_port VAR NAME: sets VAR to the port from env BLUEGREEN_TESTBED_<NAME> (must be free); else to the
# port of the previous run if it is free again (a restarted test bed keeps its address); else to a free one
# in 20000-31999 (below Linux's default ephemeral range, so outgoing connections don't hold it).
PICKED=" "
pick_port() {
  local var="$1" name="$2" env="BLUEGREEN_TESTBED_$2" port tries=0 previous="${!1:-}"
  port="${!env:-}"
  if [ -n "$port" ]; then
    [[ "$port" =~ ^[0-9]+$ ]] || die "$env=$port is not a port number"
    port_busy "$port" && die "port $port ($env) is busy on this machine; free it or choose another port with $env=..."
  elif [ -n "$previous" ] && ! port_busy "$previous" && [[ "$PICKED" != *" $previous "* ]]; then
    port="$previous"
  else
    while :; do
      port=$((20000 + RANDOM % 12000))
      if ! port_busy "$port" && [[ "$PICKED" != *" $port "* ]]; then break; fi
      tries=$((tries + 1)); [ "$tries" -lt 200 ] || die "found no free port for $name"
    done
  fi
  PICKED+="$port "
  printf -v "$var" '%s' "$port"
}

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# running NAME: true when the recorded pid of NAME is alive and still is that program (pids get reused).
running() {
  local pid exe
  pid="$(pid_of "$1")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [ "$(basename "${exe% (deleted)}")" = "$(program_of "$1")" ]
}

# program_of NAME: the executable's file name a running NAME has (pids are checked against it).
program_of() {
  case "$1" in
    api-forward|api-forward-in|prometheus-forward|prometheus-forward-in|podserver) echo node ;;
    netns-holder) echo sleep ;;
    *) echo "$1" ;;
  esac
}

binary_of() {
  case "$1" in
    kwok) echo "$KWOK_DIR/kwok" ;;
    etcd) echo "$ETCD_DIR/etcd" ;;
    traefik) echo "$TRAEFIK_DIR/traefik" ;;
    prometheus) echo "$PROMETHEUS_DIR/prometheus" ;;
    api-forward|api-forward-in|prometheus-forward|prometheus-forward-in|podserver) command -v node ;;
    netns-holder) command -v unshare ;;
    *) echo "$BIN_DIR/$1" ;;
  esac
}

show_log() {
  echo "--- last lines of $LOGS/$1.log:" >&2
  tail -n 25 "$LOGS/$1.log" >&2 2>/dev/null || true
}

# wait_until WHAT SECONDS COMPONENT CMD...: polls CMD every 0.5 s; fails early when any started component
# died, and shows the log of COMPONENT (the one expected to make CMD succeed) on a timeout.
wait_until() {
  local what="$1" secs="$2" comp="$3"; shift 3
  local deadline=$((SECONDS + secs)) c
  until "$@" >/dev/null 2>&1; do
    for c in "${ALL_COMPONENTS[@]}"; do
      if [ -f "$RUN/$c.pid" ] && ! running "$c"; then
        show_log "$c"; die "$c exited while waiting for $what"
      fi
    done
    [ "$SECONDS" -lt "$deadline" ] || { [ -z "$comp" ] || show_log "$comp"; die "timed out after ${secs}s waiting for $what"; }
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------------------------------
# binaries: built or fetched once into the cache, each file moved into place only when complete

# check_go [MINOR]: Go >= 1.MINOR (default GO_MIN_MINOR) is installed.
check_go() {
  local want="${1:-$GO_MIN_MINOR}"
  have go || die "Go >= 1.$want is needed once to build the test bed's binaries into $CACHE_ROOT; install Go (or point BLUEGREEN_TESTBED_CACHE to a filled cache)."
  local v minor
  v="$(GOTOOLCHAIN=local go env GOVERSION)"               # go1.26.8
  minor="$(echo "$v" | sed -E 's/^go1\.([0-9]+).*/\1/')"
  [[ "$minor" =~ ^[0-9]+$ ]] && [ "$minor" -ge "$want" ] \
    || die "Go >= 1.$want is needed to build the test bed's binaries, found $v; install a newer Go."
}

# build_kubernetes [BINARY...]: the control plane's binaries (K8S_BINARIES) or the ones named, from the wrapper module,
# built the way upstream builds releases (static, trimmed paths, same tags) and stamped with the version,
# so /version reports it instead of v0.0.0.
build_kubernetes() {
  local missing=() b want=("$@")
  [ $# -gt 0 ] || want=("${K8S_BINARIES[@]}")
  for b in "${want[@]}"; do [ -x "$BIN_DIR/$b" ] || missing+=("$b"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  check_go
  local minor tmp LDF p
  minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  LDF=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LDF+="-X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z "
  done
  LDF+="-s -w"
  mkdir -p "$BIN_DIR"
  tmp="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"
  log "building Kubernetes $K8S_VERSION: ${missing[*]} (first time: tens of minutes on 2 cores; Go caches the work)"
  local t0=$SECONDS pkgs=()
  for b in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  # -buildvcs=false: the clone's git state must not change the binaries (nor fail the build in a fresh repo).
  (cd "$K8S_MODULE_DIR" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -buildvcs=false -trimpath -tags selinux,notest,grpcnotrace \
      -ldflags "$LDF" -o "$tmp/" "${pkgs[@]}") \
    || { rm -rf "$tmp"; die "building the Kubernetes binaries failed (see above)"; }
  for b in "${missing[@]}"; do mv -f "$tmp/$b" "$BIN_DIR/$b"; done
  rm -rf "$tmp"
  log "built Kubernetes binaries in $((SECONDS - t0))s into $BIN_DIR"
}

# build_once NAME VERSION DIR BUILD: unless DIR/NAME is there, runs `BUILD OUT` (which leaves NAME in the
# fresh folder OUT) and moves the result into DIR.
build_once() {
  local name="$1" version="$2" dir="$3" build="$4" tmp t0=$SECONDS
  [ -x "$dir/$name" ] && return 0
  check_go
  mkdir -p "$CACHE_ROOT"
  tmp="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"
  log "building $name $version"
  "$build" "$tmp" || { rm -rf "$tmp"; die "building $name failed (see above)"; }
  mkdir -p "$dir" && mv -f "$tmp/$name" "$dir/$name"
  rm -rf "$tmp"
  log "built $name in $((SECONDS - t0))s"
}

# kwok: its documented install, with a private GOBIN.
go_install_kwok() {
  (cd "$1" && CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$1" go install -buildvcs=false -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
}
build_kwok() { build_once kwok "$KWOK_VERSION" "$KWOK_DIR" go_install_kwok; }

# etcd: from its Go module (scripts/testbed/etcd pins the version), like the Kubernetes binaries.
go_build_etcd() {
  (cd "$ETCD_MODULE_DIR" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3)
}
build_etcd() { build_once etcd "$ETCD_VERSION" "$ETCD_DIR" go_build_etcd; }

# traefik: from its Go module (scripts/testbed/traefik pins the version and copies its replace/exclude lines),
# stamped with its version as upstream's Makefile does (else `traefik version` and its log say "dev"). Its go.mod
# needs Go >= 1.25. A cold build takes about 8 minutes on 2 cores.
go_build_traefik() {
  (cd "$TRAEFIK_MODULE_DIR" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -buildvcs=false -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" -o "$1/traefik" github.com/traefik/traefik/v3/cmd/traefik)
}
build_traefik() {
  [ -x "$TRAEFIK_DIR/traefik" ] || check_go 25
  build_once traefik "$TRAEFIK_VERSION" "$TRAEFIK_DIR" go_build_traefik
}

# prometheus: from its Go module (scripts/testbed/prometheus pins it; Prometheus's go.mod has no replace lines),
# stamped with its version as upstream's .promu.yml does. Tags: netgo as upstream; remove_all_sd drops every
# service-discovery plugin but file and http (plugins/*.go; the test bed needs only static_configs); no
# builtinassets (the web UI's compiled assets are not in the module: the API and /-/ready are what is used).
go_build_prometheus() {
  (cd "$PROMETHEUS_MODULE_DIR" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -buildvcs=false -trimpath -tags netgo,remove_all_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v}" -o "$1/prometheus" github.com/prometheus/prometheus/cmd/prometheus)
}
build_prometheus() {
  [ -x "$PROMETHEUS_DIR/prometheus" ] || check_go 26
  build_once prometheus "$PROMETHEUS_VERSION" "$PROMETHEUS_DIR" go_build_prometheus
}

# fetch_gateway_crds: the standard channel's CRDs from the sigs.k8s.io/gateway-api module zip (the version in
# Traefik's build list), through the Go module cache, copied once into the cache folder.
fetch_gateway_crds() {
  [ -d "$GATEWAY_API_DIR" ] && return 0
  check_go
  local dir tmp
  dir="$(cd "$TRAEFIK_MODULE_DIR" && GOTOOLCHAIN=local go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\([^"]*\)".*/\1/p')"
  [ -n "$dir" ] && [ -d "$dir/config/crd/standard" ] || die "go mod download sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION gave no config/crd/standard"
  mkdir -p "$CACHE_ROOT"
  tmp="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"
  install -m 644 "$dir"/config/crd/standard/*.yaml "$tmp/" && chmod 755 "$tmp" && mv "$tmp" "$GATEWAY_API_DIR" \
    || { rm -rf "$tmp"; die "copying the Gateway API CRDs into $GATEWAY_API_DIR failed"; }
  log "Gateway API $GATEWAY_API_VERSION CRDs (standard channel) in $GATEWAY_API_DIR"
}

ensure_binaries() {
  build_kubernetes
  build_kwok
  build_etcd
  # The gateway runs only with the data plane; its CRDs are installed either way.
  if [ "$DATAPLANE_WANT" != off ] && [ "$GATEWAY_WANT" != off ]; then
    build_traefik
    if [ "$PROMETHEUS_WANT" != off ]; then build_prometheus; fi
  fi
  fetch_gateway_crds
}

# ---------------------------------------------------------------------------------------------------
# PKI: one CA signs the API server's serving cert and the admin client cert; the service-account key pair
# signs ServiceAccount tokens; the viewer authenticates with a static bearer token.

gen_pki() {
  rm -rf "$PKI"; mkdir -p "$PKI"; chmod 700 "$PKI"
  local o=(-days 3650)
  (
    cd "$PKI"
    openssl req -x509 -new -nodes -newkey rsa:2048 -keyout ca.key -out ca.crt "${o[@]}" \
      -subj "/CN=bluegreen-testbed-ca" 2>/dev/null
    # Serving cert: clients connect to 127.0.0.1 or localhost; in-cluster names for completeness.
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:$SERVICE_FIRST_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > apiserver.ext
    openssl req -new -nodes -newkey rsa:2048 -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt "${o[@]}" -extfile apiserver.ext 2>/dev/null
    # Admin: group system:masters is bound to cluster-admin by the bootstrap RBAC policy.
    printf '%s\n' "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth" > client.ext
    openssl req -new -nodes -newkey rsa:2048 -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt "${o[@]}" -extfile client.ext 2>/dev/null
    # ServiceAccount token signing key (RSA) and its public half for verification.
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # Static token file: token,user,uid,"groups". The viewer gets no group beyond system:authenticated.
    VIEWER_TOKEN="$(openssl rand -hex 24)"
    echo "$VIEWER_TOKEN,viewer,viewer-uid" > tokens.csv
    echo "$VIEWER_TOKEN" > viewer.token
    rm -f ./*.csr ./*.ext ./*.srl
  ) || die "generating certificates with openssl failed"
  chmod 600 "$PKI"/*
}

# write_kubeconfigs: the admin-only file for components, then the two-context file for users (moved into
# place whole, so a reader never sees half a file).
write_kubeconfigs() {
  local server="https://127.0.0.1:$PORT_API" f
  for f in "$ADMIN_KUBECONFIG" "$KUBECONFIG_FILE.tmp"; do
    rm -f "$f"
    kubectl config --kubeconfig "$f" set-cluster testbed --server "$server" --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
    kubectl config --kubeconfig "$f" set-credentials admin --client-certificate "$PKI/admin.crt" --client-key "$PKI/admin.key" --embed-certs >/dev/null
    kubectl config --kubeconfig "$f" set-context admin --cluster testbed --user admin --namespace default >/dev/null
    kubectl config --kubeconfig "$f" use-context admin >/dev/null
  done
  kubectl config --kubeconfig "$KUBECONFIG_FILE.tmp" set-credentials viewer --token "$(cat "$PKI/viewer.token")" >/dev/null
  kubectl config --kubeconfig "$KUBECONFIG_FILE.tmp" set-context viewer --cluster testbed --user viewer --namespace default >/dev/null
  chmod 600 "$ADMIN_KUBECONFIG" "$KUBECONFIG_FILE.tmp"
  mv -f "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
}

# ---------------------------------------------------------------------------------------------------
# components

# start NAME WHERE ARGS...: runs the cached binary NAME in its own session (so closing the terminal or the end
# of a CI step's process group does not take it down), stdout+stderr to logs/NAME.log. WHERE is "ns" (inside
# the data plane's network namespace, when there is one) or "host". The process writes its own pid before
# exec'ing the binary (`ip netns exec` and `nsenter` exec in place), so the recorded pid is exactly the component's.
start() {
  local name="$1" where="$2" bin wrap=(); shift 2
  [ "$where" = ns ] && wrap=("${NS_WRAP[@]}")
  bin="$(binary_of "$name")"
  rm -f "$RUN/$name.pid"
  # 9>&-: the component must not inherit the lock on $STATE/.lock, or it would hold it for its whole life.
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$RUN/$name.pid" "${wrap[@]}" "$bin" "$@" </dev/null >"$LOGS/$name.log" 2>&1 9>&- &
  disown   # not a job of this shell: no "Killed" notices, and it outlives the script
  local i
  for i in $(seq 50); do [ -s "$RUN/$name.pid" ] && break; sleep 0.1; done
  [ -s "$RUN/$name.pid" ] || die "$name did not start"
  log "started $name (pid $(pid_of "$name"))"
}

# https_ok URL: a health endpoint answers 200 (self-signed serving certs, so no verification). The
# components' health endpoints are on the namespace's loopback, so curl runs there.
https_ok() { in_ns curl -skf --max-time 2 "$1" >/dev/null; }
http_ok() { in_ns curl -sf --max-time 2 "$1" >/dev/null; }

start_etcd() {
  # Throwaway data: --unsafe-no-fsync trades durability for speed on a slow disk.
  start etcd ns --name testbed --data-dir "$DATA/etcd" \
    --listen-client-urls "http://127.0.0.1:$PORT_ETCD" --advertise-client-urls "http://127.0.0.1:$PORT_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$PORT_ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$PORT_ETCD_PEER" \
    --initial-cluster "testbed=http://127.0.0.1:$PORT_ETCD_PEER" --initial-cluster-state new \
    --unsafe-no-fsync --log-level warn
  wait_until "etcd health" 30 etcd http_ok "http://127.0.0.1:$PORT_ETCD/health"
}

start_apiserver() {
  # --endpoint-reconciler-type=none: the API server otherwise refuses a loopback --advertise-address.
  # --service-account-*: tokens for pods' ServiceAccounts; the signing key is required since 1.20.
  start kube-apiserver ns \
    --etcd-servers "http://127.0.0.1:$PORT_ETCD" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$PORT_API" \
    --endpoint-reconciler-type none \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" --token-auth-file "$PKI/tokens.csv" \
    --authorization-mode Node,RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --profiling=false --v 1
  if [ "$DATAPLANE" = on ]; then start_forwarders; fi
  wait_until "kube-apiserver /readyz" 90 kube-apiserver kc get --raw /readyz
}

start_controller_manager() {
  # --root-ca-file goes into every namespace's kube-root-ca.crt; --cluster-signing-* lets CSRs be signed.
  # Higher client QPS than the default 20 so many test namespaces don't queue behind each other.
  # --node-monitor-grace-period 1h: on a loaded 2-core machine kwok's node heartbeats can be late;
  # the default 50s would mark the fake nodes NotReady and their pods unready mid-test.
  start kube-controller-manager ns \
    --kubeconfig "$ADMIN_KUBECONFIG" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port "$PORT_KCM" \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --kube-api-qps 100 --kube-api-burst 200 \
    --node-monitor-grace-period 1h \
    --profiling=false --v 1
  wait_until "kube-controller-manager /healthz" 60 kube-controller-manager https_ok "https://127.0.0.1:$PORT_KCM/healthz"
}

start_scheduler() {
  start kube-scheduler ns \
    --kubeconfig "$ADMIN_KUBECONFIG" --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port "$PORT_SCHED" \
    --profiling=false --v 1
  wait_until "kube-scheduler /healthz" 60 kube-scheduler https_ok "https://127.0.0.1:$PORT_SCHED/healthz"
}

start_kwok() {
  # An empty --config keeps kwok from reading ~/.kwok/kwok.yaml; with no stages configured it uses its
  # defaults (nodes Ready with heartbeats, pods Running/Ready). --server-address: health endpoint on loopback.
  : > "$RUN/kwok.yaml"
  start kwok ns --kubeconfig "$ADMIN_KUBECONFIG" --config "$RUN/kwok.yaml" \
    --manage-all-nodes=true --server-address "127.0.0.1:$PORT_KWOK" --cidr "$POD_CIDR" --node-ip 127.0.0.1
  wait_until "kwok /healthz" 60 kwok http_ok "http://127.0.0.1:$PORT_KWOK/healthz"
}

# ---------------------------------------------------------------------------------------------------
# the data plane: a network namespace where pod and service addresses are local, kube-proxy, the pod server

# in_ns CMD...: runs CMD inside the test bed's network namespace (on the host when the data plane is off).
NS_WRAP=()
in_ns() { "${NS_WRAP[@]}" "$@"; }

write_dataplane() {
  mkdir -p "$RUN"
  {
    printf 'DATAPLANE=%q\n' "$DATAPLANE"
    printf 'DATAPLANE_REASON=%q\n' "$DATAPLANE_REASON"
    printf 'NETNS_MODE=%q\n' "$NETNS_MODE"
    printf 'NETNS_NAME=%q\n' "$NETNS_NAME"
    printf 'GATEWAY=%q\n' "$GATEWAY"
    printf 'PROMETHEUS=%q\n' "$PROMETHEUS"
  } > "$DATAPLANE_FILE"
}

# load_dataplane: what the last `up` decided; sets COMPONENTS and NS_WRAP to match. (A test bed started before
# there was a gateway has no GATEWAY line: it runs without Traefik, and status and exec still take it as up; the
# same for PROMETHEUS.)
load_dataplane() {
  DATAPLANE=off; DATAPLANE_REASON="the test bed is not running"; NETNS_MODE=""; NETNS_NAME=""; GATEWAY=off; PROMETHEUS=off
  # shellcheck disable=SC1090 # written by write_dataplane
  [ -f "$DATAPLANE_FILE" ] && source "$DATAPLANE_FILE"
  dataplane_components
}

dataplane_components() {
  COMPONENTS=("${CONTROL_PLANE[@]}")
  NS_WRAP=()
  case "$NETNS_MODE" in
    netns) NS_WRAP=(ip netns exec "$NETNS_NAME") ;;
    # nsenter without --preserve-credentials becomes the namespace's root, who may change its routes.
    unshare) NS_WRAP=(nsenter --target "$(pid_of netns-holder)" --user --net) ;;
  esac
  if [ "$DATAPLANE" = on ]; then
    COMPONENTS=(etcd kube-apiserver api-forward-in api-forward kube-controller-manager kube-scheduler kwok kube-proxy podserver)
    [ "$NETNS_MODE" = unshare ] && COMPONENTS=(netns-holder "${COMPONENTS[@]}")
    [ "$GATEWAY" = on ] && COMPONENTS+=(traefik)
    [ "$PROMETHEUS" = on ] && COMPONENTS+=(prometheus prometheus-forward-in prometheus-forward)
  fi
  return 0
}

# netns_make: a named namespace with `ip netns` (root). Its name is derived from the state dir, so a
# leftover of a crashed run of this test bed is recognised and replaced, and other test beds are left alone.
netns_make() {
  [ "$(id -u)" = 0 ] && have ip || return 1
  NETNS_NAME="bluegreen-testbed-$(printf '%s' "$STATE" | sha256sum | cut -c1-10)"
  ip netns del "$NETNS_NAME" 2>/dev/null || true
  ip netns add "$NETNS_NAME" 2>/dev/null || return 1
  NETNS_MODE=netns
}

# unshare_make: an unnamed namespace (with a user namespace, so no root is needed) kept alive by a sleeping
# process; the others join it with nsenter.
unshare_make() {
  have unshare && have nsenter && have ip || return 1
  unshare --net --map-root-user true 2>/dev/null || return 1
  NETNS_MODE=unshare
  start netns-holder host --net --map-root-user sleep infinity
}

netns_remove() {
  if [ "$NETNS_MODE" = netns ] && [ -n "$NETNS_NAME" ]; then ip netns del "$NETNS_NAME" 2>/dev/null || true; fi
}

# dataplane_setup: decides whether the data plane runs (BLUEGREEN_TESTBED_DATAPLANE), makes its namespace and
# routes the pod and service ranges locally in it. With auto, anything missing turns the data plane off with
# one line saying why; asked for explicitly, it is an error.
dataplane_setup() {
  DATAPLANE=off; NETNS_MODE=""; NETNS_NAME=""; NS_WRAP=(); GATEWAY=off; PROMETHEUS=off
  local why=""
  case "$GATEWAY_WANT" in on|off) ;; *) die "BLUEGREEN_TESTBED_GATEWAY=$GATEWAY_WANT: expected on or off" ;; esac
  case "$PROMETHEUS_WANT" in on|off) ;; *) die "BLUEGREEN_TESTBED_PROMETHEUS=$PROMETHEUS_WANT: expected on or off" ;; esac
  case "$DATAPLANE_WANT" in
    off) why="BLUEGREEN_TESTBED_DATAPLANE=off" ;;
    auto|netns|unshare) ;;
    *) die "BLUEGREEN_TESTBED_DATAPLANE=$DATAPLANE_WANT: expected auto, netns, unshare or off" ;;
  esac
  if [ -z "$why" ] && ! have nft && [ "$(id -u)" = 0 ] && have apt-get; then apt_install nftables; fi
  if [ -z "$why" ] && ! have nft; then why="nft is missing (kube-proxy's nftables mode needs Debian's nftables package)"; fi
  if [ -z "$why" ]; then
    if [ "$DATAPLANE_WANT" != unshare ] && netns_make; then :
    elif [ "$DATAPLANE_WANT" != netns ] && unshare_make; then :
    else why="no network namespace could be made (ip netns add needs root; unshare --net --map-root-user needs unprivileged user namespaces)"; fi
  fi
  if [ -n "$why" ]; then
    [ "$DATAPLANE_WANT" = auto ] || [ "$DATAPLANE_WANT" = off ] || die "the data plane ($DATAPLANE_WANT) cannot run: $why"
    DATAPLANE_REASON="$why"
    log "data plane off: $why; the control plane runs on the host's 127.0.0.1"
    write_dataplane
    return 0
  fi
  DATAPLANE=on; DATAPLANE_REASON=""; GATEWAY="$GATEWAY_WANT"
  # Prometheus scrapes the gateway: it runs only with it.
  if [ "$GATEWAY" = on ]; then PROMETHEUS="$PROMETHEUS_WANT"; fi
  dataplane_components
  # NODE_ADDR: kube-proxy masquerades connections from outside the pod CIDR to a ClusterIP (as ours are), and
  # masquerading needs an address of global scope on the outgoing device, lo; 127.0.0.1 is host scope.
  { in_ns ip link set lo up && in_ns ip addr add "$NODE_ADDR/32" dev lo \
      && in_ns ip route add local "$POD_NET" dev lo && in_ns ip route add local "$SERVICE_CIDR" dev lo; } \
    || die "routing $POD_NET and $SERVICE_CIDR locally inside the namespace failed"
  write_dataplane
  log "data plane: network namespace ${NETNS_NAME:-of pid $(pid_of netns-holder)} ($NETNS_MODE), $POD_NET and $SERVICE_CIDR local on its lo"
}

# start_forwarders: the host's 127.0.0.1:PORT_API reaches the API server inside the namespace through a unix socket.
start_forwarders() {
  local fwd="$BLUEGREEN_ROOT/test/testbed/forward.ts" sock="$RUN/api.sock"
  rm -f "$sock"
  start api-forward-in ns "$fwd" "unix:$sock" "tcp:127.0.0.1:$PORT_API"
  wait_until "the API forwarder's socket" 30 api-forward-in test -S "$sock"
  start api-forward host "$fwd" "tcp:127.0.0.1:$PORT_API" "unix:$sock"
}

start_kube_proxy() {
  # --conntrack-*=0: leave the kernel's conntrack settings as they are (they are not the namespace's to change).
  # --nodeport-addresses: NodePorts only on the namespace's node address.
  start kube-proxy ns --kubeconfig "$ADMIN_KUBECONFIG" --hostname-override kwok-node-0 \
    --proxy-mode nftables --cluster-cidr "$POD_NET" \
    --conntrack-max-per-core 0 --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0 \
    --healthz-bind-address "127.0.0.1:$PORT_KP_HEALTH" --metrics-bind-address "127.0.0.1:$PORT_KP_METRICS" \
    --nodeport-addresses "$NODE_ADDR/32" --v 1
  wait_until "kube-proxy /healthz" 60 kube-proxy http_ok "http://127.0.0.1:$PORT_KP_HEALTH/healthz"
}

start_podserver() {
  rm -f "$RUN/podserver.ready"
  start podserver ns "$BLUEGREEN_ROOT/test/testbed/podserver.ts" --server "https://127.0.0.1:$PORT_API" \
    --ca "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" --ready "$RUN/podserver.ready"
  wait_until "the pod server's first list of pods" 30 podserver test -s "$RUN/podserver.ready"
}

# ---------------------------------------------------------------------------------------------------
# the gateway: Gateway API CRDs, Traefik in the namespace, GatewayClass + Gateway + IngressClass

# install_gateway_crds: server-side (the HTTPRoute CRD is too large for client-side apply's annotation). `up` runs
# it in the background (its die ends only that subshell; `up` checks its exit status).
install_gateway_crds() {
  kc apply --server-side --force-conflicts -f "$GATEWAY_API_DIR" >/dev/null || die "applying the Gateway API CRDs failed"
  kc wait --for condition=Established --timeout 60s -f "$GATEWAY_API_DIR" >/dev/null || die "the Gateway API CRDs did not become Established"
}

create_gateway() {
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata: { name: $GATEWAY_NS }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: $GATEWAY_CLASS }
spec: { controllerName: traefik.io/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: $GATEWAY_NAME, namespace: $GATEWAY_NS }
spec:
  gatewayClassName: $GATEWAY_CLASS
  listeners:
    - { name: web, protocol: HTTP, port: $GATEWAY_PORT, allowedRoutes: { namespaces: { from: All } } }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: $INGRESS_CLASS }
spec: { controller: traefik.io/ingress-controller }
EOF
}

# gateway_ready: the Gateway is Accepted and Programmed and its status gives the node address.
gateway_ready() {
  local s
  s="$(kc -n "$GATEWAY_NS" get gateway "$GATEWAY_NAME" -o jsonpath='{.status.conditions[?(@.type=="Accepted")].status} {.status.conditions[?(@.type=="Programmed")].status} {.status.addresses[*].value}')"
  [ "$s" = "True True $NODE_ADDR" ]
}

# start_traefik: out of cluster with the admin kubeconfig (KUBERNETES_SERVICE_* emptied, so a test bed run inside
# a pod does not make it use that pod's cluster). Entry point "web" binds only NODE_ADDR; "traefik" (ping, API)
# only the namespace's loopback, and so does "metrics" (Prometheus metrics, with entry point and service labels).
# Throttles: the providers send each change at once (watch events coalesce while a configuration is built) and
# Traefik applies at most one per 100 ms (default 2 s).
start_traefik() {
  KUBECONFIG="$ADMIN_KUBECONFIG" KUBERNETES_SERVICE_HOST="" KUBERNETES_SERVICE_PORT="" start traefik ns \
    --global.checkNewVersion=false --global.sendAnonymousUsage=false --log.level=INFO --log.noColor=true \
    --entryPoints.web.address="$NODE_ADDR:$GATEWAY_PORT" --entryPoints.web.asDefault=true \
    --entryPoints.web.transport.lifeCycle.graceTimeOut=2s \
    --entryPoints.traefik.address="127.0.0.1:$PORT_TRAEFIK" \
    --ping=true --ping.entryPoint=traefik --api=true --api.insecure=true --api.dashboard=false \
    --entryPoints.metrics.address="127.0.0.1:$PORT_TRAEFIK_METRICS" \
    --metrics.prometheus=true --metrics.prometheus.entryPoint=metrics \
    --metrics.prometheus.addEntryPointsLabels=true --metrics.prometheus.addRoutersLabels=true \
    --metrics.prometheus.addServicesLabels=true \
    --providers.providersThrottleDuration=100ms \
    --providers.kubernetesgateway=true --providers.kubernetesgateway.throttleDuration=0s \
    --providers.kubernetesgateway.statusaddress.ip="$NODE_ADDR" \
    --providers.kubernetesingress=true --providers.kubernetesingress.throttleDuration=0s \
    --providers.kubernetesingress.ingressendpoint.ip="$NODE_ADDR"
  wait_until "traefik /ping" 60 traefik http_ok "http://127.0.0.1:$PORT_TRAEFIK/ping"
  wait_until "Gateway $GATEWAY_NS/$GATEWAY_NAME Programmed at $NODE_ADDR" 60 traefik gateway_ready
}

# ---------------------------------------------------------------------------------------------------
# Prometheus: in the namespace on its 127.0.0.1, scraping Traefik; reached from the host through a forwarder pair and
# from the API server's service proxy through Pod and Service monitoring/prometheus and an nftables redirect

# create_monitoring: the namespace first (its default ServiceAccount must exist before the Pod can be made), and the
# Service, whose endpoint the Pod becomes once kwok has made it Ready.
create_monitoring() {
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata: { name: $PROMETHEUS_NS }
---
apiVersion: v1
kind: Service
metadata: { name: $PROMETHEUS_NAME, namespace: $PROMETHEUS_NS }
spec:
  selector: { app.kubernetes.io/name: prometheus }
  ports: [{ name: web, port: $PROMETHEUS_SERVICE_PORT, targetPort: $PROMETHEUS_SERVICE_PORT }]
EOF
}

# create_prometheus_pod: the Pod that stands for the Prometheus process, so that the API server's service proxy, which
# goes only to an endpoint address that a pod of the namespace owns, has one. It declares no container port (the pod
# server leaves it alone); the Service's numeric targetPort gives the endpoint its port.
create_prometheus_pod() {
  wait_until "ServiceAccount default in namespace $PROMETHEUS_NS" 60 kube-controller-manager kc -n "$PROMETHEUS_NS" get serviceaccount default
  kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $PROMETHEUS_NAME
  namespace: $PROMETHEUS_NS
  labels: { app.kubernetes.io/name: prometheus }
  annotations: { testbed.kubectl-bluegreen.io/played-by: "the test bed's Prometheus process, in the data plane's namespace" }
spec:
  nodeName: kwok-node-0
  automountServiceAccountToken: false
  containers: [{ name: prometheus, image: "prom/prometheus:$PROMETHEUS_VERSION" }]
EOF
}

# prometheus_redirect: once kwok gave the Pod its IP, connections to that IP's (and the Service ClusterIP's) port
# PROMETHEUS_SERVICE_PORT go to Prometheus on the namespace's 127.0.0.1. A table of our own, on the output hook ahead
# of kube-proxy's (priority -100): the first NAT decision for a connection wins.
prometheus_redirect() {
  local ip="" cluster_ip
  wait_until "a pod IP for Pod $PROMETHEUS_NS/$PROMETHEUS_NAME" 60 kwok prometheus_pod_ip
  ip="$(prometheus_pod_ip)"
  cluster_ip="$(kc -n "$PROMETHEUS_NS" get service "$PROMETHEUS_NAME" -o jsonpath='{.spec.clusterIP}')"
  in_ns nft -f - <<EOF || die "adding the nftables redirect to Prometheus failed"
table ip bluegreen-testbed {
  chain prometheus {
    type nat hook output priority -110; policy accept;
    ip daddr { $ip, $cluster_ip } tcp dport $PROMETHEUS_SERVICE_PORT redirect to :$PORT_PROMETHEUS
  }
}
EOF
}

prometheus_pod_ip() {
  local ip
  ip="$(kc -n "$PROMETHEUS_NS" get pod "$PROMETHEUS_NAME" -o jsonpath='{.status.podIP}')"
  [ -n "$ip" ] && echo "$ip"
}

# start_prometheus: the configuration (Traefik's metrics every PROMETHEUS_SCRAPE_INTERVAL), the TSDB under data/,
# then the forwarder pair; ready when /-/ready answers on both sides of the namespace boundary.
start_prometheus() {
  local sock="$RUN/prometheus.sock" fwd="$BLUEGREEN_ROOT/test/testbed/forward.ts"
  cat > "$RUN/prometheus.yml" <<EOF
global:
  scrape_interval: $PROMETHEUS_SCRAPE_INTERVAL
  scrape_timeout: $PROMETHEUS_SCRAPE_INTERVAL
  evaluation_interval: $PROMETHEUS_SCRAPE_INTERVAL
scrape_configs:
  - job_name: traefik
    static_configs: [{ targets: ["127.0.0.1:$PORT_TRAEFIK_METRICS"] }]
EOF
  # --scrape.discovery-reload-interval: the scrape manager takes its targets after 200 ms instead of 5 s, so the first
  # scrape comes within a second of the start.
  start prometheus ns --config.file="$RUN/prometheus.yml" --storage.tsdb.path="$DATA/prometheus" \
    --web.listen-address="127.0.0.1:$PORT_PROMETHEUS" --scrape.discovery-reload-interval=200ms --log.level=warn
  rm -f "$sock"
  start prometheus-forward-in ns "$fwd" "unix:$sock" "tcp:127.0.0.1:$PORT_PROMETHEUS"
  wait_until "the Prometheus forwarder's socket" 30 prometheus-forward-in test -S "$sock"
  start prometheus-forward host "$fwd" "tcp:127.0.0.1:$PORT_PROMETHEUS" "unix:$sock"
  wait_until "prometheus /-/ready" 60 prometheus http_ok "http://127.0.0.1:$PORT_PROMETHEUS/-/ready"
  wait_until "prometheus /-/ready from the host" 30 prometheus-forward curl -sf --max-time 2 "http://127.0.0.1:$PORT_PROMETHEUS/-/ready"
}

# prometheus_scrapes_traefik: through the API server's service proxy, Prometheus answers that its last scrape of
# Traefik succeeded.
prometheus_scrapes_traefik() {
  kc get --raw "/api/v1/namespaces/$PROMETHEUS_NS/services/$PROMETHEUS_NAME:$PROMETHEUS_SERVICE_PORT/proxy/api/v1/query?query=up%7Bjob%3D%22traefik%22%7D" \
    | grep -q '"value":\[[0-9.]*,"1"\]'
}

# create_nodes: fake nodes for kwok to manage: schedulable (no taint), roomy, labelled type=kwok.
create_nodes() {
  local i
  for i in $(seq 0 $((NODES - 1))); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    type: kwok
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$i
    node-role.kubernetes.io/agent: ""
status:
  allocatable: { cpu: "64", memory: 256Gi, pods: "500" }
  capacity: { cpu: "64", memory: 256Gi, pods: "500" }
  nodeInfo: { architecture: amd64, operatingSystem: linux, kubeletVersion: fake, kubeProxyVersion: fake }
EOF
  done | kc apply -f - >/dev/null
}

# create_viewer_rbac: the viewer may read what the plugin reads and nothing else (no writes at all).
create_viewer_rbac() {
  kc apply -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: bluegreen-testbed-viewer
rules:
  - apiGroups: ["apps"]
    resources: ["deployments", "replicasets"]
    verbs: ["get", "list", "watch"]
  - apiGroups: [""]
    resources: ["services"]
    verbs: ["get", "list", "watch"]
  - apiGroups: ["discovery.k8s.io"]
    resources: ["endpointslices"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: bluegreen-testbed-viewer
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: bluegreen-testbed-viewer
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: viewer
EOF
}

nodes_ready() {
  local ready
  ready="$(kc get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$')"
  [ "$ready" -ge "$NODES" ]
}

# smoke_test: a 1-replica Deployment must become available: proves controllers, scheduler and kwok work.
smoke_test() {
  local ns="testbed-smoke-$RANDOM"
  kc create namespace "$ns" >/dev/null
  wait_until "ServiceAccount default in namespace $ns" 60 kube-controller-manager kc -n "$ns" get serviceaccount default
  kc -n "$ns" apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: { name: smoke }
spec:
  replicas: 1
  selector: { matchLabels: { app: smoke } }
  template:
    metadata: { labels: { app: smoke } }
    spec: { containers: [{ name: smoke, image: registry.example/smoke:v1, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: smoke }
spec: { selector: { app: smoke }, ports: [{ port: 80, targetPort: 8080 }] }
EOF
  if ! kc -n "$ns" wait deployment/smoke --for=jsonpath='{.status.availableReplicas}'=1 --timeout 90s >/dev/null; then
    kc -n "$ns" get deployment,replicaset,pod -o wide >&2 || true
    die "smoke test: Deployment smoke in $ns did not become available"
  fi
  if [ "$DATAPLANE" = on ]; then
    # The data plane: the Service's ClusterIP answers, through kube-proxy's rules, as the smoke pod.
    local ip
    ip="$(kc -n "$ns" get service smoke -o jsonpath='{.spec.clusterIP}')"
    wait_until "the smoke Service's ClusterIP $ip to answer" 60 kube-proxy smoke_answers "$ip" "$ns"
    if [ "$GATEWAY" = on ]; then gateway_smoke "$ns"; fi
  fi
  kc delete namespace "$ns" --wait=false >/dev/null
}

smoke_answers() { in_ns curl -sf --max-time 2 "http://$1/" | grep -q "\"namespace\":\"$2\""; }

# gateway_smoke NS: an HTTPRoute (for host NS.smoke.testbed) to the smoke Service: the Gateway accepts it and a
# request through http://NODE_ADDR:GATEWAY_PORT reaches the smoke pod. It goes with the namespace.
gateway_smoke() {
  local ns="$1" t0=$SECONDS
  kc -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: smoke }
spec:
  parentRefs: [{ name: $GATEWAY_NAME, namespace: $GATEWAY_NS }]
  hostnames: [$ns.smoke.testbed]
  rules: [{ backendRefs: [{ name: smoke, port: 80 }] }]
EOF
  wait_until "HTTPRoute $ns/smoke to be accepted by the Gateway" 30 traefik route_accepted "$ns" smoke
  wait_until "a request through the gateway to reach the smoke pod" 30 traefik gateway_answers "$ns.smoke.testbed" "$ns"
  log "gateway smoke test passed in $((SECONDS - t0))s"
}

route_accepted() {
  [ "$(kc -n "$1" get httproute "$2" -o jsonpath='{.status.parents[0].conditions[?(@.type=="Accepted")].status}')" = True ]
}

gateway_answers() { in_ns curl -sf --max-time 2 -H "Host: $1" "http://$NODE_ADDR:$GATEWAY_PORT/" | grep -q "\"namespace\":\"$2\""; }

write_ports() {
  cat > "$PORTS_FILE" <<EOF
PORT_ETCD=$PORT_ETCD
PORT_ETCD_PEER=$PORT_ETCD_PEER
PORT_API=$PORT_API
PORT_KCM=$PORT_KCM
PORT_SCHED=$PORT_SCHED
PORT_KWOK=$PORT_KWOK
PORT_KP_HEALTH=$PORT_KP_HEALTH
PORT_KP_METRICS=$PORT_KP_METRICS
PORT_TRAEFIK=$PORT_TRAEFIK
PORT_TRAEFIK_METRICS=$PORT_TRAEFIK_METRICS
PORT_PROMETHEUS=$PORT_PROMETHEUS
EOF
}

load_ports() {
  # shellcheck disable=SC1090 # written by write_ports
  [ -f "$PORTS_FILE" ] && source "$PORTS_FILE"
  return 0
}

# ---------------------------------------------------------------------------------------------------
# commands

# stop_all: TERM each recorded component (reverse start order), KILL after 5 s; only pids this script
# recorded and that still are the expected program. Then the cluster's data goes; binaries stay cached.
# The data plane's namespace goes last (call load_dataplane first when this is not the `up` that made it).
stop_all() {
  local i name pid _
  for ((i = ${#ALL_COMPONENTS[@]} - 1; i >= 0; i--)); do
    name="${ALL_COMPONENTS[$i]}"
    if running "$name"; then
      pid="$(pid_of "$name")"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
      if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
      log "stopped $name (pid $pid)"
    fi
    rm -f "$RUN/$name.pid"
  done
  netns_remove
  rm -rf "$DATA" "$RUN"
}

any_running() {
  local name
  for name in "${ALL_COMPONENTS[@]}"; do running "$name" && return 0; done
  return 1
}

all_running() {
  local name
  for name in "${COMPONENTS[@]}"; do running "$name" || return 1; done
  return 0
}

check_prerequisites() {
  have kubectl || die "kubectl is needed (to set up the test bed and by the tests); install it and put it on PATH."
  have openssl || die "openssl is needed to make the test bed's certificates; install it (Debian: apt-get install openssl)."
  have curl || die "curl is needed for the components' health checks; install it (Debian: apt-get install curl)."
  have setsid || die "setsid (util-linux) is needed to run the components in the background."
  have flock || die "flock (util-linux) is needed."
}

cmd_up() {
  local t0=$SECONDS
  check_prerequisites
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another testbed.sh up/down holds $STATE/.lock"
  load_ports
  load_dataplane
  if all_running && kc get --raw /readyz >/dev/null 2>&1; then
    echo "test bed already up: https://127.0.0.1:$PORT_API (KUBECONFIG=$KUBECONFIG_FILE)"
    return 0
  fi
  if any_running || [ -d "$DATA" ]; then
    log "a previous test bed is partly running or left data: cleaning up and starting fresh"
    stop_all
  fi
  ensure_binaries
  local t1=$SECONDS
  pick_port PORT_ETCD ETCD_PORT; pick_port PORT_ETCD_PEER ETCD_PEER_PORT; pick_port PORT_API APISERVER_PORT
  pick_port PORT_KCM CONTROLLER_MANAGER_PORT; pick_port PORT_SCHED SCHEDULER_PORT; pick_port PORT_KWOK KWOK_PORT
  pick_port PORT_KP_HEALTH KUBE_PROXY_HEALTH_PORT; pick_port PORT_KP_METRICS KUBE_PROXY_METRICS_PORT
  pick_port PORT_TRAEFIK TRAEFIK_PORT; pick_port PORT_TRAEFIK_METRICS TRAEFIK_METRICS_PORT
  pick_port PORT_PROMETHEUS PROMETHEUS_PORT
  mkdir -p "$DATA" "$LOGS" "$RUN"
  write_ports
  # From here on, a failure stops whatever was started.
  # shellcheck disable=SC2154 # rc is assigned inside the trap
  trap 'rc=$?; if [ "$rc" != 0 ]; then log "up failed: stopping the test bed (logs in $LOGS)"; stop_all; fi' EXIT
  trap 'exit 130' INT TERM   # so an interrupted `up` also goes through the EXIT trap
  if [ "$DATAPLANE_WANT" != off ]; then ensure_node; fi   # the pod server and the forwarders are Node.js programs
  dataplane_setup
  gen_pki
  write_kubeconfigs
  start_etcd
  start_apiserver
  create_viewer_rbac
  # The CRDs (about 2.5 s of kubectl) go in while the other components start; waited for before the Gateway.
  install_gateway_crds &
  local crds_pid=$!
  start_controller_manager
  start_scheduler
  start_kwok
  create_nodes
  wait_until "$NODES Ready kwok nodes" 60 kwok nodes_ready
  wait_until "ServiceAccount default in namespace default" 60 kube-controller-manager kc -n default get serviceaccount default
  if [ "$DATAPLANE" = on ]; then
    start_kube_proxy
    start_podserver
  fi
  wait "$crds_pid" || die "installing the Gateway API CRDs failed (see above)"
  if [ "$GATEWAY" = on ]; then
    local tg=$SECONDS
    create_gateway
    if [ "$PROMETHEUS" = on ]; then create_monitoring; fi
    start_traefik
    log "gateway ready in $((SECONDS - tg))s: http://$NODE_ADDR:$GATEWAY_PORT (Gateway $GATEWAY_NS/$GATEWAY_NAME)"
  fi
  if [ "$PROMETHEUS" = on ]; then
    local tp=$SECONDS
    start_prometheus
    create_prometheus_pod
    prometheus_redirect
    log "prometheus ready in $((SECONDS - tp))s: http://127.0.0.1:$PORT_PROMETHEUS (Service $PROMETHEUS_NS/$PROMETHEUS_NAME:$PROMETHEUS_SERVICE_PORT)"
  fi
  smoke_test
  if [ "$PROMETHEUS" = on ]; then
    wait_until "Prometheus to answer through the API server's service proxy that it scrapes Traefik" 30 prometheus prometheus_scrapes_traefik
  fi
  trap - EXIT INT TERM
  log "test bed up in $((SECONDS - t0))s (components ready in $((SECONDS - t1))s): https://127.0.0.1:$PORT_API; data plane ${DATAPLANE}${DATAPLANE_REASON:+ ($DATAPLANE_REASON)}"
  echo "export KUBECONFIG=$KUBECONFIG_FILE"
}

cmd_down() {
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another testbed.sh up/down holds $STATE/.lock"
  load_dataplane
  if ! any_running && [ ! -d "$DATA" ] && [ ! -d "$RUN" ]; then
    log "test bed is not running"
    return 0
  fi
  stop_all
  log "test bed down (binaries stay cached in $BIN_DIR)"
}

cmd_env() {
  printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_FILE"
  load_ports
  load_dataplane
  if [ "$PROMETHEUS" = on ] && [ -n "${PORT_PROMETHEUS:-}" ]; then
    printf 'export BLUEGREEN_PROMETHEUS_URL=%q\n' "http://127.0.0.1:$PORT_PROMETHEUS"
  fi
}

cmd_status() {
  local name pid ok=0
  load_ports
  load_dataplane
  for name in "${COMPONENTS[@]}"; do
    pid="$(pid_of "$name")"
    if running "$name"; then
      printf '%-24s up    pid %s\n' "$name" "$pid"
    else
      printf '%-24s down\n' "$name"; ok=1
    fi
  done
  if [ -n "${PORT_API:-}" ] && running kube-apiserver; then
    if kc get --raw /readyz >/dev/null 2>&1; then echo "API: https://127.0.0.1:$PORT_API (ready)"
    else echo "API: https://127.0.0.1:$PORT_API (not ready)"; ok=1; fi
    echo "KUBECONFIG=$KUBECONFIG_FILE"
    if [ "$DATAPLANE" = on ]; then echo "data plane: on (network namespace ${NETNS_NAME:-of pid $(pid_of netns-holder)}, $NETNS_MODE)"
      if [ "$GATEWAY" = on ]; then echo "gateway: http://$NODE_ADDR:$GATEWAY_PORT in the namespace (Gateway $GATEWAY_NS/$GATEWAY_NAME, GatewayClass $GATEWAY_CLASS, IngressClass $INGRESS_CLASS)"
      else echo "gateway: off"; fi
      if [ "$PROMETHEUS" = on ]; then echo "prometheus: http://127.0.0.1:$PORT_PROMETHEUS (BLUEGREEN_PROMETHEUS_URL), Service $PROMETHEUS_NS/$PROMETHEUS_NAME:$PROMETHEUS_SERVICE_PORT; scrapes Traefik every $PROMETHEUS_SCRAPE_INTERVAL"
      else echo "prometheus: off"; fi
    else echo "data plane: off ($DATAPLANE_REASON)"; fi
  else
    echo "API: down (start it with: $0 up)"
  fi
  return $ok
}

# cmd_exec CMD...: CMD inside the data plane's namespace, replacing this script (signals reach CMD itself).
cmd_exec() {
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "usage: $0 exec -- CMD [ARG...]"
  load_ports
  load_dataplane
  all_running || die "the test bed is not running; start it with: $0 up"
  [ "$DATAPLANE" = on ] || die "the test bed runs without a data plane ($DATAPLANE_REASON), so there is no namespace to run $1 in"
  exec "${NS_WRAP[@]}" "$@"
}

# cmd_kubectl: builds kubectl once from the same module and version as the control plane (cached beside it: the
# benchmarks' anchor is the kubectl of the server's own version) and prints its path. Not part of `up`, so the
# tests do not wait for it.
cmd_kubectl() {
  build_kubernetes kubectl >&2
  echo "$BIN_DIR/kubectl"
}

case "${1:-}" in
  up) cmd_up ;;
  kubectl) cmd_kubectl ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  exec) shift; cmd_exec "$@" ;;
  *) echo "usage: $0 up|down|env|status|kubectl|exec -- CMD..." >&2; exit 2 ;;
esac
