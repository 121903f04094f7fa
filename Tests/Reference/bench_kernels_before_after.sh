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
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    shape, rows, side, round_, avx512, avx2, sgemm = line.split()
    runs[(shape, int(rows))][(side, round_)] = (float(avx512), float(avx2), float(sgemm))
order = {"demo": 0, "270m": 1, "2b": 2}
print("\nGFLOP/s on one core (packing included): medians over rounds; × is the median of each round's after/before")
print("(the machine's drift moves both sides of a round, so the per-round ratio is the verdict figure)")
print(f"{'shape':6} {'rows':>5} | {'AVX-512 before':>14} {'after':>7} {'×':>5} | {'AVX2 before':>11} {'after':>7} {'×':>5} | {'sgemm':>7}")
for shape, rows in sorted(runs, key=lambda k: (order.get(k[0], 9), k[1])):
    cells = runs[(shape, rows)]
    rounds = sorted({r for _, r in cells})
    def column(i):
        before = [cells[("before", r)][i] for r in rounds]
        after = [cells[("after", r)][i] for r in rounds]
        ratio = statistics.median(a / b for a, b in zip(after, before))
        return statistics.median(before), statistics.median(after), ratio
    b5, a5, r5 = column(0)
    b2, a2, r2 = column(1)
    sgemm = statistics.median(v[2] for v in cells.values())
    print(f"{shape:6} {rows:5d} | {b5:14.1f} {a5:7.1f} {r5:5.2f} | {b2:11.1f} {a2:7.1f} {r2:5.2f} | {sgemm:7.1f}")
PYEOF
