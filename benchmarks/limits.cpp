// The speed limits benchmarks/compare.py measures h5infer against, printed as one JSON object.
//
//   limits gemm --threads 2 [--m 8192 --k 2048 --n 2048 --repeat 5]
//       oneDNN matmul peak, f32 and bf16 (bf16 src and weights, f32 dst), one large GEMM run
//       by oneDNN itself on all the threads; best of --repeat. Weights reordered once, as
//       h5infer does.
//   limits mlp --widths 512,2048,2048,1024,16 --hidden relu --output softmax --rows 100000
//              --threads 2 [--scaler] [--precision f32|bf16] [--chunks 1024,4096,8192,16384]
//       the compute floor: `rows` rows through h5infer's own oneDNN network (kernels/), one
//       forward() per chunk as `h5infer run` calls it, always on the same chunk of rows (already
//       in memory and in cache), for each chunk size; the best pass of --repeat per chunk size.
//       No HDF5, no MPI, no reading.
//
// Links DNNL directly (for the raw GEMM) and h5infer_kernels; the weights are random, which
// changes nothing about speed.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "h5infer/model.hpp"
#include "kernels/network.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using Options = std::map<std::string, std::string>;

constexpr int default_repeat = 5;
constexpr std::int64_t default_gemm_m = 8192;
constexpr std::int64_t default_gemm_kn = 2048;
constexpr const char* default_chunks = "1024,4096,8192,16384";

// --key value pairs and bare --flags ("1") after the subcommand.
Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 2; i < argc; ++i) {
        std::string key = argv[i];
        if (key.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument '" + key + "'");
        key = key.substr(2);
        const bool has_value = i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0;
        options[key] = has_value ? argv[++i] : "1";
    }
    return options;
}

std::string option(const Options& options, const std::string& key, const std::string& fallback) {
    const auto found = options.find(key);
    return found == options.end() ? fallback : found->second;
}

std::int64_t int_option(const Options& options, const std::string& key, std::int64_t fallback) {
    return std::stoll(option(options, key, std::to_string(fallback)));
}

std::vector<std::int64_t> int_list(const std::string& text) {
    std::vector<std::int64_t> values;
    std::stringstream stream(text);
    for (std::string item; std::getline(stream, item, ',');) values.push_back(std::stoll(item));
    return values;
}

// Best wall time of `repeat` calls of `work`, after one untimed call of `warm_up`.
double best_seconds(int repeat, const std::function<void()>& warm_up,
                    const std::function<void()>& work) {
    warm_up();
    double best = 1e300;
    for (int r = 0; r < repeat; ++r) {
        const auto start = Clock::now();
        work();
        best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
    }
    return best;
}

std::vector<float> random_floats(std::size_t count, float scale) {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0F, scale);
    std::vector<float> values(count);
    for (float& value : values) value = normal(rng);
    return values;
}

// ---- gemm -----------------------------------------------------------------------------------

double gemm_gflops(dnnl::memory::data_type type, std::int64_t m, std::int64_t k, std::int64_t n,
                   int repeat) {
    using dnnl::memory;
    const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const memory::desc src_md({m, k}, type, memory::format_tag::ab);
    const memory::desc plain_weights_md({k, n}, type, memory::format_tag::ab);
    const memory::desc any_weights_md({k, n}, type, memory::format_tag::any);
    const memory::desc dst_md({m, n}, memory::data_type::f32, memory::format_tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, any_weights_md, dst_md),
                                          engine);
    const dnnl::matmul matmul(pd);

    // Fill through f32 and a reorder, so bf16 gets real values too.
    auto fill = [&](const memory::desc& md, std::int64_t rows, std::int64_t cols) {
        std::vector<float> values = random_floats(static_cast<std::size_t>(rows * cols), 0.1F);
        memory plain({{rows, cols}, memory::data_type::f32, memory::format_tag::ab}, engine,
                     values.data());
        memory typed(md, engine);
        dnnl::reorder(plain, typed).execute(stream, plain, typed);
        stream.wait();
        return typed;
    };
    memory src = fill(src_md, m, k);
    memory plain_weights = fill(plain_weights_md, k, n);
    memory weights(pd.weights_desc(), engine);
    dnnl::reorder(plain_weights, weights).execute(stream, plain_weights, weights);
    memory dst(dst_md, engine);
    auto multiply = [&] {
        matmul.execute(stream,
                       {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
        stream.wait();
    };
    const double seconds = best_seconds(repeat, multiply, multiply);
    return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) /
           seconds / 1e9;
}

const char* isa_name() {
    switch (dnnl::get_effective_cpu_isa()) {
        case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
        case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
        case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
        case dnnl::cpu_isa::avx512_core: return "avx512_core";
        case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
        case dnnl::cpu_isa::avx2: return "avx2";
        default: return "other";
    }
}

