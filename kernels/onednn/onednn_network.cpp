#include "kernels/onednn/onednn_network.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/error.hpp"
#include "kernels/onednn/onednn.hpp"
#include "kernels/reference/reference.hpp"

namespace h5infer::kernels::onednn {
namespace {

/// Sets the OpenMP thread count to one for its lifetime: see onednn_network.hpp.
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

}  // namespace

OnednnNetwork::OnednnNetwork(const Model& model, std::int64_t max_rows, int threads,
                             Precision precision, Model* donor, std::vector<PackedWeights>* packed)
    : threads_(threads),
      input_width_(model.input_width),
      max_rows_(max_rows),
      block_rows_(onednn_block_rows(model)),
      plain_weights_(max_rows <= plain_weights_rows && precision == Precision::F32),
      steps_(plan_steps(model, precision, packed != nullptr)),
      output_width_(model.output_width()) {
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
    // primitives themselves are created under OneThreadScope, see onednn_network.hpp.
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

const Kernels& OnednnNetwork::kernels_for(std::int64_t rows) {
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
    if (step.kind == Step::Kind::Affine || step.kind == Step::Kind::Normalize ||
        step.kind == Step::Kind::SigmoidNormalize || step.kind == Step::Kind::Trees ||
        step.kind == Step::Kind::Column) {
        return kernel;
    }
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const auto inference = dnnl::prop_kind::forward_inference;
    try {
        if (step.kind == Step::Kind::Matmul) {
            make_matmul(step, attr, kernel);
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

void OnednnNetwork::make_matmul(Step& step, dnnl::primitive_attr& attr, Kernel& kernel) {
    if (step.eltwise) {
        dnnl::post_ops post_ops;
        post_ops.append_eltwise(1.0F, step.eltwise->algorithm, step.eltwise->alpha,
                                step.eltwise->beta);
        attr.set_post_ops(post_ops);
    }
    // Weights in the src's type (oneDNN 2.6 has no mixed f32 x bf16 matmul); the bias stays
    // f32, added to the f32 accumulator.
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

Model OnednnNetwork::computed_model() const {
    Model model;
    model.input_width = input_width_;
    dnnl::stream stream(engine_);
    for (const Step& step : steps_) {
        if (step.kind == Step::Kind::Matmul) {
            std::vector<float> weights(static_cast<std::size_t>(step.inputs * step.outputs));
            memory source = step.weight_layouts.front();
            memory plain(memory::desc({step.inputs, step.outputs}, Dt::f32, Tag::ab), engine_,
                         weights.data());
            dnnl::reorder(source, plain).execute(stream, source, plain);
            stream.wait();
            model.layers.emplace_back(
                DenseLayer{step.inputs, step.outputs, std::move(weights), step.bias});
        } else if (step.kind == Step::Kind::Affine) {
            model.layers.emplace_back(AffineLayer{step.scale, step.shift, step.fill});
        } else if (step.kind == Step::Kind::Trees) {
            model.layers.emplace_back(step.trees->layer());
        } else if (step.kind == Step::Kind::Column) {
            model.layers.push_back(step.column_layer);
        }
        if (step.kind == Step::Kind::SigmoidNormalize) {
            model.layers.emplace_back(ActivationLayer{Activation::Sigmoid});
        }
        if (step.activation) model.layers.emplace_back(*step.activation);
    }
    return model;
}

void OnednnNetwork::repair_nonfinite_rows(const float* src, std::int64_t rows, float* dst,
                                          const std::vector<std::int64_t>& blocks) {
    try {
        if (!twin_) twin_ = make_reference_network(computed_model(), 1);
    } catch (const dnnl::error& error) {
        throw Error(
            ExitCode::Internal,
            std::string("cannot recover the weights for rows with NaN or Inf: ") + error.what());
    }
    for (const std::int64_t block : blocks) {
        const std::int64_t end = std::min(rows, (block + 1) * block_rows_);
        for (std::int64_t row = block * block_rows_; row < end; ++row) {
            const float* values = src + row * input_width_;
            if (count_nonfinite_rows(values, 1, input_width_) == 0) continue;
            twin_->forward(values, 1, dst + row * output_width_);
        }
    }
}

void OnednnNetwork::grow_scratchpads(std::size_t bytes) {
    if (bytes <= scratchpad_bytes_) return;
    const memory::desc bytes_md({static_cast<memory::dim>(bytes)}, Dt::u8, Tag::a);
    for (Context& context : contexts_) context.scratchpad = memory(bytes_md, engine_);
    scratchpad_bytes_ = bytes;
}

}  // namespace h5infer::kernels::onednn
