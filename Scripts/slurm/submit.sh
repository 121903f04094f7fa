#!/usr/bin/env bash
# Submits a sharded effect measurement to Slurm: an N-task job array (Scripts/slurm/measure-array.sbatch)
# and a merge job that runs after every task succeeded (Scripts/slurm/merge.sbatch,
# --dependency=afterok). Prints "ARRAY_JOB_ID MERGE_JOB_ID".
#
#   STEER_JOB_DIR=/shared/run1 STEER_MODEL=... STEER_SAE=... STEER_VECTORS=decoder-rows:SAE:0-50000 \
#   STEER_MEASURE_ARGS="--calibration /shared/calibration.jsonl" \
#       Scripts/slurm/submit.sh 64 [extra sbatch flags for the array, e.g. --partition=cpu --time=12:00:00]
#
# Watch it with: steer effects status --store "$STEER_JOB_DIR/shards" --vectors "$STEER_VECTORS" --shards 64
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tasks=${1:?usage: submit.sh TASKS [sbatch flags for the array...]}
shift
: "${STEER_JOB_DIR:?set STEER_JOB_DIR to a folder on storage every node shares}"
mkdir -p "$STEER_JOB_DIR/logs"
array=$(sbatch --parsable --array="0-$((tasks - 1))" --output="$STEER_JOB_DIR/logs/slurm-%A_%a.out" "$@" \
    "$here/measure-array.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=no \
    --output="$STEER_JOB_DIR/logs/slurm-%j-merge.out" "$here/merge.sbatch")
echo "$array ${merge%%;*}"
