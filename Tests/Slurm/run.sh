#!/usr/bin/env bash
# Scale-out on a real scheduler (issue #19): starts a private single-node Slurm (Debian's slurm-wlm
# with munge, on 127.0.0.1, configured in a temporary folder; Tests/Slurm/cluster.sh) and runs a
# sharded effect measurement of the demo model through Scripts/slurm/submit.sh:
#   - a 3-task array measures 18 probe effects; task 1 is cancelled by `scontrol requeue` right after
#     its first committed effect and resumes without recomputing what it had committed;
#   - the dependent merge job (afterok) unions the shards and verifies the store; the merged effects
#     are byte-identical (same keys, same payloads, same exported file) to one process alone;
#   - a duplicate run of shard 2 gives the same keys and merges cleanly;
#   - `steer effects status` reports measured/in progress/missing across the shard stores;
#   - shards of another model, SAE or protocol are refused with the differing recipe input named;
#   - SIGKILL at random moments of a measurement never leaves a damaged store (`steer store verify`).
# Also validates the Kubernetes manifest with PyYAML. Where Slurm cannot be installed or started
# (not root, no apt), it says so and exits 0 (set STEER_REQUIRE_SLURM=1 to make that a failure).
#
#   STEER_BIN=.build/release/steer Tests/Slurm/run.sh     (default: .build/release/steer, else debug)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

steer=${STEER_BIN:-}
if [[ -z $steer ]]; then
    for candidate in .build/release/steer .build/debug/steer; do
        if [[ -x $candidate ]]; then steer=$root/$candidate; break; fi
    done
fi
[[ -n $steer && -x $steer ]] || { echo "FAIL: no steer executable; run swift build or set STEER_BIN" >&2; exit 1; }
steer=$(cd "$(dirname "$steer")" && pwd)/$(basename "$steer")

failures=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*" >&2; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

# --- The Kubernetes manifest (no cluster needed) ---------------------------------------------------
if python3 -c 'import yaml' 2>/dev/null; then
    if out=$(python3 Tests/Slurm/check_k8s_manifest.py Scripts/slurm/k8s-indexed-job.yaml 2>&1); then
        pass "Kubernetes Indexed Job manifest: $out"
    else
        fail "Kubernetes manifest: $out"
    fi
    # The check itself must catch a manifest whose shard count disagrees with its completions.
    if sed 's/completions: 16/completions: 15/' Scripts/slurm/k8s-indexed-job.yaml \
        | python3 Tests/Slurm/check_k8s_manifest.py /dev/stdin >/dev/null 2>&1; then
        fail "the manifest check accepted completions 15 with STEER_SHARD_COUNT 16"
    else
        pass "the manifest check rejects completions that disagree with STEER_SHARD_COUNT"
    fi
else
    echo "skip - PyYAML is not installed; the Kubernetes manifest was not validated" >&2
fi

