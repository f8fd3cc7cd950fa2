#include "kernels/onednn/onednn.hpp"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/error.hpp"

// Why blocks of rows, each on one thread, instead of letting oneDNN thread each primitive:
// oneDNN splits a primitive's work by the thread count it sees at creation, and the split can
// change the order of the floating-point sums. Measured with oneDNN 2.6.3 over 468 matmul
// shapes: with AVX-512 (brgemm) no shape changed bits for 2, 3 or 4 threads, but with
// ONEDNN_MAX_CPU_ISA=AVX2 (jit gemm, what a node without AVX-512 runs) 277 of the 1404
// (shape, thread count) pairs did: rows=1 with large K (the reduction is split) and 7, 64, 333
// or 4096 rows (the row split lands on different kernel tails). Here the cut into blocks
// depends only on the model and the row count, every primitive is created for one thread, and
// OpenMP only decides which thread runs which block: the bits cannot depend on the thread
// count, on any ISA. Cost on AVX-512 with two threads: none measurable for 4096 x 512 x 512,
// about 3-5 % for 2048 x 2048 weights; narrow MLPs got 1.5-2x faster (a block stays in cache
// through the whole model).

namespace h5infer::kernels {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

// Block rows: enough multiply-adds per block to amortize the per-primitive overhead of a few
// microseconds and the reloading of the weights per block (at least 256 rows: on the W1
// benchmark's 512-2048-2048-1024-16 MLP, 128 rows were 6 % slower in f32 and 2 % in bf16, and
// 64 rows up to 9 % slower on 2048 x 2048 weights; 512 gained nothing more), but several blocks
// per thread in a chunk of a few thousand rows.
constexpr std::int64_t block_rows_step = 64;
constexpr std::int64_t min_block_rows = 256;
constexpr std::int64_t max_block_rows = 1024;
constexpr double block_target_flops = 128e6;

/// Where a step reads or writes: the caller's arrays or one of the two scratch buffers.
enum class Slot { Src, Dst, Buffer0, Buffer1 };

/// An eltwise algorithm with oneDNN's alpha and beta.
struct Eltwise {
    dnnl::algorithm algorithm = dnnl::algorithm::eltwise_linear;
    float alpha = 1.0F;
    float beta = 0.0F;
};

/// One step of the compiled model, independent of the row count.
struct Step {
    enum class Kind { Matmul, Eltwise, Softmax, Affine, Normalize, LogSoftmax, LayerNorm, ToBf16 };
    Kind kind = Kind::Eltwise;
    std::string label;  ///< "layer 3 (dense + relu)", for messages
    std::int64_t inputs = 0;
    std::int64_t outputs = 0;
    Dt src_type = Dt::f32;  ///< bf16 only for matmuls of a bf16 network
    Dt dst_type = Dt::f32;  ///< bf16 for ToBf16 and for a bf16 matmul feeding a matmul
    /// matmul: inputs x outputs, row-major, affine folded in: the model's own array, or
    /// `owned`. Only while the network is built: later layouts are reordered from the first one.
    const float* weights = nullptr;
    /// matmul: the weights when the network holds them in the model's layout: with an affine
    /// layer folded in, or taken from a model handed over. Kept only if a primitive uses them
    /// as they are (owned_in_use).
    std::vector<float> owned;
    bool owned_in_use = false;
    std::vector<float> bias;         ///< matmul: outputs values, or empty
    std::optional<Eltwise> eltwise;  ///< matmul: fused post-op; eltwise: the function
    std::vector<float> scale;        ///< affine
    std::vector<float> shift;        ///< affine
    float epsilon = 0.0F;            ///< layer norm
    Slot src = Slot::Src;
    Slot dst = Slot::Dst;
    std::vector<memory> weight_layouts;      ///< one reordered copy per layout a primitive wants
    std::vector<BulkBuffer> weight_storage;  ///< the bytes of weight_layouts
    memory bias_memory;
};

/// A step's primitive for one block row count.
struct Kernel {
    dnnl::primitive primitive;  ///< empty for affine steps
    memory::desc src_md;
    memory::desc dst_md;
    memory::desc scratchpad_md;
    memory weights;  ///< matmul: the copy in this primitive's layout
};

/// Per-thread execution state. Each thread owns its intermediate buffers: blocks run
/// concurrently at different steps, whose widths differ, so shared buffers would overlap.
struct Context {
    dnnl::stream stream;
    memory scratchpad;
    /// block_rows x the widest intermediate floats; a bf16 intermediate uses the first half
    std::array<std::vector<float>, 2> buffers;
};

Eltwise eltwise_for(const ActivationLayer& layer) {
    using A = dnnl::algorithm;
    const float alpha = layer.alpha;
    switch (layer.function) {
        case Activation::Identity: return {A::eltwise_linear, 1.0F, 0.0F};
        case Activation::Relu: return {A::eltwise_relu, 0.0F, 0.0F};
        case Activation::LeakyRelu: return {A::eltwise_relu, alpha, 0.0F};
        case Activation::Elu: return {A::eltwise_elu, alpha, 0.0F};
        case Activation::Sigmoid: return {A::eltwise_logistic, 0.0F, 0.0F};
        case Activation::Tanh: return {A::eltwise_tanh, 0.0F, 0.0F};
        case Activation::GeluErf: return {A::eltwise_gelu_erf, 0.0F, 0.0F};
        case Activation::GeluTanh: return {A::eltwise_gelu_tanh, 0.0F, 0.0F};
        // In 2.6 soft_relu is log(1 + exp(x)) and ignores alpha (3.x gives alpha a meaning).
        case Activation::Softplus: return {A::eltwise_soft_relu, 0.0F, 0.0F};
        case Activation::Swish: return {A::eltwise_swish, alpha, 0.0F};
        case Activation::Clip: return {A::eltwise_clip, alpha, layer.beta};
        // In 2.6 hardswish is x * relu6(x + 3) / 6 and ignores alpha and beta.
        case Activation::HardSwish: return {A::eltwise_hardswish, 0.0F, 0.0F};
        case Activation::Softmax:
        case Activation::Normalize:
        case Activation::LogSoftmax:
        case Activation::LayerNorm: break;
    }
    H5INFER_ASSERT(false && "row-wise activations are not eltwise");
    return {};
}

// W' = diag(scale) W and b' = b + shift W, accumulated in double and rounded once.
void fold_affine(const AffineLayer& affine, const std::vector<float>& weights, Step& step) {
    step.owned = weights;
    std::vector<double> bias(step.outputs, 0.0);
    for (std::int64_t n = 0; n < step.outputs && !step.bias.empty(); ++n) bias[n] = step.bias[n];
    for (std::int64_t k = 0; k < step.inputs; ++k) {
        for (std::int64_t n = 0; n < step.outputs; ++n) {
            float& weight = step.owned[k * step.outputs + n];
            bias[n] += static_cast<double>(affine.shift[k]) * weight;
            weight = static_cast<float>(static_cast<double>(affine.scale[k]) * weight);
        }
    }
    step.bias.resize(bias.size());
    for (std::size_t n = 0; n < bias.size(); ++n) step.bias[n] = static_cast<float>(bias[n]);
}

std::string layer_label(std::size_t index, std::string_view what) {
    return "layer " + std::to_string(index) + " (" + std::string(what) + ")";
}

Step dense_step(const DenseLayer& dense, std::size_t index, const AffineLayer* folded) {
    Step step;
    step.kind = Step::Kind::Matmul;
    step.label = layer_label(index, "dense");
    step.inputs = dense.inputs;
    step.outputs = dense.outputs;
    step.bias = dense.bias;
    if (folded != nullptr) fold_affine(*folded, dense.weights, step);
    step.weights = folded != nullptr ? step.owned.data() : dense.weights.data();
    return step;
}

Step activation_step(const ActivationLayer& activation, std::size_t index, std::int64_t width) {
    Step step;
    step.label = layer_label(index, activation_name(activation.function));
    step.inputs = width;
    step.outputs = width;
    if (activation.function == Activation::Softmax) {
        step.kind = Step::Kind::Softmax;
    } else if (activation.function == Activation::Normalize) {
        step.kind = Step::Kind::Normalize;
    } else if (activation.function == Activation::LogSoftmax) {
        step.kind = Step::Kind::LogSoftmax;
    } else if (activation.function == Activation::LayerNorm) {
        step.kind = Step::Kind::LayerNorm;
        step.epsilon = activation.alpha;
    } else {
        step.kind = Step::Kind::Eltwise;
        step.eltwise = eltwise_for(activation);
    }
    return step;
}

// Only the matmuls, where the time goes, compute in bf16. A matmul fed by a matmul reads the
// bf16 its predecessor wrote; any other input (the caller's floats, an f32 step's output) is
// converted by a reorder first. A matmul feeding anything else writes f32: the other steps are
// cheap, and our own loops (affine, normalize) only read floats. So the last step, whatever it
// is, writes floats into the caller's dst.
std::vector<Step> with_bf16_matmuls(std::vector<Step> steps) {
    std::vector<Step> converted;
    bool after_matmul = false;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        Step& step = steps[i];
        const bool is_matmul = step.kind == Step::Kind::Matmul;
        if (is_matmul) {
            if (!after_matmul) {
                Step to_bf16;
                to_bf16.kind = Step::Kind::ToBf16;
                to_bf16.label = "input of " + step.label + " to bf16";
                to_bf16.inputs = to_bf16.outputs = step.inputs;
                to_bf16.dst_type = Dt::bf16;
                converted.push_back(std::move(to_bf16));
            }
            step.src_type = Dt::bf16;
            if (i + 1 < steps.size() && steps[i + 1].kind == Step::Kind::Matmul) {
                step.dst_type = Dt::bf16;
            }
        }
        converted.push_back(std::move(step));
        after_matmul = is_matmul;
    }
    return converted;
}

