#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
# kwok, helm, and the node's kubelet and kube-proxy) from the official Go modules pinned in the wrapper modules beside this script, plus the
# Gateway API CRDs shipped in the sigs.k8s.io/gateway-api module.
#
# Output: $MLOPS_CONTROLPLANE_CACHE/<key>/{bin,gateway-api} where <key> hashes the pinned versions, so a
# second run on the same machine reuses the binaries. Prints the directory on its last line.
# Set MLOPS_CONTROLPLANE_ASSETS to a directory holding the binaries to skip building altogether.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KUBE_VERSION="v1.37.2"
GATEWAY_API_VERSION="v1.6.3"
CACHE_ROOT="${MLOPS_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator/controlplane}"
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy kwok helm)

if [[ -n "${MLOPS_CONTROLPLANE_ASSETS:-}" ]]; then
  echo "$MLOPS_CONTROLPLANE_ASSETS"
  exit 0
fi

key="$( (echo "$KUBE_VERSION $GATEWAY_API_VERSION"; cat "$HERE"/*/go.mod "$HERE"/*/go.sum) \
  | sha256sum | cut -c1-12)"
OUT="$CACHE_ROOT/$KUBE_VERSION-$key"
# Two builds of the same key (two test runs, render-deploy during a test) wait for each other instead of
# racing on $OUT; the second finds the first one's result cached.
mkdir -p "$CACHE_ROOT" && exec {build_lock}>"$OUT.lock" && flock "$build_lock"
BIN="$OUT/bin"

complete() {
  for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
  [[ -f "$OUT/gateway-api/.complete" ]]
}

if complete; then
  echo "control plane cached" >&2
  echo "$OUT"
  exit 0
fi

mkdir -p "$BIN" "$OUT/gateway-api"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
start=$SECONDS

go_build() {  # module-dir output package [extra go build args...]
  local dir="$1" out="$2" pkg="$3"; shift 3
  if [[ -x "$BIN/$out" ]]; then return 0; fi
  local t=$SECONDS
  (cd "$HERE/$dir" && go build -p 2 -trimpath "$@" -o "$BIN/$out.tmp" "$pkg")
  mv "$BIN/$out.tmp" "$BIN/$out"
  echo "built $out in $((SECONDS - t))s" >&2
}

kube_ldflags() {
  local flags="-s -w" minor
  minor="$(echo "$KUBE_VERSION" | cut -d. -f2)"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    flags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

go_build etcd etcd go.etcd.io/etcd/server/v3 -ldflags "-s -w"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy; do
  go_build kube "$cmd" "k8s.io/kubernetes/cmd/$cmd" -tags selinux,notest,grpcnotrace -ldflags "$(kube_ldflags)"
done
go_build kwok kwok sigs.k8s.io/kwok/cmd/kwok -ldflags "-s -w"
helm_version="$(grep -E '^require helm.sh/helm/v4' "$HERE/helm/go.mod" | awk '{print $3}')"
go_build helm helm helm.sh/helm/v4/cmd/helm -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version"

gw_dir="$(cd "$(mktemp -d)" && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
cp "$gw_dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$OUT/gateway-api/"
chmod u+w "$OUT/gateway-api/"*.yaml
touch "$OUT/gateway-api/.complete"

echo "control plane built in $((SECONDS - start))s; $(du -sh "$OUT" | cut -f1) in $OUT" >&2
echo "$OUT"
