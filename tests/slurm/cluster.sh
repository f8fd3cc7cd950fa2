#!/usr/bin/env bash
# A private single-node Slurm cluster on 127.0.0.1 for the sbatch tests.
#   cluster.sh start DIR   writes DIR/slurm.conf, starts munged, slurmctld and slurmd, waits
#                          until the node is idle; prints `export SLURM_CONF=...`
#   cluster.sh stop DIR    cancels this cluster's jobs and stops exactly the daemons it started
# Needs root and Debian's munge slurmctld slurmd slurm-client (see scripts/bootstrap-slurm.sh).
set -euo pipefail
action=${1:?usage: cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: cluster.sh start|stop DIR}")

stop_pid() {  # stop a daemon we started, by its recorded PID only
  local file=$1
  [ -f "$file" ] || return 0
  local pid
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$file"
}

if [ "$action" = stop ]; then
  if [ -f "$dir/slurm.conf" ]; then
    SLURM_CONF=$dir/slurm.conf scancel --quiet --user=root 2>/dev/null || true
    sleep 1
  fi
  stop_pid "$dir/slurmd.launcher.pid"
  stop_pid "$dir/slurmctld.launcher.pid"
  stop_pid "$dir/munged.launcher.pid"
  exit 0
fi

mkdir -p "$dir"/{munge-key,munge-run,state,spool,log}
chmod 0700 "$dir/munge-key"
chmod 0755 "$dir/munge-run"  # munged refuses an inaccessible socket directory
if [ ! -f "$dir/munge-key/munge.key" ]; then
  dd if=/dev/urandom of="$dir/munge-key/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$dir/munge-key/munge.key"
fi
socket=$dir/munge-run/munge.socket
memory=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
cpus=$(nproc)

cat > "$dir/slurm.conf" <<CONF
ClusterName=h5infertest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=${H5INFER_SLURMCTLD_PORT:-6817}
SlurmdPort=${H5INFER_SLURMD_PORT:-6818}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdParameters=config_overrides
EnforcePartLimits=ALL
MinJobAge=5
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
cat > "$dir/cgroup.conf" <<CONF
CgroupPlugin=cgroup/v1
CONF

munged --socket="$socket" --key-file="$dir/munge-key/munge.key" \
  --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge.seed" \
  --foreground > "$dir/log/munged.out" 2>&1 &
echo $! > "$dir/munged.launcher.pid"
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done

export SLURM_CONF=$dir/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
echo $! > "$dir/slurmctld.launcher.pid"
slurmd -D -N localhost -f "$SLURM_CONF" > "$dir/log/slurmd.out" 2>&1 &
echo $! > "$dir/slurmd.launcher.pid"

for _ in $(seq 100); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
echo "cluster.sh: the node did not become idle; logs in $dir/log" >&2
tail -5 "$dir"/log/*.log >&2 || true
"$0" stop "$dir"
exit 1