// A matmul or a conversion needs distinct src and dst buffers; the other steps run in place,
// except that they never write the caller's src and the last step writes straight into the
// caller's dst.
void assign_slots(std::vector<Step>& steps) {
    Slot current = Slot::Src;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        Step& step = steps[i];
        step.src = current;
        const bool in_place = step.kind != Step::Kind::Matmul && step.kind != Step::Kind::ToBf16;
        if (i + 1 == steps.size()) {
            step.dst = Slot::Dst;
        } else if (in_place && current != Slot::Src) {
            step.dst = current;
        } else {
            step.dst = current == Slot::Buffer0 ? Slot::Buffer1 : Slot::Buffer0;
        }
        current = step.dst;
    }
}

bool is_fusable_activation(const Layer* layer) {
    const auto* activation = layer != nullptr ? std::get_if<ActivationLayer>(layer) : nullptr;
    return activation != nullptr && !is_row_wise(activation->function);
}

// With `weights_given` the weights come ready from another network (PackedWeights): an affine
// layer before a dense one is already folded into them.
std::vector<Step> plan_steps(const Model& model, Precision precision, bool weights_given) {
    std::vector<Step> steps;
    const AffineLayer* pending_affine = nullptr;
    std::int64_t width = model.input_width;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
        const Layer& layer = model.layers[i];
        const Layer* next = i + 1 < model.layers.size() ? &model.layers[i + 1] : nullptr;
        width = layer_output_width(layer, width);
        if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
            Step step = dense_step(*dense, i, weights_given ? nullptr : pending_affine);
            pending_affine = nullptr;
            if (is_fusable_activation(next)) {
                const auto& activation = std::get<ActivationLayer>(*next);
                step.eltwise = eltwise_for(activation);
                step.label =
                    layer_label(i, "dense + " + std::string(activation_name(activation.function)));
                ++i;
            }
            steps.push_back(std::move(step));
        } else if (const auto* affine = std::get_if<AffineLayer>(&layer)) {
            if (next != nullptr && std::holds_alternative<DenseLayer>(*next)) {
                pending_affine = affine;
                continue;
            }
            Step step;
            step.kind = Step::Kind::Affine;
            step.label = layer_label(i, "affine");
            step.inputs = step.outputs = width;
            step.scale = affine->scale;
            step.shift = affine->shift;
            steps.push_back(std::move(step));
        } else {
            steps.push_back(activation_step(std::get<ActivationLayer>(layer), i, width));
        }
    }
    if (precision == Precision::Bf16) steps = with_bf16_matmuls(std::move(steps));
    assign_slots(steps);
    return steps;
}

