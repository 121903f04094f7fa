#!/usr/bin/env bash
# One-core GFLOP/s of the packed product kernel (packing included) at the shapes of three models, built
# from two commits and run in alternating rounds, next to OpenBLAS sgemm: bench_packed_kernels.c
# compiled once against the CKernels sources of BEFORE and once against the working tree.
#
# Usage: Tests/Reference/bench_kernels_before_after.sh BEFORE_REV [--rounds N] [--rows "32 128 512 1008"]
#            [--shapes "demo 270m 2b"] [--out DIR]
# Prints one line per (shape, rows, round) and a median table; OPENBLAS_CORETYPE is passed through
# (set it where Debian's OpenBLAS does not recognise the CPU, see Docs/Benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $# -ge 1 ]] || { sed -n '2,9p' "$0"; exit 2; }
BEFORE=$1
shift
ROUNDS=3 ROWS="32 128 512 1008" SHAPES="demo 270m 2b" OUT=/tmp/bench-kernels
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --rows) ROWS=$2; shift 2 ;;
        --shapes) SHAPES=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT/before"
git archive "$BEFORE" Sources/CKernels | tar -x -C "$OUT/before"
build() { # $1: CKernels directory, $2: binary
    cc -O3 -I"$1/include" -I"$1" -o "$2" Tests/Reference/bench_packed_kernels.c "$1"/kernels.c "$1"/gemm_avx2.c \
        "$1"/quantized.c "$1"/pool.c -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lm -lpthread
}
build "$OUT/before/Sources/CKernels" "$OUT/bench-before"
build Sources/CKernels "$OUT/bench-after"
lscpu | grep -E "Model name|^CPU\(s\)|Flags" > "$OUT/machine.txt"
: > "$OUT/results.txt"
for round in $(seq 1 "$ROUNDS"); do
    for shape in $SHAPES; do
        # Alternate which side goes first: a process started right after the other side's large run
        # measured its first figure slow (an ordering effect of this VM, seen with either binary).
        sides="before after"
        [[ $((round % 2)) -eq 0 ]] && sides="after before"
        for side in $sides; do
            # Columns of bench_packed_kernels: rows, AVX-512, AVX2, sgemm (GF/s each).
            STEER_BENCH_SHAPES=$shape OPENBLAS_NUM_THREADS=1 "$OUT/bench-$side" $ROWS |
                awk -v s="$shape" -v side="$side" -v r="$round" '$1 ~ /^[0-9]+$/ { print s, $1, side, r, $2, $4, $6 }' |
                tee -a "$OUT/results.txt"
        done
    done
done
python3 - "$OUT/results.txt" <<'PYEOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    shape, rows, side, _, avx512, avx2, sgemm = line.split()
    runs[(shape, int(rows), side)].append((float(avx512), float(avx2), float(sgemm)))
print("\nmedians over rounds, GFLOP/s on one core (packing included):")
print(f"{'shape':6} {'rows':>5} | {'AVX-512 before':>14} {'after':>7} {'×':>5} | {'AVX2 before':>11} {'after':>7} {'×':>5} | {'sgemm':>7}")
for shape, rows in sorted({(s, r) for s, r, _ in runs}, key=lambda k: ("demo 270m 2b".split().index(k[0]) if k[0] in ("demo", "270m", "2b") else 9, k[1])):
    b, a = runs[(shape, rows, "before")], runs[(shape, rows, "after")]
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    print(f"{shape:6} {rows:5d} | {med(b,0):14.1f} {med(a,0):7.1f} {med(a,0)/med(b,0):5.2f} | "
          f"{med(b,1):11.1f} {med(a,1):7.1f} {med(a,1)/med(b,1):5.2f} | {statistics.median(x[2] for x in a + b):7.1f}")
PYEOF
