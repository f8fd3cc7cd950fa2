# Sourced by the scripts: the build directory and the Open MPI settings they run with.
# shellcheck shell=bash
H5INFER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
H5INFER_BUILD="${H5INFER_BUILD:-$H5INFER_ROOT/build}"
if [ "$(id -u)" -eq 0 ]; then
  # Open MPI refuses to run as root unless told to (containers and CI run as root).
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Small machines: let tests and the demo start more ranks than cores.
export OMPI_MCA_rmaps_base_oversubscribe=1

h5infer_build() {
  cmake -S "$H5INFER_ROOT" -B "$H5INFER_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$H5INFER_BUILD" -j "$(nproc)"
}