void affine_rows(const Step& step, std::int64_t rows, const float* src, float* dst) {
    const std::int64_t width = step.inputs;
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < width; ++c) {
            dst[r * width + c] = src[r * width + c] * step.scale[c] + step.shift[c];
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

/// Sets the OpenMP thread count to one for its lifetime: see the comment at the top.
class OneThreadScope {
public:
    OneThreadScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
    ~OneThreadScope() { omp_set_num_threads(saved_); }
    OneThreadScope(const OneThreadScope&) = delete;
    OneThreadScope& operator=(const OneThreadScope&) = delete;
    OneThreadScope(OneThreadScope&&) = delete;
    OneThreadScope& operator=(OneThreadScope&&) = delete;

private:
    int saved_ = 1;
};

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
    using Kernels = std::vector<Kernel>;

    // forward(), counting the non-finite input rows of each block first when `count`, and
    // fetching each block from `source` into `fetch_into` (which is `src`) first when given.
    std::int64_t run(const float* src, std::int64_t rows, float* dst, bool count,
                     const RowSource* source = nullptr, float* fetch_into = nullptr);
    const Kernels& kernels_for(std::int64_t rows);
    // Takes each matmul's bias and first weight layout from `packed`, checking that they fit.
    void adopt(std::vector<PackedWeights>& packed);
    Kernel make_kernel(Step& step, std::int64_t rows);
    memory weights_in_layout(Step& step, const memory::desc& layout);
    void grow_scratchpads(std::size_t bytes);
    void run_block(const Kernels& kernels, std::int64_t row_begin, std::int64_t rows,
                   const float* src, float* dst, Context& context);
    // Where a step of the block starting at row_begin reads or writes: the caller's arrays
    // (always floats) at the block's rows, or the start of the thread's own buffers.
    static void* address(Slot slot, std::int64_t width, std::int64_t row_begin, const float* src,
                         float* dst, Context& context);

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
};

