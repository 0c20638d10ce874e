#!/usr/bin/env bash
# Builds the real local node's components from their official Go modules: runc (cgo, seccomp),
# containerd + ctr + containerd-shim-runc-v2, the CNI plugins (bridge, host-local, loopback), the OCI
# registry (distribution), crane, BuildKit (buildkitd + buildctl) and the pause image's binary, and
# installs the few Debian packages they need (libseccomp-dev to build runc, mmdebstrap for the base image,
# nftables for the network guard). kubelet and kube-proxy come from hack/controlplane/build.sh.
#
# Output: $MLOPS_DATAPLANE_CACHE/<key>/bin, where <key> hashes the pinned versions and this directory, so
# a second run on the same machine reuses the binaries. Prints the directory on its last line.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUNC_VERSION="v1.4.4"           # containerd 2.3's CI pin; cgroup v1 still supported
CONTAINERD_VERSION="v2.3.7"     # LTS until 2028; the Kubernetes 1.36+ matrix needs 2.2+
CNI_PLUGINS_VERSION="v1.10.0"
REGISTRY_VERSION="v3.1.2"
CRANE_VERSION="v0.22.1"
KUBE_VERSION="v1.37.2"          # for build/pause/linux/pause.c (the pause image's source)
DEBIAN_PACKAGES=(libseccomp-dev mmdebstrap nftables)
CACHE_ROOT="${MLOPS_DATAPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator/dataplane}"
BINARIES=(runc containerd ctr containerd-shim-runc-v2 bridge host-local loopback registry crane buildkitd
  buildctl pause)

install_debian_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

key="$( (echo "$RUNC_VERSION $CONTAINERD_VERSION $CNI_PLUGINS_VERSION $REGISTRY_VERSION $CRANE_VERSION $KUBE_VERSION"
  cat "$HERE/build.sh" "$HERE"/buildkit/go.mod "$HERE"/buildkit/go.sum) | sha256sum | cut -c1-12)"
OUT="$CACHE_ROOT/$key"
BIN="$OUT/bin"

complete() {
  for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
}

install_debian_packages
if complete; then
  echo "data plane cached" >&2
  echo "$OUT"
  exit 0
fi

mkdir -p "$BIN"
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-buildvcs=false" GOBIN="$BIN.tmp"
mkdir -p "$GOBIN"
start=$SECONDS

step() {  # name command...: run unless $BIN/name exists, then move everything GOBIN got into BIN
  local name="$1"; shift
  if [[ -x "$BIN/$name" ]]; then return 0; fi
  local t=$SECONDS
  "$@"
  mv "$GOBIN"/* "$BIN/"
  echo "built $name in $((SECONDS - t))s" >&2
}

# runc needs cgo: libcontainer/nsenter is C. Without the seccomp tag every RuntimeDefault pod fails.
step runc env CGO_ENABLED=1 go install -p 2 -trimpath -buildmode=pie -tags "seccomp urfave_cli_no_docs" \
  "github.com/opencontainers/runc@$RUNC_VERSION"

ctrd_ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
step containerd env CGO_ENABLED=0 go install -p 2 -trimpath -tags "no_btrfs no_devmapper no_zfs urfave_cli_no_docs" \
  -ldflags "$ctrd_ldflags" "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
  "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION"
# The shim is built without gRPC, as containerd's own Makefile does (it only speaks ttrpc).
step containerd-shim-runc-v2 env CGO_ENABLED=0 go install -p 2 -trimpath -tags "urfave_cli_no_docs no_grpc" \
  -ldflags "$ctrd_ldflags" "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"

cni="github.com/containernetworking/plugins/plugins"
step bridge env CGO_ENABLED=0 go install -p 2 -trimpath -ldflags "-s -w" "$cni/main/bridge@$CNI_PLUGINS_VERSION" \
  "$cni/ipam/host-local@$CNI_PLUGINS_VERSION" "$cni/main/loopback@$CNI_PLUGINS_VERSION"

step registry env CGO_ENABLED=0 go install -p 2 -trimpath -ldflags "-s -w" \
  "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
step crane env CGO_ENABLED=0 go install -p 2 -trimpath -ldflags "-s -w" \
  "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"

bk_version="$(grep -E '^require github.com/moby/buildkit' "$HERE/buildkit/go.mod" | awk '{print $3}')"
build_buildkit() {
  (cd "$HERE/buildkit" && CGO_ENABLED=0 go build -mod=readonly -p 2 -trimpath \
    -tags "osusergo netgo static_build seccomp" \
    -ldflags "-s -w -X github.com/moby/buildkit/version.Version=$bk_version" \
    -o "$GOBIN/" github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
}
step buildkitd build_buildkit

# pause: the same C source and flags as Kubernetes' own pause image (build/pause/Makefile).
build_pause() {
  local src
  src="$(cd "$HERE/../controlplane/kube" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
  gcc -Os -Wall -Werror -static -DVERSION="v3.10.2" -o "$GOBIN/pause" "$src"
}
step pause build_pause

rmdir "$GOBIN"
echo "data plane built in $((SECONDS - start))s; $(du -sh "$OUT" | cut -f1) in $OUT" >&2
echo "$OUT"
