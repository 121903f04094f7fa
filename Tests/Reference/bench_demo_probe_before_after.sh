#!/usr/bin/env bash
# Seconds per probe vector on the embedded demo model at the toy demo's protocol (14 prompts × 8 rollouts
# of 32 tokens, baseline ×4, calibration 1 × 16 sequences on the demo's calibration text, the demo's
# 11-point grid 0:12:120 to unsteered loss + 0.5 nats, probes = decoder rows of the 4k SAE, effects
# through the 2k SAE), with two `steer` binaries side by side, in alternating rounds: `steer effects
# measure` into a fresh store, first PROBES_WARM probes (model load, baseline, the calibration site pass),
# then PROBES more in the same store; the second job's wall time over PROBES is the figure.
#
# Usage: Tests/Reference/bench_demo_probe_before_after.sh BEFORE_STEER AFTER_STEER [--rounds N]
#            [--probes N] [--after-args "..."] [--out DIR]
# BEFORE_STEER is a release `steer` from before issue #16 (e.g. built from 2b21480^ in a worktree);
# --after-args are extra flags for the second binary only (e.g. "--execution reencode").
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $# -ge 2 ]] || { sed -n '2,13p' "$0"; exit 2; }
BEFORE=$1 AFTER=$2
shift 2
ROUNDS=3 PROBES=32 WARM=8 AFTER_ARGS="" OUT=/tmp/bench-demo-probe
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --probes) PROBES=$2; shift 2 ;;
        --after-args) AFTER_ARGS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
lscpu | grep -E "Model name|^CPU\(s\)" > "$OUT/machine.txt"
echo "avx512f: $(grep -q -w avx512f /proc/cpuinfo && echo yes || echo no)" >> "$OUT/machine.txt"
SAE=Demo/sae/layer_3/width_2k/average_l0_53
PROBE_SAE=Demo/sae/layer_3/width_4k/average_l0_36
PROTOCOL=(--model Demo/model --sae "$SAE" --rollouts 8 --length 32 --baseline-multiplier 4
    --calibration Demo/calibration.jsonl --calibration-batches 1 --calibration-batch-size 16
    --scale-grid 0:12:120 --target-delta 0.5)
now() { date +%s.%N; }
: > "$OUT/results.txt"
for round in $(seq 1 "$ROUNDS"); do
    for side in before after; do
        bin=$BEFORE extra=()
        if [[ $side == after ]]; then bin=$AFTER; read -r -a extra <<< "$AFTER_ARGS"; fi
        store=$OUT/store-$side-$round
        rm -rf "$store"
        "$bin" effects measure "${PROTOCOL[@]}" "${extra[@]}" --store "$store" \
            --vectors "decoder-rows:$PROBE_SAE:0-$WARM" > /dev/null 2> "$OUT/$side-$round-warm.log"
        t0=$(now)
        "$bin" effects measure "${PROTOCOL[@]}" "${extra[@]}" --store "$store" \
            --vectors "decoder-rows:$PROBE_SAE:0-$((WARM + PROBES))" > /dev/null 2> "$OUT/$side-$round.log"
        seconds=$(awk -v a="$t0" -v b="$(now)" -v n="$PROBES" 'BEGIN { printf "%.3f", (b - a) / n }')
        echo "$side $round $seconds" | tee -a "$OUT/results.txt" >&2
        rm -rf "$store"
    done
done
python3 - "$OUT/results.txt" <<'PYEOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
before = [float(r[2]) for r in rows if r[0] == "before"]
after = [float(r[2]) for r in rows if r[0] == "after"]
ratios = [a / b for a, b in zip(after, before)]
print(f"seconds per probe: before {before} (median {statistics.median(before):.3f}), "
      f"after {after} (median {statistics.median(after):.3f}); after/before per round "
      f"{[round(r, 3) for r in ratios]}, median {statistics.median(ratios):.3f}")
PYEOF
