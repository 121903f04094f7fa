#!/usr/bin/env bash
# Side by side on the real google/gemma-3-270m (Q4_K_M GGUF, fetched by Scripts/fetch-gemma3-270m.sh):
# `steer-bench` (f32 with the file's quantised blocks for small batches; f32 rows only; bf16 resident), llama.cpp on the same GGUF
# (llama-batched-bench, llama-bench; its own quantised kernels) and transformers + torch (the same GGUF
# dequantised to f32, eager attention), one after another, 2 threads, then the table of Docs/Benchmarks.md.
# Run it on an otherwise idle machine: only ratios taken in one run are comparable.
#
# Usage: Tests/Reference/bench_gemma3_270m.sh [--out DIR] [--repeats N] [--rounds N] [--torch-python PY]
#                                             [--llama-bin DIR] [--skip torch,llama,bf16] [--steer BIN]
# Defaults: --out /tmp/bench-gemma3-270m, --repeats 3, --torch-python /work/venv5/bin/python,
# --llama-bin /work/llama-bench-cache/build-0.3.36/bin (Tests/Reference/bench_llama_cpp.sh builds it;
# add the llama-server target for the serving benchmark); --steer uses that binary instead of building one.
# --rounds N (default 1) runs ours and llama.cpp N times in turn, so a virtual machine's drift (±15 % within
# minutes) hits both; the table then gives each round and the median over rounds of ours / llama.cpp.
#
# Figures (same protocol on all three): (a) prefill 8 x 64 tokens, last-position logits; (b) 32 sequences,
# 3-token prompt + 32 new tokens (ours and torch: top-k 50 sampling, steered at block 6; llama-batched-bench
# decodes without sampling or steering); (c) batch-1 decode of 64 tokens after a 3-token prompt.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=/tmp/bench-gemma3-270m
REPEATS=3
ROUNDS=1
TORCH_PY=/work/venv5/bin/python
LLAMA_BIN=/work/llama-bench-cache/build-0.3.36/bin
SKIP=""
STEER=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --repeats) REPEATS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --torch-python) TORCH_PY=$2; shift 2 ;;
        --llama-bin) LLAMA_BIN=$2; shift 2 ;;
        --skip) SKIP=$2; shift 2 ;;
        --steer) STEER=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
skipped() { [[ ",$SKIP," == *",$1,"* ]]; }
log() { echo "[gemma3-270m $(date +%H:%M:%S)] $*" >&2; }
mkdir -p "$OUT"

GGUF=$(Scripts/fetch-gemma3-270m.sh)
if [[ -z $STEER ]]; then
    swift build -c release --product steer-bench >&2
    STEER=.build/release/steer
fi
{
    lscpu | grep -E "Model name|^CPU\(s\)"
    echo "avx512f: $(grep -q -w avx512f /proc/cpuinfo && echo yes || echo no)"
    free -g | head -2
    uname -r
} > "$OUT/machine.txt" 2>&1
cat "$GGUF" > /dev/null

for round in $(seq 1 "$ROUNDS"); do
    R=$([[ $ROUNDS -eq 1 ]] && echo "" || echo "-r$round")
    log "round $round: steer-bench, f32 resident with the file's quantised blocks for small batches (the default)"
    "$STEER-bench" --model "$GGUF" --only a,b,c --layer 6 --repeats "$REPEATS" --json > "$OUT/steer-f32$R.json"
    log "round $round: steer-bench, f32 rows only (STEER_QUANTIZED=off)"
    STEER_QUANTIZED=off "$STEER-bench" --model "$GGUF" --only a,b,c --layer 6 --repeats "$REPEATS" --json \
        > "$OUT/steer-f32-rows$R.json"
    if ! skipped bf16; then
        log "round $round: steer-bench, bf16 resident"
        "$STEER-bench" --model "$GGUF" --weights bf16 --only a,b,c --layer 6 --repeats "$REPEATS" --json \
            > "$OUT/steer-bf16$R.json"
    fi
    if ! skipped llama; then
        repeat_npl() { local s=$1; for ((i = 0; i < REPEATS; i++)); do s="$s,$1"; done; echo "$s"; }
        batched=("$LLAMA_BIN/llama-batched-bench" -m "$GGUF" -t 2 -tb 2 -c 8192 -b 512 -ub 512 --output-format jsonl)
        log "round $round: llama-batched-bench prefill 8 x 64"
        "${batched[@]}" -npp 64 -ntg 1 -npl "$(repeat_npl 8)" > "$OUT/llama-prefill$R.jsonl" 2> "$OUT/llama-prefill$R.log"
        log "round $round: llama-batched-bench 32 x (3 + 32)"
        "${batched[@]}" -npp 3 -ntg 32 -npl "$(repeat_npl 32)" > "$OUT/llama-generate$R.jsonl" 2> "$OUT/llama-generate$R.log"
        log "round $round: llama-bench batch-1 decode of 64 tokens"
        "$LLAMA_BIN/llama-bench" -m "$GGUF" -t 2 -n 64 -p 0 -r "$REPEATS" -o json > "$OUT/llama-decode$R.json" \
            2> "$OUT/llama-decode$R.log"
    fi
