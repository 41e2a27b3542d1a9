#!/usr/bin/env bash
# Integration test of `wattlab study run --executor slurm` on a real single-node
# Slurm cluster (Debian's munge, slurmctld and slurmd, started here with a
# minimal slurm.conf) against a real PostgreSQL store:
#   1. a tiny study (2 models x 2 environments x 2 repetitions on 300
#      Fashion-MNIST images) runs as job arrays; every trial is FINISHED in
#      PostgreSQL, with its energy windows;
#   2. the study grows by a slower model; one of its array tasks is cancelled
#      with scancel while it trains; running the study again submits and
#      completes only that trial.
# Every service it starts is stopped when it ends, whatever happened.
#
#   scripts/with_postgres.sh scripts/slurm_study_test.sh build/wattlab
# Needs root (munged runs as user munge, slurmd as root) and
# WATTLAB_TEST_POSTGRES_URI (scripts/with_postgres.sh sets it). Exits 77
# (skipped) when either is missing or Slurm is not installed.
set -euo pipefail

WATTLAB="$(readlink -f "${1:?usage: $0 path/to/wattlab}")"
SKIP=77
skip() { echo "SKIPPED: $*"; exit $SKIP; }
[[ $(id -u) -eq 0 ]] || skip "needs root to start munged and slurmd"
[[ -n "${WATTLAB_TEST_POSTGRES_URI:-}" ]] || skip "WATTLAB_TEST_POSTGRES_URI is unset (run under scripts/with_postgres.sh)"
for tool in munged slurmctld slurmd sbatch squeue scancel psql; do
  command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] || skip "$tool is not installed (scripts/setup.sh installs slurm-wlm, munge and postgresql)"
done
[[ -r /etc/munge/munge.key ]] || skip "/etc/munge/munge.key is missing (the munge package creates it)"

T="$(mktemp -d "${TMPDIR:-/tmp}/wattlab-slurm.XXXXXX")"
chmod 755 "$T"
DB="wattlab_slurm_test_$$"

