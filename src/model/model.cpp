#include "h5infer/model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>
#include <variant>

#include "h5infer/error.hpp"
#include "model/column_layers.hpp"

namespace h5infer {
namespace {

constexpr std::array<std::pair<Activation, std::string_view>, 18> activation_table{{
    {Activation::Identity, "identity"},
    {Activation::Relu, "relu"},
    {Activation::LeakyRelu, "leaky_relu"},
    {Activation::Elu, "elu"},
    {Activation::Sigmoid, "sigmoid"},
    {Activation::Tanh, "tanh"},
    {Activation::GeluErf, "gelu_erf"},
    {Activation::GeluTanh, "gelu_tanh"},
    {Activation::Softplus, "softplus"},
    {Activation::Swish, "swish"},
    {Activation::Softmax, "softmax"},
    {Activation::Normalize, "normalize"},
    {Activation::Clip, "clip"},
    {Activation::HardSwish, "hard_swish"},
    {Activation::LogSoftmax, "log_softmax"},
    {Activation::LayerNorm, "layer_norm"},
    {Activation::Exp, "exp"},
    {Activation::Mish, "mish"},
}};

template <typename Value>
bool all_finite(const std::vector<Value>& values) {
    for (Value v : values) {
        if (!std::isfinite(v)) return false;
    }
    return true;
}

std::string layer_label(std::size_t index) {
    return "layer " + std::to_string(index);
}

void validate_dense(const DenseLayer& dense, std::int64_t width, std::size_t index,
                    DenseArrays arrays) {
    const std::string label = layer_label(index) + " (dense)";
    if (dense.inputs != width) {
        throw ModelError(label + " expects " + std::to_string(dense.inputs) +
                         " inputs but the previous layer produces " + std::to_string(width) +
                         ": the layer widths do not chain");
    }
    if (dense.outputs <= 0) throw ModelError(label + " has no outputs");
    std::int64_t weights = 0;
    if (__builtin_mul_overflow(dense.inputs, dense.outputs, &weights)) {
        throw ModelError(label + " declares " + std::to_string(dense.inputs) + " x " +
                         std::to_string(dense.outputs) + " weights, more than can be addressed");
    }
    if (arrays == DenseArrays::Absent) {
        if (!dense.weights.empty() || !dense.bias.empty()) {
            throw ModelError(label + " holds arrays where none are expected");
        }
        return;
    }
    if (static_cast<std::int64_t>(dense.weights.size()) != weights) {
        throw ModelError(label + " weights hold " + std::to_string(dense.weights.size()) +
                         " values, expected inputs x outputs = " + std::to_string(dense.inputs) +
                         " x " + std::to_string(dense.outputs));
    }
    if (!dense.bias.empty() && static_cast<std::int64_t>(dense.bias.size()) != dense.outputs) {
        throw ModelError(label + " bias has " + std::to_string(dense.bias.size()) +
                         " values, expected " + std::to_string(dense.outputs));
    }
    if (!all_finite(dense.weights)) throw ModelError(label + " weights contain NaN or Inf");
    if (!all_finite(dense.bias)) throw ModelError(label + " bias contains NaN or Inf");
}

void validate_affine(const AffineLayer& affine, std::int64_t width, std::size_t index) {
    const std::string label = layer_label(index) + " (affine)";
    if (static_cast<std::int64_t>(affine.scale.size()) != width ||
        affine.shift.size() != affine.scale.size()) {
        throw ModelError(label + " has " + std::to_string(affine.scale.size()) + " scales and " +
                         std::to_string(affine.shift.size()) +
                         " shifts but the previous layer produces " + std::to_string(width) +
                         " features: the layer widths do not chain");
    }
    if (!all_finite(affine.scale)) throw ModelError(label + " scale contains NaN or Inf");
    if (!all_finite(affine.shift)) throw ModelError(label + " shift contains NaN or Inf");
    if (!affine.fill.empty() && affine.fill.size() != affine.scale.size()) {
        throw ModelError(label + " has " + std::to_string(affine.fill.size()) +
                         " fill values for " + std::to_string(affine.scale.size()) +
                         " features; expected one per feature, or none");
    }
    // A NaN fill leaves that feature's NaN as it is: a ColumnTransformer imputes some columns.
    for (double fill : affine.fill) {
        if (std::isinf(fill)) throw ModelError(label + " fill contains Inf");
    }
}

void validate_activation(const ActivationLayer& activation, std::size_t index) {
    const std::string label =
        layer_label(index) + " (" + std::string(activation_name(activation.function)) + ")";
    if (!std::isfinite(activation.alpha)) throw ModelError(label + " alpha is not finite");
    if (!std::isfinite(activation.beta)) throw ModelError(label + " beta is not finite");
    if (activation.function == Activation::Clip && !(activation.alpha <= activation.beta)) {
        throw ModelError(label + " lower bound alpha " + std::to_string(activation.alpha) +
                         " is above the upper bound beta " + std::to_string(activation.beta));
    }
    if (activation.function == Activation::LayerNorm && !(activation.alpha >= 0.0F)) {
        throw ModelError(label + " epsilon alpha must not be negative, got " +
                         std::to_string(activation.alpha));
    }
}

// Inputs are matched to the model's columns by these names, so each must name one column.
void validate_feature_names(const Model& model) {
    const std::vector<std::string>& names = model.feature_names;
    if (names.empty()) return;
    if (static_cast<std::int64_t>(names.size()) != model.input_width) {
        throw ModelError("the model has " + std::to_string(names.size()) + " feature names but " +
                         std::to_string(model.input_width) +
                         " input columns; give one name per column or none");
    }
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
    if (twice != sorted.end()) {
        throw ModelError("the model's feature name '" + *twice +
                         "' names two input columns; every column needs its own name");
    }
}

}  // namespace

std::string_view layer_kind(const Layer& layer) {
    constexpr std::array<std::string_view, std::variant_size_v<Layer>> kinds{
        "dense",   "affine",     "activation", "tree_ensemble",
        "columns", "per_column", "row_norm",   "products"};
    return kinds[layer.index()];
}

std::int64_t layer_output_width(const Layer& layer, std::int64_t input_width) {
    if (const auto* dense = std::get_if<DenseLayer>(&layer)) return dense->outputs;
    if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) return trees->outputs();
    return column_layer_output_width(layer, input_width).value_or(input_width);
}

