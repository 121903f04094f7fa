#!/usr/bin/env bash
# The package as a dependency of another package: tags a copy of this repository (committed state) as
# a local git repository, creates a consumer package in a temporary folder that requires it with
# `.package(url: "file://…", from: "…")` (which SwiftPM allows only for packages without unsafe
# flags), builds it, and runs it: it makes an sae-direct vector through the plugin registry and reads
# the one `steer vector make` stored for the same feature. Prints ok/FAIL lines; exit 1 on failure.
#
#   STEER_BIN=.build/release/steer Tests/Downstream/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
STEER=${STEER_BIN:-.build/release/steer}
[[ -x $STEER ]] || { echo "FAIL: no steer executable at $STEER (build it or set STEER_BIN)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/steer-downstream.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)

# A bare repository holding HEAD, tagged 1.0.0 (the working tree's uncommitted changes are not in it).
git clone --quiet --bare "$ROOT" "$WORK/steering.git"
git -C "$WORK/steering.git" tag 1.0.0 "$(git -C "$ROOT" rev-parse HEAD)"

mkdir -p "$WORK/consumer/Sources/Consumer"
sed -e "s|@URL@|file://$WORK/steering.git|" -e "s|@VERSION@|1.0.0|" -e "s|@NAME@|steering|" \
    Tests/Downstream/Consumer/Package.swift.in > "$WORK/consumer/Package.swift"
cp Tests/Downstream/Consumer/Sources/Consumer/main.swift "$WORK/consumer/Sources/Consumer/"

SAE=Tests/Fixtures/sae/gemma_scope_2/f32/resid_post/layer_1_width_256_l0_small
"$STEER" vector make --strategy sae-direct --sae "$SAE" --target 7 --store "$WORK/store" --alias downstream \
    > "$WORK/make.log" 2>&1 || { cat "$WORK/make.log" >&2; echo "FAIL - steer vector make" >&2; exit 1; }

if ! (cd "$WORK/consumer" && swift build > "$WORK/build.log" 2>&1); then
    tail -30 "$WORK/build.log" >&2
    echo "FAIL - the consumer package did not build against the tagged repository"
    exit 1
fi
echo "ok   - a package requiring this one by version (file:// URL, from: 1.0.0) builds"
if output=$("$WORK/consumer/.build/debug/Consumer" "$ROOT/$SAE" 7 "$WORK/store" downstream 2>&1); then
    echo "ok   - it makes a vector through the registry and reads steer's stored one: $output"
else
    echo "FAIL - consumer: $output"
    exit 1
fi
echo "Downstream package test: 0 failure(s), $(( $(date +%s) - start )) s"
