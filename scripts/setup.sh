#!/usr/bin/env bash
# Sets up a clone for development: the pinned Node.js, npm dependencies, and the built CLI.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
ensure_deps
(cd "$BLUEGREEN_ROOT" && npm run --silent build)
log "built dist/kubectl-bluegreen.cjs; run it as bin/kubectl-bluegreen or, with bin/ on PATH, as kubectl bluegreen"
