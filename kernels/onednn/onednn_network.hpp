#pragma once

// Internal to kernels/onednn/: the oneDNN Network. Its construction is in onednn_network.cpp,
// its hot path (run(), run_block() and the helpers they call per block) in
// onednn_network_run.cpp, one translation unit, so that the compiler can inline them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "h5infer/model.hpp"
#include "kernels/network.hpp"
#include "kernels/onednn/steps.hpp"

// Why blocks of rows, each on one thread, instead of letting oneDNN thread each primitive:
// oneDNN splits a primitive's work by the thread count it sees at creation, and the split can
// change the order of the floating-point sums. oneDNN 2.6's AVX2 gemm (what a node without
// AVX-512 runs) does change bits with the thread count: where it splits the reduction of a
// single row with large K, and where its row split lands on different kernel tails. Here the
// cut into blocks depends only on the model and the row count, every primitive is created for
// one thread, and OpenMP only decides which thread runs which block: the bits cannot depend on
// the thread count, on any ISA. This costs little on wide layers, and narrow models gain from
// it: a block stays in cache through the whole model.
//
// Why rows with a NaN or an infinity are computed again: oneDNN computes ReLU, clip and hard
// swish with max and min instructions, which return the other operand when one is NaN, so a
// NaN that reaches them comes out as a plausible finite number, where every framework's result
// is NaN. A NaN inside the network comes from a NaN or an infinity in its input row (barring a
// hidden value beyond float's range), and those rows are counted anyway: each is computed
// again, one row at a time, by the reference backend (kernels/reference), whose activations
// propagate NaN as the frameworks do, from the weights this network holds. Finite rows, the
// rule, cost nothing more.

namespace h5infer::kernels::onednn {

/// A step's primitive for one block row count.
struct Kernel {
    dnnl::primitive primitive;  ///< empty for affine steps
    memory::desc src_md;
    memory::desc dst_md;
    memory::desc scratchpad_md;
    memory weights;  ///< matmul: the copy in this primitive's layout
};

/// Each step's Kernel for one block row count.
using Kernels = std::vector<Kernel>;

/// Per-thread execution state. Each thread owns its intermediate buffers: blocks run
/// concurrently at different steps, whose widths differ, so shared buffers would overlap.
struct Context {
    dnnl::stream stream;
    memory scratchpad;
    /// block_rows x the widest intermediate floats; a bf16 intermediate uses the first half
    std::array<std::vector<float>, 2> buffers;
};

/// The Network of make_onednn_network() (see onednn.hpp): the steps of the model, each with a
/// primitive per block row count, built once and reused by every call of that row count.
class OnednnNetwork final : public Network {
public:
    /// `donor`, when given, is the model itself, whose weight arrays the network may keep;
    /// `packed`, when given, holds the weights instead of the model (see adopt()).
    OnednnNetwork(const Model& model, std::int64_t max_rows, int threads, Precision precision,
                  Model* donor = nullptr, std::vector<PackedWeights>* packed = nullptr);

    void forward(const float* src, std::int64_t rows, float* dst) override {
        (void)run(src, rows, dst, false);
    }

    std::int64_t forward_counting_nonfinite(const float* src, std::int64_t rows,
                                            float* dst) override {
        return run(src, rows, dst, true);
    }

    std::int64_t forward_fetching(const RowSource& source, float* src, std::int64_t rows,
                                  float* dst) override {
        return run(src, rows, dst, true, &source, src);
    }

    [[nodiscard]] std::int64_t max_rows() const override { return max_rows_; }

    // Blocks start every block_rows_ rows from a call's first row, and a row's bits depend
    // only on its block's row count.
    [[nodiscard]] std::int64_t split_rows() const override { return block_rows_; }

    // The first layout of each matmul: the one its full blocks use.
    [[nodiscard]] std::vector<PackedWeights> packed_weights() const override;

private:
    // forward(), returning the non-finite input rows when `count`, and fetching each block
    // from `source` into `fetch_into` (which is `src`) first when given.
    std::int64_t run(const float* src, std::int64_t rows, float* dst, bool count,
                     const RowSource* source = nullptr, float* fetch_into = nullptr);
    // Computes again, with the reference twin, each row of the blocks `blocks` of a run() over
    // `rows` rows whose input holds a NaN or an infinity.
    void repair_nonfinite_rows(const float* src, std::int64_t rows, float* dst,
                               const std::vector<std::int64_t>& blocks);
    // The model as this network computes it (affine layers folded into the dense ones, the
    // weights as the kernels hold them, back in float and the model's layout).
    [[nodiscard]] Model computed_model() const;
    // The kernels for blocks of `rows` rows, built on first use, each for one thread.
    const Kernels& kernels_for(std::int64_t rows);
    // Takes each matmul's bias and first weight layout from `packed`, checking that they fit.
    void adopt(std::vector<PackedWeights>& packed);
    // The step's primitive for `rows` rows; throws ModelError naming the step on failure.
    Kernel make_kernel(Step& step, std::int64_t rows);
    // make_kernel() of a matmul: its fused activation, its weights in the primitive's layout.
    void make_matmul(Step& step, dnnl::primitive_attr& attr, Kernel& kernel);
    // The step's weights in `layout`: a copy made before, the model's own array, or a new one.
    memory weights_in_layout(Step& step, const memory::desc& layout);
    // Makes every thread's scratchpad at least `bytes` long.
    void grow_scratchpads(std::size_t bytes);

    int threads_ = 1;
    std::int64_t input_width_ = 0;
    std::int64_t max_rows_ = 0;
    std::int64_t block_rows_ = 0;
    bool plain_weights_ = false;  // matmuls take the weights in the model's layout
    std::vector<Step> steps_;
    dnnl::engine engine_;
    std::vector<Context> contexts_;  // one per thread
    std::size_t scratchpad_bytes_ = 0;
    std::map<std::int64_t, Kernels> kernels_;  // by block rows; std::map keeps references
    std::int64_t output_width_ = 0;
    std::unique_ptr<Network> twin_;  // the reference backend's, made when first needed
};

}  // namespace h5infer::kernels::onednn
