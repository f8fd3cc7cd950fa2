#!/usr/bin/env bash
# Runs examples/snakemake in a temporary copy with `snakemake --cores 2`: the whole workflow and
# its summary, nothing to do on a second run, and a prediction job stopped with SIGUSR1 (exit
# code 75) that resumes from its partial file, once by rerunning snakemake and once by
# Snakemake's own restart (retries), each to the bits of the uninterrupted run.
# usage: test_snakemake.sh [H5INFER [MPIEXEC]]   (exit 77 = skipped)
#   H5INFER: the binary; empty or left out: `h5infer` found on PATH (an installed package).
#   MPIEXEC: the MPI launcher (default mpirun), run with -n 2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
example=$(cd "$here/../../examples/snakemake" && pwd)
binary=${1:-}
mpiexec=${2:-mpirun}

skip() { echo "SKIP: $*"; exit 77; }
command -v snakemake >/dev/null || skip "snakemake not installed (scripts/bootstrap.sh test)"
command -v h5diff >/dev/null || skip "h5diff not installed (hdf5-tools)"
if [ -n "$binary" ]; then binary=$(realpath "$binary"); else binary=$(command -v h5infer) ||
  skip "no h5infer given and none on PATH"; fi

work=$(mktemp -d /tmp/h5infer-snakemake-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$example" "$work/wf"
cd "$work/wf"
fail() {
  echo "FAIL: $*"
  for log in "$work"/*.out logs/predict/*.log; do [ -f "$log" ] && { echo "== $log"; cat "$log"; }; done
  exit 1
}
same() { h5diff -q "$1" "$2" /predictions /predictions || fail "$2 differs from $1"; }

# A third input that takes seconds on 2 ranks (a wide model on the reference backend, progress
# saved after every chunk), so a signal lands mid-run.
/usr/bin/env awk 'BEGIN { srand(7); print "x1,x2,x3,x4";
  for (i = 0; i < 40000; i++) printf "%.4f,%.4f,%.4f,%.4f\n", rand(), rand(), rand(), rand() }' \
  > data/big.csv
"$binary" generate --model wide.h5 --features 4 --hidden 1024,1024 --outputs 3 >/dev/null
settings=(h5infer="$binary" "mpirun=$mpiexec -n 2" model=wide.h5
  "run_flags=--backend reference --chunk-rows 500 --checkpoint-every 1chunks")
workflow() { snakemake --cores 2 --config "${settings[@]}" "$@"; }

echo "== the whole workflow"
workflow retries=0 > "$work/first.out" 2>&1 || fail "the first run failed"
[ "$(cut -f1,2 summary.tsv | tr '\t\n' ': ')" = "sample:rows a:120 b:75 big:40000 " ] \
  || fail "summary.tsv: $(cat summary.tsv)"
grep -qx 'h5infer_exit_status 0' metrics/big.prom || fail "metrics: $(cat metrics/big.prom)"
grep -q '"per_rank"' logs/predict/big.json || fail "no --report"
cp predictions/big.h5 "$work/whole.h5"

echo "== nothing to do the second time"
workflow retries=0 > "$work/second.out" 2>&1 || fail "the second run failed"
grep -q "Nothing to be done" "$work/second.out" || fail "the second run did work"

# Deletes big's predictions, starts the workflow in the background, and sends SIGUSR1 to the
# h5infer ranks (as the sbatch scripts do near a time limit) once they write the partial file.
# Sets `status` to snakemake's exit code.
descendants() { local child; for child in $(pgrep -P "$1"); do echo "$child"; descendants "$child"; done; }
stop_mid_run() {
  rm -f predictions/big.h5 summary.tsv
  workflow "$@" > "$work/stopped.out" 2>&1 &
  local snakemake=$! waited=0 ranks=()
  until [ -f predictions/.big.h5.h5infer-partial.tmp ]; do
    sleep 0.05; waited=$((waited + 1))
    [ "$waited" -lt 2400 ] || fail "no partial file within two minutes"
  done
  sleep 0.5
  for pid in $(descendants "$snakemake"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = h5infer ] && ranks+=("$pid")
  done
  [ "${#ranks[@]}" -eq 2 ] || fail "found ${#ranks[@]} h5infer ranks, not 2"
  kill -USR1 "${ranks[@]}"
  status=0
  wait "$snakemake" || status=$?
}

echo "== stopped with 75, then snakemake rerun"
stop_mid_run retries=0
[ "$status" -ne 0 ] || fail "snakemake succeeded although its job was stopped"
[ ! -e predictions/big.h5 ] || fail "the stopped job left predictions/big.h5"
[ -f predictions/.big.h5.h5infer-partial.tmp ] || fail "the partial file was not kept"
grep -qx 'h5infer_exit_status 75' metrics/big.prom || fail "metrics: $(cat metrics/big.prom)"
grep -q "rerun the same command to resume" logs/predict/big.log || fail "no resume hint"
workflow retries=0 > "$work/rerun.out" 2>&1 || fail "the rerun failed"
grep -q "resume predictions/big.h5" logs/predict/big.log || fail "the rerun did not resume"
grep -q 'h5infer_resumed_chunks_total [1-9]' metrics/big.prom || fail "metrics: no chunk resumed"
same "$work/whole.h5" predictions/big.h5
[ ! -e predictions/.big.h5.h5infer-partial.tmp ] || fail "the partial file stayed"

echo "== stopped with 75, restarted by snakemake (retries)"
stop_mid_run retries=1
[ "$status" -eq 0 ] || fail "snakemake did not complete the job on its restart"
grep -q "resume predictions/big.h5" logs/predict/big.log || fail "the restart did not resume"
same "$work/whole.h5" predictions/big.h5
[ -f summary.tsv ] || fail "no summary after the restart"

echo "PASS: the workflow, an idle rerun, and two stops resumed to the same predictions"