OnednnNetwork::OnednnNetwork(const Model& model, std::int64_t max_rows, int threads,
                             Precision precision, Model* donor, std::vector<PackedWeights>* packed)
    : threads_(threads),
      input_width_(model.input_width),
      max_rows_(max_rows),
      block_rows_(onednn_block_rows(model)),
      plain_weights_(max_rows <= plain_weights_rows && precision == Precision::F32),
      steps_(plan_steps(model, precision, packed != nullptr)) {
    // A handed-over model's arrays move into the steps that use them (a vector's elements stay
    // where they are when it moves): weights in the model's layout then cost no copy.
    if (donor != nullptr && plain_weights_) {
        for (Step& step : steps_) {
            if (step.kind != Step::Kind::Matmul || !step.owned.empty()) continue;
            for (Layer& layer : donor->layers) {
                auto* dense = std::get_if<DenseLayer>(&layer);
                if (dense != nullptr && dense->weights.data() == step.weights) {
                    step.owned = std::move(dense->weights);
                    break;
                }
            }
        }
    }
    // The caller's thread count is the process default (the blocks' team uses it too); the
    // primitives themselves are created under OneThreadScope, see the comment at the top.
    omp_set_num_threads(threads);
    std::int64_t buffer_width = 0;
    for (const Step& step : steps_) {
        if (step.dst != Slot::Dst) buffer_width = std::max(buffer_width, step.outputs);
    }
    try {
        engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
        const auto buffer_size =
            static_cast<std::size_t>(std::min(block_rows_, max_rows_) * buffer_width);
        for (int t = 0; t < threads_; ++t) {
            Context& context = contexts_.emplace_back(Context{dnnl::stream(engine_), memory(), {}});
            for (auto& buffer : context.buffers) buffer.resize(buffer_size);
        }
        if (packed != nullptr) adopt(*packed);
        for (Step& step : steps_) {
            if (step.bias.empty()) continue;
            const memory::desc bias_md({1, step.outputs}, Dt::f32, Tag::ab);
            step.bias_memory = memory(bias_md, engine_, step.bias.data());
        }
    } catch (const dnnl::error& error) {
        throw Error(ExitCode::Internal, std::string("cannot start oneDNN: ") + error.what());
    }
    (void)kernels_for(std::min(block_rows_, max_rows_));
    if (max_rows_ > block_rows_ && max_rows_ % block_rows_ != 0) {
        (void)kernels_for(max_rows_ % block_rows_);
    }
    // The model's arrays are the caller's: from here on, new layouts come from the first one.
    for (Step& step : steps_) {
        step.weights = nullptr;
        if (!step.owned_in_use) step.owned = std::vector<float>();
    }
}

