#!/usr/bin/env bash
# Builds Flagger (cmd/flagger) from its Go module, for bench/flagger_canary.py (issue 14: Flagger's canary
# next to ours), and copies the CRDs (artifacts/flagger/crd.yaml) from the same module.
#
# Why `go install mod/cmd@version`: Flagger's go.mod has no replace or exclude lines, so the module builds
# straight from the proxy. Version: v1.36.1 is the only version the module proxy lists on this machine
# (`go list -m -versions github.com/fluxcd/flagger`); its go.mod says go 1.21, so the local Go 1.26
# toolchain builds it (GOTOOLCHAIN=local).
#
# Output: $MLOPS_FLAGGER_CACHE/<version>-<key>/bin/flagger and .../crds/crd.yaml; <key> hashes the version and
# the build flags. Prints the directory on its last line; a second run is a no-op. Set MLOPS_FLAGGER_ASSETS to
# a directory laid out the same way to skip building altogether.
set -euo pipefail

FLAGGER_MODULE="github.com/fluxcd/flagger"
FLAGGER_VERSION="v1.36.1"
LDFLAGS="-s -w"
CACHE_ROOT="${MLOPS_FLAGGER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator/flagger}"

if [[ -n "${MLOPS_FLAGGER_ASSETS:-}" ]]; then
  echo "$MLOPS_FLAGGER_ASSETS"
  exit 0
fi

key="$(echo "$FLAGGER_VERSION -trimpath $LDFLAGS" | sha256sum | cut -c1-12)"
OUT="$CACHE_ROOT/$FLAGGER_VERSION-$key"
# Two builds of the same key (two test runs, render-deploy during a test) wait for each other instead of
# racing on $OUT; the second finds the first one's result cached.
mkdir -p "$CACHE_ROOT" && exec {build_lock}>"$OUT.lock" && flock "$build_lock"
BIN="$OUT/bin"

if [[ -x "$BIN/flagger" && -f "$OUT/crds/crd.yaml" ]]; then
  echo "flagger cached" >&2
  echo "$OUT"
  exit 0
fi

mkdir -p "$BIN" "$OUT/crds"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS="-buildvcs=false"
start=$SECONDS
# Install into a scratch directory and move the binary afterwards, so an interrupted build never leaves a
# binary that the cache check would accept.
tmp="$(mktemp -d "$OUT/bin.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mod_dir="$(cd "$tmp" && go mod download -json "$FLAGGER_MODULE@$FLAGGER_VERSION" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
install -m 0644 "$mod_dir/artifacts/flagger/crd.yaml" "$OUT/crds/crd.yaml"
GOBIN="$tmp" go install -p 2 -trimpath -ldflags "$LDFLAGS" "$FLAGGER_MODULE/cmd/flagger@$FLAGGER_VERSION"
mv "$tmp/flagger" "$BIN/flagger"

echo "flagger $FLAGGER_VERSION built in $((SECONDS - start))s; $(du -sh "$OUT" | cut -f1) in $OUT" >&2
echo "$OUT"
