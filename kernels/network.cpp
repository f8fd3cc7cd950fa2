#include "kernels/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "h5infer/error.hpp"
#include "kernels/onednn/onednn.hpp"
#include "kernels/reference/reference.hpp"

namespace h5infer::kernels {
namespace {

// Deviations of one pair: the absolute one and the one relative to the floored magnitude.
std::pair<double, double> deviation_of(float got, float want) {
    constexpr double infinite = std::numeric_limits<double>::infinity();
    if (std::isnan(got) || std::isnan(want)) {
        const double both = std::isnan(got) && std::isnan(want) ? 0.0 : infinite;
        return {both, both};
    }
    if (std::isinf(got) || std::isinf(want)) {
        const double same = got == want ? 0.0 : infinite;
        return {same, same};
    }
    const double absolute = std::abs(static_cast<double>(got) - static_cast<double>(want));
    const double magnitude =
        std::max(std::abs(static_cast<double>(want)), relative_deviation_floor);
    return {absolute, absolute / magnitude};
}

}  // namespace

namespace {

// Integer compares, unlike float arithmetic, vectorize without -ffast-math: these run on every
// input value, and a float loop cost as much as the whole forward pass of narrow models. Cloned
// for wider vector units, picked at load time by the CPU.
constexpr std::uint32_t exponent_bits = 0x7f800000U;

// Whether a value's exponent bits are all ones (NaN or Inf) anywhere: one pass with no
// reduction per row, which narrow rows pay for (kernels_bench count_nonfinite measures both).
[[gnu::target_clones("avx512f", "avx2", "default")]] bool any_nonfinite(const float* values,
                                                                        std::int64_t count) {
    std::uint32_t largest = 0;
    for (std::int64_t i = 0; i < count; ++i) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, values + i, sizeof bits);
        largest = std::max(largest, bits & exponent_bits);
    }
    return largest == exponent_bits;
}

// Rows whose exponent bits are all ones somewhere.
[[gnu::target_clones("avx512f", "avx2", "default")]] std::int64_t count_rows(const float* values,
                                                                             std::int64_t rows,
                                                                             std::int64_t cols) {
    std::int64_t count = 0;
    for (std::int64_t row = 0; row < rows; ++row) {
        const float* begin = values + row * cols;
        std::uint32_t largest = 0;
        for (std::int64_t col = 0; col < cols; ++col) {
            std::uint32_t bits = 0;
            std::memcpy(&bits, begin + col, sizeof bits);
            largest = std::max(largest, bits & exponent_bits);
        }
        if (largest == exponent_bits) ++count;
    }
    return count;
}

}  // namespace

std::int64_t count_nonfinite_rows(const float* values, std::int64_t rows, std::int64_t cols) {
    // Finite inputs are the rule: a block is counted row by row only when it has a NaN or Inf.
    return any_nonfinite(values, rows * cols) ? count_rows(values, rows, cols) : 0;
}

std::int64_t Network::forward_fetching(const RowSource& source, float* src, std::int64_t rows,
                                       float* dst) {
    source(0, rows, src);
    return forward_counting_nonfinite(src, rows, dst);
}

std::string_view backend_name(Backend backend) {
    switch (backend) {
        case Backend::Onednn: return "onednn";
        case Backend::Reference: return "reference";
    }
    return "unknown";
}

std::string_view precision_name(Precision precision) {
    switch (precision) {
        case Precision::F32: return "f32";
        case Precision::Bf16: return "bf16";
    }
    return "unknown";
}

std::unique_ptr<Network> make_network(Model&& model, Backend backend, std::int64_t max_rows,
                                      int threads, Precision precision) {
    if (backend == Backend::Onednn) {
        H5INFER_ASSERT(max_rows > 0);
        H5INFER_ASSERT(threads > 0);
        return make_onednn_network(std::move(model), max_rows, threads, precision);
    }
    return make_network(static_cast<const Model&>(model), backend, max_rows, threads, precision);
}

std::unique_ptr<Network> make_network(Model&& model, std::vector<PackedWeights> packed,
                                      std::int64_t max_rows, int threads, Precision precision) {
    H5INFER_ASSERT(max_rows > 0);
    H5INFER_ASSERT(threads > 0);
    return make_onednn_network(std::move(model), std::move(packed), max_rows, threads, precision);
}

std::unique_ptr<Network> make_network(const Model& model, Backend backend, std::int64_t max_rows,
                                      int threads, Precision precision) {
    H5INFER_ASSERT(max_rows > 0);
    H5INFER_ASSERT(threads > 0);
    switch (backend) {
        case Backend::Onednn: return make_onednn_network(model, max_rows, threads, precision);
        case Backend::Reference:
            if (precision != Precision::F32) {
                throw ConfigError("--precision " + std::string(precision_name(precision)) +
                                  " is not available with --backend reference, which computes in "
                                  "double precision; use --precision f32 with it, or --backend "
                                  "onednn");
            }
            return make_reference_network(model, max_rows);
    }
    H5INFER_ASSERT(false && "unknown backend");
    return nullptr;
}

Deviation compare_outputs(const float* got, const float* want, std::int64_t count) {
    Deviation deviation;
    for (std::int64_t i = 0; i < count; ++i) {
        const auto [absolute, relative] = deviation_of(got[i], want[i]);
        deviation.absolute = std::max(deviation.absolute, absolute);
        deviation.relative = std::max(deviation.relative, relative);
    }
    return deviation;
}

}  // namespace h5infer::kernels
