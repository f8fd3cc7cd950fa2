#!/usr/bin/env bash
# Installs the Debian packages h5infer needs to build, test and run its demo.
# Idempotent: runs `apt-get update` (once) and `apt-get install` only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libdnnl-dev
  # Debian builds oneDNN with its OpenCL GPU runtime, so its CMake package requires OpenCL.
  ocl-icd-opencl-dev
  libeigen3-dev
  libcli11-dev
  libgtest-dev googletest
  libbenchmark-dev
  python3-h5py python3-numpy
  libopenblas0-pthread
)

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