work=$(mktemp -d /tmp/steer-slurm.XXXXXX)
source Tests/Slurm/cluster.sh
cleanup() {
    local rc=$?
    if [[ -n ${SLURM_CONF:-} ]]; then
        # Cancel what is left and let slurmd end those jobs before the daemons stop.
        scancel --user="$(id -un)" 2>/dev/null || true
        for _ in $(seq 1 60); do [[ -z $(squeue -h 2>/dev/null) ]] && break; sleep 0.25; done
    fi
    slurm_cluster_down
    if [[ ${STEER_KEEP_SLURM_WORK:-0} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
if ! slurm_cluster_up "$work/cluster"; then
    if [[ ${STEER_REQUIRE_SLURM:-0} == 1 ]]; then echo "FAIL: Slurm could not be started" >&2; exit 1; fi
    echo "skip - Slurm could not be installed or started here (see above); the scheduler test did not run" >&2
    exit 0
fi
pass "single-node Slurm up on 127.0.0.1 ($(sinfo -h -o '%P %D %T' | head -1)) in $(($(date +%s) - started)) s"

# --- The job ----------------------------------------------------------------------------------------
printf '\nthe cat\n' >"$work/prompts.txt"
export STEER_BIN=$steer
export STEER_JOB_DIR=$work/job
export STEER_MODEL=$root/Demo/model
export STEER_SAE=$root/Demo/sae/layer_3/width_2k/average_l0_53
export STEER_VECTORS=decoder-rows:$root/Demo/sae/layer_3/width_4k/average_l0_36:0-18
# --batch-rows 8: one probe per generation (the default pools a shard's probes into one generation, so a
# cancel could not land between two committed effects; keys and values do not depend on it).
export STEER_MEASURE_ARGS="--scale 8 --prompts-file $work/prompts.txt --rollouts 4 --length 16 --baseline-multiplier 2 --seed 5 --batch-rows 8"
measure() { # STORE [extra flags]: one process, as a user would run it without a scheduler
    local store=$1; shift
    # With MEASURE_EXEC=1 (a background `measure … &`), steer replaces the subshell, so `$!` is steer's
    # own pid and a SIGKILL sent to it reaches steer rather than only the subshell around it.
    # shellcheck disable=SC2086
    ${MEASURE_EXEC:+exec} "$steer" effects measure --model "$STEER_MODEL" --sae "$STEER_SAE" --vectors "$STEER_VECTORS" \
        --store "$store" --print-keys $STEER_MEASURE_ARGS "$@"
}
effects_of() { # STORE: "key payloadDigest" of every effect artifact, sorted
    "$steer" store ls --store "$1" --kind effect --json \
        | python3 -c 'import json,sys; [print(a["key"], a["payloadDigest"]) for a in json.load(sys.stdin)]' | sort
}
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1; }

t0=$(date +%s)
read -r array merge < <(Scripts/slurm/submit.sh 3)
# An accidental second run of shard 2 into its own store, at the same time.
dup=$(STEER_SHARD=2/3 STEER_SHARD_STORE=$work/dup/shard-2-again sbatch --parsable \
    --output="$work/dup.out" Scripts/slurm/measure-array.sbatch)
echo "     array job $array, merge job $merge (afterok:$array), duplicate shard-2 job $dup"

# Task 1: wait for its first committed effect (a key line in its log), then cancel and requeue it.
log0_glob="$STEER_JOB_DIR/logs/shard-1-of-3.*.run0.log"
for _ in $(seq 1 600); do
    # shellcheck disable=SC2086
    if [[ -n $(compgen -G "$log0_glob") ]] && (($(grep -c $'\tscale=' $log0_glob || true) >= 1)); then break; fi
    sleep 0.1
done
scontrol requeue "${array}_1"
status_mid=$("$steer" effects status --store "$STEER_JOB_DIR/shards" --vectors "$STEER_VECTORS" --shards 3 || true)
for _ in $(seq 1 100); do [[ $(job_state "${array}_1") != RUNNING ]] && break; sleep 0.1; done
committed=$(effects_of "$STEER_JOB_DIR/shards/shard-1-of-3" | wc -l)
echo "     task 1 requeued after $committed committed effect(s); status right after:"
sed 's/^/       /' <<<"$status_mid"
check "the interrupted task's store verifies" "$steer" store verify --store "$STEER_JOB_DIR/shards/shard-1-of-3"
# Slurm holds a requeued job for two minutes; let it start again now.
scontrol update JobId="${array}_1" StartTime=now

for _ in $(seq 1 1200); do
    state=$(job_state "$merge")
    [[ $state == COMPLETED || $state == FAILED || $state == CANCELLED ]] && break
    sleep 0.25
done
echo "     merge job $merge: ${state:-gone} after $(($(date +%s) - t0)) s"
check "the merge job ran after all three tasks and succeeded" test "$state" = COMPLETED
for i in 0 1 2; do
    check "array task $i completed" test "$(job_state "${array}_$i")" = COMPLETED
done
check "the merge job logged a clean verify" grep -q "all intact" "$STEER_JOB_DIR"/logs/slurm-"$merge"-merge.out

# Resume: the requeued run skipped what the first run had committed and computed only the rest.
run0=$(cat $log0_glob)
run1=$(cat "$STEER_JOB_DIR"/logs/shard-1-of-3.*.run1.log 2>/dev/null || true)
keys0=$({ grep $'\tscale=' <<<"$run0" || true; } | cut -f3 | sort)
keys1=$({ grep $'\tscale=' <<<"$run1" || true; } | cut -f3 | sort)
summary1=$(grep -o '6 vectors, [0-9]* measured, [0-9]* already stored' <<<"$run1" || true)
echo "     requeued run of task 1: $summary1"
check "the requeued run reused the $committed committed effect(s)" \
    grep -q "6 vectors, $((6 - committed)) measured, $committed already stored" <<<"$run1"
check "the cancel came mid-way (some effects left to measure)" test "$committed" -lt 6
check "no effect was computed twice (runs 0 and 1 share no key)" \
    test -z "$(comm -12 <(echo "$keys0") <(echo "$keys1") | grep . || true)"

# The merged store equals one process measuring everything alone.
measure "$work/alone" >"$work/alone.keys" 2>"$work/alone.err"
check "one process alone: 18 effects" test "$(grep -c $'\tscale=' "$work/alone.keys")" = 18
check "merged effects = effects of one process (same keys, same payload digests)" \
    cmp -s <(effects_of "$STEER_JOB_DIR/merged") <(effects_of "$work/alone")
check "merged store = one process's store, every artifact (key and payload)" cmp -s \
    <("$steer" store ls --store "$STEER_JOB_DIR/merged" --json | python3 -c 'import json,sys; [print(a["key"], a["payloadDigest"]) for a in json.load(sys.stdin)]' | sort) \
    <("$steer" store ls --store "$work/alone" --json | python3 -c 'import json,sys; [print(a["key"], a["payloadDigest"]) for a in json.load(sys.stdin)]' | sort)
"$steer" effects export --store "$STEER_JOB_DIR/merged" --out "$work/merged.safetensors" 2>/dev/null
"$steer" effects export --store "$work/alone" --out "$work/alone.safetensors" 2>/dev/null
check "exported effect datasets are byte-identical" cmp "$work/merged.safetensors" "$work/alone.safetensors"

# Status across the shard stores.
status=$("$steer" effects status --store "$STEER_JOB_DIR/shards" --vectors "$STEER_VECTORS" --shards 3 --json)
check "effects status: 18 of 18 measured, none missing, 3 stores, one recipe" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert s["vectors"] == 18 and s["measured"] == 18 and s["missing"] == 0 and s["complete"], s
assert [r["measured"] for r in s["stores"]] == [6, 6, 6], s["stores"]
assert [r["measured"] for r in s["shards"]] == [6, 6, 6] and len(s["recipes"]) == 1, s
' "$status"

# The duplicate shard: same keys, merges cleanly (nothing new).
for _ in $(seq 1 600); do [[ $(job_state "$dup") == COMPLETED || $(job_state "$dup") == FAILED ]] && break; sleep 0.25; done
check "duplicate shard-2 job completed" test "$(job_state "$dup")" = COMPLETED
check "duplicate shard 2 has the same effect keys and payloads" \
    cmp -s <(effects_of "$work/dup/shard-2-again") <(effects_of "$STEER_JOB_DIR/shards/shard-2-of-3")
dupmerge=$("$steer" store merge --store "$STEER_JOB_DIR/merged" "$work/dup/shard-2-again" 2>&1) \
    && pass "duplicate shard merges cleanly: $dupmerge" || fail "duplicate merge: $dupmerge"
grep -q "^Added 0 artifacts" <<<"$dupmerge" || fail "the duplicate added artifacts: $dupmerge"

# Shards of another protocol, SAE or model are refused, naming what differs; nothing is copied.
STEER_VECTORS=decoder-rows:$root/Demo/sae/layer_3/width_4k/average_l0_36:0-1
before=$("$steer" store ls --store "$STEER_JOB_DIR/merged" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
refused() { # WHAT STORE EXPECTED-TEXT
    local out
    if out=$("$steer" store merge --store "$STEER_JOB_DIR/merged" "$2" 2>&1); then
        fail "a shard of another $1 was merged: $out"
    elif grep -qF "$3" <<<"$out" && grep -q "Refusing to merge" <<<"$out"; then
        pass "a shard of another $1 is refused, naming $3"
    else
        fail "refusal of another $1 does not name $3: $out"
    fi
}
measure "$work/other-seed" --seed 6 >/dev/null 2>&1
refused "protocol (seed)" "$work/other-seed" "parameter 'protocol.seed' (\"5\" here, \"6\" there)"
measure "$work/other-sae" --sae "$root/Demo/sae/layer_3/width_4k/average_l0_36" >/dev/null 2>&1
refused "SAE" "$work/other-sae" "input 'dictionary'"
"$steer" effects measure --model Tests/Fixtures/gemma2/tiny-f32 \
    --sae Tests/Fixtures/sae/gemma_scope/layer_1/width_256/average_l0_20 \
    --vectors decoder-rows:Tests/Fixtures/sae/gemma_scope/layer_1/width_256/average_l0_20:0-1 \
    --scale 8 --prompts-file "$work/prompts.txt" --rollouts 4 --length 16 --baseline-multiplier 2 --seed 5 \
    --store "$work/other-model" >/dev/null 2>&1
refused "model" "$work/other-model" "input 'model'"
after=$("$steer" store ls --store "$STEER_JOB_DIR/merged" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check "refused merges copied nothing ($before artifacts before and after)" test "$before" = "$after"
"$steer" store merge --allow-mixed-recipes --store "$work/mixed" "$work/other-seed" >/dev/null
check "--allow-mixed-recipes merges another protocol on purpose" \
    "$steer" store merge --allow-mixed-recipes --store "$work/mixed" "$work/alone"

# SIGKILL right after a commit and at moments after it (the next vector's work or its commit): the
# store always verifies, and the resumed job ends with exactly the effects of an uninterrupted run.
# Every attempt commits at least one effect before its kill, so the job must outlast eight attempts on a
# fast CPU: 48 vectors with 48-token rollouts (a vector takes ~0.13 s on a Zen 3 core, where the eight
# attempts commit about 10 effects).
STEER_VECTORS=decoder-rows:$root/Demo/sae/layer_3/width_4k/average_l0_36:0-48
measure "$work/uninterrupted" --length 48 >/dev/null 2>&1
kills=0
for delay in 0 0.02 0 0.05 0 0.1 0 0.15; do
    MEASURE_EXEC=1 measure "$work/killed" --length 48 >"$work/killed.out" 2>/dev/null &
    pid=$!
    seen=0
    for _ in $(seq 1 1500); do
        seen=$(grep -c $'\tscale=' "$work/killed.out" || true)
        ((seen >= 1)) && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
    done
    sleep "$delay"
    # Counted only when this attempt had committed an effect before the kill landed.
    kill -KILL "$pid" 2>/dev/null && ((seen >= 1)) && kills=$((kills + 1))
    wait "$pid" 2>/dev/null || true
    if ! out=$("$steer" store verify --store "$work/killed" 2>&1); then fail "store damaged after SIGKILL: $out"; fi
done
echo "     $(effects_of "$work/killed" | wc -l) of 48 effects committed across the killed runs"
check "no killed measurement outlived its SIGKILL" test -z "$(pgrep -f -- "--store $work/killed" || true)"
check "SIGKILLed $kills of 8 times after a commit; the store verified every time" test "$kills" -ge 6
measure "$work/killed" --length 48 >/dev/null 2>&1
check "after the SIGKILLs the resumed job equals one uninterrupted process" \
    cmp -s <(effects_of "$work/killed") <(effects_of "$work/uninterrupted")

echo "Slurm scale-out test: $failures failure(s), $(($(date +%s) - started)) s"
((failures == 0))
