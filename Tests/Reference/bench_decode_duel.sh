#!/usr/bin/env bash
# Batch-1 decoding is bound by memory bandwidth, and on a shared host that bandwidth drifts by ±40 %
# within minutes. This runs `steer-bench` (c) and llama.cpp's `llama-bench -n 64` alternately, ROUNDS
# times per mode (modes interleaved within a round), so both see the same drift, and prints the per-round rates and their medians.
#
# Usage: Tests/Reference/bench_decode_duel.sh [--model DIR] [--rounds N] [--cache DIR] [--out FILE] [--modes "M ..."]
# Defaults: --model /tmp/gemma-2-2b-random, --rounds 5, --cache $LLAMA_BENCH_CACHE or /work/llama-bench-cache
# (bench_llama_cpp.sh builds llama-bench and the GGUFs there), --out /tmp/bench-side-by-side/decode-duel.json,
# --modes "in-place f32 f16". Modes: in-place (f32 weights used from the file mapping, the default of
# every steer command), in-place-gcd (the same with STEER_PARALLEL=gcd: parallel regions through GCD
# instead of the spinning worker pool), f32/f16/bf16 (--weights PRECISION: converted or copied once
# into huge-page memory). Each mode is compared with the GGUF of its precision (f32 for in-place).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=/tmp/gemma-2-2b-random
ROUNDS=5
MODES="in-place f32 f16"
CACHE=${LLAMA_BENCH_CACHE:-/work/llama-bench-cache}
OUT=/tmp/bench-side-by-side/decode-duel.json
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) MODEL=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --modes) MODES=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$(dirname "$OUT")"
swift build -c release --product steer-bench >&2
NAME=$(basename "$MODEL")
LINES=()
for round in $(seq 1 "$ROUNDS"); do
    for mode in $MODES; do
        case "$mode" in
            in-place) args=(); env=(); precision=f32 ;;
            in-place-gcd) args=(); env=(STEER_PARALLEL=gcd); precision=f32 ;;
            f32|f16|bf16) args=(--weights "$mode"); env=(); precision=$mode ;;
            *) echo "unknown mode: $mode (in-place, in-place-gcd, f32, f16, bf16)" >&2; exit 2 ;;
        esac
        gguf=$CACHE/gguf/$NAME-${precision/bf16/f16}.gguf
        read -r ours huge < <(env "${env[@]}" .build/release/steer-bench --model "$MODEL" "${args[@]}" --only c --repeats 1 --json |
            python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["c_decode_batch1_64_tokens_per_second"], d.get("weights_on_huge_pages_fraction", "?"))')
        theirs=$("$CACHE"/build-*/bin/llama-bench -m "$gguf" -t 2 -n 64 -p 0 -r 1 -o json 2>/dev/null |
            python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["avg_ts"])')
        echo "[decode-duel] round $round, $mode: steer $ours tok/s (weights on 2 MiB pages: $huge), llama.cpp $theirs tok/s" >&2
        LINES+=("$mode $ours $theirs")
    done
done
printf '%s\n' "${LINES[@]}" | python3 -c '
import json, statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
out = {}
for mode in dict.fromkeys(r[0] for r in rows):
    ours = [float(r[1]) for r in rows if r[0] == mode]
    theirs = [float(r[2]) for r in rows if r[0] == mode]
    ratios = [a / b for a, b in zip(ours, theirs)]
    out[mode] = {"steer_tok_s": ours, "llama_cpp_tok_s": theirs, "ratios": ratios,
                      "steer_median": statistics.median(ours), "llama_cpp_median": statistics.median(theirs),
                      "median_of_ratios": statistics.median(ratios)}
print(json.dumps(out, indent=2))
' | tee "$OUT"
