#pragma once

#include "h5infer/mpi/comm.hpp"

namespace h5infer::cli {

/// Collective. Parses the command line (the same on every rank), runs the chosen command and
/// returns the process exit code, identical on every rank. Errors are printed once, by the rank
/// that found them; usage errors by rank 0.
[[nodiscard]] int run_command_line(int argc, char** argv, const mpi::Comm& comm);

}  // namespace h5infer::cli
