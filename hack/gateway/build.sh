#!/usr/bin/env bash
# Builds Traefik (the Gateway API implementation the dev cluster runs out of cluster) from its Go module.
#
# Why a copy of the module and not `go install`: Traefik's go.mod has replace and exclude lines, which
# `go install mod/cmd@version` refuses. v3.6.12 is pinned because every module it needs is served by the
# proxy; v3.7.11-13 replace go-http-auth with a commit the proxy refuses (docs/testing.md, "Gateway").
#
# Output: $MLOPS_GATEWAY_CACHE/<version>-<key>/bin/traefik where <key> hashes the pinned version, the
# build flags and any wrapper files beside this script, so a second run on the same machine reuses the
# binary. Prints the directory on its last line. Set MLOPS_GATEWAY_ASSETS to a directory holding
# bin/traefik to skip building altogether.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TRAEFIK_MODULE="github.com/traefik/traefik/v3"
TRAEFIK_VERSION="v3.6.12"
LDFLAGS="-s -w -X $TRAEFIK_MODULE/pkg/version.Version=$TRAEFIK_VERSION"
CACHE_ROOT="${MLOPS_GATEWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator/gateway}"

if [[ -n "${MLOPS_GATEWAY_ASSETS:-}" ]]; then
  echo "$MLOPS_GATEWAY_ASSETS"
  exit 0
fi

# Wrapper files are anything beside this script other than the script itself (none today); editing a
# comment here must not throw away a ten-minute build.
key="$( (echo "$TRAEFIK_VERSION $LDFLAGS"; find "$HERE" -type f ! -name build.sh -print0 | sort -z \
  | xargs -0r cat) | sha256sum | cut -c1-12)"
OUT="$CACHE_ROOT/$TRAEFIK_VERSION-$key"
# Two builds of the same key (two test runs, render-deploy during a test) wait for each other instead of
# racing on $OUT; the second finds the first one's result cached.
mkdir -p "$CACHE_ROOT" && exec {build_lock}>"$OUT.lock" && flock "$build_lock"
BIN="$OUT/bin"
CRDS="$OUT/crds/traefik.io.yaml"

module_dir() {  # the read-only module cache copy of Traefik's source (downloaded on first use)
  (cd "$OUT" && GOTOOLCHAIN=local GOWORK=off go mod download -json "$TRAEFIK_MODULE@$TRAEFIK_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
}

# Traefik's own CRDs (Middleware and the kinds its kubernetesCRD provider watches): the dev cluster installs
# them so HTTPRoutes can use a retry Middleware through an ExtensionRef filter. Copied beside a cached binary
# too, so a cache from before this step gains them without a rebuild.
if [[ ! -s "$CRDS" ]]; then
  mkdir -p "$OUT/crds"
  cp "$(module_dir)/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml" "$CRDS.tmp"
  chmod u+w "$CRDS.tmp"
  mv "$CRDS.tmp" "$CRDS"
fi

if [[ -x "$BIN/traefik" ]]; then
  echo "traefik cached" >&2
  echo "$OUT"
  exit 0
fi

mkdir -p "$BIN"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
start=$SECONDS

# The module cache is read-only, so build in a writable copy next to the output and drop it afterwards.
src="$(mktemp -d "$OUT/src.XXXXXX")"
# Under set -e a failing command in the trap would turn a good build's exit status into 1: test first.
trap 'if [[ -d "$src" ]]; then chmod -R u+w "$src" && rm -rf "$src"; fi' EXIT
mod_dir="$(module_dir)"
cp -R "$mod_dir/." "$src/"
chmod -R u+w "$src"

t=$SECONDS
(cd "$src" && go mod download)
echo "downloaded traefik's modules in $((SECONDS - t))s" >&2

t=$SECONDS
(cd "$src" && go build -p 2 -trimpath -ldflags "$LDFLAGS" -o "$BIN/traefik.tmp" ./cmd/traefik)
mv "$BIN/traefik.tmp" "$BIN/traefik"
echo "built traefik in $((SECONDS - t))s" >&2
chmod -R u+w "$src" && rm -rf "$src"

echo "traefik $TRAEFIK_VERSION built in $((SECONDS - start))s; $(du -sh "$OUT" | cut -f1) in $OUT" >&2
echo "$OUT"
