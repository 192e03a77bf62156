#!/usr/bin/env bash
# launch/slurm.sbatch under a real Slurm: install Debian's slurm-wlm and munge, start a one-host cluster on loopback
# (munged, slurmctld, slurmd; no cgroups), submit the template with the CPU smoke as its entry, wait for the job,
# check its exit state and its output, then stop Slurm. Needs root and Debian's packages; .ci/run calls it.
# Run from the repository root in the test environment (python, ray and the project on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d /tmp/justrl-slurm-XXXXXX)
trap 'pkill -f "slurmd -D -f $root" || true; pkill -f "slurmctld -D -f $root" || true; pkill -f "munged.*$root" || true' EXIT

if ! command -v slurmctld > /dev/null; then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get > /dev/null; then
    echo "slurm lane: skipped: no Slurm here and no root apt-get to install Debian's slurm-wlm"; exit 0
  fi
  apt-get install -y -q slurm-wlm munge > "$root/apt.log" 2>&1 || { tail -20 "$root/apt.log"; exit 1; }
fi
mkdir -p "$root"/{state,spool,munge,log}
dd if=/dev/urandom of="$root/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$root/munge" && chmod 400 "$root/munge/munge.key"
munged --force --key-file="$root/munge/munge.key" --socket="$root/munge/socket" \
  --pid-file="$root/munge/munged.pid" --log-file="$root/log/munged.log" --seed-file="$root/munge/seed"

cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$root/slurm.conf" <<EOF
ClusterName=justrl-local
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$root/munge/socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$root/state
SlurmdSpoolDir=$root/spool
SlurmctldPidFile=$root/slurmctld.pid
SlurmdPidFile=$root/slurmd.pid
SlurmctldLogFile=$root/log/slurmctld.log
SlurmdLogFile=$root/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$root/slurm.conf"
# Ray's files (and the address of the job's cluster, which a later `ray.init()` on this machine would try to join)
# stay under this lane's folder, not /tmp/ray
export RAY_TMPDIR="$root/tmp"
mkdir -p "$RAY_TMPDIR"
slurmctld -D -f "$root/slurm.conf" > "$root/log/slurmctld.out" 2>&1 &
slurmd -D -f "$root/slurm.conf" > "$root/log/slurmd.out" 2>&1 &
for _ in $(seq 30); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o "%N %T %c" || { tail -20 "$root"/log/*; exit 1; }

# The template as a user submits it, sized to this one host: one node, its logical GPU, 8 logical CPUs for Ray.
job=$(ENTRY=launch/cpu_smoke.sh GPUS_PER_NODE=1 RAY_START_ARGS="--num-cpus=8" RAY_PORT=$((20000 + RANDOM % 20000)) \
  sbatch --parsable --nodes=1 --gpus-per-node=0 --no-requeue --output="$root/job-%j.log" launch/slurm.sbatch)
echo "slurm lane: job $job submitted"
start=$SECONDS
job_field() { scontrol show job "$job" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
while [[ "$(job_field JobState)" =~ ^(PENDING|CONFIGURING|RUNNING|COMPLETING)$ ]]; do
  if (( SECONDS - start > 900 )); then scancel "$job"; echo "slurm lane: job $job timed out"; exit 1; fi
  sleep 5
done
state=$(job_field JobState) exit_code=$(job_field ExitCode)
log="$root/job-$job.log"
grep "^smoke: " "$log" || true
echo "slurm lane: job $job $state, exit code $exit_code, $((SECONDS - start)) s"
[[ "$state" == COMPLETED && "$exit_code" == 0:0 ]] || { tail -40 "$log"; exit 1; }
grep -q "Connecting to existing Ray cluster" "$log" || { echo "slurm lane: verl did not join the job's Ray cluster"; exit 1; }
grep -Eq "^smoke: 2 steps, .*world_size=1, loss=" "$log" || { echo "slurm lane: no closing smoke line"; exit 1; }
echo "slurm lane: ok"
