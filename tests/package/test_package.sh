#!/usr/bin/env bash
# Installs h5infer from a build directory into a fresh root and uses it from the installed files
# only. deb: cpack -G DEB, every dependency checked against the Debian packages installed here,
# then dpkg -x into the root (no system-wide install); install: cmake --install --prefix ROOT.
# Then: no path of the source or build tree in the installed files or the binary's RPATH, the
# demo of scripts/quickstart.sh on 2 ranks, the exporter on a small scikit-learn model, h5infer(1)
# and the completion (check_help_files.sh), and the Slurm scripts naming the installed binary;
# deb also builds the C++, C and Fortran embedding examples against the package alone and runs
# the Snakemake workflow with the package's binary (tests/library, tests/workflow).
# usage: test_package.sh deb|install BUILD_DIR
set -euo pipefail
usage="usage: test_package.sh deb|install BUILD_DIR"
mode=${1:?$usage}
build=$(realpath "${2:?$usage}")
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/h5infer-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
logged() { "$@" > "$work/log" 2>&1 || { cat "$work/log"; fail "$* failed"; }; }

# check_dependencies DEB FIELD: every package FIELD names (one of each "a | b") is installed
# here, in a version that satisfies the constraint.
check_dependencies() {
  local field entry alternative name constraint status
  field=$(dpkg-deb -f "$1" "$2")
  [ -n "$field" ] || fail "$1 has no $2"
  IFS=, read -ra entries <<<"$field"
  for entry in "${entries[@]}"; do
    read -r entry <<<"$entry"
    status=missing
    IFS='|' read -ra alternatives <<<"$entry"
    for alternative in "${alternatives[@]}"; do
      read -r name constraint <<<"$alternative"
      version=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>&1 |
                sed -n 's/^install ok installed //p')
      [ -n "$version" ] || continue
      if [[ $constraint =~ ^\((<<|<=|=|>=|>>)\ (.*)\)$ ]]; then
        dpkg --compare-versions "$version" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" || continue
      fi
      status=ok
    done
    [ "$status" = ok ] || fail "$2: '$entry' is not an installed Debian package"
  done
  echo "$2: $field"
}