std::vector<PackedWeights> OnednnNetwork::packed_weights() const {
    std::vector<PackedWeights> packed;
    for (const Step& step : steps_) {
        if (step.kind != Step::Kind::Matmul) continue;
        const memory& weights = step.weight_layouts.front();
        const memory::desc layout = weights.get_desc();
        PackedWeights& entry = packed.emplace_back();
        entry.layout.assign(reinterpret_cast<const char*>(&layout.data), sizeof layout.data);
        entry.bias = step.bias;
        entry.bytes = layout.get_size();
        entry.data = weights.get_data_handle();
    }
    return packed;
}

void OnednnNetwork::adopt(std::vector<PackedWeights>& packed) {
    std::size_t next = 0;
    for (Step& step : steps_) {
        if (step.kind != Step::Kind::Matmul) continue;
        const auto misfit = [&](const std::string& problem) {
            return Error(ExitCode::Internal,
                         step.label + ": the weights prepared by another rank " + problem +
                             "; were all ranks started from the "
                             "same h5infer build?");
        };
        if (next == packed.size()) {
            throw misfit("are missing: they cover " + std::to_string(packed.size()) +
                         (packed.size() == 1 ? " dense layer" : " dense layers"));
        }
        PackedWeights& weights = packed[next++];
        memory::desc layout;
        if (weights.layout.size() != sizeof layout.data) {
            throw misfit("have a layout description of " + std::to_string(weights.layout.size()) +
                         " bytes instead of " + std::to_string(sizeof layout.data));
        }
        std::memcpy(&layout.data, weights.layout.data(), sizeof layout.data);
        if (layout.dims() != memory::dims{step.inputs, step.outputs} ||
            layout.data_type() != step.src_type) {
            throw misfit("have another shape or number format than " + std::to_string(step.inputs) +
                         " x " + std::to_string(step.outputs) +
                         (step.src_type == Dt::bf16 ? " bf16" : " f32"));
        }
        if (layout.get_size() != weights.bytes || weights.storage.size() < weights.bytes) {
            throw misfit("hold " + std::to_string(weights.storage.size()) + " bytes where " +
                         std::to_string(layout.get_size()) + " are needed");
        }
        if (!weights.bias.empty() &&
            static_cast<std::int64_t>(weights.bias.size()) != step.outputs) {
            throw misfit("have " + std::to_string(weights.bias.size()) + " bias values");
        }
        step.bias = std::move(weights.bias);
        step.weights = nullptr;
        step.owned = std::vector<float>();
        step.weight_layouts.emplace_back(layout, engine_, weights.storage.data());
        step.weight_storage.push_back(std::move(weights.storage));
    }
    if (next != packed.size()) {
        throw Error(ExitCode::Internal, "the weights prepared by another rank cover " +
                                            std::to_string(packed.size()) +
                                            " dense layers, the "
                                            "model has " +
                                            std::to_string(next));
    }
}

const OnednnNetwork::Kernels& OnednnNetwork::kernels_for(std::int64_t rows) {
    if (auto found = kernels_.find(rows); found != kernels_.end()) return found->second;
    const OneThreadScope one_thread;
    Kernels kernels;
    std::size_t scratchpad_bytes = 0;
    for (Step& step : steps_) {
        kernels.push_back(make_kernel(step, rows));
        scratchpad_bytes = std::max(scratchpad_bytes, kernels.back().scratchpad_md.get_size());
    }
    grow_scratchpads(scratchpad_bytes);
    return kernels_.emplace(rows, std::move(kernels)).first->second;
}

