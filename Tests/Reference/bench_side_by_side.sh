#!/usr/bin/env bash
# Runs `steer-bench` and the two peers (transformers + torch, llama.cpp) one after another on the same
# random-weight checkpoint of the google/gemma-2-2b shape, then prints the table of Docs/Benchmarks.md
# with the ratios. Run it on an otherwise idle machine: only ratios taken in one run are comparable.
#
# Usage: Tests/Reference/bench_side_by_side.sh [--model DIR] [--out DIR] [--repeats N]
#                                              [--torch-python PY] [--skip torch,llama,steer-f16]
# Defaults: --model /tmp/gemma-2-2b-random (Tests/Reference/make_random_checkpoint.py writes it),
# --out /tmp/bench-side-by-side, --repeats 3, --torch-python /work/venv-bench/bin/python.
# Needs: a release build of steer (built here), the llama.cpp build and GGUFs that
# Tests/Reference/bench_llama_cpp.sh makes (it is called with --only run after its own fetch/build/
# convert steps, which it skips when done), and a Python with torch + transformers.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODEL=/tmp/gemma-2-2b-random
OUT=/tmp/bench-side-by-side
REPEATS=3
TORCH_PY=/work/venv-bench/bin/python
SKIP=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) MODEL=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --repeats) REPEATS=$2; shift 2 ;;
        --torch-python) TORCH_PY=$2; shift 2 ;;
        --skip) SKIP=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
skipped() { [[ ",$SKIP," == *",$1,"* ]]; }
log() { echo "[side-by-side $(date +%H:%M:%S)] $*" >&2; }
mkdir -p "$OUT"

swift build -c release --product steer-bench >&2
STEER=.build/release/steer
{ lscpu | grep -E "Model name|^CPU\(s\)"; nproc; free -g | head -2; uname -r; } > "$OUT/machine.txt" 2>&1

# Our figures first (f32 in place from the safetensors file), with a warm page cache for the
# time-to-first-token figure.
log "warming the page cache with $MODEL/model.safetensors"
cat "$MODEL"/*.safetensors > /dev/null
log "steer-bench, f32 resident (in place)"
"$STEER-bench" --model "$MODEL" --only e,a,b,c,d --reencode-sequences 128 --repeats "$REPEATS" --json \
    > "$OUT/steer-f32.json"
if ! skipped llama; then
    log "llama.cpp f32 and f16"
    Tests/Reference/bench_llama_cpp.sh --model "$MODEL" --repeats "$REPEATS" > "$OUT/llama.json"
fi
if ! skipped torch; then
    log "transformers + torch"
    "$TORCH_PY" Tests/Reference/bench_torch.py --model "$MODEL" --threads 2 --repeats "$REPEATS" --json \
        > "$OUT/torch.json"
fi
if ! skipped steer-f16; then
    log "steer-bench, f16 resident (narrowed at load) and bf16"
    "$STEER-bench" --model "$MODEL" --weights f16 --only a,b,c --repeats "$REPEATS" --json > "$OUT/steer-f16.json"
    "$STEER-bench" --model "$MODEL" --weights bf16 --only c --repeats "$REPEATS" --json > "$OUT/steer-bf16.json"
fi
python3 Tests/Reference/bench_table.py "$OUT"
