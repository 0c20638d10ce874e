#!/usr/bin/env bash
# Debian packages some tests run as real tools rather than re-implementations: Lua 5.1 (Argo CD's health
# scripts are Lua 5.1) and zsh (the generated completion script is checked with `zsh -n`).
set -euo pipefail
PACKAGES=(lua5.1 zsh)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