Kernel OnednnNetwork::make_kernel(Step& step, std::int64_t rows) {
    Kernel kernel;
    kernel.src_md = memory::desc({rows, step.inputs}, step.src_type, Tag::ab);
    kernel.dst_md = memory::desc({rows, step.outputs}, step.dst_type, Tag::ab);
    if (step.kind == Step::Kind::Affine || step.kind == Step::Kind::Normalize) return kernel;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto inference = dnnl::prop_kind::forward_inference;
    try {
        if (step.kind == Step::Kind::Matmul) {
            if (step.eltwise) {
                dnnl::post_ops post_ops;
                post_ops.append_eltwise(1.0F, step.eltwise->algorithm, step.eltwise->alpha,
                                        step.eltwise->beta);
                attr.set_post_ops(post_ops);
            }
            // Weights in the src's type (oneDNN 2.6 has no mixed f32 x bf16 matmul); the bias
            // stays f32, added to the f32 accumulator.
            const memory::desc weights_md({step.inputs, step.outputs}, step.src_type,
                                          plain_weights_ ? Tag::ab : Tag::any);
            const auto desc = step.bias.empty()
                                  ? dnnl::matmul::desc(kernel.src_md, weights_md, kernel.dst_md)
                                  : dnnl::matmul::desc(kernel.src_md, weights_md,
                                                       step.bias_memory.get_desc(), kernel.dst_md);
            const dnnl::matmul::primitive_desc pd(desc, attr, engine_);
            kernel.weights = weights_in_layout(step, pd.weights_desc());
            kernel.scratchpad_md = pd.scratchpad_desc();
            kernel.primitive = dnnl::matmul(pd);
        } else if (step.kind == Step::Kind::ToBf16) {
            const dnnl::reorder::primitive_desc pd(engine_, kernel.src_md, engine_, kernel.dst_md,
                                                   attr);
            kernel.scratchpad_md = pd.scratchpad_desc();
            kernel.primitive = dnnl::reorder(pd);
        } else if (step.kind == Step::Kind::Eltwise) {
            const dnnl::eltwise_forward::desc desc(inference, step.eltwise->algorithm,
                                                   kernel.src_md, step.eltwise->alpha,
                                                   step.eltwise->beta);
            const dnnl::eltwise_forward::primitive_desc pd(desc, attr, engine_);
            kernel.scratchpad_md = pd.scratchpad_desc();
            kernel.primitive = dnnl::eltwise_forward(pd);
        } else if (step.kind == Step::Kind::Softmax) {
            const dnnl::softmax_forward::desc desc(inference, kernel.src_md, 1);
            const dnnl::softmax_forward::primitive_desc pd(desc, attr, engine_);
            kernel.scratchpad_md = pd.scratchpad_desc();
            kernel.primitive = dnnl::softmax_forward(pd);
        } else if (step.kind == Step::Kind::LogSoftmax) {
            const dnnl::logsoftmax_forward::desc desc(inference, kernel.src_md, 1);
            const dnnl::logsoftmax_forward::primitive_desc pd(desc, attr, engine_);
            kernel.scratchpad_md = pd.scratchpad_desc();
            kernel.primitive = dnnl::logsoftmax_forward(pd);
        } else {
            // No scale or shift (the model's affine layer after it carries them), no statistics
            // in or out: the primitive computes each row's mean and variance itself.
            const dnnl::layer_normalization_forward::desc desc(
                inference, kernel.src_md, step.epsilon, dnnl::normalization_flags::none);
            const dnnl::layer_normalization_forward::primitive_desc pd(desc, attr, engine_);
            kernel.scratchpad_md = pd.scratchpad_desc();
            kernel.primitive = dnnl::layer_normalization_forward(pd);
        }
    } catch (const dnnl::error& error) {
        throw ModelError(step.label + ": oneDNN cannot build its primitive for " +
                         std::to_string(rows) + " rows x " + std::to_string(step.inputs) +
                         " features: " + error.what() + " (status " +
                         std::to_string(static_cast<int>(error.status)) + ")");
    }
    return kernel;
}

