#include "stages/instruction_set.hpp"

#include <cstdint>
#include <vector>

#include "agree.hpp"
#include "h5infer/error.hpp"
#include "kernels/instruction_set.hpp"

namespace h5infer::stages {
namespace {

using kernels::InstructionSet;

// --isa, checked against each rank's set, or the best set all of them have.
InstructionSet choose(const RunConfig& config, const std::vector<std::int64_t>& sets,
                      InstructionSet common) {
    if (config.isa.empty()) {
        if (common == 0) {
            throw ConfigError(
                "the ranks share no instruction set oneDNN can use (not even "
                "sse41); use --backend reference");
        }
        return common;
    }
    const std::optional<InstructionSet> wanted = kernels::parse_instruction_set(config.isa);
    if (!wanted) {
        throw ConfigError("--isa " + config.isa +
                          ": not an instruction set oneDNN knows; use one of " +
                          kernels::instruction_set_names());
    }
    for (std::size_t rank = 0; rank < sets.size(); ++rank) {
        const auto has = static_cast<InstructionSet>(sets[rank]);
        if ((has & *wanted) == *wanted) continue;
        throw ConfigError("--isa " + config.isa + ": rank " + std::to_string(rank) +
                          " can use at most " +
                          kernels::instruction_set_name(kernels::best_named_within(has)) +
                          " (its CPU, or an ONEDNN_MAX_CPU_ISA it was given); choose one every "
                          "rank has, e.g. --isa " +
                          kernels::instruction_set_name(common));
    }
    return *wanted;
}

}  // namespace

AgreedInstructionSet agree_on_instruction_set(const RunConfig& config, const mpi::Comm& comm) {
    if (config.backend != kernels::Backend::Onednn) {
        agree_on_root(comm, 0, [&] {
            if (!config.isa.empty()) {
                throw ConfigError("--isa chooses the onednn backend's instruction set; the " +
                                  std::string(kernels::backend_name(config.backend)) +
                                  " backend computes the same bits on every CPU: drop --isa");
            }
        });
        return {};
    }
    const std::vector<std::int64_t> sets =
        comm.all_gather(static_cast<std::int64_t>(kernels::local_instruction_set()));
    InstructionSet all = ~InstructionSet{0};
    for (const std::int64_t set : sets) all &= static_cast<InstructionSet>(set);
    const InstructionSet common = kernels::best_named_within(all);
    InstructionSet chosen = 0;
    agree_on_root(comm, 0, [&] { chosen = choose(config, sets, common); });
    comm.broadcast(chosen, 0);
    agree(comm, [&] { kernels::limit_instruction_set(chosen); });
    return {kernels::instruction_set_name(chosen), kernels::instruction_set_name(common)};
}

}  // namespace h5infer::stages
