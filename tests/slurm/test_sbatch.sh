#!/usr/bin/env bash
# Submits slurm/*.sbatch to a private single-node Slurm cluster and checks the predictions
# against a direct run: the canonical job, a job array over three files, the self-resubmitting
# job, and for each of the three a preemption notice (scancel -s USR1 -b) followed by a
# resubmission that resumes and completes.
# usage: test_sbatch.sh H5INFER_BINARY      (exit 77 = skipped)
set -euo pipefail
binary=$(realpath "${1:?usage: test_sbatch.sh H5INFER_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "the private Slurm cluster runs its daemons as root"
for command in munged slurmctld slurmd sbatch h5diff; do
  command -v "$command" >/dev/null || skip "$command not installed (scripts/bootstrap.sh test)"
done

work=$(mktemp -d /tmp/h5infer-slurm-XXXXXX)
chmod 0755 "$work"
cleanup() { "$here/cluster.sh" stop "$work/cluster" || true; rm -rf "$work"; }
trap cleanup EXIT
eval "$("$here/cluster.sh" start "$work/cluster")"
export H5INFER=$binary OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail() { echo "FAIL: $*"; for log in "$work"/*.log; do echo "== $log"; cat "$log"; done; exit 1; }
same() { h5diff -q "$1" "$2" /predictions /predictions || fail "$2 differs from $1"; }

"$binary" generate --model "$work/model.h5" --features 16 --hidden 32 --outputs 3 --quiet 2>/dev/null \
  || "$binary" generate --model "$work/model.h5" --features 16 --hidden 32 --outputs 3 >/dev/null
for name in a b c; do
  "$binary" generate --data "$work/$name.h5:/events/x" --rows 3000 --features 16 \
    --seed "$(printf '%d' "'$name")" >/dev/null
  "$binary" run --model "$work/model.h5" --input "$work/$name.h5:/events/x" \
    --output "$work/$name-direct.h5" --quiet --threads 1
done
submit() { sbatch --parsable --wait --chdir="$work" --ntasks=2 --cpus-per-task=1 "$@"; }

echo "== canonical job"
submit "$repo/slurm/h5infer.sbatch" --model "$work/model.h5" --input "$work/a.h5:/events/x" \
  --output "$work/a-slurm.h5" >/dev/null || fail "the canonical job failed"
same "$work/a-direct.h5" "$work/a-slurm.h5"
grep -q "2 ranks x 1 threads" "$work"/h5infer-*.log || fail "no layout line in the job log"
grep -q "h5infer 0\." "$work"/h5infer-*.log || fail "no version in the job log"

echo "== array over three files"
printf '%s\n' "$work/a.h5:/events/x" "$work/b.h5:/events/x" "$work/c.h5:/events/x" > "$work/inputs.txt"
mkdir "$work/out"
submit --array=0-2%2 "$repo/slurm/h5infer-array.sbatch" "$work/inputs.txt" "$work/model.h5" \
  "$work/out" >/dev/null || fail "the array job failed"
for name in a b c; do same "$work/$name-direct.h5" "$work/out/$name.predictions.h5"; done

echo "== self-resubmitting job"
submit "$repo/slurm/h5infer-every.sbatch" 1hours --model "$work/model.h5" \
  --input "$work/a.h5:/events/x" --output "$work/every.h5" --overwrite >/dev/null \
  || fail "the self-resubmitting job failed"
same "$work/a-direct.h5" "$work/every.h5"
next=$(squeue -h --name=h5infer-every -t PENDING -o %i)
[ -n "$next" ] || fail "the job did not queue its next run"
begin=$(scontrol show job "$next" | grep -o 'EligibleTime=[^ ]*' | cut -d= -f2 || true)
[ "$(date -d "$begin" +%s)" -gt "$(($(date +%s) + 1800))" ] || fail "next run begins at '$begin'"
scancel --name=h5infer-every

echo "== preemption notices, then resubmissions (each script)"
"$binary" generate --data "$work/big.h5" --model "$work/big-model.h5" --rows 100000 \
  --features 64 --hidden 512,512 --outputs 4 >/dev/null
slow=(--backend reference --chunk-rows 500)
mpirun -n 2 "$binary" run --model "$work/big-model.h5" --input "$work/big.h5" \
  --output "$work/big-direct.h5" "${slow[@]}" --quiet
mkdir "$work/out-big"
printf '%s\n' "$work/big.h5" > "$work/big-inputs.txt"

# preempt LOG OUTPUT SCRIPT ARGS...: submits the script, sends the batch script USR1 (Slurm's
# preemption notice, as with --signal=B:USR1@120) once the ranks write OUTPUT's partial file,
# checks that the job stopped with its progress saved, then resubmits it and checks that the
# rerun resumes and gives the direct run's predictions. LOG names the job's log, with JOB for
# its id.
preempt() {
  local log=$1 output=$2
  shift 2
  local script directory partial job
  script=$(basename "$1")
  directory=$(dirname "$output")
  partial="\.$(basename "$output" | sed 's/\./\\./g')\.h5infer-"
  job=$(sbatch --parsable --chdir="$work" --ntasks=2 --cpus-per-task=1 "$@")
  # Until the ranks are writing: the partial file, not the lock file that validation makes
  # before any kernel is built (a notice then stops the job before it has progress to keep).
  for _ in $(seq 300); do
    ls -a "$directory" | grep -q "${partial}partial" && break
    sleep 0.1
  done
  ls -a "$directory" | grep -q "${partial}partial" || fail "$script: the job never started writing"
  scancel -s USR1 -b "$job"
  for _ in $(seq 300); do squeue -h -j "$job" 2>/dev/null | grep -q . || break; sleep 0.2; done
  squeue -h -j "$job" 2>/dev/null | grep -q . && fail "$script: the job did not stop after USR1"
  local stopped=$work/${log//JOB/$job}
  [ ! -e "$output" ] || fail "$script: a partial file appeared under the final name"
  ls -a "$directory" | grep -q "${partial}partial" || fail "$script: the progress was not kept"
  grep -q "stop requested" "$stopped" || fail "$script: the job script did not see USR1"
  grep -q "exited with status 75" "$stopped" || fail "$script: not the resumable exit code 75"
  grep -q "rerun the same command to resume" "$stopped" || fail "$script: no resume advice"
  local resubmitted
  resubmitted=$(submit "$@") || fail "$script: the resubmission failed"
  grep -q "resume $output" "$work/${log//JOB/$resubmitted}" \
    || fail "$script: the resubmission did not resume: $(cat "$work/${log//JOB/$resubmitted}")"
  ls -a "$directory" | grep -q "$partial" && fail "$script: the partial file was left"
  same "$work/big-direct.h5" "$output"
}

preempt "h5infer-JOB.log" "$work/big-slurm.h5" "$repo/slurm/h5infer.sbatch" \
  --model "$work/big-model.h5" --input "$work/big.h5" --output "$work/big-slurm.h5" "${slow[@]}"
preempt "h5infer-JOB_0.log" "$work/out-big/big.predictions.h5" \
  "$repo/slurm/h5infer-array.sbatch" "$work/big-inputs.txt" "$work/big-model.h5" \
  "$work/out-big" "${slow[@]}"
preempt "h5infer-every-JOB.log" "$work/big-every.h5" "$repo/slurm/h5infer-every.sbatch" 1hours \
  --model "$work/big-model.h5" --input "$work/big.h5" --output "$work/big-every.h5" "${slow[@]}"
scancel --name=h5infer-every
echo "6 passed, 0 failed"
