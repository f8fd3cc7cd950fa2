#include "stages/verifier.hpp"

#include <algorithm>

namespace h5infer::stages {

Verifier::Verifier(const Model& model, std::int64_t samples, std::int64_t max_rows, int threads)
    : samples_(samples) {
    if (samples_ <= 0) return;
    network_ = kernels::make_network(model, kernels::Backend::Onednn, max_rows, threads);
    src_.resize(static_cast<std::size_t>(max_rows * model.input_width));
    want_.resize(static_cast<std::size_t>(max_rows * model.output_width()));
    got_.resize(want_.size());
}

void Verifier::check(const float* src, const float* dst, Range rows, std::int64_t input_rows,
                     std::int64_t cols, std::int64_t outputs) {
    if (samples_ <= 0 || rows.empty()) return;
    const std::int64_t samples = std::min(samples_, input_rows);
    std::int64_t count = 0;
    for (std::int64_t k = (rows.begin * samples + input_rows - 1) / input_rows; k < samples; ++k) {
        const std::int64_t row = k * input_rows / samples;
        if (row >= rows.end) break;
        const std::int64_t at = row - rows.begin;
        std::copy_n(src + at * cols, cols, src_.data() + count * cols);
        std::copy_n(dst + at * outputs, outputs, got_.data() + count * outputs);
        ++count;
    }
    if (count == 0) return;
    network_->forward(src_.data(), count, want_.data());
    const kernels::Deviation found =
        kernels::compare_outputs(got_.data(), want_.data(), count * outputs);
    deviation_.absolute = std::max(deviation_.absolute, found.absolute);
    deviation_.relative = std::max(deviation_.relative, found.relative);
    rows_checked_ += count;
}

}  // namespace h5infer::stages