bool has_bf16_isa() {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

void run_gemm(const Options& options) {
    const int threads = static_cast<int>(int_option(options, "threads", omp_get_num_procs()));
    const std::int64_t m = int_option(options, "m", default_gemm_m);
    const std::int64_t k = int_option(options, "k", default_gemm_kn);
    const std::int64_t n = int_option(options, "n", default_gemm_kn);
    const int repeat = static_cast<int>(int_option(options, "repeat", default_repeat));
    omp_set_num_threads(threads);  // before the first primitive: part of oneDNN's cache key
    const double f32 = gemm_gflops(dnnl::memory::data_type::f32, m, k, n, repeat);
    std::printf("{\"threads\": %d, \"m\": %lld, \"k\": %lld, \"n\": %lld, \"f32_gflops\": %.2f",
                threads, static_cast<long long>(m), static_cast<long long>(k),
                static_cast<long long>(n), f32);
    if (has_bf16_isa()) {
        std::printf(", \"bf16_gflops\": %.2f",
                    gemm_gflops(dnnl::memory::data_type::bf16, m, k, n, repeat));
    } else {
        std::printf(", \"bf16_gflops\": null");
    }
    const dnnl_version_t* version = dnnl_version();
    std::printf(", \"dnnl_version\": \"%d.%d.%d\", \"isa\": \"%s\"}\n", version->major,
                version->minor, version->patch, isa_name());
}

// ---- mlp ------------------------------------------------------------------------------------

h5infer::Activation activation_named(const std::string& name) {
    const auto activation = h5infer::parse_activation(name);
    if (!activation) throw std::runtime_error("unknown activation '" + name + "'");
    return *activation;
}

// A random MLP of the given widths: [affine scaler,] dense + hidden activation ..., dense +
// output activation: the layer kinds h5infer generate and the scikit-learn converter write.
h5infer::Model random_mlp(const std::vector<std::int64_t>& widths, h5infer::Activation hidden,
                          h5infer::Activation output, bool scaler) {
    h5infer::Model model;
    model.input_width = widths.front();
    if (scaler) {
        const auto width = static_cast<std::size_t>(widths.front());
        model.layers.emplace_back(
            h5infer::AffineLayer{std::vector<double>(width, 0.5), std::vector<double>(width, 0.1)});
    }
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
        h5infer::DenseLayer dense;
        dense.inputs = widths[i];
        dense.outputs = widths[i + 1];
        dense.weights = random_floats(static_cast<std::size_t>(dense.inputs * dense.outputs),
                                      1.0F / static_cast<float>(dense.inputs));
        dense.bias.assign(static_cast<std::size_t>(dense.outputs), 0.01F);
        model.layers.emplace_back(std::move(dense));
        const auto function = i + 2 < widths.size() ? hidden : output;
        if (function != h5infer::Activation::Identity) {
            model.layers.emplace_back(h5infer::ActivationLayer{
                function, h5infer::default_alpha(function), h5infer::default_beta(function)});
        }
    }
    h5infer::validate(model);
    return model;
}

void run_mlp(const Options& options) {
    const std::vector<std::int64_t> widths = int_list(option(options, "widths", "64,64,1"));
    const std::int64_t rows = int_option(options, "rows", 1000000);
    const int threads = static_cast<int>(int_option(options, "threads", omp_get_num_procs()));
    const int repeat = static_cast<int>(int_option(options, "repeat", 3));
    const std::string precision_text = option(options, "precision", "f32");
    const auto precision = precision_text == "bf16" ? h5infer::kernels::Precision::Bf16
                                                    : h5infer::kernels::Precision::F32;
    const h5infer::Model model = random_mlp(
        widths, activation_named(option(options, "hidden", "relu")),
        activation_named(option(options, "output", "identity")), options.count("scaler") > 0);
    const std::int64_t inputs = widths.front();
    const std::int64_t outputs = widths.back();
    // One chunk of rows, pushed through rows / chunk times: the data is already in memory (and
    // in cache, as a chunk h5infer has just read is), so nothing but computing is measured.
    const std::vector<std::int64_t> chunks = int_list(option(options, "chunks", default_chunks));
    const std::int64_t largest = std::min(rows, *std::max_element(chunks.begin(), chunks.end()));
    const std::vector<float> src = random_floats(static_cast<std::size_t>(largest * inputs), 1.0F);
    std::vector<float> dst(static_cast<std::size_t>(largest * outputs));

    std::printf("{\"rows\": %lld, \"threads\": %d, \"precision\": \"%s\", \"chunks\": {",
                static_cast<long long>(rows), threads, precision_text.c_str());
    double best = 1e300;
    std::int64_t best_chunk = 0;
    const char* separator = "";
    std::vector<std::int64_t> measured;
    for (const std::int64_t chunk : chunks) {
        const std::int64_t chunk_rows = std::min(chunk, rows);  // a small --rows: one chunk
        if (std::find(measured.begin(), measured.end(), chunk_rows) != measured.end()) continue;
        measured.push_back(chunk_rows);
        auto network = h5infer::kernels::make_network(model, h5infer::kernels::Backend::Onednn,
                                                      chunk_rows, threads, precision);
        auto first_chunk = [&] { network->forward(src.data(), chunk_rows, dst.data()); };
        const double seconds = best_seconds(repeat, first_chunk, [&] {
            for (std::int64_t begin = 0; begin < rows; begin += chunk_rows) {
                network->forward(src.data(), std::min(chunk_rows, rows - begin), dst.data());
            }
        });
        std::printf("%s\"%lld\": %.6f", separator, static_cast<long long>(chunk_rows), seconds);
        separator = ", ";
        if (seconds < best) {
            best = seconds;
            best_chunk = chunk_rows;
        }
    }
    std::printf("}, \"best_chunk\": %lld, \"seconds\": %.6f}\n", static_cast<long long>(best_chunk),
                best);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string command = argc > 1 ? argv[1] : "";
    try {
        if (command == "gemm") {
            run_gemm(parse_options(argc, argv));
        } else if (command == "mlp") {
            run_mlp(parse_options(argc, argv));
        } else {
            std::fprintf(stderr, "usage: limits gemm|mlp [--option value ...] (see the source)\n");
            return 2;
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "limits: error: %s\n", error.what());
        return 1;
    }
    return 0;
}
