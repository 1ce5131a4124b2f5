#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, running a sweep as an array job, checked against one process.
#   bash scripts/slurm-local.sh [SWEEP.yaml] [TASKS]        (default: configs/quick.yaml, 4 tasks; npm run check:slurm)
# Installs Debian's slurm-wlm and munge when missing (needs root then), starts munged, slurmctld and slurmd directly
# (no systemd) with their state in a temp folder, submits configs/cluster/sweep.sbatch as a TASKS-task array, waits,
# checks that every job ran exactly once and that the merged records equal a single-process sweep of the same file,
# and stops the daemons it started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
SWEEP="${1:-configs/quick.yaml}"
TASKS="${2:-4}"
say() { printf 'slurm-local: %s\n' "$*" >&2; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  [ "$(id -u)" = 0 ] || { say "slurm-wlm and munge are not installed; run as root to install them (apt-get install slurm-wlm munge)"; exit 2; }
  say "installing slurm-wlm and munge (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
fi

WORK="$(mktemp -d /tmp/reprobe-slurm.XXXXXX)"
HOST="$(hostname -s)"
CONF="$WORK/slurm.conf"
SOCKET="$WORK/munge/munge.socket"
mkdir -p "$WORK/munge" "$WORK/state" "$WORK/spool" "$WORK/logs" "$WORK/home"
PIDS=()
cleanup() {
  for pidfile in "$WORK/slurmd.pid" "$WORK/slurmctld.pid" "$WORK/munge/munged.pid"; do
    [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  say "daemons stopped; logs and results in $WORK"
}
trap cleanup EXIT

# munge: its own key and socket, so a system munged (if any) is left alone.
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
munged --force --key-file="$WORK/munge/munge.key" --socket="$SOCKET" --pid-file="$WORK/munge/munged.pid" \
  --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/munged.seed"

MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
cat > "$CONF" <<CONF
ClusterName=reprobe-local
SlurmctldHost=$HOST
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$HOST CPUs=$(nproc) RealMemory=$MEM_MB State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$CONF"
slurmctld -f "$CONF" -i
slurmd -f "$CONF"
for _ in $(seq 1 60); do
  sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)' && break
  sleep 1
done
sinfo -h -o '%t' | grep -qE '^(idle|mix|alloc)' || { say "the node did not come up; see $WORK/slurmd.log"; exit 1; }
say "one-node SLURM up ($HOST, $(nproc) CPUs); submitting $SWEEP as a $TASKS-task array"

RESULTS="$WORK/results-slurm"
export REPROBE_HOME="$WORK/home"
T0=$(date +%s)
JOB=$(sbatch --parsable --array=0-$((TASKS - 1)) --cpus-per-task=1 --mem=2G --output="$WORK/logs/%A_%a.log" \
  configs/cluster/sweep.sbatch "$SWEEP" --results-dir "$RESULTS")
while [ -n "$(squeue -h -j "$JOB" 2>/dev/null)" ]; do sleep 5; done
say "array job $JOB finished in $(( $(date +%s) - T0 )) s"
for f in "$WORK"/logs/*.log; do say "$(basename "$f"): $(tail -n 1 "$f")"; done

# Every job exactly once: each one's start line in exactly one task log, its records file in the store, none failed.
node bin/reprobe.mjs sweep "$SWEEP" --results-dir "$RESULTS" --dry-run | grep -oE '^[0-9a-f]{16} ' | tr -d ' ' | sort > "$WORK/jobs.txt"
grep -hoE '^\[[0-9]+/[0-9]+\] [0-9a-f]{16} ' "$WORK"/logs/*.log | cut -d' ' -f2 | sort > "$WORK/started.txt"
DUP=$(uniq -d "$WORK/started.txt" | wc -l)
[ "$DUP" -eq 0 ] || { say "FAIL: $DUP job(s) started more than once"; exit 1; }
diff -q "$WORK/jobs.txt" "$WORK/started.txt" >/dev/null || { say "FAIL: the jobs started differ from the sweep's jobs (see $WORK/jobs.txt, started.txt)"; exit 1; }
node bin/reprobe.mjs sweep "$SWEEP" --results-dir "$RESULTS" --status | tee "$WORK/status.txt" >&2
grep -qE ' 0 failed, 0 running, 0 pending' "$WORK/status.txt" || { say "FAIL: not every job is done"; exit 1; }
node bin/reprobe.mjs results merge "$RESULTS" >&2

# The same sweep in one process (the feature cache is warm now), and the two stores compared number for number.
node bin/reprobe.mjs sweep "$SWEEP" --results-dir "$WORK/results-one" > "$WORK/one-process.log" 2>&1
node bin/reprobe.mjs results merge "$WORK/results-one" >&2
node --input-type=module - "$RESULTS/merged.jsonl" "$WORK/results-one/merged.jsonl" <<'NODE'
import { readFileSync } from 'node:fs';
const key = ['job_id', 'cell_id', 'eval_split', 'metric', 'value', 'n_train', 'n_val', 'n_test', 'split_hash'];
const rows = (f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((r) => JSON.stringify(key.map((k) => r[k]))).sort();
const [a, b] = process.argv.slice(2).map(rows);
const same = a.length === b.length && a.every((x, i) => x === b[i]);
console.error(`slurm-local: ${a.length} records from SLURM, ${b.length} from one process: ${same ? 'equal' : 'DIFFERENT'}`);
process.exit(same ? 0 : 1);
NODE
say "PASS"
