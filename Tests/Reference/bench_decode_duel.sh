#!/usr/bin/env bash
# Batch-1 decoding is bound by memory bandwidth, and on a shared host that bandwidth drifts by ±40 %
# within minutes. This runs `steer bench` (c) and llama.cpp's `llama-bench -n 64` alternately, ROUNDS
# times per precision, so both see the same drift, and prints the per-round rates and their medians.
#
# Usage: Tests/Reference/bench_decode_duel.sh [--model DIR] [--rounds N] [--cache DIR] [--out FILE]
# Defaults: --model /tmp/gemma-2-2b-random, --rounds 5, --cache $LLAMA_BENCH_CACHE or /work/llama-bench-cache
# (bench_llama_cpp.sh builds llama-bench and the GGUFs there), --out /tmp/bench-side-by-side/decode-duel.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=/tmp/gemma-2-2b-random
ROUNDS=5
CACHE=${LLAMA_BENCH_CACHE:-/work/llama-bench-cache}
OUT=/tmp/bench-side-by-side/decode-duel.json
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) MODEL=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$(dirname "$OUT")"
swift build -c release --product steer >&2
NAME=$(basename "$MODEL")
LINES=()
for precision in f32 f16; do
    gguf=$CACHE/gguf/$NAME-$precision.gguf
    for round in $(seq 1 "$ROUNDS"); do
        ours=$(.build/release/steer bench --model "$MODEL" --weights "$precision" --only c --repeats 1 --json |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["c_decode_batch1_64_tokens_per_second"])')
        theirs=$("$CACHE"/build-*/bin/llama-bench -m "$gguf" -t 2 -n 64 -p 0 -r 1 -o json 2>/dev/null |
            python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["avg_ts"])')
        echo "[decode-duel] $precision round $round: steer $ours tok/s, llama.cpp $theirs tok/s" >&2
        LINES+=("$precision $ours $theirs")
    done
done
printf '%s\n' "${LINES[@]}" | python3 -c '
import json, statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
out = {}
for precision in ("f32", "f16"):
    ours = [float(r[1]) for r in rows if r[0] == precision]
    theirs = [float(r[2]) for r in rows if r[0] == precision]
    ratios = [a / b for a, b in zip(ours, theirs)]
    out[precision] = {"steer_tok_s": ours, "llama_cpp_tok_s": theirs, "ratios": ratios,
                      "steer_median": statistics.median(ours), "llama_cpp_median": statistics.median(theirs),
                      "median_of_ratios": statistics.median(ratios)}
print(json.dumps(out, indent=2))
' | tee "$OUT"
