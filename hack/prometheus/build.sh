#!/usr/bin/env bash
# Builds prometheus and promtool from their Go module for the metrics tests (docs/observability.md).
#
# Why `go install mod/cmd@version`: Prometheus's go.mod has no replace or exclude lines, so the module can be
# built straight from the proxy. Tags: `remove_all_sd enable_kubernetes_sd` keep only the kubernetes, file and
# http service discoveries (no AWS/Azure/GCE SDKs); `netgo` for a static resolver. `builtinassets` is never
# set: it needs the npm-built web/ui/embed.go; without it the UI is blank but the API and /metrics work.
#
# Output: $MLOPS_PROMETHEUS_CACHE/<version>-<key>/bin/{prometheus,promtool}; <key> hashes the version and the
# build flags. Prints the directory on its last line; a second run is a no-op. Set MLOPS_PROMETHEUS_ASSETS to a
# directory holding bin/prometheus and bin/promtool to skip building altogether.
set -euo pipefail

PROM_MODULE="github.com/prometheus/prometheus"
PROM_VERSION="v0.316.0"
TAGS="netgo remove_all_sd enable_kubernetes_sd"
CACHE_ROOT="${MLOPS_PROMETHEUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator/prometheus}"

if [[ -n "${MLOPS_PROMETHEUS_ASSETS:-}" ]]; then
  echo "$MLOPS_PROMETHEUS_ASSETS"
  exit 0
fi

key="$(echo "$PROM_VERSION $TAGS -trimpath -s -w" | sha256sum | cut -c1-12)"
OUT="$CACHE_ROOT/$PROM_VERSION-$key"
# Two builds of the same key (two test runs, render-deploy during a test) wait for each other instead of
# racing on $OUT; the second finds the first one's result cached.
mkdir -p "$CACHE_ROOT" && exec {build_lock}>"$OUT.lock" && flock "$build_lock"
BIN="$OUT/bin"

if [[ -x "$BIN/prometheus" && -x "$BIN/promtool" ]]; then
  echo "prometheus cached" >&2
  echo "$OUT"
  exit 0
fi

mkdir -p "$BIN"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS="-buildvcs=false"
start=$SECONDS
# Install into a scratch directory and move both binaries at once, so an interrupted build never leaves a
# half-populated bin/ that the cache check would accept.
tmp="$(mktemp -d "$OUT/bin.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" go install -p 2 -trimpath -ldflags "-s -w" -tags "$TAGS" \
  "$PROM_MODULE/cmd/prometheus@$PROM_VERSION" "$PROM_MODULE/cmd/promtool@$PROM_VERSION"
mv "$tmp/prometheus" "$tmp/promtool" "$BIN/"

echo "prometheus $PROM_VERSION built in $((SECONDS - start))s; $(du -sh "$OUT" | cut -f1) in $OUT" >&2
echo "$OUT"
