#!/usr/bin/env bash
# The library as a user gets it: installs the build into a temporary prefix, moves the prefix
# elsewhere (the files must be relocatable), builds examples/embed/{cpp,c,fortran} against it
# alone, runs them on the rows of a generated dataset and compares their predictions bitwise
# with `h5infer run` on the same rows. With prefix=PREFIX instead of a build directory, uses the
# files already installed there (tests/package/test_package.sh: a .deb extracted into a root).
# Usage: test_examples.sh SOURCE_DIR BUILD_DIR|prefix=PREFIX H5INFER CMAKE
set -euo pipefail
source_dir=$1 build_dir=$2 h5infer=$3 cmake=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/h5infer-library-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

if [[ $build_dir == prefix=* ]]; then
    prefix=${build_dir#prefix=}
else
    "$cmake" --install "$build_dir" --prefix "$work/installed" > install.log
    mv "$work/installed" "$work/prefix"
    prefix=$work/prefix
fi
libdir=$(dirname "$(find "$prefix" -name 'libh5infer.so.0' | head -n 1)")

# An odd row count and a model with labels-free softmax outputs; one row of NaN.
"$h5infer" generate --model model.h5 --data data.h5:/features --rows 2503 --features 11 \
    --hidden 37,19 --outputs 5 --activation relu --seed 7 > /dev/null
/usr/bin/python3 - <<'PY'
import h5py
import numpy as np
with h5py.File("data.h5", "r+") as f:
    rows = f["/features"]
    rows[17, 3] = np.nan
    np.ascontiguousarray(rows[...], dtype="<f4").tofile("rows.raw")
PY
"$h5infer" run --model model.h5 --input data.h5:/features --output run.h5 --threads 2 > run.log

for language in cpp fortran; do
    "$cmake" -S "$source_dir/examples/embed/$language" -B "build-$language" \
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        -DCMAKE_BUILD_TYPE=Release > "configure-$language.log"
    "$cmake" --build "build-$language" > "build-$language.log"
done
# pkg-config sees only this prefix, whose directory moved after the install, as a .deb's does.
PKG_CONFIG_LIBDIR="$libdir/pkgconfig" make -s -C "$work" -f "$source_dir/examples/embed/c/Makefile" \
    VPATH="$source_dir/examples/embed/c" CFLAGS="-O2 -Wall -Wextra -Werror -std=c99" predict_c

export LD_LIBRARY_PATH="$libdir"
build-cpp/predict_cpp model.h5 rows.raw cpp.raw 2
./predict_c model.h5 rows.raw c.raw 1
build-fortran/predict_fortran model.h5 rows.raw fortran.raw 3

# A missing model: the C API's status (h5infer run's exit code 3) and message, in C and Fortran.
status=0
./predict_c missing.h5 rows.raw c-missing.raw 2> c-missing.err || status=$?
grep -q "c: error 3: model file 'missing.h5' does not exist" c-missing.err || {
    echo "predict_c on a missing model exited $status: $(cat c-missing.err)"; exit 1; }
[ "$status" -eq 3 ] || { echo "predict_c on a missing model exited $status, not 3"; exit 1; }
build-fortran/predict_fortran missing.h5 rows.raw f-missing.raw 2> f-missing.err && exit 1
grep -q "fortran: error 3: model file 'missing.h5' does not exist" f-missing.err || {
    echo "predict_fortran on a missing model said: $(cat f-missing.err)"; exit 1; }

/usr/bin/python3 - <<'PY'
import sys
import h5py
import numpy as np
with h5py.File("run.h5", "r") as f:
    want = np.ascontiguousarray(f["/predictions"][...], dtype="<f4")
assert np.isnan(want[17]).all(), "the NaN row's predictions are not NaN"
failed = False
for language in ("cpp", "c", "fortran"):
    got = np.fromfile(language + ".raw", dtype="<f4")
    same = got.size == want.size and got.tobytes() == want.tobytes()
    print(f"{language}: {got.size} values, bitwise equal to h5infer run: {same}")
    failed |= not same
sys.exit(1 if failed else 0)
PY
