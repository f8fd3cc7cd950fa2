#include "stages/engine.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdlib>

#include "agree.hpp"
#include "h5infer/model_file.hpp"
#include "h5infer/plan.hpp"
#include "model/describe.hpp"

namespace h5infer {

int resolve_threads(int requested, std::string& source) {
    if (requested > 0) {
        source = "--threads";
        return requested;
    }
    if (const char* slurm = std::getenv("SLURM_CPUS_PER_TASK")) {
        const int count = std::atoi(slurm);
        if (count > 0) {
            source = "SLURM_CPUS_PER_TASK";
            return count;
        }
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
        source = "affinity mask";
        return CPU_COUNT(&set);
    }
    source = "default";
    return 1;
}

namespace stages {
namespace {

std::string thread_layout(const mpi::Comm& comm, int threads) {
    const std::int64_t fewest = comm.min(static_cast<std::int64_t>(threads));
    const std::int64_t most = comm.max(static_cast<std::int64_t>(threads));
    return fewest == most ? std::to_string(most)
                          : std::to_string(fewest) + "-" + std::to_string(most);
}

// Rank 0's model moves out of `prepared`; the other ranks rebuild it from its image, then
// receive its small arrays (and, unless `dense` is Absent, the dense ones) in place.
Model share_model(const mpi::Comm& comm, Prepared& prepared, DenseArrays dense, bool has_rows) {
    Model model;
    agree(comm, [&] {
        model =
            comm.rank() == 0 ? std::move(prepared.model) : deserialize(prepared.model_image, dense);
    });
    prepared.model_image = std::vector<char>();
    if (comm.size() > 1 && has_rows) {
        for (std::vector<float>* values : float_arrays(model, dense)) {
            comm.broadcast_in_place(*values, 0);
        }
    }
    return model;
}

// Rank 0's packed weights to every rank: the descriptions, then each array straight into the
// memory its network will keep.
void broadcast(const mpi::Comm& comm, std::vector<kernels::PackedWeights>& packed) {
    std::uint64_t count = packed.size();
    comm.broadcast(count, 0);
    packed.resize(count);
    for (kernels::PackedWeights& weights : packed) {
        comm.broadcast(weights.layout, 0);
        std::uint64_t values = weights.bias.size();
        comm.broadcast(values, 0);
        weights.bias.resize(values);
        comm.broadcast_in_place(weights.bias, 0);
        std::uint64_t bytes = weights.bytes;
        comm.broadcast(bytes, 0);
        weights.bytes = bytes;
    }
    agree(comm, [&] {
        if (comm.rank() == 0) return;
        for (kernels::PackedWeights& weights : packed) {
            weights.storage = BulkBuffer(weights.bytes);
            weights.data = weights.storage.data();
        }
    });
    // Only read on rank 0, where `data` is the network's own memory.
    for (kernels::PackedWeights& weights : packed) {
        comm.broadcast_in_place(const_cast<void*>(weights.data), weights.bytes, 0);
    }
}

// The ranks beyond the first build their networks from rank 0's packed weights.
void ship_packed_weights(const RunConfig& config, const mpi::Comm& comm, Engine& engine,
                         Model&& model, std::int64_t buffer_rows) {
    std::vector<kernels::PackedWeights> weights;
    if (comm.rank() == 0) weights = engine.network->packed_weights();
    broadcast(comm, weights);
    agree(comm, [&] {
        if (comm.rank() != 0) {
            engine.network = kernels::make_network(std::move(model), std::move(weights),
                                                   buffer_rows, engine.threads, config.precision);
        }
    });
}

}  // namespace

Engine build_engine(const RunConfig& config, const mpi::Comm& comm, Prepared& prepared,
                    const RunPlan& plan) {
    Engine engine;
    engine.threads = resolve_threads(config.threads, engine.thread_source);
    engine.thread_layout = thread_layout(comm, engine.threads);
    const std::int64_t buffer_rows = std::min(prepared.chunk_rows, plan.largest_input);
    const bool has_rows = plan.rows_to_do > 0;
    const bool packed = comm.size() > 1 && has_rows && prepared.parameters >= packed_parameters &&
                        config.backend == kernels::Backend::Onednn && config.verify_rows <= 0;
    Model model =
        share_model(comm, prepared, packed ? DenseArrays::Absent : DenseArrays::Present, has_rows);
    engine.first_steps = first_round_steps(prepared.chunk_rows, flops_per_row(model));
    agree(comm, [&] {
        engine.outputs = model.output_width();
        engine.labels = model.labels;
        engine.verifier = std::make_unique<Verifier>(model, has_rows ? config.verify_rows : 0,
                                                     buffer_rows, engine.threads);
        // The model is handed over: a job of a few rows keeps its weights where they are.
        if (has_rows && (comm.rank() == 0 || !packed)) {
            engine.network = kernels::make_network(std::move(model), config.backend, buffer_rows,
                                                   engine.threads, config.precision);
        }
        engine.src = BulkArray<float>(static_cast<std::size_t>(buffer_rows * plan.widest_input));
        engine.most_steps = most_round_steps(buffer_rows, engine.outputs, config.checkpoint_steps);
        // A share cut inside chunks may hold up to a chunk more than most_steps chunks' rows.
        engine.dst = BulkArray<float>(
            static_cast<std::size_t>((engine.most_steps + 1) * buffer_rows * engine.outputs));
    });
    if (packed) ship_packed_weights(config, comm, engine, std::move(model), buffer_rows);
    engine.split_rows = engine.network ? engine.network->split_rows() : prepared.chunk_rows;
    return engine;
}

}  // namespace stages
}  // namespace h5infer
