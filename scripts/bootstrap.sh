#!/usr/bin/env bash
# Installs the Debian packages h5infer needs to build and run; `bootstrap.sh test` adds what
# the test suite needs on top (a private Slurm cluster for the sbatch tests, Snakemake for the
# example workflow), `bootstrap.sh bench` what benchmarks/compare.py needs (the peers it
# compares against, GNU time, the chart) and benchmarks/scaling.py (strace).
# Idempotent: runs `apt-get update` (once) and `apt-get install` only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  # examples/embed/fortran, built by the library.examples test
  gfortran
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libdnnl-dev
  # Debian builds oneDNN with its OpenCL GPU runtime, so its CMake package requires OpenCL.
  ocl-icd-opencl-dev
  libeigen3-dev
  libcli11-dev
  # The ONNX importer: ONNX's generated protobuf classes and protobuf itself. (python3-torch and
  # python3-onnx only regenerate tests/data/onnx, by hand: neither building nor testing needs them.)
  libonnx-dev libprotobuf-dev
  # SHA-256 of model files (also a dependency of libhdf5-openmpi-dev)
  libssl-dev
  libgtest-dev googletest
  libbenchmark-dev
  python3-h5py python3-numpy
  # tools/h5infer-export-sklearn and its tests (tests/sklearn)
  python3-sklearn python3-joblib
  libopenblas0-pthread
  # h5infer(1), generated from --help at build time; cpack -G DEB computes the package's
  # dependencies with dpkg-shlibdeps (dpkg-dev), which finds the binaries with file.
  help2man dpkg-dev file
)

if [ "${1:-}" = test ]; then
  # tests/slurm starts its own munged, slurmctld and slurmd on 127.0.0.1; tests/sklearn fits a
  # model on a pandas DataFrame and writes it with DataFrame.to_hdf (PyTables); tests/workflow
  # runs examples/snakemake; tests/package renders h5infer(1) with man.
  packages+=(munge slurmctld slurmd slurm-client libpmix-dev python3-pandas python3-tables
    snakemake man-db)
fi

if [ "${1:-}" = bench ]; then
  # benchmarks/compare.py: the PyTorch and mpi4py peers, GNU time for peak RSS, matplotlib for
  # the chart (Agg backend, no display needed); benchmarks/scaling.py: strace, which counts
  # the file-system calls.
  packages+=(python3-torch python3-mpi4py python3-matplotlib time strace)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "bootstrap: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
