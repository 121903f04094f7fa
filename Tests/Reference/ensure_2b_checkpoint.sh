#!/usr/bin/env bash
# Makes sure DIR holds the random google/gemma-2-2b checkpoint the 2B benchmarks run on: writes it with
# make_random_checkpoint.py when config.json is missing (10.46 GB, numpy only, a few minutes), and puts the
# real Gemma tokenizer next to it when it has none (fetch_gemma_tokenizer.sh, then a copy; Gemma Terms of
# Use: the cache and DIR stay outside git). Does nothing when both are there.
#
# Usage: Tests/Reference/ensure_2b_checkpoint.sh DIR
# Environment: PYTHON (default python3) for both steps, STEER_CACHE as fetch_gemma_tokenizer.sh reads it.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $# -eq 1 ]] || { sed -n '2,8p' "$0" >&2; exit 2; }
dir=$1
tokenizers=${STEER_CACHE:-$PWD/.cache}/gemma-tokenizer
has_tokenizer() { [[ -f $dir/tokenizer.json || -f $dir/tokenizer.model ]]; }
if ! has_tokenizer; then
    echo "no Gemma tokenizer in $dir: fetching it (Tests/Reference/fetch_gemma_tokenizer.sh)" >&2
    Tests/Reference/fetch_gemma_tokenizer.sh >&2
fi
if [[ ! -f $dir/config.json ]]; then
    echo "no checkpoint at $dir: writing the random Gemma-2-2B one (make_random_checkpoint.py)" >&2
    "${PYTHON:-python3}" Tests/Reference/make_random_checkpoint.py --out "$dir" --tokenizer-dir "$tokenizers" >&2
fi
if ! has_tokenizer; then
    cp "$tokenizers"/tokenizer.* "$dir"/ \
        || { echo "could not copy the Gemma tokenizer from $tokenizers into $dir" >&2; exit 1; }
fi
