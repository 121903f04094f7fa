#!/usr/bin/env bash
# Installs the three system libraries the package links (OpenBLAS, LMDB, zlib) when missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail

missing=()
for spec in "openblas:libopenblas-dev" "lmdb:liblmdb-dev" "zlib:zlib1g-dev"; do
    module="${spec%%:*}" package="${spec#*:}"
    if ! pkg-config --exists "$module" 2>/dev/null; then missing+=("$package"); fi
done
if ! command -v pkg-config >/dev/null 2>&1; then missing+=("pkg-config"); fi

if ((${#missing[@]})); then
    echo "Installing system packages: ${missing[*]}" >&2
    sudo_cmd=()
    if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" pkg-config >/dev/null
fi