case $mode in
  deb)
    logged cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/cpack"
    debs=("$work"/cpack/*.deb)
    [ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made ${debs[*]}"
    check_dependencies "${debs[0]}" Depends
    check_dependencies "${debs[0]}" Recommends
    dpkg-deb -f "${debs[0]}" Depends | grep -q libc6 || fail "dpkg-shlibdeps did not run"
    dpkg -x "${debs[0]}" "$work/root"
    # The files name /usr, where dpkg -i puts them; here they are under the root.
    named=/usr
    root=$work/root
    ;;
  install)
    logged cmake --install "$build" --prefix "$work/root"
    named=$work/root
    root=""
    ;;
  *) fail "$usage" ;;
esac
prefix=$root$named

echo "== installed files"
for file in bin/h5infer bin/h5infer-export-sklearn share/man/man1/h5infer.1 \
    share/bash-completion/completions/h5infer share/doc/h5infer/README.md \
    share/doc/h5infer/docs/cli.md share/doc/h5infer/docs/model-format.md \
    share/h5infer/slurm/README.md share/h5infer/slurm/h5infer.sbatch \
    share/h5infer/slurm/h5infer-array.sbatch share/h5infer/slurm/h5infer-every.sbatch; do
  [ -f "$prefix/$file" ] || fail "$file is not installed"
done
for file in bin/h5infer bin/h5infer-export-sklearn share/h5infer/slurm/h5infer.sbatch; do
  [ -x "$prefix/$file" ] || fail "$file is not executable"
done
# The package's binary is stripped; cmake --install keeps the debug information, which names
# the sources (not used to run), so there only text files (-I) are searched.
text_only=()
[ "$mode" = deb ] || text_only=(-I)
leaks=$(grep -rl "${text_only[@]}" -e "$source_dir" -e "$build" -e _CPack_Packages "$work/root" \
        || true)
[ -z "$leaks" ] || fail "installed files name the source or build tree: $leaks"
rpath=$(readelf -d "$prefix/bin/h5infer" | grep -E 'RPATH|RUNPATH' || true)
if grep -q -e "$source_dir" -e "$build" <<<"$rpath"; then
  fail "the installed binary's RPATH names the build tree: $rpath"
fi

echo "== demo on 2 ranks"
h5infer=$prefix/bin/h5infer
version=$("$h5infer" --version)
[[ $version =~ ^h5infer\ [0-9] ]] || fail "the installed binary's --version says '$version'"
logged "$h5infer" generate --data "$work/events.h5:/events/features" --model "$work/model.h5" \
  --rows 20000 --features 32 --hidden 128,64 --outputs 4 --activation relu \
  --output-activation softmax --seed 1
logged mpirun -n 2 "$h5infer" run --model "$work/model.h5" \
  --input "$work/events.h5:/events/features" --output "$work/predictions.h5" --quiet
grep -q predictions <<<"$("$h5infer" inspect "$work/predictions.h5")" || fail "no /predictions"

echo "== the exporter"
exporter=$prefix/bin/h5infer-export-sklearn
[ "$(head -n 1 "$exporter")" = "#!/usr/bin/python3" ] || fail "the exporter's first line changed"
/usr/bin/python3 - "$work" <<'EOF'
import sys
import joblib
import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
rng = np.random.default_rng(7)
x = rng.normal(size=(300, 32))
y = (x[:, 0] + x[:, 1] > 0).astype(int)
pipeline = make_pipeline(StandardScaler(), LogisticRegression())
joblib.dump(pipeline.fit(x, y), f"{sys.argv[1]}/clf.joblib")
joblib.dump(IsolationForest(n_estimators=2).fit(x), f"{sys.argv[1]}/refused.joblib")
EOF
logged "$exporter" "$work/clf.joblib" "$work/clf.h5"
logged mpirun -n 2 "$h5infer" run --model "$work/clf.h5" \
  --input "$work/events.h5:/events/features" --output "$work/classes.h5" --labels --quiet
# Its messages name the installed docs.
docs=$named/share/doc/h5infer/docs/model-format.md
[ -f "$root$docs" ] || fail "$docs is not installed"
grep -qF "$docs" <<<"$("$exporter" --help)" || fail "the exporter's --help does not name $docs"
if "$exporter" "$work/refused.joblib" "$work/refused.h5" 2> "$work/refused"; then
  fail "the exporter converted an IsolationForest"
fi
grep -qF "$docs says which options" "$work/refused" || fail "refusal: $(cat "$work/refused")"

echo "== h5infer(1) and the bash completion"
logged "$here/check_help_files.sh" "$h5infer" "$prefix/share/man/man1/h5infer.1" \
  "$prefix/share/bash-completion/completions/h5infer"
cat "$work/log"

echo "== the Slurm scripts"
for script in h5infer.sbatch h5infer-array.sbatch h5infer-every.sbatch; do
  grep -qF "\${H5INFER:-$named/bin/h5infer}" "$prefix/share/h5infer/slurm/$script" \
    || fail "$script does not name the installed binary $named/bin/h5infer"
done
if [ -x "$named/bin/h5infer" ]; then
  # The canonical job without Slurm: an srun that starts the step with mpirun, no H5INFER, and
  # a PATH without the installed binary.
  mkdir "$work/fake-slurm"
  printf '#!/bin/sh\n[ "$1" = --mpi=pmix ] && shift\nexec mpirun -n 2 "$@"\n' \
    > "$work/fake-slurm/srun"
  chmod +x "$work/fake-slurm/srun"
  (cd "$work" && env -u H5INFER PATH="$work/fake-slurm:/usr/bin:/bin" \
    "$prefix/share/h5infer/slurm/h5infer.sbatch" --model "$work/model.h5" \
    --input "$work/events.h5:/events/features" --output "$work/slurm.h5" --quiet \
    > "$work/job.log" 2>&1) || { cat "$work/job.log"; fail "the installed h5infer.sbatch failed"; }
  h5diff -q "$work/predictions.h5" "$work/slurm.h5" /predictions /predictions \
    || fail "the installed h5infer.sbatch predicted otherwise"
fi
if [ "$mode" = deb ]; then
  # What research code does with the package: embed the library (built against the package's
  # headers, CMake package and pkg-config file only) and run a workflow of the binary.
  echo "== the C++, C and Fortran embedding examples against the package"
  logged "$source_dir/tests/library/test_examples.sh" "$source_dir" "prefix=$prefix" "$h5infer" \
    cmake
  cat "$work/log"
  echo "== the Snakemake workflow with the package's binary on PATH"
  found=$(env PATH="$prefix/bin:$PATH" bash -c 'command -v h5infer')
  [ "$found" = "$prefix/bin/h5infer" ] || fail "h5infer on PATH is $found, not the package's"
  status=0
  env PATH="$prefix/bin:$PATH" "$source_dir/tests/workflow/test_snakemake.sh" "" mpirun \
    > "$work/log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || { cat "$work/log"; fail "the Snakemake workflow exited $status"; }
  tail -n 3 "$work/log"
fi
echo "PASS: $mode"