done
if ! skipped torch; then
    log "transformers + torch, f32 dequantised"
    "$TORCH_PY" Tests/Reference/bench_torch.py --model "$GGUF" --only a2,b,c --steer-layer 6 --repeats "$REPEATS" \
        --json > "$OUT/torch.json"
fi

python3 - "$OUT" "$ROUNDS" <<'PYEOF'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None
def jsonl(name):
    path = os.path.join(out, name)
    if not os.path.exists(path): return []
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")][1:]  # first = warm-up
labels = {"f32": "ours (f32 + quantised blocks, default)", "f32-rows": "ours (f32 rows only)",
          "bf16": "ours (bf16 resident)"}
def round_rows(suffix):
    rows = {}
    for tag in ["f32", "f32-rows", "bf16"]:
        s = load(f"steer-{tag}{suffix}.json")
        if s:
            rows[labels[tag]] = [s.get("a_prefill_8x64_last_logits_tokens_per_second"),
                                 s.get("b_generate_32x32_steered_tokens_per_second"),
                                 s.get("c_decode_batch1_64_tokens_per_second")]
    pre, gen = jsonl(f"llama-prefill{suffix}.jsonl"), jsonl(f"llama-generate{suffix}.jsonl")
    dec = load(f"llama-decode{suffix}.json")
    if pre or gen or dec:
        rows["llama.cpp (Q4_K_M kernels)"] = [
            statistics.median(r["speed_pp"] for r in pre) if pre else None,
            statistics.median(r["speed_tg"] for r in gen) if gen else None,
            dec[0]["avg_ts"] if dec else None]
    return rows
suffixes = [""] if rounds == 1 else [f"-r{i}" for i in range(1, rounds + 1)]
per_round = [round_rows(s) for s in suffixes]
rows = {}
for name in per_round[0]:
    rows[name] = [[r[name][j] for r in per_round if name in r] for j in range(3)]
t = load("torch.json")
if t:
    f = t["figures"]
    rows["transformers f32"] = [[f.get("a2_prefill_8x64_last_logits", {}).get("tok_s_median")],
                                [f.get("b_sample_32x32_steered", {}).get("tok_s_median")],
                                [f.get("c_greedy_1x64", {}).get("tok_s_median")]]
print(open(os.path.join(out, "machine.txt")).read())
fmt = lambda v: "—" if v is None else f"{v:.1f}"
cell = lambda vs: " / ".join(fmt(v) for v in vs)
print(f"tokens/s, median of {len(suffixes)} round(s) (each round's value after the slash when more than one)")
print("| | (a) prefill 8×64 | (b) 32×32 generation | (c) batch-1 decode |")
print("|---|---|---|---|")
for name, values in rows.items():
    med = [statistics.median([v for v in vs if v is not None]) if any(v is not None for v in vs) else None
           for vs in values]
    detail = [f" ({cell(vs)})" if len(vs) > 1 else "" for vs in values]
    print(f"| {name} | " + " | ".join(fmt(m) + d for m, d in zip(med, detail)) + " |")
llama = "llama.cpp (Q4_K_M kernels)"
summary = {"rounds": rows}
if llama in rows:
    print()
    print("| ours / llama.cpp, median over rounds of each round's ratio | (a) | (b) | (c) |")
    print("|---|---|---|---|")
    summary["ratios"] = {}
    for tag in ["f32", "f32-rows", "bf16"]:
        name = labels[tag]
        if name not in rows: continue
        ratios = [statistics.median([a / b for a, b in zip(rows[name][j], rows[llama][j]) if a and b])
                  for j in range(3)]
        summary["ratios"][name] = ratios
        print(f"| {name} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
PYEOF
