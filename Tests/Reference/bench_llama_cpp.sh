#!/usr/bin/env bash
# Peer benchmark: llama.cpp (the copy vendored in the llama-cpp-python sdist) on a Gemma-2 checkpoint, CPU only.
#
# Steps, each skipped when its output is already in the cache:
#   fetch    pip download the pinned llama-cpp-python sdist (source only) and unpack it
#   build    cmake + gcc, Release, CPU only, GGML_NATIVE=ON; only llama-batched-bench and llama-bench
#   convert  the vendored convert_hf_to_gguf.py writes f32 and f16 GGUFs of --model
#   run      three benchmarks per GGUF, 2 threads
#   summary  parse the outputs in $CACHE/results into one JSON object on stdout
#
# Usage:
#   Tests/Reference/bench_llama_cpp.sh [--model DIR] [--cache DIR] [--threads N] [--types f32,f16]
#                                      [--python PY] [--skip-build] [--skip-convert] [--rebuild] [--reconvert]
#                                      [--repeats 3] [--only fetch,build,convert,run,summary]
# Defaults: --model /tmp/gemma-2-2b-random, --cache $LLAMA_BENCH_CACHE or /work/llama-bench-cache,
# --threads 2, --types f32,f16, --python /work/venv-ref/bin/python (needs numpy, torch, sentencepiece, safetensors).
# Progress goes to stderr; the last thing on stdout is one JSON object (also saved as results/summary.json).
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.36
# CHANGELOG.md of llama-cpp-python 0.3.36: "update llama.cpp to ggml-org/llama.cpp@0c1e57098"
LLAMA_CPP_COMMIT=0c1e57098

MODEL=/tmp/gemma-2-2b-random
CACHE=${LLAMA_BENCH_CACHE:-/work/llama-bench-cache}
THREADS=2
TYPES=f32,f16
PY=${LLAMA_BENCH_PYTHON:-/work/venv-ref/bin/python}
STEPS=fetch,build,convert,run,summary
REBUILD=0
RECONVERT=0
REPS=3

while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) MODEL=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --types) TYPES=$2; shift 2 ;;
        --python) PY=$2; shift 2 ;;
        --repeats) REPS=$2; shift 2 ;;
        --only) STEPS=$2; shift 2 ;;
        --skip-build) STEPS=${STEPS//build/}; shift ;;
        --skip-convert) STEPS=${STEPS//convert/}; shift ;;
        --rebuild) REBUILD=1; shift ;;
        --reconvert) RECONVERT=1; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

