#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, runs CTest
# (unit, MPI at 1-4 ranks, end-to-end, architecture checks).
set -euo pipefail
source "$(dirname "$0")/env.sh"

"$H5INFER_ROOT/scripts/bootstrap.sh" test
# The benchmarks are built (not run) so they keep compiling as the code changes.
h5infer_build -DH5INFER_BUILD_TESTS=ON -DH5INFER_WERROR=ON -DH5INFER_BUILD_BENCHMARKS=ON
cd "$H5INFER_BUILD"
ctest --output-on-failure --timeout 900 -j "${H5INFER_TEST_JOBS:-2}" "$@"
