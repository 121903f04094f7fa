#!/usr/bin/env bash
# Seconds per probe vector with two `steer` binaries side by side, in alternating rounds: `steer effects
# measure` into a fresh store, first --warm probes (model load, baseline, the calibration site pass),
# then --probes more in the same store; the second job's wall time over the probes it measured is the figure.
#
# --shape demo (default): the embedded demo model at the toy demo's protocol (14 prompts × 8 rollouts of
# 32 tokens, baseline ×4, calibration 1 × 16 sequences on the demo's calibration text, the demo's 11-point
# grid 0:12:120 to unsteered loss + 0.5 nats, probes = decoder rows of the 4k SAE, effects through the 2k SAE).
# --shape 2b: the random-weight Gemma-2-2B checkpoint (Tests/Reference/ensure_2b_checkpoint.sh) at the
# reduced protocol of Docs/Benchmarks.md's 2B probe figures (14 prompts × 8 rollouts of 32 tokens, baseline
# ×1, calibration 2 × 8 sequences of the demo's calibration text, the method's grid 0:20:200 to unsteered
# loss + 0.5 nats) at layer 12, through a random 16k JumpReLU SAE with unit decoder rows (written with numpy,
# $PYTHON or python3, on first use). On random weights the loss moves little on that grid and not always up,
# so the probes are decoder row 0 (whose loss rises over the whole grid: +0.064 nats by scale 200) and unit
# vectors within 0.05 of it: every probe walks the whole grid and extrapolates from (180, 200), the method's
# worst case, as `steer-bench --probe` does, instead of failing on a vector whose loss falls.
#
# Usage: Tests/Reference/bench_demo_probe_before_after.sh BEFORE_STEER AFTER_STEER [--shape demo|2b]
#            [--rounds N] [--probes N] [--warm N] [--after-args "..."] [--out DIR]
# BEFORE_STEER is a release `steer` from before issue #16 (e.g. built from 2b21480^ in a worktree);
# --after-args are extra flags for the second binary only (e.g. "--execution reencode").
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $# -ge 2 ]] || { sed -n '2,22p' "$0"; exit 2; }
BEFORE=$1 AFTER=$2
shift 2
ROUNDS=3 PROBES="" WARM="" SHAPE=demo AFTER_ARGS="" OUT=/tmp/bench-demo-probe
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --probes) PROBES=$2; shift 2 ;;
        --warm) WARM=$2; shift 2 ;;
        --shape) SHAPE=$2; shift 2 ;;
        --after-args) AFTER_ARGS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
lscpu | grep -E "Model name|^CPU\(s\)" > "$OUT/machine.txt"
echo "avx512f: $(grep -q -w avx512f /proc/cpuinfo && echo yes || echo no)" >> "$OUT/machine.txt"
case "$SHAPE" in
    demo)
        SAE=Demo/sae/layer_3/width_2k/average_l0_53
        PROBE_SAE=Demo/sae/layer_3/width_4k/average_l0_36
        PROTOCOL=(--model Demo/model --sae "$SAE" --rollouts 8 --length 32 --baseline-multiplier 4
            --calibration Demo/calibration.jsonl --calibration-batches 1 --calibration-batch-size 16
            --scale-grid 0:12:120 --target-delta 0.5)
        PROBES=${PROBES:-32} WARM=${WARM:-8}
        VECTORS_WARM=decoder-rows:$PROBE_SAE:0-$WARM
        VECTORS_ALL=decoder-rows:$PROBE_SAE:0-$((WARM + PROBES)) ;;
    2b)
        MODEL=${GEMMA2_2B_DIR:-/tmp/gemma-2-2b-random}
        Tests/Reference/ensure_2b_checkpoint.sh "$MODEL"
        SAE=${SAE_2B_DIR:-/tmp/sae-2b-random-16k}
        if [[ ! -f $SAE/params.npz ]]; then
            mkdir -p "$SAE"
            "${PYTHON:-python3}" - "$SAE/params.npz" <<'PYEOF'
import sys
import numpy as np
rng = np.random.default_rng(11)
d, w = 2304, 16384
dec = rng.normal(0, 1, (w, d)).astype(np.float32)
dec /= np.linalg.norm(dec, axis=1, keepdims=True)
np.savez(sys.argv[1] + ".tmp.npz", W_enc=rng.uniform(-0.05, 0.05, (d, w)).astype(np.float32), W_dec=dec,
         b_enc=rng.uniform(-0.1, 0.1, w).astype(np.float32), b_dec=rng.uniform(-0.1, 0.1, d).astype(np.float32),
         threshold=rng.uniform(0, 0.5, w).astype(np.float32))
PYEOF
            mv "$SAE/params.npz.tmp.npz" "$SAE/params.npz"
        fi
        PROTOCOL=(--model "$MODEL" --sae "$SAE" --sae-layer 12 --rollouts 8 --length 32 --baseline-multiplier 1
            --calibration Demo/calibration.jsonl --calibration-batches 2 --calibration-batch-size 8
            --scale-grid 0:20:200 --target-delta 0.5)
        PROBES=${PROBES:-1} WARM=${WARM:-1}
        VECTORS_WARM=$OUT/probes-warm.npy VECTORS_ALL=$OUT/probes-all.npy
        "${PYTHON:-python3}" - "$SAE/params.npz" "$WARM" "$PROBES" "$OUT" <<'PYEOF'
import sys
import numpy as np
dec = np.load(sys.argv[1])["W_dec"]
warm, probes, out = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = [dec[0]] + [dec[0] + 0.05 * dec[i] for i in range(1, warm + probes)]
rows = np.stack([r / np.linalg.norm(r) for r in rows]).astype(np.float32)
np.save(out + "/probes-warm.npy", rows[:warm])
np.save(out + "/probes-all.npy", rows)
PYEOF
        ;;
    *) echo "unknown --shape: $SHAPE (demo or 2b)" >&2; exit 2 ;;
esac
echo "shape: $SHAPE" >> "$OUT/machine.txt"
now() { date +%s.%N; }
: > "$OUT/results.txt"
for round in $(seq 1 "$ROUNDS"); do
    for side in before after; do
        bin=$BEFORE extra=()
        if [[ $side == after ]]; then bin=$AFTER; read -r -a extra <<< "$AFTER_ARGS"; fi
        store=$OUT/store-$side-$round
        rm -rf "$store"
        "$bin" effects measure "${PROTOCOL[@]}" "${extra[@]}" --store "$store" \
            --vectors "$VECTORS_WARM" --print-keys > "$OUT/$side-$round-warm.keys" 2> "$OUT/$side-$round-warm.log"
        t0=$(now)
        "$bin" effects measure "${PROTOCOL[@]}" "${extra[@]}" --store "$store" \
            --vectors "$VECTORS_ALL" --print-keys > "$OUT/$side-$round.keys" 2> "$OUT/$side-$round.log"
        for log in "$OUT/$side-$round-warm.log" "$OUT/$side-$round.log"; do
            grep -q " 0 failed" "$log" || { echo "a probe failed ($log):" >&2; cat "$log" >&2; exit 1; }
        done
        # Divide by what the job measured: a .npy file's rows are other vectors than the warm-up file's, so
        # there the second job measures WARM + PROBES.
        measured=$(grep -o -E "[0-9]+ measured" "$OUT/$side-$round.log" | cut -d' ' -f1)
        seconds=$(awk -v a="$t0" -v b="$(now)" -v n="$measured" 'BEGIN { printf "%.3f", (b - a) / n }')
        echo "$side $round $seconds $measured" | tee -a "$OUT/results.txt" >&2
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
