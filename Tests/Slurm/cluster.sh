# Starts and stops a private single-node Slurm cluster (munged + slurmctld + slurmd from Debian's
# slurm-wlm and munge) configured on loopback in a temporary folder. Sourced by the Slurm tests.
#
#   slurm_cluster_up DIR   generate keys and slurm.conf under DIR, start the daemons, wait until the
#                          node is idle; exports SLURM_CONF so sbatch/squeue/scontrol use it.
#                          Returns 2 (with a message) when the scheduler is not available here.
#   slurm_cluster_down     stop every daemon started by slurm_cluster_up (safe to call twice).
#
# Nothing outside DIR is written and only 127.0.0.1 is listened on; ports are picked free.

SLURM_CLUSTER_PIDS=()

# Installs slurm-wlm and munge with apt when they are missing and we are root (CI); otherwise says why not.
slurm_cluster_install() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
        echo "slurm-wlm/munge are not installed and cannot be installed here (needs root and apt-get)" >&2
        return 2
    fi
    echo "installing slurm-wlm and munge with apt-get" >&2
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge; } \
        >"${1:-/dev/null}" 2>&1; then
        echo "apt-get could not install slurm-wlm and munge" >&2
        return 2
    fi
}

# A TCP port on 127.0.0.1 that nothing listens on now.
slurm_cluster_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

slurm_cluster_up() {
    local dir=$1
    if [[ $(id -u) -ne 0 ]]; then
        echo "the private Slurm cluster needs root (slurmd launches jobs as their user)" >&2
        return 2
    fi
    mkdir -p "$dir"/{munge,state,spool,log}
    slurm_cluster_install "$dir/log/apt.log" || return 2
    chmod 700 "$dir" "$dir/munge"
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
    # --force: the temporary folder's parents (/tmp) are world-writable, which munged otherwise refuses.
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" \
        2>>"$dir/log/munged.err" || { echo "munged did not start: $(cat "$dir/log/munged.err")" >&2; return 2; }
    SLURM_CLUSTER_PIDS+=("$(cat "$dir/munge/munged.pid")")

    local cpus ctld_port slurmd_port host
    cpus=4  # more than the machine may have: three array tasks and a merge job fit at once (config_overrides)
    ctld_port=$(slurm_cluster_free_port)
    slurmd_port=$(slurm_cluster_free_port)
    host=$(hostname -s)
    cat >"$dir/slurm.conf" <<CONF
ClusterName=steertest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
MaxArraySize=1000
KillWait=5
InactiveLimit=0
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=60
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
PlugStackConfig=$dir/plugstack.conf
NodeName=steernode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1024 State=UNKNOWN
PartitionName=test Nodes=steernode Default=YES MaxTime=INFINITE State=UP
CONF
    : >"$dir/plugstack.conf"
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF" -i 2>>"$dir/log/slurmctld.err" \
        || { echo "slurmctld did not start: $(tail -5 "$dir/log/slurmctld.log" 2>/dev/null)" >&2; return 2; }
    slurm_cluster_wait_pid "$dir/slurmctld.pid" || { echo "slurmctld wrote no pid file" >&2; return 2; }
    SLURM_CLUSTER_PIDS+=("$(cat "$dir/slurmctld.pid")")
    slurmd -f "$SLURM_CONF" -N steernode 2>>"$dir/log/slurmd.err" \
        || { echo "slurmd did not start: $(tail -5 "$dir/log/slurmd.log" 2>/dev/null)" >&2; return 2; }
    slurm_cluster_wait_pid "$dir/slurmd.pid" || { echo "slurmd wrote no pid file" >&2; return 2; }
    SLURM_CLUSTER_PIDS+=("$(cat "$dir/slurmd.pid")")
    local i state
    for i in $(seq 1 60); do
        state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
        if [[ $state == idle* ]]; then return 0; fi
        sleep 1
    done
    echo "the Slurm node did not become idle (state '$state'); logs in $dir/log:" >&2
    tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 2>/dev/null
    return 2
}

slurm_cluster_wait_pid() {
    local i
    for i in $(seq 1 50); do [[ -s $1 ]] && return 0; sleep 0.2; done
    return 1
}

slurm_cluster_down() {
    local pid i
    # Stop in reverse start order (slurmd, slurmctld, munged), each by its own pid.
    for ((i = ${#SLURM_CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${SLURM_CLUSTER_PIDS[i]}
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    SLURM_CLUSTER_PIDS=()
}
