#include "kernels/onednn/steps.hpp"

#include <algorithm>
#include <string_view>
#include <utility>
#include <variant>

#include "h5infer/error.hpp"
#include "kernels/column_layers.hpp"

namespace h5infer::kernels::onednn {
namespace {

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
        case Activation::Exp: return {A::eltwise_exp, 0.0F, 0.0F};
        case Activation::Mish: return {A::eltwise_mish, 0.0F, 0.0F};
        case Activation::Softmax:
        case Activation::Normalize:
        case Activation::LogSoftmax:
        case Activation::LayerNorm: break;
    }
    H5INFER_ASSERT(false && "row-wise activations are not eltwise");
    return {};
}

// W' = diag(scale) W, each weight rounded once.
void fold_affine(const AffineLayer& affine, const std::vector<float>& weights, Step& step) {
    step.owned = weights;
    for (std::int64_t k = 0; k < step.inputs; ++k) {
        for (std::int64_t n = 0; n < step.outputs; ++n) {
            float& weight = step.owned[k * step.outputs + n];
            weight = static_cast<float>(affine.scale[k] * weight);
        }
    }
}

// Only an affine layer that does not shift is folded into the dense layer after it. A shift
// would move into the bias as b + shift W, and the matmul would then add x W' and that bias,
// two large terms that cancel where the features are far from zero (a scaler's shift is
// -mean / std): float's rounding of them is then large against the prediction. Computed on its
// own, in double, the affine layer gives the matmul centred features. Fill values replace
// inputs, which no weight can do.
bool folds_into_dense(const AffineLayer& affine) {
    return affine.fill.empty() && std::all_of(affine.shift.begin(), affine.shift.end(),
                                              [](double shift) { return shift == 0.0; });
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

Step trees_step(const TreeEnsembleLayer& trees, std::size_t index, std::int64_t width) {
    Step step;
    step.kind = Step::Kind::Trees;
    step.label = layer_label(index, "tree_ensemble");
    step.inputs = width;
    step.outputs = trees.outputs();
    step.trees = std::make_shared<const TreeKernel>(trees);
    return step;
}

Step activation_step(const ActivationLayer& activation, std::size_t index, std::int64_t width) {
    Step step;
    step.label = layer_label(index, activation_name(activation.function));
    step.inputs = width;
    step.outputs = width;
    step.activation = activation;
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
        const bool in_place = step.kind != Step::Kind::Matmul && step.kind != Step::Kind::ToBf16 &&
                              step.kind != Step::Kind::Trees && step.kind != Step::Kind::Column;
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

bool is_activation(const Layer* layer, Activation function) {
    const auto* activation = layer != nullptr ? std::get_if<ActivationLayer>(layer) : nullptr;
    return activation != nullptr && activation->function == function;
}

// Normalized sigmoids are computed from the logits in one step (see run_block()).
bool starts_normalized_sigmoids(const Model& model, std::size_t index) {
    return index + 1 < model.layers.size() &&
           is_activation(&model.layers[index], Activation::Sigmoid) &&
           is_activation(&model.layers[index + 1], Activation::Normalize);
}

bool is_fusable_activation(const Model& model, std::size_t index) {
    const auto* activation =
        index < model.layers.size() ? std::get_if<ActivationLayer>(&model.layers[index]) : nullptr;
    return activation != nullptr && !is_row_wise(activation->function) &&
           !starts_normalized_sigmoids(model, index);
}

}  // namespace

// With `weights_given` the weights come ready from another network (PackedWeights): an affine
// layer before a dense one is already folded into them.
std::vector<Step> plan_steps(const Model& model, Precision precision, bool weights_given) {
    std::vector<Step> steps;
    const AffineLayer* pending_affine = nullptr;
    std::int64_t width = model.input_width;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
        const Layer& layer = model.layers[i];
        const Layer* next = i + 1 < model.layers.size() ? &model.layers[i + 1] : nullptr;
        const std::int64_t received = width;
        width = layer_output_width(layer, width);
        if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
            steps.push_back(trees_step(*trees, i, received));
        } else if (is_column_layer(layer)) {
            Step step;
            step.kind = Step::Kind::Column;
            step.label = layer_label(i, layer_kind(layer));
            step.inputs = received;
            step.outputs = width;
            step.column_layer = layer;
            steps.push_back(std::move(step));
        } else if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
            Step step = dense_step(*dense, i, weights_given ? nullptr : pending_affine);
            pending_affine = nullptr;
            if (is_fusable_activation(model, i + 1)) {
                const auto& activation = std::get<ActivationLayer>(*next);
                step.eltwise = eltwise_for(activation);
                step.activation = activation;
                step.label =
                    layer_label(i, "dense + " + std::string(activation_name(activation.function)));
                ++i;
            }
            steps.push_back(std::move(step));
        } else if (const auto* affine = std::get_if<AffineLayer>(&layer)) {
            if (next != nullptr && std::holds_alternative<DenseLayer>(*next) &&
                folds_into_dense(*affine)) {
                pending_affine = affine;
                continue;
            }
            Step step;
            step.kind = Step::Kind::Affine;
            step.label = layer_label(i, "affine");
            step.inputs = step.outputs = width;
            step.scale = affine->scale;
            step.shift = affine->shift;
            step.fill = affine->fill;
            steps.push_back(std::move(step));
        } else if (starts_normalized_sigmoids(model, i)) {
            Step step = activation_step(std::get<ActivationLayer>(model.layers[i + 1]), i, width);
            step.kind = Step::Kind::SigmoidNormalize;
            step.label = layer_label(i, "sigmoid + normalize");
            steps.push_back(std::move(step));
            ++i;
        } else {
            steps.push_back(activation_step(std::get<ActivationLayer>(layer), i, width));
        }
    }
    if (precision == Precision::Bf16) steps = with_bf16_matmuls(std::move(steps));
    assign_slots(steps);
    return steps;
}

}  // namespace h5infer::kernels::onednn