cleanup() {
  local status=$?
  set +e  # clean up everything, whatever fails
  # Jobs first (their tasks outlive slurmd otherwise), then the daemons.
  if [[ -n "${SLURM_CONF:-}" && -s "$T/slurm/slurmctld.pid" ]]; then
    scancel --full $(squeue --noheader --format=%A 2>/dev/null) >/dev/null 2>&1 || true
  fi
  pkill -9 -f "$T/work" 2>/dev/null || true
  for pidfile in "$T/slurm/slurmd.pid" "$T/slurm/slurmctld.pid" "$T/munge/munged.pid"; do
    [[ -s "$pidfile" ]] && kill "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || true
  done
  # Give them a moment to go, then make sure.
  for _ in $(seq 20); do
    alive=0
    for pidfile in "$T/slurm/slurmd.pid" "$T/slurm/slurmctld.pid" "$T/munge/munged.pid"; do
      [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null && alive=1
    done
    [[ $alive -eq 0 ]] && break
    sleep 0.25
  done
  for pidfile in "$T/slurm/slurmd.pid" "$T/slurm/slurmctld.pid" "$T/munge/munged.pid"; do
    [[ -s "$pidfile" ]] && kill -9 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || true
  done
  # A step (and its task) that outlived slurmd: it carries our SLURM_CONF.
  for pid in $(pgrep -x slurmstepd); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "SLURM_CONF=${SLURM_CONF:-}" && kill -9 "$pid" 2>/dev/null
  done
  pkill -9 -f "$T/work" 2>/dev/null || true
  psql -q "$WATTLAB_TEST_POSTGRES_URI" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  if [[ $status -ne 0 && $status -ne $SKIP ]]; then
    echo "---- logs (the test failed) ----"
    tail -n 30 "$T"/slurm/log/*.log "$T"/work/logs/*.out 2>/dev/null || true
  fi
  rm -rf "$T"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "FAILED: $*" >&2; exit 1; }
step() { echo "==> $*"; }

# --- munge, on a socket of its own -------------------------------------------
mkdir -p "$T/munge"
chown munge: "$T/munge"
runuser -u munge -- /usr/sbin/munged --socket="$T/munge/munge.socket" --pid-file="$T/munge/munged.pid" \
  --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed"

# --- Slurm: one node, two CPUs, on ports of its own --------------------------
HOST="$(hostname -s)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mkdir -p "$T/slurm/state" "$T/slurm/spool" "$T/slurm/log"
export SLURM_CONF="$T/slurm/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=wattlabtest
SlurmctldHost=$HOST
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket
StateSaveLocation=$T/slurm/state
SlurmdSpoolDir=$T/slurm/spool
SlurmctldPidFile=$T/slurm/slurmctld.pid
SlurmdPidFile=$T/slurm/slurmd.pid
SlurmctldLogFile=$T/slurm/log/slurmctld.log
SlurmdLogFile=$T/slurm/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
KillWait=10
NodeName=$HOST CPUs=2 RealMemory=20000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
/usr/sbin/slurmctld -f "$SLURM_CONF"
/usr/sbin/slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  sinfo --noheader --format=%t 2>/dev/null | grep -q idle && break
  sleep 0.5
done
sinfo --noheader --format=%t | grep -q idle || fail "the Slurm node did not come up"
step "Slurm up ($(sinfo --version)), node $HOST"

# --- PostgreSQL: a database of the test's own ---------------------------------
psql -q "$WATTLAB_TEST_POSTGRES_URI" -c "CREATE DATABASE $DB" >/dev/null
STORE="${WATTLAB_TEST_POSTGRES_URI%/*}/$DB"
sql() { psql -qtA "$STORE" -c "$1"; }

cd "$T"
cat >study.yaml <<'EOF'
name: slurm-tiny
dataset: {subset: 300, test-subset: 100}
epochs: 1
models:
  - model: cnn
  - model: lenet5
environments:
  - {name: one-thread, threads: 1, batch-size: 50, slurm: {cpus: 1}}
  - {name: two-threads, threads: 2, batch-size: 50}
repetitions: 2
EOF

step "8 trials through --executor slurm"
start=$(date +%s)
"$WATTLAB" --store "$STORE" study run study.yaml --executor slurm --work-dir "$T/work" --wait | tee run1.txt
echo "    took $(( $(date +%s) - start )) s"
grep -q "study slurm-tiny: 8 of 8 trials finished" run1.txt || fail "not every trial finished"
[[ $(grep -c "^submitted job array" run1.txt) -eq 2 ]] || fail "expected one array per environment"
finished=$(sql "SELECT count(*) FROM runs r JOIN tags t ON t.run_id = r.run_id AND t.key = 'wattlab.study.role'
                AND t.value = 'trial' WHERE r.status = 'FINISHED'")
[[ $finished -eq 8 ]] || fail "PostgreSQL holds $finished FINISHED trials, not 8"
without_windows=$(sql "SELECT count(*) FROM runs r WHERE NOT EXISTS (SELECT 1 FROM energy_windows w
                       WHERE w.run_id = r.run_id AND w.name = 'epoch-1/train')
                       OR NOT EXISTS (SELECT 1 FROM energy_windows w WHERE w.run_id = r.run_id AND w.name = 'run')")
[[ $without_windows -eq 0 ]] || fail "$without_windows runs lack their energy windows"
echo "    8 FINISHED trials in PostgreSQL, each with its run and epoch energy windows"

step "a slower model joins; one of its array tasks is cancelled while it trains"
sed -i 's/^  - model: lenet5$/  - model: lenet5\n  - {model: cnn, name: cnn-slow, epochs: 12}/' study.yaml
"$WATTLAB" --store "$STORE" study run study.yaml --executor slurm --work-dir "$T/work" --max-parallel 1 | tee run2.txt
victim=""
for _ in $(seq 240); do
  # A running task whose trial (of the slow model) has finished an epoch.
  for task in $(squeue --noheader --states=RUNNING --format=%i); do
    [[ "$task" == *_* ]] || continue
    run=$(sql "SELECT r.run_id FROM runs r JOIN tags j ON j.run_id = r.run_id AND j.key = 'wattlab.slurm.job'
               AND j.value = '$task' JOIN tags m ON m.run_id = r.run_id AND m.key = 'wattlab.study.model'
               AND m.value = 'cnn-slow' WHERE r.status = 'RUNNING'
               AND EXISTS (SELECT 1 FROM metric_series x WHERE x.run_id = r.run_id AND x.key = 'accuracy')")
    if [[ -n "$run" ]]; then victim="$task"; victim_run="$run"; break; fi
  done
  [[ -n "$victim" ]] && break
  sleep 0.5
done
[[ -n "$victim" ]] || fail "no cnn-slow task was seen training"
scancel "$victim"
echo "    cancelled task $victim (run $victim_run)"
for _ in $(seq 1800); do
  [[ -z "$(squeue --noheader --format=%i)" ]] && break
  sleep 0.5
done
[[ -z "$(squeue --noheader --format=%i)" ]] || fail "the arrays did not end"
status=$(sql "SELECT status FROM runs WHERE run_id = '$victim_run'")
[[ "$status" == "KILLED" ]] || fail "the cancelled trial's run is $status, not KILLED"
"$WATTLAB" --store "$STORE" study status slurm-tiny | tee status.txt
grep -q "11 of 12 trials finished, 1 killed" status.txt || fail "expected 11 finished and 1 killed"

step "running the study again completes only the missing trial"
"$WATTLAB" --store "$STORE" study run study.yaml --executor slurm --work-dir "$T/work" --wait | tee run3.txt
[[ $(grep -c "^submitted job array" run3.txt) -eq 1 ]] && grep -q "^submitted job array [0-9]*: 1 trial(s)" run3.txt \
  || fail "expected exactly one array of one trial"
grep -q "study slurm-tiny: 12 of 12 trials finished" run3.txt || fail "the study is not complete"
[[ $(sql "SELECT status FROM runs WHERE run_id = '$victim_run'") == "FINISHED" ]] \
  || fail "the cancelled trial was not resumed in its own run"
trials=$(sql "SELECT count(*) FROM tags WHERE key = 'wattlab.study.role' AND value = 'trial'")
[[ $trials -eq 12 ]] || fail "$trials trial runs for 12 trials: a trial was duplicated"
echo "PASSED: every trial FINISHED once in PostgreSQL; the cancelled one resumed in its own run"
