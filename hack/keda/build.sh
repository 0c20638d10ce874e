#!/usr/bin/env bash
# Builds KEDA's operator (cmd/operator) and metrics adapter (cmd/adapter) from its Go module, for the
# groundwork of issue 18 (autoscaling on model metrics; tests/integration/keda, docs/keda-notes.md), and
# copies KEDA's CRDs (config/crd/bases) from the same module.
#
# Why not `go install mod/cmd@version` (as hack/prometheus and hack/flagger do): KEDA's go.mod has a replace
# line (github.com/nexus-rpc/nexus-proto-annotations) and an exclude line, which `go install pkg@version`
# refuses. So the module is downloaded, copied out of the read-only module cache and built in place with its
# own go.mod/go.sum, the way KEDA's Makefile does (`go build -ldflags -X ...version.Version=...`).
# Version: v2.21.0 is the newest the module proxy lists (`go list -m -versions github.com/kedacore/keda/v2`:
# v2.15.1 v2.16.1 v2.20.2 v2.21.0); its go.mod says go 1.26.0, so the local Go 1.26 builds it (GOTOOLCHAIN=local).
#
# Output: $MLOPS_KEDA_CACHE/<version>-<key>/bin/{keda,keda-adapter} and .../crds/*.yaml; <key> hashes the
# version, the build flags and this script. Prints the directory on its last line; a second run is a no-op.
# Set MLOPS_KEDA_ASSETS to a directory laid out the same way to skip building altogether.
set -euo pipefail

KEDA_MODULE="github.com/kedacore/keda/v2"
KEDA_VERSION="v2.21.0"
LDFLAGS="-s -w -X=$KEDA_MODULE/version.Version=${KEDA_VERSION#v} -X=$KEDA_MODULE/version.GitCommit=module-proxy"
CACHE_ROOT="${MLOPS_KEDA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator/keda}"

if [[ -n "${MLOPS_KEDA_ASSETS:-}" ]]; then
  echo "$MLOPS_KEDA_ASSETS"
  exit 0
fi

key="$( (echo "$KEDA_VERSION -trimpath $LDFLAGS"; cat "${BASH_SOURCE[0]}") | sha256sum | cut -c1-12)"
OUT="$CACHE_ROOT/$KEDA_VERSION-$key"
BIN="$OUT/bin"

if [[ -x "$BIN/keda" && -x "$BIN/keda-adapter" && -f "$OUT/crds/keda.sh_scaledobjects.yaml" ]]; then
  echo "keda cached" >&2
  echo "$OUT"
  exit 0
fi

mkdir -p "$BIN"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS="-buildvcs=false -mod=readonly"
start=$SECONDS
# Build in a scratch directory and move everything at once, so an interrupted build never leaves a
# half-populated output that the cache check would accept.
tmp="$(mktemp -d "$OUT/build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mod_dir="$(cd "$tmp" && go mod download -json "$KEDA_MODULE@$KEDA_VERSION" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
cp -r "$mod_dir" "$tmp/src"
chmod -R u+w "$tmp/src"
mkdir -p "$tmp/crds"
install -m 0644 "$tmp/src/config/crd/bases/"*.yaml "$tmp/crds/"
(cd "$tmp/src" && go build -p 2 -trimpath -ldflags "$LDFLAGS" -o "$tmp/keda" ./cmd/operator \
  && go build -p 2 -trimpath -ldflags "$LDFLAGS" -o "$tmp/keda-adapter" ./cmd/adapter)
rm -rf "$OUT/crds"
mv "$tmp/crds" "$OUT/crds"
mv "$tmp/keda" "$tmp/keda-adapter" "$BIN/"

echo "keda $KEDA_VERSION built in $((SECONDS - start))s; $(du -sh "$OUT" | cut -f1) in $OUT" >&2
echo "$OUT"
