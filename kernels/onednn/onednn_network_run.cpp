#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "h5infer/error.hpp"
#include "kernels/column_layers.hpp"
#include "kernels/network.hpp"
#include "kernels/onednn/onednn_network.hpp"

// The hot path of OnednnNetwork: run() and what it calls per block (run_block(), address(),
// affine_rows(), normalize_rows()), in one translation unit and with internal linkage so that
// the compiler inlines them as it would a single function.

namespace h5infer::kernels::onednn {
namespace {

// affine_rows() of a layer that also replaces NaN inputs by its fill values; a loop of its own
// so that the common one without fill values stays branch-free.
void fill_affine_rows(const Step& step, std::int64_t rows, const float* src, float* dst) {
    const std::int64_t width = step.inputs;
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < width; ++c) {
            const float value = src[r * width + c];
            const double x = std::isnan(value) ? step.fill[c] : static_cast<double>(value);
            dst[r * width + c] = static_cast<float>(x * step.scale[c] + step.shift[c]);
        }
    }
}

// In double: a scaler's shift is large where the features are far from zero, and cancels
// against src * scale; float would round both before they cancel.
void affine_rows(const Step& step, std::int64_t rows, const float* src, float* dst) {
    const std::int64_t width = step.inputs;
    const double* scale = step.scale.data();
    const double* shift = step.shift.data();
    if (!step.fill.empty()) {
        fill_affine_rows(step, rows, src, dst);
        return;
    }
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < width; ++c) {
            dst[r * width + c] =
                static_cast<float>(static_cast<double>(src[r * width + c]) * scale[c] + shift[c]);
        }
    }
}

// Sums in double, in column order: the same bits on any thread count.
void normalize_rows(std::int64_t width, std::int64_t rows, const float* src, float* dst) {
    for (std::int64_t r = 0; r < rows; ++r) {
        double sum = 0.0;
        for (std::int64_t c = 0; c < width; ++c) sum += src[r * width + c];
        for (std::int64_t c = 0; c < width; ++c) {
            dst[r * width + c] = static_cast<float>(src[r * width + c] / sum);
        }
    }
}

// log(sigmoid(x)), without overflow or underflow of the exponential.
double log_sigmoid(double x) {
    return x < 0.0 ? x - std::log1p(std::exp(x)) : -std::log1p(std::exp(-x));
}

// One-vs-rest probabilities sigmoid(x_j) / sum_k sigmoid(x_k), computed as the softmax of the
// log-sigmoids, which equals them: the sigmoids of logits below about -88 underflow float
// (below -745 double) and their sum with them, where this form stays finite. In double, in
// column order: the same bits on any thread count.
void sigmoid_normalize_rows(std::int64_t width, std::int64_t rows, const float* src, float* dst) {
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* row = src + r * width;
        double top = -std::numeric_limits<double>::infinity();
        for (std::int64_t c = 0; c < width; ++c) top = std::max(top, log_sigmoid(row[c]));
        double sum = 0.0;
        for (std::int64_t c = 0; c < width; ++c) sum += std::exp(log_sigmoid(row[c]) - top);
        for (std::int64_t c = 0; c < width; ++c) {
            dst[r * width + c] = static_cast<float>(std::exp(log_sigmoid(row[c]) - top) / sum);
        }
    }
}

// Where a step of the block starting at row_begin reads or writes: the caller's arrays
// (always floats) at the block's rows, or the start of the thread's own buffers.
void* address(Slot slot, std::int64_t width, std::int64_t row_begin, const float* src, float* dst,
              Context& context) {
    const std::int64_t offset = row_begin * width;
    switch (slot) {
        // oneDNN's memory takes void* even for inputs; src is only ever read.
        case Slot::Src: return const_cast<float*>(src) + offset;
        case Slot::Dst: return dst + offset;
        case Slot::Buffer0: return context.buffers[0].data();
        case Slot::Buffer1: return context.buffers[1].data();
    }
    return nullptr;
}

