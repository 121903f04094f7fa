#!/usr/bin/env bash
# Side-by-side timing of the coherence judge in two `steer` builds (Docs/Benchmarks.md, "Coherence judge").
#
# Each build first runs the shortened Gemma-3 demo once on its own store (untimed), then both run it again,
# alternating, ROUNDS times. In those second runs everything comes from the store except the coherence
# judge's anchors: 48 unsteered reference completions generated and scored. The generation is the same in
# both builds, so the difference of the medians is the scoring of 48 completions.
#
# Usage: Tests/Reference/bench_coherence_judge.sh BEFORE_STEER AFTER_STEER [WORK_DIR]
# Needs the model fetched (Scripts/fetch-gemma3-270m.sh). Environment: ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/../.."
BEFORE=$1 AFTER=$2 WORK=${3:-$(mktemp -d)} ROUNDS=${ROUNDS:-3}
mkdir -p "$WORK"
# A fixed copy of the assets, so an effect dataset that grows meanwhile changes nothing.
rm -rf "$WORK/demo" && cp -r Demo/gemma3-270m "$WORK/demo"
ARGS=(--demo-directory "$WORK/demo" --tasks love --scales 0,160 --samples 48 --recheck 1
    --estimator-option linear-adam.epochs=3)
for side in before after; do
    binary=$BEFORE; [[ $side == after ]] && binary=$AFTER
    "$binary" demo --store "$WORK/store-$side" --report "$WORK/report-$side" "${ARGS[@]}" > /dev/null 2>&1
done
lscpu | grep -E '^Model name' || true
for ((round = 1; round <= ROUNDS; round++)); do
    for side in before after; do
        binary=$BEFORE; [[ $side == after ]] && binary=$AFTER
        start=$(date +%s%N)
        "$binary" demo --store "$WORK/store-$side" --report "$WORK/report-$side" "${ARGS[@]}" > /dev/null 2>&1
        elapsed=$((($(date +%s%N) - start) / 1000000))
        printf 'round %d %s %d.%03d s\n' "$round" "$side" $((elapsed / 1000)) $((elapsed % 1000))
    done
done
