#!/usr/bin/env bash
# The Gemma-3 demo's probe effects, measured by our own `steer effects measure` (issue #20), resumable: rerun
# it after a kill or in a later session and it measures only what its store lacks. Every CHUNK probes it
# exports the store compactly (f16) to Demo/gemma3-270m/effects/, ready to commit as the dataset grows.
#
# Protocol (Docs/Gemma3Demo.md "Effect dataset"): probes are the decoder rows of the shipped width_2k
# dictionary; the method's 14 prompts, ROLLOUTS rollouts each, 32 tokens in all per rollout, top-k 50 at
# temperature 1 (the measurer's defaults), baseline 10 × the rollouts; one fixed SCALE for every probe (the
# median of 16 probes calibrated to the unsteered loss + 0.5 nats; see the doc); effects re-encoded by the
# same dictionary, captured at the site while generating.
#
# Usage: Demo/gemma3-270m/recipe/measure_effects.sh [FIRST LAST]   (decoder rows FIRST..<LAST, default 0 2048)
# Environment: STEER (default .build/release/steer), STORE (default /work/gemma3-demo/effects-store),
# ROLLOUTS (4), SCALE (140), CHUNK (128 probes between exports).
set -euo pipefail
cd "$(dirname "$0")/../../.."
FIRST=${1:-0} LAST=${2:-2048}
STEER=${STEER:-.build/release/steer}
STORE=${STORE:-/work/gemma3-demo/effects-store}
ROLLOUTS=${ROLLOUTS:-4} SCALE=${SCALE:-140} CHUNK=${CHUNK:-128}
MODEL=$(Scripts/fetch-gemma3-270m.sh)
SAE=Demo/gemma3-270m/sae/resid_post/layer_6_width_2k
OUT=Demo/gemma3-270m/effects
mkdir -p "$OUT"
for ((start = FIRST; start < LAST; start += CHUNK)); do
    end=$((start + CHUNK < LAST ? start + CHUNK : LAST))
    "$STEER" effects measure --model "$MODEL" --sae "$SAE" --vectors "decoder-rows:$SAE:$start-$end" \
        --rollouts "$ROLLOUTS" --length 32 --baseline-multiplier 10 --scale "$SCALE" --batch-rows 1024 \
        --store "$STORE"
    "$STEER" effects export --store "$STORE" --out "$OUT/layer_6_width_2k.safetensors" --dtype f16
done
