// oneDNN (f32 and bf16) vs the Eigen reference, per layer shape: rows/s and GFLOP/s of one
// forward() call.
//   build/benchmarks/kernels_bench --benchmark_counters_tabular=true
// Threads: H5INFER_BENCH_THREADS (default 1). Shapes: the dense layers of the standard
// workloads in benchmarks/README.md, with the activation each is followed by. The bf16 cases
// report an error on CPUs without avx512_bf16.
#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>

#include "h5infer/error.hpp"
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

// Arguments: rows, inputs, outputs, activation, backend, precision.
void forward(benchmark::State& state) {
    const std::int64_t rows = state.range(0);
    const std::int64_t inputs = state.range(1);
    const std::int64_t outputs = state.range(2);
    const auto activation = static_cast<Activation>(state.range(3));
    const auto backend = static_cast<kernels::Backend>(state.range(4));
    const auto precision = static_cast<kernels::Precision>(state.range(5));
    const Model model = dense_model(inputs, outputs, activation);
    std::unique_ptr<kernels::Network> network;
    try {
        network = kernels::make_network(model, backend, rows, bench_threads(), precision);
    } catch (const ConfigError& error) {
        state.SkipWithError(error.what());
        return;
    }
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
                   std::string(kernels::precision_name(precision)) + " " +
                   std::string(activation_name(activation)));
}

void shapes(benchmark::internal::Benchmark* bench) {
    const auto relu = static_cast<std::int64_t>(Activation::Relu);
    const auto softmax = static_cast<std::int64_t>(Activation::Softmax);
    const auto sigmoid = static_cast<std::int64_t>(Activation::Sigmoid);
    const auto onednn = static_cast<std::int64_t>(kernels::Backend::Onednn);
    const auto reference = static_cast<std::int64_t>(kernels::Backend::Reference);
    const auto f32 = static_cast<std::int64_t>(kernels::Precision::F32);
    const auto bf16 = static_cast<std::int64_t>(kernels::Precision::Bf16);
    // inputs, outputs, activation: the dense layers of the standard workloads.
    const std::array<std::array<std::int64_t, 3>, 9> layers = {{
        {512, 2048, relu},  // W1 "wide" 512-2048-2048-1024-16
        {2048, 2048, relu},
        {2048, 1024, relu},
        {1024, 16, softmax},
        {64, 64, relu},  // W2 "narrow" 64-64-64-1
        {64, 1, sigmoid},
        {40, 128, relu},  // W3 scikit-learn MLP 40-128-64-3
        {128, 64, relu},
        {64, 3, softmax},
    }};
    // oneDNN f32 and bf16 side by side per layer, then the reference on fewer rows (it is slow).
    constexpr std::int64_t onednn_rows = 8192;
    constexpr std::int64_t reference_rows = 1024;
    for (const auto& [inputs, outputs, activation] : layers) {
        bench->Args({onednn_rows, inputs, outputs, activation, onednn, f32});
        bench->Args({onednn_rows, inputs, outputs, activation, onednn, bf16});
    }
    for (const auto& [inputs, outputs, activation] : layers) {
        bench->Args({reference_rows, inputs, outputs, activation, reference, f32});
    }
}

BENCHMARK(forward)
    ->Apply(shapes)
    ->ArgNames({"rows", "in", "out", "act", "backend", "precision"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The NaN/Inf row count every input block goes through before the forward pass: bytes/s over
// a block of finite values (the common case) and over one with a NaN in every 100th row.
// Arguments: rows, cols, rows between non-finite rows (0: none).
void count_nonfinite(benchmark::State& state) {
    const std::int64_t rows = state.range(0);
    const std::int64_t cols = state.range(1);
    const std::int64_t every = state.range(2);
    std::vector<float> values(static_cast<std::size_t>(rows * cols), 0.5F);
    std::int64_t expected = 0;
    for (std::int64_t row = every; every > 0 && row < rows; row += every, ++expected) {
        values[static_cast<std::size_t>(row * cols + cols / 2)] = std::nanf("");
    }
    for (auto _ : state) {
        const std::int64_t count = kernels::count_nonfinite_rows(values.data(), rows, cols);
        if (count != expected) state.SkipWithError("wrong count of non-finite rows");
        benchmark::DoNotOptimize(count);
    }
    state.SetBytesProcessed(state.iterations() * rows * cols *
                            static_cast<std::int64_t>(sizeof(float)));
}

BENCHMARK(count_nonfinite)
    ->Args({1024, 64, 0})
    ->Args({1024, 64, 100})
    ->Args({1024, 40, 0})
    ->Args({256, 512, 0})
    ->ArgNames({"rows", "cols", "every"})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace h5infer

BENCHMARK_MAIN();
