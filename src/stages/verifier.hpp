#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "h5infer/model.hpp"
#include "h5infer/plan.hpp"
#include "kernels/network.hpp"

namespace h5infer::stages {

/// --verify-rows: recomputes sampled rows of each chunk with an f32 oneDNN network and keeps
/// their largest deviation from the chunk's predictions. The samples of an input of R rows are
/// rows floor(k * R / samples), k = 0 .. samples - 1, so they spread over the whole input
/// whichever rank computes which chunk. With 0 samples it does nothing and builds nothing.
class Verifier {
public:
    /// Builds the f32 network of `model` for up to `max_rows` rows per check.
    Verifier(const Model& model, std::int64_t samples, std::int64_t max_rows, int threads);

    /// Recomputes the samples among input rows `rows` of an input of `input_rows` x `cols`,
    /// whose values are `src` and predictions (`outputs` per row) `dst`, both starting at
    /// rows.begin, and folds their deviation into deviation().
    void check(const float* src, const float* dst, Range rows, std::int64_t input_rows,
               std::int64_t cols, std::int64_t outputs);

    /// The largest deviation so far on this rank.
    [[nodiscard]] const kernels::Deviation& deviation() const { return deviation_; }
    /// Rows recomputed so far on this rank.
    [[nodiscard]] std::int64_t rows_checked() const { return rows_checked_; }

private:
    std::int64_t samples_ = 0;
    std::unique_ptr<kernels::Network> network_;
    std::vector<float> src_;
    std::vector<float> want_;
    std::vector<float> got_;
    kernels::Deviation deviation_;
    std::int64_t rows_checked_ = 0;
};

}  // namespace h5infer::stages
