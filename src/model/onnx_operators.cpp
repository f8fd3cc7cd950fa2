// The ONNX importer's mapping of each operator onto h5infer's layers: docs/model-format.md
// ("From ONNX") has the table. Each function reads node `index` of the chain, whose first input
// (either input of Add, Sub, Mul) is the current data tensor, and appends layers to model_.

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "h5infer/error.hpp"
#include "model/onnx_import.hpp"

namespace h5infer::onnx_import {
namespace {

constexpr double selu_alpha = 1.67326319217681884765625;
constexpr double selu_gamma = 1.05070102214813232421875;
constexpr std::int64_t softmax_axis_changed_opset = 13;  // default axis 1 -> -1
constexpr std::int64_t clip_inputs_opset = 11;           // min/max attributes -> inputs

}  // namespace

void Importer::map_gemm(int index, const std::string& label) {
    const Attributes attributes(graph_.node(index),
                                {"alpha", "beta", "transA", "transB", "broadcast"}, label);
    const double alpha = attributes.real("alpha", 1.0);
    const double beta = attributes.real("beta", 1.0);
    const bool trans_b = attributes.integer("transB", 0) != 0;
    if (attributes.integer("transA", 0) != 0) transpose_input(label);
    const std::int64_t inputs = features(label);
    const Tensor b = graph_.require_constant(index, 1);
    const bool fits = b.dims.size() == 2 && b.dims[trans_b ? 1 : 0] == inputs;
    if (!fits) {
        throw ModelError(label + ": B has shape " + shape_text(b.dims) +
                         " (transB=" + (trans_b ? "1" : "0") + ") but the data has " +
                         std::to_string(inputs) + " features");
    }
    DenseLayer dense;
    dense.inputs = inputs;
    dense.outputs = b.dims[trans_b ? 0 : 1];
    dense.weights.resize(static_cast<std::size_t>(inputs * dense.outputs));
    for (std::int64_t k = 0; k < inputs; ++k) {
        for (std::int64_t n = 0; n < dense.outputs; ++n) {
            const double w = trans_b ? b.values[n * inputs + k] : b.values[k * dense.outputs + n];
            dense.weights[k * dense.outputs + n] = static_cast<float>(alpha * w);
        }
    }
    const onnx::NodeProto& node = graph_.node(index);
    if (node.input_size() > 2 && !node.input(2).empty() && beta != 0.0) {
        const std::vector<double> c =
            per_feature(graph_.require_constant(index, 2), dense.outputs, label + ": C");
        dense.bias.resize(c.size());
        for (std::size_t n = 0; n < c.size(); ++n) dense.bias[n] = static_cast<float>(beta * c[n]);
    }
    dims_ = {dense.outputs};
    model_.layers.emplace_back(std::move(dense));
}

void Importer::map_matmul(int index, const std::string& label) {
    const Attributes attributes(graph_.node(index), {}, label);
    const std::int64_t inputs = features(label);
    const Tensor b = graph_.require_constant(index, 1);
    if (b.dims.size() != 2 || b.dims[0] != inputs) {
        throw ModelError(label + ": the constant input has shape " + shape_text(b.dims) +
                         " but must be [" + std::to_string(inputs) + ", outputs]");
    }
    dims_ = {b.dims[1]};
    model_.layers.emplace_back(DenseLayer{inputs, b.dims[1], to_floats(b.values), {}});
}

void Importer::map_arithmetic(int index, const std::string& label) {
    const onnx::NodeProto& node = graph_.node(index);
    const Attributes attributes(node, {}, label);
    const std::string& op = node.op_type();
    if (node.input_size() != 2) throw ModelError(label + " must have two inputs");
    const bool data_first = node.input(0) == current_;
    if (data_first && node.input(1) == current_) {
        throw ModelError(label + " combines the data with itself; h5infer maps " + op +
                         " only with a constant operand");
    }
    const std::int64_t width = features(label);
    const std::vector<double> c = per_feature(graph_.require_constant(index, data_first ? 1 : 0),
                                              width, label + ": the constant operand");
    std::vector<double> scale(c.size(), 1.0);
    std::vector<double> shift(c.size(), 0.0);
    for (std::size_t j = 0; j < c.size(); ++j) {
        if (op == "Add") {
            shift[j] = c[j];
        } else if (op == "Sub") {
            scale[j] = data_first ? 1.0 : -1.0;
            shift[j] = data_first ? -c[j] : c[j];
        } else if (op == "Mul") {
            scale[j] = c[j];
        } else if (!data_first) {
            throw ModelError(label +
                             " divides a constant by the data, which is not an affine "
                             "map; h5infer maps only data / constant");
        } else if (c[j] == 0.0) {
            throw ModelError(label + " divides feature " + std::to_string(j) + " by zero");
        } else {
            scale[j] = 1.0 / c[j];
        }
    }
    model_.layers.emplace_back(AffineLayer{scale, shift});
}

void Importer::map_activation(int index, const std::string& label) {
    const std::string& op = graph_.node(index).op_type();
    if (op == "LeakyRelu" || op == "Elu") {
        const Attributes attributes(graph_.node(index), {"alpha"}, label);
        const Activation function = op == "Elu" ? Activation::Elu : Activation::LeakyRelu;
        const double alpha = attributes.real("alpha", default_alpha(function));
        model_.layers.emplace_back(ActivationLayer{function, to_float(alpha), 0.0F});
    } else if (op == "Selu") {
        // gamma * elu_alpha(x): an elu, then a scale.
        const Attributes attributes(graph_.node(index), {"alpha", "gamma"}, label);
        const double gamma = attributes.real("gamma", selu_gamma);
        const auto alpha = to_float(attributes.real("alpha", selu_alpha));
        model_.layers.emplace_back(ActivationLayer{Activation::Elu, alpha, 0.0F});
        const auto width = static_cast<std::size_t>(flat_width(label));
        model_.layers.emplace_back(
            AffineLayer{std::vector<double>(width, gamma), std::vector<double>(width, 0.0)});
    } else if (op == "HardSigmoid") {
        // max(0, min(1, alpha * x + beta)): the affine map, then a clip to [0, 1].
        const Attributes attributes(graph_.node(index), {"alpha", "beta"}, label);
        const auto width = static_cast<std::size_t>(flat_width(label));
        model_.layers.emplace_back(
            AffineLayer{std::vector<double>(width, attributes.real("alpha", 0.2)),
                        std::vector<double>(width, attributes.real("beta", 0.5))});
        model_.layers.emplace_back(ActivationLayer{Activation::Clip, 0.0F, 1.0F});
    } else if (op == "Gelu") {
        const Attributes attributes(graph_.node(index), {"approximate"}, label);
        const std::string approximate = attributes.text("approximate", "none");
        if (approximate != "none" && approximate != "tanh") {
            throw ModelError(label + ": unknown approximate='" + approximate +
                             "'; expected 'none' or 'tanh'");
        }
        model_.layers.emplace_back(
            activation(approximate == "tanh" ? Activation::GeluTanh : Activation::GeluErf));
    } else {
        const Attributes attributes(graph_.node(index), {}, label);
        const Activation function = op == "Relu"        ? Activation::Relu
                                    : op == "Sigmoid"   ? Activation::Sigmoid
                                    : op == "Tanh"      ? Activation::Tanh
                                    : op == "HardSwish" ? Activation::HardSwish
                                    : op == "Exp"       ? Activation::Exp
                                    : op == "Mish"      ? Activation::Mish
                                                        : Activation::Softplus;
        model_.layers.emplace_back(activation(function));
    }
}

std::pair<double, double> Importer::clip_bounds(int index, const std::string& label) const {
    const onnx::NodeProto& node = graph_.node(index);
    const Attributes attributes(node, {"min", "max"}, label);
    double low = -std::numeric_limits<double>::infinity();
    double high = std::numeric_limits<double>::infinity();
    if (opset_ < clip_inputs_opset) {
        low = attributes.real("min", low);
        high = attributes.real("max", high);
    } else if (attributes.has("min") || attributes.has("max")) {
        throw ModelError(label +
                         ": since opset 11 Clip takes min and max as inputs, not "
                         "attributes");
    }
    for (int position : {1, 2}) {
        if (position >= node.input_size() || node.input(position).empty()) continue;
        const Tensor bound = graph_.require_constant(index, position);
        if (bound.values.size() != 1) {
            throw ModelError(label + ": the " + (position == 1 ? "min" : "max") +
                             " input must be a single value");
        }
        (position == 1 ? low : high) = bound.values[0];
    }
    if (std::isnan(low) || std::isnan(high) || low > high) {
        throw ModelError(label + ": the bounds [" + std::to_string(low) + ", " +
                         std::to_string(high) + "] are not an interval");
    }
    return {low, high};
}

void Importer::map_clip(int index, const std::string& label) {
    const auto [low, high] = clip_bounds(index, label);
    model_.layers.emplace_back(ActivationLayer{Activation::Clip, to_float(low), to_float(high)});
}

void Importer::map_softmax(int index, const std::string& label) {
    const Attributes attributes(graph_.node(index), {"axis"}, label);
    const std::int64_t axis =
        attributes.integer("axis", opset_ < softmax_axis_changed_opset ? 1 : -1);
    (void)features(label);
    if (axis != 1 && axis != -1) {
        throw ModelError(label + " works over axis " + std::to_string(axis) +
                         "; h5infer computes it over the features of each row (axis -1 or 1)");
    }
    const bool log = graph_.node(index).op_type() == "LogSoftmax";
    model_.layers.emplace_back(activation(log ? Activation::LogSoftmax : Activation::Softmax));
}

void Importer::map_batch_norm(int index, const std::string& label) {
    const Attributes attributes(
        graph_.node(index), {"epsilon", "momentum", "training_mode", "spatial", "is_test"}, label);
    if (attributes.integer("training_mode", 0) != 0) {
        throw ModelError(label + " is in training mode; export the model in eval mode");
    }
    const double epsilon = attributes.real("epsilon", 1e-5);
    const std::int64_t width = features(label);
    std::vector<std::vector<double>> inputs;  // gamma, beta, mean, variance
    for (int position = 1; position <= 4; ++position) {
        inputs.push_back(per_feature(graph_.require_constant(index, position), width,
                                     label + ": input " + std::to_string(position + 1)));
    }
    std::vector<double> scale(inputs[0].size());
    std::vector<double> shift(inputs[0].size());
    for (std::size_t j = 0; j < scale.size(); ++j) {
        const double variance = inputs[3][j] + epsilon;
        if (!(variance > 0.0)) {
            throw ModelError(label + ": variance + epsilon of feature " + std::to_string(j) +
                             " is not positive");
        }
        scale[j] = inputs[0][j] / std::sqrt(variance);
        shift[j] = inputs[1][j] - inputs[2][j] * scale[j];
    }
    model_.layers.emplace_back(AffineLayer{scale, shift});
}

void Importer::map_layer_norm(int index, const std::string& label) {
    const onnx::NodeProto& node = graph_.node(index);
    const Attributes attributes(node, {"axis", "epsilon", "stash_type"}, label);
    const std::int64_t axis = attributes.integer("axis", -1);
    const std::int64_t width = features(label);
    if (axis != 1 && axis != -1) {
        throw ModelError(label + " normalizes from axis " + std::to_string(axis) +
                         "; h5infer normalizes the features of each row (axis -1 or 1)");
    }
    const auto epsilon = static_cast<float>(attributes.real("epsilon", 1e-5));
    const std::vector<double> scale =
        per_feature(graph_.require_constant(index, 1), width, label + ": the scale");
    std::vector<double> shift(scale.size(), 0.0);
    if (node.input_size() > 2 && !node.input(2).empty()) {
        shift = per_feature(graph_.require_constant(index, 2), width, label + ": the bias");
    }
    model_.layers.emplace_back(ActivationLayer{Activation::LayerNorm, epsilon, 0.0F});
    model_.layers.emplace_back(AffineLayer{scale, shift});
}

void Importer::map_flatten(int index, const std::string& label) {
    const Attributes attributes(graph_.node(index), {"axis"}, label);
    const auto rank = static_cast<std::int64_t>(dims_.size() + 1);
    std::int64_t axis = attributes.integer("axis", 1);
    if (axis < 0) axis += rank;
    if (axis != 1) {
        throw ModelError(label + " flattens from axis " + std::to_string(axis) +
                         ", which would mix samples; h5infer supports axis 1 (keep the batch)");
    }
    dims_ = {flat_width(label)};
}

void Importer::map_reshape(int index, const std::string& label) {
    const Attributes attributes(graph_.node(index), {"allowzero"}, label);
    const bool allow_zero = attributes.integer("allowzero", 0) != 0;
    const Tensor shape = graph_.require_constant(index, 1);
    const std::int64_t width = flat_width(label);
    std::vector<std::int64_t> target;
    for (double value : shape.values) target.push_back(static_cast<std::int64_t>(value));
    bool keeps_batch = false;
    if (target.size() == 2) {
        const bool batch_kept =
            (target[0] == 0 && !allow_zero) || (target[0] > 0 && target[0] == fixed_batch_);
        keeps_batch = batch_kept ? target[1] == -1 || target[1] == width
                                 : target[0] == -1 && target[1] == width;
    }
    if (!keeps_batch) {
        throw ModelError(label + " reshapes to " + shape_text(target) +
                         "; h5infer supports only [batch, -1] (written [0, -1], [-1, " +
                         std::to_string(width) + "] or with the graph's fixed batch size)");
    }
    dims_ = {width};
}

void Importer::map_dropout(int index, const std::string& label) {
    const onnx::NodeProto& node = graph_.node(index);
    const Attributes attributes(node, {"ratio", "seed", "is_test"}, label);
    if (node.input_size() > 2 && !node.input(2).empty()) {
        const Tensor training = graph_.require_constant(index, 2);
        if (training.values.size() != 1 || training.values[0] != 0.0) {
            throw ModelError(label + " is in training mode; export the model in eval mode");
        }
    }
}

}  // namespace h5infer::onnx_import
