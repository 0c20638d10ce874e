#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller from their Go modules, for the GitOps tests
# (tests/integration/gitops), and copies the CRDs they serve from the same modules.
#
# Why a copy of each module and not `go install`: both go.mod files have replace lines (their own ./api
# module, go-digest, kustomize), which `go install mod@version` refuses.
#
# Versions: v1.10.0 and v1.10.1 of both need go 1.27, and this machine builds with the local Go 1.26
# toolchain (GOTOOLCHAIN=local). Of the v1.9 releases (go 1.26), the module proxy refuses some of
# source-controller's dependencies from v1.9.4 on (403 "This module version is not available" for
# github.com/fluxcd/pkg/artifact v0.18.2 and v0.18.3), so source-controller is v1.9.3, the newest whose
# whole module graph is served; kustomize-controller v1.9.6 needs only served modules. kustomize-controller
# v1.9.6 requires source-controller/api v1.9.0, so the pair speaks the same source API.
#
# Output: $MLOPS_FLUX_CACHE/<versions>-<key>/bin/{source-controller,kustomize-controller} and
# .../crds/*.yaml, where <key> hashes the pinned versions, the build flags and any wrapper files beside
# this script, so a second run on the same machine reuses the binaries. Prints the directory on its last
# line. Set MLOPS_FLUX_ASSETS to a directory laid out the same way to skip building altogether.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
declare -A VERSIONS=([source-controller]=v1.9.3 [kustomize-controller]=v1.9.6)
CONTROLLERS=(source-controller kustomize-controller)
FLUX_VERSION="sc${VERSIONS[source-controller]}-kc${VERSIONS[kustomize-controller]}"
LDFLAGS="-s -w"
CACHE_ROOT="${MLOPS_FLUX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator/flux}"

if [[ -n "${MLOPS_FLUX_ASSETS:-}" ]]; then
  echo "$MLOPS_FLUX_ASSETS"
  exit 0
fi

# Wrapper files are anything beside this script other than the script itself (none today); editing a
# comment here must not throw away the build.
key="$( (echo "$FLUX_VERSION ${CONTROLLERS[*]} $LDFLAGS"; find "$HERE" -type f ! -name build.sh -print0 \
  | sort -z | xargs -0r cat) | sha256sum | cut -c1-12)"
OUT="$CACHE_ROOT/$FLUX_VERSION-$key"
# Two builds of the same key (two test runs, render-deploy during a test) wait for each other instead of
# racing on $OUT; the second finds the first one's result cached.
mkdir -p "$CACHE_ROOT" && exec {build_lock}>"$OUT.lock" && flock "$build_lock"
BIN="$OUT/bin"

if [[ -x "$BIN/source-controller" && -x "$BIN/kustomize-controller" && -d "$OUT/crds" ]]; then
  echo "flux controllers cached" >&2
  echo "$OUT"
  exit 0
fi

mkdir -p "$BIN" "$OUT/crds"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
start=$SECONDS

# The module cache is read-only, so build in a writable copy next to the output and drop it afterwards.
src=""
# Under set -e a failing command in the trap would turn a good build's exit status into 1: test first.
trap 'if [[ -n "$src" && -d "$src" ]]; then chmod -R u+w "$src" && rm -rf "$src"; fi' EXIT

for name in "${CONTROLLERS[@]}"; do
  src="$(mktemp -d "$OUT/src.XXXXXX")"
  mod_dir="$(cd "$src" && go mod download -json "github.com/fluxcd/$name@${VERSIONS[$name]}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  install -m 0644 "$mod_dir"/config/crd/bases/*.yaml "$OUT/crds/"
  if [[ -x "$BIN/$name" ]]; then
    echo "$name cached" >&2
    rm -rf "$src"
    src=""
    continue
  fi
  cp -R "$mod_dir/." "$src/"
  chmod -R u+w "$src"
  # The `replace .../api => ./api` target is its own module, left out of the main module's zip: put the
  # version the main go.mod requires in its place.
  api_version="$(cd "$src" && go mod edit -json | python3 -c \
    'import json,sys; print(next(r["Version"] for r in json.load(sys.stdin)["Require"] if r["Path"].endswith("/'"$name"'/api")))')"
  api_dir="$(cd "$src" && go mod download -json "github.com/fluxcd/$name/api@$api_version" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  mkdir -p "$src/api" && cp -R "$api_dir/." "$src/api/" && chmod -R u+w "$src/api"

  t=$SECONDS
  (cd "$src" && go mod download)
  echo "downloaded $name's modules in $((SECONDS - t))s" >&2

  t=$SECONDS
  (cd "$src" && go build -p 2 -trimpath -ldflags "$LDFLAGS" -o "$BIN/$name.tmp" .)
  mv "$BIN/$name.tmp" "$BIN/$name"
  echo "built $name ${VERSIONS[$name]} in $((SECONDS - t))s" >&2
  chmod -R u+w "$src" && rm -rf "$src"
  src=""
done

echo "flux $FLUX_VERSION built in $((SECONDS - start))s; $(du -sh "$OUT" | cut -f1) in $OUT" >&2
echo "$OUT"
