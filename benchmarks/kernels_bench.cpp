// oneDNN vs the Eigen reference, per layer shape: rows/s and GFLOP/s of one forward() call.
//   build/benchmarks/kernels_bench --benchmark_counters_tabular=true
// Threads: H5INFER_BENCH_THREADS (default 1). Shapes: the dense layers of the standard
// workloads in benchmarks/README.md, with the activation each is followed by.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>

#include "h5infer/model.hpp"
#include "kernels/network.hpp"

namespace h5infer {
namespace {

int bench_threads() {
    const char* text = std::getenv("H5INFER_BENCH_THREADS");
    return text != nullptr && std::atoi(text) > 0 ? std::atoi(text) : 1;
}

Model dense_model(std::int64_t inputs, std::int64_t outputs, Activation activation) {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.0F, 1.0F / static_cast<float>(inputs));
    DenseLayer dense;
    dense.inputs = inputs;
    dense.outputs = outputs;
    dense.weights.resize(static_cast<std::size_t>(inputs * outputs));
    for (float& w : dense.weights) w = normal(rng);
    dense.bias.assign(static_cast<std::size_t>(outputs), 0.01F);
    Model model;
    model.input_width = inputs;
    model.layers.emplace_back(std::move(dense));
    model.layers.emplace_back(ActivationLayer{activation, default_alpha(activation)});
    return model;
}

// Arguments: rows, inputs, outputs, activation, backend.
void forward(benchmark::State& state) {
    const std::int64_t rows = state.range(0);
    const std::int64_t inputs = state.range(1);
    const std::int64_t outputs = state.range(2);
    const auto activation = static_cast<Activation>(state.range(3));
    const auto backend = static_cast<kernels::Backend>(state.range(4));
    const Model model = dense_model(inputs, outputs, activation);
    auto network = kernels::make_network(model, backend, rows, bench_threads());
    std::vector<float> src(static_cast<std::size_t>(rows * inputs), 0.5F);
    std::vector<float> dst(static_cast<std::size_t>(rows * outputs));
    for (auto _ : state) {
        network->forward(src.data(), rows, dst.data());
        benchmark::DoNotOptimize(dst.data());
    }
    const double iterations = static_cast<double>(state.iterations());
    state.counters["rows/s"] =
        benchmark::Counter(static_cast<double>(rows) * iterations, benchmark::Counter::kIsRate);
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * static_cast<double>(rows * inputs * outputs) * iterations / 1e9,
                           benchmark::Counter::kIsRate);
    state.SetLabel(std::string(kernels::backend_name(backend)) + " " +
                   std::string(activation_name(activation)));
}

void shapes(benchmark::internal::Benchmark* bench) {
    const auto relu = static_cast<std::int64_t>(Activation::Relu);
    const auto softmax = static_cast<std::int64_t>(Activation::Softmax);
    const auto sigmoid = static_cast<std::int64_t>(Activation::Sigmoid);
    for (std::int64_t backend : {0, 1}) {
        const std::int64_t rows = backend == 0 ? 8192 : 1024;  // the reference is slow
        // W1 "wide" 512-2048-2048-1024-16
        bench->Args({rows, 512, 2048, relu, backend});
        bench->Args({rows, 2048, 2048, relu, backend});
        bench->Args({rows, 2048, 1024, relu, backend});
        bench->Args({rows, 1024, 16, softmax, backend});
        // W2 "narrow" 64-64-64-1
        bench->Args({rows, 64, 64, relu, backend});
        bench->Args({rows, 64, 1, sigmoid, backend});
        // W3 scikit-learn MLP 40-128-64-3
        bench->Args({rows, 40, 128, relu, backend});
        bench->Args({rows, 128, 64, relu, backend});
        bench->Args({rows, 64, 3, softmax, backend});
    }
}

BENCHMARK(forward)
    ->Apply(shapes)
    ->ArgNames({"rows", "in", "out", "act", "backend"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace h5infer

BENCHMARK_MAIN();
