#!/usr/bin/env bash
# Ours vs llama.cpp f32 on the Gemma-2-2B shape in alternating rounds (odd rounds ours first, even rounds
# llama.cpp first), then a Markdown table of every round's tokens/s and ratios for (a) prefill 8 × 64 with
# last-position logits, (b) 32 steered top-k sequences × 32 tokens, (c) batch-1 decode. Compare within a round:
# shared machines drift between minutes.
#
# Usage: Tests/Reference/bench_2b_rounds.sh [--model DIR] [--out DIR] [--rounds N] [--repeats N]
#                                           [--steer-bench BIN] [--python PY] [--summary-only]
# Defaults: --model /tmp/gemma-2-2b-random (ensure_2b_checkpoint.sh writes it when missing), --out /tmp/bench-2b-rounds,
# --rounds 2, --repeats 2, --steer-bench .build/release/steer-bench (built here when it is the default),
# --python: passed to bench_llama_cpp.sh for its conversion step when given (else that script's own default),
# and the Python that writes a missing checkpoint (python3 when not given).
set -euo pipefail
cd "$(dirname "$0")/../.."

MODEL=/tmp/gemma-2-2b-random OUT=/tmp/bench-2b-rounds ROUNDS=2 REPEATS=2 BENCH="" PY="" SUMMARY=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) MODEL=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --repeats) REPEATS=$2; shift 2 ;;
        --steer-bench) BENCH=$2; shift 2 ;;
        --python) PY=$2; shift 2 ;;
        --summary-only) SUMMARY=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
log() { echo "[2b-rounds $(date +%H:%M:%S)] $*" >&2; }
mkdir -p "$OUT"
if [[ $SUMMARY -eq 0 ]]; then
    PYTHON=${PY:-python3} Tests/Reference/ensure_2b_checkpoint.sh "$MODEL"
    if [[ -z $BENCH ]]; then
        swift build -c release --product steer-bench >&2
        BENCH=.build/release/steer-bench
    fi
    rm -f "$OUT"/ours-*.json "$OUT"/llama-*.json
    { lscpu | grep -E "Model name|CPU family|^Model:|^CPU\(s\)|L2|L3"; grep -m1 -o -w avx512f /proc/cpuinfo || echo "no avx512f"; } \
        > "$OUT/machine.txt" 2>&1
    cat "$MODEL"/*.safetensors > /dev/null
    for ((round = 1; round <= ROUNDS; round++)); do
        sides=(ours llama)
        ((round % 2 == 0)) && sides=(llama ours)
        for side in "${sides[@]}"; do
            log "round $round: $side"
            if [[ $side == ours ]]; then
                "$BENCH" --model "$MODEL" --only a,b,c --repeats "$REPEATS" --json > "$OUT/ours-$round.json"
            else
                Tests/Reference/bench_llama_cpp.sh --model "$MODEL" --types f32 --repeats "$REPEATS" ${PY:+--python "$PY"} \
                    > "$OUT/llama-$round.json"
            fi
        done
    done
fi
python3 - "$OUT" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
print(open(os.path.join(out, "machine.txt")).read().strip() if os.path.exists(os.path.join(out, "machine.txt")) else "")
print()
print("| round | figure | ours | llama.cpp f32 | ours / llama.cpp |")
print("|---|---|---:|---:|---:|")
rounds = sorted(int(p.split("-")[-1].split(".")[0]) for p in glob.glob(os.path.join(out, "ours-*.json")))
for r in rounds:
    ours = json.load(open(os.path.join(out, f"ours-{r}.json")))
    llama = json.load(open(os.path.join(out, f"llama-{r}.json")))["models"]["f32"]
    rows = [
        ("(a) prefill 8 × 64, last-position logits", ours["a_prefill_8x64_last_logits_tokens_per_second"],
         llama["prefill_8x64_last_logits"]["tok_s_median"]),
        ("(b) generation 32 × 32, top-k 50, steered", ours["b_generate_32x32_steered_tokens_per_second"],
         llama["generate_32x32"]["new_tok_s_incl_prompt_median"]),
        ("(c) decode, batch 1, 64 tokens", ours["c_decode_batch1_64_tokens_per_second"],
         llama["decode_b1_64"]["tok_s_median"]),
    ]
    for name, a, b in rows:
        print(f"| {r} | {name} | {a:.2f} | {b:.2f} | {a / b:.2f}× |")
PY
