#!/usr/bin/env bash
# steer-bench --probe (re-encode and capture executions) and bench_probe_torch.py, one after the other
# on the same shape and CPU, each writing JSON into --out.
#   Tests/Reference/bench_probe_side_by_side.sh --shape demo|gemma2-2b [--out DIR] [-- extra protocol flags]
# Protocol flags after `--` go to both (e.g. --rollouts 8 --calibration 2x8 --probes 2).
set -euo pipefail
shape=demo out=/tmp/bench-probe python=${PYTHON:-python3} steer=${STEER:-.build/release/steer}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shape) shape=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
case "$shape" in
  demo) ours=(--model Demo/model --layer 3 --sae-width 2048); theirs=(--shape demo --layer 3 --sae-width 2048) ;;
  gemma2-2b) ours=(--layer 12); theirs=(--shape gemma2-2b --layer 12) ;;
  *) echo "--shape must be demo or gemma2-2b" >&2; exit 2 ;;
esac
lscpu | grep -E "Model name|^CPU\(s\)" > "$out/cpu.txt"
grep -q avx512f /proc/cpuinfo && echo "avx512f: yes" >> "$out/cpu.txt" || echo "avx512f: no" >> "$out/cpu.txt"
uptime >> "$out/cpu.txt"
"$steer-bench" --probe "${ours[@]}" "$@" --json > "$out/steer-$shape.json"
uptime >> "$out/cpu.txt"
"$python" Tests/Reference/bench_probe_torch.py "${theirs[@]}" "$@" --json > "$out/torch-$shape.json"
uptime >> "$out/cpu.txt"