memory OnednnNetwork::weights_in_layout(Step& step, const memory::desc& layout) {
    for (const memory& weights : step.weight_layouts) {
        if (weights.get_desc() == layout) return weights;
    }
    // Weights the network holds in the model's layout, wanted as they are: no copy.
    const memory::desc plain({step.inputs, step.outputs}, Dt::f32, Tag::ab);
    if (layout == plain && !step.owned.empty()) {
        memory weights(layout, engine_, step.owned.data());
        step.owned_in_use = true;
        step.weight_layouts.push_back(weights);
        return weights;
    }
    // oneDNN's memory takes void* even for inputs; the weights are only read.
    memory source = step.weights != nullptr
                        ? memory(memory::desc({step.inputs, step.outputs}, Dt::f32, Tag::ab),
                                 engine_, const_cast<float*>(step.weights))
                        : step.weight_layouts.front();
    BulkBuffer& storage = step.weight_storage.emplace_back(layout.get_size());
    memory reordered(layout, engine_, storage.data());
    dnnl::reorder(source, reordered).execute(contexts_.front().stream, source, reordered);
    contexts_.front().stream.wait();
    step.weight_layouts.push_back(reordered);
    return reordered;
}

void OnednnNetwork::grow_scratchpads(std::size_t bytes) {
    if (bytes <= scratchpad_bytes_) return;
    const memory::desc bytes_md({static_cast<memory::dim>(bytes)}, Dt::u8, Tag::a);
    for (Context& context : contexts_) context.scratchpad = memory(bytes_md, engine_);
    scratchpad_bytes_ = bytes;
}

std::int64_t OnednnNetwork::run(const float* src, std::int64_t rows, float* dst, bool count,
                                const RowSource* source, float* fetch_into) {
    H5INFER_ASSERT(rows >= 0 && rows <= max_rows_);
    const std::int64_t full_blocks = rows / block_rows_;
    const std::int64_t tail_rows = rows % block_rows_;
    const Kernels* full = full_blocks > 0 ? &kernels_for(block_rows_) : nullptr;
    const Kernels* tail = tail_rows > 0 ? &kernels_for(tail_rows) : nullptr;
    const std::int64_t blocks = full_blocks + (tail_rows > 0 ? 1 : 0);
    std::exception_ptr failure;
    // Exceptions cannot leave an OpenMP region: keep the first, throw it after. Errors of
    // h5infer's own (a failed read) keep their kind and exit code.
    const auto attempt = [&failure](const auto& work) -> bool {
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
    };
    bool fetched = true;  // written only before the barrier below, read only after it
    std::int64_t nonfinite = 0;
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
            if (!attempt([&] {
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
                attempt([&] {
                    run_block(is_tail ? *tail : *full, block * block_rows_, block_rows, src, dst,
                              context);
                    // After the block, whose first matmul has just brought its rows into
                    // cache (W2, 2 ranks: compute 0.211 -> 0.209 s, medians of 26).
                    if (count) {
                        nonfinite += count_nonfinite_rows(src + block * block_rows_ * input_width_,
                                                          block_rows, input_width_);
                    }
                });
            }
        }
    }
    if (failure) std::rethrow_exception(failure);
    return nonfinite;
}

