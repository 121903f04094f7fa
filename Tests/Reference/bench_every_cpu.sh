#!/usr/bin/env bash
# The "every CPU" comparison: `steer-bench` at each kernel level this CPU has, and the AVX2 level
# with OpenBLAS for the larger products (how AVX2-only CPUs ran before our AVX2 kernels), side by
# side with llama.cpp f32 and PyTorch f32, all on the same random google/gemma-2-2b checkpoint, one
# after the other, 2 threads each. Prints a Markdown table naming the CPU and whether it has
# AVX-512. On an AVX-512 CPU the AVX2 columns are forced (STEER_KERNEL_LEVEL=avx2), which keeps
# that CPU's caches and clocks: run the same command on a real AVX2-only CPU for that row.
#
# Usage: Tests/Reference/bench_every_cpu.sh [--model DIR] [--out DIR] [--repeats N] [--only e,a,b,c,d]
#                                           [--torch-python PY] [--llama-python PY] [--skip torch,llama]
# Defaults: --model /tmp/gemma-2-2b-random (written, with the Gemma tokenizer, when missing: ensure_2b_checkpoint.sh),
# --out /tmp/bench-every-cpu, --repeats 3, --only e,a,b,c,d (steer bench's figures; e: product rates,
# d: our re-encode pass, for the per-probe arithmetic), python3 for both peers.
# Needs: a release build of steer (built here), Python with torch + transformers (bench_torch.py),
# and what bench_llama_cpp.sh needs to fetch, build and convert llama.cpp (it skips done steps).
set -euo pipefail
cd "$(dirname "$0")/../.."

MODEL=/tmp/gemma-2-2b-random
OUT=/tmp/bench-every-cpu
REPEATS=3
ONLY=e,a,b,c,d
TORCH_PY=python3
LLAMA_PY=python3
SKIP=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) MODEL=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --repeats) REPEATS=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --torch-python) TORCH_PY=$2; shift 2 ;;
        --llama-python) LLAMA_PY=$2; shift 2 ;;
        --skip) SKIP=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
skipped() { [[ ",$SKIP," == *",$1,"* ]]; }
log() { echo "[every-cpu $(date +%H:%M:%S)] $*" >&2; }
PYTHON=$LLAMA_PY Tests/Reference/ensure_2b_checkpoint.sh "$MODEL"
mkdir -p "$OUT"
rm -f "$OUT"/steer-*.json "$OUT"/llama.json "$OUT"/torch.json

swift build -c release --product steer-bench >&2
STEER=.build/release/steer
{ lscpu | grep -E "Model name|^CPU\(s\)|L2|L3"; grep -m1 -o -w avx512f /proc/cpuinfo || echo "no avx512f"; nproc; free -g | head -2; uname -r; } \
    > "$OUT/machine.txt" 2>&1

# Our levels: the CPU's own, the AVX2 level (forced when the CPU has AVX-512), and the AVX2 level
# with OpenBLAS for every product of more than 8 rows (the fallback before our AVX2 kernels).
LEVELS=(native:: avx2:avx2: avx2-blas:avx2:blas)
grep -qw avx512f /proc/cpuinfo || LEVELS=(native:: avx2-blas:avx2:blas)
log "warming the page cache with $MODEL"
cat "$MODEL"/*.safetensors > /dev/null
# OpenBLAS picks its kernels from the CPU model; Debian's 0.3.21 does not know some newer Intel parts and
# falls back to its SSE3 "Prescott" kernels (5x slower sgemm on the AVX-512 Xeon of Docs/Benchmarks.md). The
# forced-AVX2 BLAS column therefore names OpenBLAS's AVX2 kernels explicitly when the CPU has AVX-512.
BLAS_CORE=$(python3 -c 'import ctypes; l = ctypes.CDLL("libopenblas.so.0"); l.openblas_get_corename.restype = ctypes.c_char_p; print(l.openblas_get_corename().decode())' 2>/dev/null || echo unknown)
echo "OpenBLAS core detected: $BLAS_CORE" >> "$OUT/machine.txt"
for entry in "${LEVELS[@]}"; do
    IFS=: read -r name level gemm <<< "$entry"
    core=()
    if [[ $name == avx2-blas && ${#LEVELS[@]} -eq 3 && -z ${OPENBLAS_CORETYPE:-} ]]; then core=(OPENBLAS_CORETYPE=Haswell); fi
    log "steer-bench, f32 in place, level $name ${core[*]}"
    env ${level:+STEER_KERNEL_LEVEL=$level} ${gemm:+STEER_GEMM=$gemm} "${core[@]}" \
        "$STEER-bench" --model "$MODEL" --only "$ONLY" --repeats "$REPEATS" --json > "$OUT/steer-$name.json"
done
if ! skipped llama; then
    log "llama.cpp f32"
    Tests/Reference/bench_llama_cpp.sh --model "$MODEL" --types f32 --repeats "$REPEATS" --python "$LLAMA_PY" \
        > "$OUT/llama.json"
fi
if ! skipped torch; then
    log "transformers + torch"
    "$TORCH_PY" Tests/Reference/bench_torch.py --model "$MODEL" --threads 2 --repeats "$REPEATS" \
        --only "$(echo "$ONLY" | tr ',' '\n' | grep -E '^(a|b|c)$' | paste -sd,)" \
        --json > "$OUT/torch.json"
fi
python3 Tests/Reference/bench_levels_table.py "$OUT"
