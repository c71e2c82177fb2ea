# The release, in one place: what scripts/package.sh makes and test/package checks (and the
# Node.js every script runs). Sourced by common.sh; defines variables and functions only.

# One exact Node.js version for development, tests and the packaged binaries of all five platforms: the
# newest that the npm registry has for every one of them (22.23.3 has no darwin/arm64 build there).
BLUEGREEN_NODE_VERSION="22.23.2"

# Every platform, os_arch in krew's names, in the order the krew manifest lists them.
RELEASE_PLATFORMS=(linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64)

# Node.js's single-executable sentinel: postject sets it, scripts/lib/check-sea.mjs checks it (from the
# environment).
export BLUEGREEN_SEA_FUSE="NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"

# archive_name OS_ARCH: the release archive of a platform.
archive_name() { if [ "${1%%_*}" = windows ]; then echo "kubectl-bluegreen_$1.zip"; else echo "kubectl-bluegreen_$1.tar.gz"; fi; }

# npm_platform OS_ARCH: the Node.js runtime's platform name (the npm package node-<platform>).
npm_platform() {
  case "$1" in
    linux_amd64) echo linux-x64 ;; linux_arm64) echo linux-arm64 ;;
    darwin_amd64) echo darwin-x64 ;; darwin_arm64) echo darwin-arm64 ;; windows_amd64) echo win-x64 ;;
    *) echo "error: no Node.js runtime for $1" >&2; return 1 ;;
  esac
}