void OnednnNetwork::run_block(const Kernels& kernels, std::int64_t row_begin, std::int64_t rows,
                              const float* src, float* dst, Context& context) {
    for (std::size_t i = 0; i < steps_.size(); ++i) {
        const Step& step = steps_[i];
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
        try {
            std::unordered_map<int, memory> args{
                {DNNL_ARG_SRC, memory(kernel.src_md, engine_, step_src)},
                {DNNL_ARG_DST, memory(kernel.dst_md, engine_, step_dst)}};
            if (step.kind == Step::Kind::Matmul) args.emplace(DNNL_ARG_WEIGHTS, kernel.weights);
            if (step.bias_memory) args.emplace(DNNL_ARG_BIAS, step.bias_memory);
            if (kernel.scratchpad_md.get_size() > 0) {
                args.emplace(DNNL_ARG_SCRATCHPAD, memory(kernel.scratchpad_md, engine_,
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

void* OnednnNetwork::address(Slot slot, std::int64_t width, std::int64_t row_begin,
                             const float* src, float* dst, Context& context) {
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

std::string_view isa_name(dnnl::cpu_isa isa) {
    using I = dnnl::cpu_isa;
    switch (isa) {
        case I::all: return "all";
        case I::sse41: return "sse41";
        case I::avx: return "avx";
        case I::avx2: return "avx2";
        case I::avx512_mic: return "avx512_mic";
        case I::avx512_mic_4ops: return "avx512_mic_4ops";
        case I::avx512_core: return "avx512_core";
        case I::avx512_core_vnni: return "avx512_core_vnni";
        case I::avx512_core_bf16: return "avx512_core_bf16";
        case I::avx512_core_amx: return "avx512_core_amx";
        case I::avx2_vnni: return "avx2_vnni";
    }
    return "unknown";
}

// bf16 needs avx512_bf16: a clear error otherwise.
void check_precision(Precision precision) {
    // Without avx512_bf16, oneDNN 2.6 has no bf16 matmul at all (AVX2: primitive creation
    // fails) or emulates it (avx512_core: a third of f32's speed for 512 x 512 x 512 on one
    // core): never what bf16 is asked for.
    if (precision == Precision::Bf16 && !onednn_supports_bf16()) {
        std::string cap;
        for (const char* variable : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
            const char* value = std::getenv(variable);
            if (value != nullptr && cap.empty()) {
                cap = std::string(", capped by ") + variable + "=" + value;
            }
        }
        throw ConfigError(
            "--precision bf16 needs a CPU with avx512_bf16 (this CPU's best oneDNN ISA is " +
            std::string(onednn_isa_name()) + cap + "); use --precision f32");
    }
}

}  // namespace

std::unique_ptr<Network> make_onednn_network(const Model& model, std::int64_t max_rows, int threads,
                                             Precision precision) {
    check_precision(precision);
    return std::make_unique<OnednnNetwork>(model, max_rows, threads, precision);
}

std::unique_ptr<Network> make_onednn_network(Model&& model, std::int64_t max_rows, int threads,
                                             Precision precision) {
    check_precision(precision);
    return std::make_unique<OnednnNetwork>(model, max_rows, threads, precision, &model);
}

std::unique_ptr<Network> make_onednn_network(Model&& model, std::vector<PackedWeights> packed,
                                             std::int64_t max_rows, int threads,
                                             Precision precision) {
    check_precision(precision);
    return std::make_unique<OnednnNetwork>(model, max_rows, threads, precision, nullptr, &packed);
}

std::string_view onednn_isa_name() {
    return isa_name(dnnl::get_effective_cpu_isa());
}

bool onednn_supports_bf16() {
    // The ISA values are bit sets, not an order: avx512_core_amx contains every bit of
    // avx512_core_bf16, while avx2_vnni is numerically larger but has no AVX-512 at all.
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto needed = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & needed) == needed;
}

std::int64_t onednn_block_rows(const Model& model) {
    double flops_per_row = 0.0;
    std::int64_t width = model.input_width;
    for (const Layer& layer : model.layers) {
        const std::int64_t outputs = layer_output_width(layer, width);
        const bool dense = std::holds_alternative<DenseLayer>(layer);
        flops_per_row +=
            dense ? 2.0 * static_cast<double>(width * outputs) : static_cast<double>(outputs);
        width = outputs;
    }
    const double rows = std::ceil(block_target_flops / std::max(flops_per_row, 1.0));
    const auto steps =
        static_cast<std::int64_t>(std::ceil(rows / static_cast<double>(block_rows_step)));
    return std::clamp(steps * block_rows_step, min_block_rows, max_block_rows);
}

}  // namespace h5infer::kernels
