#pragma once

#include <string>

#include "h5infer/mpi/comm.hpp"
#include "h5infer/run.hpp"

namespace h5infer::stages {

/// The instruction set the kernels of a run compute with, agreed by every rank.
struct AgreedInstructionSet {
    std::string name;    ///< oneDNN's name ("avx2"); empty for the reference backend
    std::string common;  ///< the best set every rank has, which --isa may lower
};

/// Collective, before any kernel exists. The oneDNN backend's bits depend on the instruction
/// set, so ranks on different CPU generations (or with different ONEDNN_MAX_CPU_ISA caps) would
/// write a file no single rank would: every rank computes with --isa, which every rank must
/// have, or else with the best set every rank has, and oneDNN is limited to it on every rank.
/// Throws on every rank (ConfigError on rank 0) if --isa is unknown or some rank lacks it.
[[nodiscard]] AgreedInstructionSet agree_on_instruction_set(const RunConfig& config,
                                                            const mpi::Comm& comm);

}  // namespace h5infer::stages
