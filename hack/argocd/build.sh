#!/usr/bin/env bash
# Builds mlops-health, a small helper that judges a live object with Argo CD's own health code: Argo's
# SettingsManager parses deploy/gitops/argocd/argocd-cm.yaml, and gitops-engine's GetResourceHealth runs the
# resource.customizations.health Lua in Argo's gopher-lua VM (util/lua), as the application controller does.
#
# Why a copy of the module and not a go.mod of our own requiring Argo CD: Argo's go.mod replaces the
# k8s.io staging modules, and replace lines only count in the main module. So the helper's main.go
# (mlops-health/ beside this script) is dropped into a writable copy of Argo's module as
# cmd/mlops-health and built with Argo's own go.mod and go.sum, unchanged (-mod=readonly).
#
# Why v3.2.12: from v3.3 on, gitops-engine is a nested module of the argo-cd repository
# (`replace ... => ./gitops-engine`), which module zips leave out and the proxy does not serve (403), so
# v3.3-v3.5 cannot be built from the proxy; v3.6 also needs go 1.27. v3.2.12 (2026-05-12) requires the
# separate github.com/argoproj/gitops-engine module, which the proxy serves.
#
# Output: $MLOPS_ARGOCD_CACHE/<version>-<key>/bin/mlops-health where <key> hashes the pinned version, the
# build flags and the wrapper files beside this script. Prints the directory on its last line. Set
# MLOPS_ARGOCD_ASSETS to a directory holding bin/mlops-health to skip building altogether.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARGOCD_MODULE="github.com/argoproj/argo-cd/v3"
ARGOCD_VERSION="v3.2.12"
LDFLAGS="-s -w"
CACHE_ROOT="${MLOPS_ARGOCD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator/argocd}"

if [[ -n "${MLOPS_ARGOCD_ASSETS:-}" ]]; then
  echo "$MLOPS_ARGOCD_ASSETS"
  exit 0
fi

# Wrapper files are everything beside this script but the script itself: editing a comment here must not
# throw away a build.
key="$( (echo "$ARGOCD_VERSION $LDFLAGS"; cd "$HERE" && find . -type f ! -name build.sh -print0 | sort -z \
  | xargs -0r sha256sum) | sha256sum | cut -c1-12)"
OUT="$CACHE_ROOT/$ARGOCD_VERSION-$key"
# Two builds of the same key (two test runs, render-deploy during a test) wait for each other instead of
# racing on $OUT; the second finds the first one's result cached.
mkdir -p "$CACHE_ROOT" && exec {build_lock}>"$OUT.lock" && flock "$build_lock"
BIN="$OUT/bin"

if [[ -x "$BIN/mlops-health" ]]; then
  echo "argocd health helper cached" >&2
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
mod_dir="$(cd "$src" && go mod download -json "$ARGOCD_MODULE@$ARGOCD_VERSION" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
cp -R "$mod_dir/." "$src/"
chmod -R u+w "$src"
mkdir -p "$src/cmd/mlops-health"
cp "$HERE/mlops-health/main.go" "$src/cmd/mlops-health/main.go"

t=$SECONDS
# Only the modules the helper's packages import, not all of Argo CD's.
(cd "$src" && go list -deps -test=false ./cmd/mlops-health >/dev/null)
echo "downloaded the helper's modules in $((SECONDS - t))s" >&2

t=$SECONDS
(cd "$src" && go build -p 2 -trimpath -ldflags "$LDFLAGS" -o "$BIN/mlops-health.tmp" ./cmd/mlops-health)
mv "$BIN/mlops-health.tmp" "$BIN/mlops-health"
echo "built mlops-health in $((SECONDS - t))s" >&2
chmod -R u+w "$src" && rm -rf "$src"

echo "argocd $ARGOCD_VERSION health helper built in $((SECONDS - start))s; $(du -sh "$OUT" | cut -f1) in $OUT" >&2
echo "$OUT"
