#pragma once

#include <exception>
#include <functional>

#include "h5infer/error.hpp"
#include "h5infer/mpi/comm.hpp"

namespace h5infer {

/// Thrown on the ranks that did not find an error, after the rank that found it reported it:
/// carries the exit code so every rank ends the same way, and is never printed.
class ReportedElsewhere : public Error {
public:
    ReportedElsewhere(ExitCode code, int rank)
        : Error(code, "reported by rank " + std::to_string(rank)) {}
};

/// Collective. Runs `step` on this rank, then agrees with every other rank on the outcome: if
/// any rank failed, every rank throws — the lowest failing rank its own error, the others
/// ReportedElsewhere with its exit code. No rank is left waiting in a later collective.
void agree(const mpi::Comm& comm, const std::function<void()>& step);

/// Collective. Runs `step` on `root` only and shares its outcome as agree() does.
void agree_on_root(const mpi::Comm& comm, int root, const std::function<void()>& step);

}  // namespace h5infer