has_step() { [[ ",$STEPS," == *",$1,"* ]]; }
log() { echo "[bench_llama_cpp $(date +%H:%M:%S)] $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

MODEL=$(cd "$MODEL" && pwd)
MODEL_NAME=$(basename "$MODEL")
SRC_PARENT=$CACHE/src
SDIST=$SRC_PARENT/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz
SRC=$SRC_PARENT/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION
LLAMA=$SRC/vendor/llama.cpp
BUILD=$CACHE/build-$LLAMA_CPP_PYTHON_VERSION
BIN=$BUILD/bin
GGUF_DIR=$CACHE/gguf
RESULTS=$CACHE/results
mkdir -p "$SRC_PARENT" "$GGUF_DIR" "$RESULTS"
TIMES=$RESULTS/step_times.txt
[[ $STEPS == summary ]] || : > "$TIMES"

# ---------------------------------------------------------------------------------------------- fetch
if has_step fetch; then
    t0=$(now)
    if [[ ! -f $SDIST ]]; then
        log "downloading llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION (sdist) into $SRC_PARENT"
        # --no-binary only for this package: ':all:' would also force its build backend's own
        # dependencies (cmake, ninja) to be compiled from source just to read the metadata.
        "$PY" -m pip download --no-deps --no-binary llama-cpp-python \
            "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$SRC_PARENT" >&2
    fi
    if [[ ! -f $LLAMA/CMakeLists.txt ]]; then
        log "unpacking $SDIST"
        tar -xzf "$SDIST" -C "$SRC_PARENT"
    fi
    echo "fetch $(elapsed "$t0")" >> "$TIMES"
fi
[[ -f $LLAMA/convert_hf_to_gguf.py ]] || { echo "no llama.cpp sources at $LLAMA (run the fetch step)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- build
if has_step build; then
    t0=$(now)
    if ! command -v cmake >/dev/null; then
        log "cmake missing: installing Debian's cmake"
        SUDO=""
        if [[ $(id -u) -ne 0 ]]; then
            command -v sudo >/dev/null || { echo "cmake is missing and there is no sudo: install cmake" >&2; exit 1; }
            SUDO=sudo
        fi
        $SUDO apt-get update -qq >&2
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake >&2
    fi
    if [[ $REBUILD -eq 1 || ! -x $BIN/llama-batched-bench || ! -x $BIN/llama-bench ]]; then
        log "configuring $BUILD"
        cmake -S "$LLAMA" -B "$BUILD" \
            -DCMAKE_BUILD_TYPE=Release \
            -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
            -DGGML_NATIVE=ON -DGGML_CPU=ON \
            -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF \
            -DBUILD_SHARED_LIBS=OFF \
            -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
            -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_OPENSSL=OFF \
            -DLLAMA_BUILD_COMMIT="$LLAMA_CPP_COMMIT" >"$BUILD.configure.log" 2>&1 \
            || { tail -40 "$BUILD.configure.log" >&2; exit 1; }
        log "building llama-batched-bench and llama-bench with -j2 (log: $BUILD.build.log)"
        cmake --build "$BUILD" --config Release -j2 --target llama-batched-bench llama-bench \
            >"$BUILD.build.log" 2>&1 || { tail -40 "$BUILD.build.log" >&2; exit 1; }
    else
        log "binaries already built in $BIN (--rebuild to redo)"
    fi
    echo "build $(elapsed "$t0")" >> "$TIMES"
fi

# -------------------------------------------------------------------------------------------- convert
gguf_path() { echo "$GGUF_DIR/$MODEL_NAME-$1.gguf"; }
if has_step convert; then
    for ty in ${TYPES//,/ }; do
        out=$(gguf_path "$ty")
        if [[ $RECONVERT -eq 0 && -s $out && -f $out.done ]]; then
            log "$out already converted (--reconvert to redo)"
            continue
        fi
        t0=$(now)
        log "converting $MODEL to $out"
        rm -f "$out" "$out.done"
        # The converter reads the checkpoint lazily (one tensor at a time); its gguf package is
        # the vendored gguf-py, not whatever gguf version the venv has.
        PYTHONPATH="$LLAMA/gguf-py" /usr/bin/time -v -o "$out.time" \
            "$PY" "$LLAMA/convert_hf_to_gguf.py" "$MODEL" --outtype "$ty" --outfile "$out" \
            >"$out.log" 2>&1 || { tail -40 "$out.log" >&2; exit 1; }
        touch "$out.done"
        echo "convert-$ty $(elapsed "$t0")" >> "$TIMES"
    done
fi

# ------------------------------------------------------------------------------------------------ run
if has_step run; then
    [[ -x $BIN/llama-batched-bench && -x $BIN/llama-bench ]] || { echo "binaries missing in $BIN (run the build step)" >&2; exit 1; }
    NPL_PREFILL=8; NPP_PREFILL=64
    NPL_GEN=32; NPP_GEN=3; NTG_GEN=32
    NGEN_DECODE=64
    # One warm-up pass plus REPS timed passes of each batched-bench configuration (a repeated -npl value
    # runs the whole configuration again in the same process; the first is dropped when parsing).
    repeat_npl() { local s=$1; for ((i = 0; i < REPS; i++)); do s="$s,$1"; done; echo "$s"; }
    # Runs benchmark NAME of GGUF type $ty: the load average before it, /usr/bin/time around it, its
    # output and log in $RESULTS, its wall time in $TIMES; on failure the log's tail and exit 1.
    run_step() {
        local name=$1 message=$2 t0
        shift 2
        t0=$(now)
        cut -d' ' -f1 /proc/loadavg > "$RESULTS/$ty-$name.loadavg"
        log "[$ty] $message"
        /usr/bin/time -v -o "$RESULTS/$ty-$name.time" "$@" \
            >"$RESULTS/$ty-$name.out" 2>"$RESULTS/$ty-$name.log" \
            || { tail -30 "$RESULTS/$ty-$name.log" >&2; exit 1; }
        echo "run-$ty-$name $(elapsed "$t0")" >> "$TIMES"
    }
    for ty in ${TYPES//,/ }; do
        m=$(gguf_path "$ty")
        [[ -f $m.done ]] || { echo "missing $m (run the convert step)" >&2; exit 1; }
        # -c 8192: the KV cache must hold npl*(npp+ntg) cells, else batched-bench silently skips the case.
        # -b/-ub 512: the 8 x 64 prompt tokens are decoded as one batch.
        batched=("$BIN/llama-batched-bench" -m "$m" -t "$THREADS" -tb "$THREADS" -c 8192 -b 512 -ub 512
            --output-format jsonl -lv 4)
        run_step prefill "llama-batched-bench prefill $NPL_PREFILL x $NPP_PREFILL" \
            "${batched[@]}" -npp $NPP_PREFILL -ntg 1 -npl "$(repeat_npl $NPL_PREFILL)"
        run_step generate "llama-batched-bench generation $NPL_GEN sequences x ($NPP_GEN prompt + $NTG_GEN new)" \
            "${batched[@]}" -npp $NPP_GEN -ntg $NTG_GEN -npl "$(repeat_npl $NPL_GEN)"
        run_step decode "llama-bench batch-1 decode of $NGEN_DECODE tokens" \
            "$BIN/llama-bench" -m "$m" -t "$THREADS" -n $NGEN_DECODE -p 0 -r "$REPS" -o json
    done
fi

# -------------------------------------------------------------------------------------------- summary
if has_step summary; then
    "$PY" - "$RESULTS" "$TYPES" "$BUILD" "$GGUF_DIR" "$MODEL_NAME" "$THREADS" \
        "$LLAMA_CPP_PYTHON_VERSION" "$LLAMA_CPP_COMMIT" "$LLAMA" <<'PYEOF' | tee "$RESULTS/summary.json"
import json, os, re, statistics, sys

results, types, build, gguf_dir, model_name, threads, lcp_version, commit, llama = sys.argv[1:]

def jsonl_rows(path):
    rows = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows

def max_rss_gib(path):
    text = open(path).read()
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", text).group(1)
    cpu = re.search(r"Percent of CPU this job got: (\d+)%", text).group(1)
    return round(kb / 2**20, 2), wall, int(cpu)

def ggml_version():
    text = open(os.path.join(llama, "ggml", "CMakeLists.txt")).read()
    parts = [re.search(rf"set\(GGML_VERSION_{k} (\d+)\)", text).group(1) for k in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts)

def log_flash_attn(path):
    # with -lv 4 llama_context logs how 'auto' flash attention was resolved
    m = re.search(r"(Flash Attention|flash_attn)[^\n]*(enabled|disabled)", open(path).read())
    return m.group(0).strip() if m else None

summary = {
    "peer": "llama.cpp",
    "llama_cpp_python_sdist": lcp_version,
    "llama_cpp_commit": commit,
    "ggml_version": ggml_version(),
    "threads": int(threads),
    "binaries": os.path.join(build, "bin"),
    "models": {},
}
for ty in types.split(","):
    entry = {"gguf": os.path.join(gguf_dir, f"{model_name}-{ty}.gguf")}
    entry["gguf_bytes"] = os.path.getsize(entry["gguf"])

    # (a) prefill: 8 sequences x 64 tokens in one batch; only the last position of each sequence
    # asks for logits (batch.add(..., i == pp - 1)). S_PP = 8*64 / T_PP.
    rows = jsonl_rows(os.path.join(results, f"{ty}-prefill.out"))
    timed = rows[1:] if len(rows) > 1 else rows
    t_pp = statistics.median(r["t_pp"] for r in timed)
    entry["prefill_8x64_last_logits"] = {
        "tokens": timed[0]["pl"] * timed[0]["pp"], "seconds_median": round(t_pp, 4),
        "tok_s_median": round(timed[0]["pl"] * timed[0]["pp"] / t_pp, 2),
        "tok_s_best": round(max(r["speed_pp"] for r in timed), 2),
        "tok_s_runs": [round(r["speed_pp"], 2) for r in timed], "rows_parsed": len(rows),
        "flash_attn_requested": timed[0]["flash_attn"], "n_batch": timed[0]["n_batch"], "n_ubatch": timed[0]["n_ubatch"],
        "flash_attn_log": log_flash_attn(os.path.join(results, f"{ty}-prefill.log")),
    }

    # (b) 32 sequences, 3-token prompt each (T_PP), then 32 decode steps of a 32-token batch (T_TG),
    # all-position logits in the decode steps, random next tokens (no sampling, no steering).
    rows = jsonl_rows(os.path.join(results, f"{ty}-generate.out"))
    timed = rows[1:] if len(rows) > 1 else rows
    r0 = timed[0]
    new_tokens = r0["pl"] * r0["tg"]
    t_tg = statistics.median(r["t_tg"] for r in timed)
    t_all = statistics.median(r["t"] for r in timed)
    entry["generate_32x32"] = {
        "new_tokens": new_tokens,
        "decode_seconds_median": round(t_tg, 4),
        "S_TG_tok_s_median": round(new_tokens / t_tg, 2),
        "S_TG_tok_s_best": round(max(r["speed_tg"] for r in timed), 2),
        "prompt_plus_decode_seconds_median": round(t_all, 4),
        "new_tok_s_incl_prompt_median": round(new_tokens / t_all, 2),
        "new_tok_s_incl_prompt_best": round(new_tokens / min(r["t"] for r in timed), 2),
        "S_total_tok_s_median": round((r0["pl"] * r0["pp"] + new_tokens) / t_all, 2),
        "S_TG_runs": [round(r["speed_tg"], 2) for r in timed], "rows_parsed": len(rows),
    }

    # (c) llama-bench tg64: batch-1 decode of 64 tokens (from an empty cache, BOS first), REPS runs.
    bench = json.load(open(os.path.join(results, f"{ty}-decode.out")))
    tg = [b for b in bench if b["n_gen"] > 0][0]
    samples = tg.get("samples_ts") or [tg["avg_ts"]]
    entry["decode_b1_64"] = {
        "tokens": tg["n_gen"], "tok_s_median": round(statistics.median(samples), 2),
        "tok_s_best": round(max(samples), 2),
        "tok_s_avg": round(tg["avg_ts"], 2), "tok_s_runs": [round(s, 2) for s in samples],
        "llama_bench_build": f'{tg.get("build_commit")} ({tg.get("build_number")})',
        "cpu_info": tg.get("cpu_info"), "flash_attn": tg.get("flash_attn"), "type_k": tg.get("type_k"),
    }
    # Whole-process figures from /usr/bin/time -v. The RSS includes the mmapped GGUF pages.
    # cpu_percent near 100 * threads means the process had its cores to itself.
    entry["process"] = {}
    for part in ("prefill", "generate", "decode"):
        rss, wall, cpu = max_rss_gib(os.path.join(results, f"{ty}-{part}.time"))
        load = os.path.join(results, f"{ty}-{part}.loadavg")
        entry["process"][part] = {"peak_rss_gib": rss, "wall": wall, "cpu_percent": cpu,
                                  "loadavg_1m_start": float(open(load).read()) if os.path.exists(load) else None}
    conv = os.path.join(gguf_dir, f"{model_name}-{ty}.gguf.time")
    if os.path.exists(conv):
        rss, wall, cpu = max_rss_gib(conv)
        entry["convert"] = {"peak_rss_gib": rss, "wall": wall, "cpu_percent": cpu}
    summary["models"][ty] = entry

steps = {}
times = os.path.join(results, "step_times.txt")
if os.path.exists(times):
    for line in open(times):
        name, secs = line.split()
        steps[name] = float(secs)
summary["step_seconds"] = steps
print(json.dumps(summary, indent=2))
PYEOF
fi