std::int64_t Model::output_width() const {
    std::int64_t width = input_width;
    for (const Layer& layer : layers) width = layer_output_width(layer, width);
    return width;
}

std::string_view activation_name(Activation activation) {
    for (const auto& [value, name] : activation_table) {
        if (value == activation) return name;
    }
    return "unknown";
}

std::optional<Activation> parse_activation(std::string_view name) {
    for (const auto& [value, known] : activation_table) {
        if (known == name) return value;
    }
    // Accepted spellings from other frameworks.
    if (name == "silu") return Activation::Swish;
    if (name == "logistic") return Activation::Sigmoid;
    if (name == "gelu") return Activation::GeluErf;
    return std::nullopt;
}

std::string activation_names() {
    std::string names;
    for (const auto& entry : activation_table) {
        if (!names.empty()) names += ", ";
        names += entry.second;
    }
    return names;
}

float default_alpha(Activation activation) {
    switch (activation) {
        case Activation::LeakyRelu: return 0.01F;
        case Activation::Elu:
        case Activation::Swish: return 1.0F;
        case Activation::Clip: return std::numeric_limits<float>::lowest();
        case Activation::LayerNorm: return 1e-5F;
        default: return 0.0F;
    }
}

float default_beta(Activation activation) {
    return activation == Activation::Clip ? std::numeric_limits<float>::max() : 0.0F;
}

bool is_row_wise(Activation activation) {
    return activation == Activation::Softmax || activation == Activation::Normalize ||
           activation == Activation::LogSoftmax || activation == Activation::LayerNorm;
}

void validate(const Model& model, DenseArrays dense_arrays) {
    if (model.input_width <= 0) {
        throw ModelError("the model's input width must be positive, got " +
                         std::to_string(model.input_width));
    }
    if (model.layers.empty()) throw ModelError("the model has no layers");
    std::int64_t width = model.input_width;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
        const Layer& layer = model.layers[i];
        if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
            validate_dense(*dense, width, i, dense_arrays);
        } else if (const auto* affine = std::get_if<AffineLayer>(&layer)) {
            validate_affine(*affine, width, i);
        } else if (const auto* activation = std::get_if<ActivationLayer>(&layer)) {
            validate_activation(*activation, i);
        } else if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
            validate_tree_ensemble(*trees, width, layer_label(i) + " (tree_ensemble)");
        } else {
            validate_column_layer(layer, width, i);
        }
        width = layer_output_width(layer, width);
    }
    if (!model.labels.empty() && static_cast<std::int64_t>(model.labels.size()) != width) {
        throw ModelError("the model has " + std::to_string(model.labels.size()) +
                         " class labels but " + std::to_string(width) +
                         " output columns; give one label per column or none");
    }
    validate_feature_names(model);
}

std::int64_t parameter_count(const Model& model) {
    std::int64_t count = 0;
    for (const Layer& layer : model.layers) {
        if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
            count += static_cast<std::int64_t>(dense->weights.size() + dense->bias.size());
        } else if (const auto* affine = std::get_if<AffineLayer>(&layer)) {
            count += static_cast<std::int64_t>(affine->scale.size() + affine->shift.size() +
                                               affine->fill.size());
        } else if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
            count += static_cast<std::int64_t>(trees->threshold.size() + trees->values.size());
        } else {
            count += column_layer_parameters(layer);
        }
    }
    return count;
}

}  // namespace h5infer