// Every step over the block of `rows` rows from row_begin, on this thread.
void run_block(const std::vector<Step>& steps, const dnnl::engine& engine, const Kernels& kernels,
               std::int64_t row_begin, std::int64_t rows, const float* src, float* dst,
               Context& context) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Step& step = steps[i];
        const Kernel& kernel = kernels[i];
        void* step_src = address(step.src, step.inputs, row_begin, src, dst, context);
        void* step_dst = address(step.dst, step.outputs, row_begin, src, dst, context);
        if (step.kind == Step::Kind::Affine) {
            affine_rows(step, rows, static_cast<const float*>(step_src),
                        static_cast<float*>(step_dst));
            continue;
        }
        if (step.kind == Step::Kind::Normalize) {
            normalize_rows(step.inputs, rows, static_cast<const float*>(step_src),
                           static_cast<float*>(step_dst));
            continue;
        }
        if (step.kind == Step::Kind::Trees) {
            step.trees->run(static_cast<const float*>(step_src), rows, step.inputs,
                            static_cast<float*>(step_dst));
            continue;
        }
        if (step.kind == Step::Kind::Column) {
            apply_column_layer(step.column_layer, step.inputs, rows,
                               static_cast<const float*>(step_src), static_cast<float*>(step_dst));
            continue;
        }
        if (step.kind == Step::Kind::SigmoidNormalize) {
            sigmoid_normalize_rows(step.inputs, rows, static_cast<const float*>(step_src),
                                   static_cast<float*>(step_dst));
            continue;
        }
        try {
            std::unordered_map<int, memory> args{
                {DNNL_ARG_SRC, memory(kernel.src_md, engine, step_src)},
                {DNNL_ARG_DST, memory(kernel.dst_md, engine, step_dst)}};
            if (step.kind == Step::Kind::Matmul) args.emplace(DNNL_ARG_WEIGHTS, kernel.weights);
            if (step.bias_memory) args.emplace(DNNL_ARG_BIAS, step.bias_memory);
            if (kernel.scratchpad_md.get_size() > 0) {
                args.emplace(DNNL_ARG_SCRATCHPAD, memory(kernel.scratchpad_md, engine,
                                                         context.scratchpad.get_data_handle()));
            }
            kernel.primitive.execute(context.stream, args);
        } catch (const dnnl::error& error) {
            throw Error(ExitCode::Internal,
                        step.label + ": oneDNN failed on " + std::to_string(rows) +
                            " rows: " + error.what() + " (status " +
                            std::to_string(static_cast<int>(error.status)) + ")");
        }
    }
}

// Runs `work`; false if it threw. Exceptions cannot leave an OpenMP region: the first of any
// thread is kept in `failure` and thrown after the region. Errors of h5infer's own (a failed
// read) keep their kind and exit code.
template <typename Work>
bool attempt(std::exception_ptr& failure, const Work& work) {
    std::exception_ptr error;
    try {
        work();
    } catch (const Error&) {
        error = std::current_exception();
    } catch (const std::exception& other) {
        error = std::make_exception_ptr(Error(ExitCode::Internal, other.what()));
    }
    if (error) {
#pragma omp critical(h5infer_onednn_failure)
        if (!failure) failure = error;
    }
    return !error;
}

}  // namespace

std::int64_t OnednnNetwork::run(const float* src, std::int64_t rows, float* dst, bool count,
                                const RowSource* source, float* fetch_into) {
    H5INFER_ASSERT(rows >= 0 && rows <= max_rows_);
    const std::int64_t full_blocks = rows / block_rows_;
    const std::int64_t tail_rows = rows % block_rows_;
    const Kernels* full = full_blocks > 0 ? &kernels_for(block_rows_) : nullptr;
    const Kernels* tail = tail_rows > 0 ? &kernels_for(tail_rows) : nullptr;
    const std::int64_t blocks = full_blocks + (tail_rows > 0 ? 1 : 0);
    std::exception_ptr failure;  // the first of any thread's, see attempt()
    bool fetched = true;         // written only before the barrier below, read only after it
    std::int64_t nonfinite = 0;
    std::vector<std::int64_t> repairs;  // the blocks with non-finite input rows
#pragma omp parallel num_threads(threads_) reduction(+ : nonfinite)
    {
        // Only this thread's task: keeps any oneDNN call below from starting threads of its own
        // when the team has one thread (then omp_in_parallel() is false).
        omp_set_num_threads(1);
        Context& context = contexts_[omp_get_thread_num()];
        if (source != nullptr) {
            const std::int64_t thread = omp_get_thread_num();
            const std::int64_t team = omp_get_num_threads();
            const std::int64_t begin = rows * thread / team;
            const std::int64_t end = rows * (thread + 1) / team;
            if (!attempt(failure, [&] {
                    if (end > begin) {
                        (*source)(begin, end - begin, fetch_into + begin * input_width_);
                    }
                })) {
#pragma omp atomic write
                fetched = false;
            }
#pragma omp barrier
        }
        // The same for every thread after the barrier: all of them take the loop, or none.
        if (fetched) {
#pragma omp for schedule(dynamic, 1)
            for (std::int64_t block = 0; block < blocks; ++block) {
                const bool is_tail = block == full_blocks;
                const std::int64_t block_rows = is_tail ? tail_rows : block_rows_;
                attempt(failure, [&] {
                    run_block(steps_, engine_, is_tail ? *tail : *full, block * block_rows_,
                              block_rows, src, dst, context);
                    // After the block, whose first matmul has just brought its rows into
                    // cache: the count reads them there instead of from memory.
                    const std::int64_t bad = count_nonfinite_rows(
                        src + block * block_rows_ * input_width_, block_rows, input_width_);
                    if (bad > 0) {
                        nonfinite += bad;
#pragma omp critical(h5infer_onednn_repairs)
                        repairs.push_back(block);
                    }
                });
            }
        }
    }
    if (failure) std::rethrow_exception(failure);
    if (!repairs.empty()) repair_nonfinite_rows(src, rows, dst, repairs);
    return count ? nonfinite : 0;
}

}  // namespace h5infer::kernels::onednn
