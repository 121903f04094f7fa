#!/usr/bin/env bash
# Two builds of steer-bench side by side in one run (for a change of build settings or of code): each round
# runs BEFORE then AFTER on the same model and figures, so both see the same machine drift; prints every
# round's figures and the median ratio AFTER / BEFORE per figure.
#
# Usage: Tests/Reference/bench_before_after.sh BEFORE AFTER [--rounds N] [--only a,b,c] [--repeats K]
#        [--out FILE] [-- steer-bench arguments...]
# Example (the #18 build-flag change, real gemma-3-270m):
#   git worktree add /tmp/before <commit> && (cd /tmp/before && swift build -c release --product steer-bench)
#   swift build -c release --product steer-bench --scratch-path .build-bench
#   Tests/Reference/bench_before_after.sh /tmp/before/.build/release/steer-bench \
#       .build-bench/release/steer-bench -- --model "$(Scripts/fetch-gemma3-270m.sh)"
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,12p' "$0"; exit 2; }
BEFORE=$1 AFTER=$2
shift 2
ROUNDS=3 ONLY=a,b,c REPEATS=3 OUT=/tmp/bench-before-after.json
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --repeats) REPEATS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
for binary in "$BEFORE" "$AFTER"; do [[ -x $binary ]] || { echo "not an executable: $binary" >&2; exit 2; }; done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    for side in before after; do
        binary=$BEFORE
        [[ $side == after ]] && binary=$AFTER
        "$binary" --only "$ONLY" --repeats "$REPEATS" --json "$@" >"$WORK/$side-$round.json"
        echo "[before-after] round $round, $side done" >&2
    done
done
python3 - "$WORK" "$ROUNDS" "$OUT" <<'EOF'
import json, statistics, sys
work, rounds, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {side: [json.load(open(f"{work}/{side}-{r}.json")) for r in range(1, rounds + 1)] for side in ("before", "after")}
figures = [k for k, v in runs["before"][0].items() if k.endswith("tokens_per_second") and isinstance(v, (int, float))]
table = {}
for key in figures:
    before = [run[key] for run in runs["before"]]
    after = [run[key] for run in runs["after"]]
    ratios = [a / b for a, b in zip(after, before)]
    table[key] = dict(before=before, after=after, median_ratio=statistics.median(ratios))
    print(f"{key:55s} before {' '.join(f'{x:8.1f}' for x in before)} | after {' '.join(f'{x:8.1f}' for x in after)}"
          f" | after/before {statistics.median(ratios):.3f}")
json.dump(table, open(out, "w"), indent=2)
EOF
