// Imports an ONNX graph that is a chain from one input to one output into h5infer's layers.
// docs/model-format.md ("Importing ONNX models") lists the operators and how each maps. The
// walk starts at the graph input and follows the one node that reads the current tensor (where
// several read it, a decomposition of onnx_patterns.cpp); every other input of that node must be
// a constant. Anything else stops the import with the node's
// name, its operator and the supported list, before any data is read.

#include "model/onnx_import.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer::onnx_import {
namespace {

// The newest default-domain opset whose definitions of the supported operators the importer
// follows: opsets 21 and 22 changed them only by allowing more element types.
constexpr std::int64_t newest_opset = 22;

const std::vector<std::string_view> supported_operators{"Gemm",
                                                        "MatMul",
                                                        "Add",
                                                        "Sub",
                                                        "Mul",
                                                        "Div",
                                                        "Relu",
                                                        "LeakyRelu",
                                                        "Elu",
                                                        "Selu",
                                                        "Sigmoid",
                                                        "Tanh",
                                                        "Gelu",
                                                        "HardSigmoid",
                                                        "HardSwish",
                                                        "Softplus",
                                                        "Exp",
                                                        "Log",
                                                        "Neg",
                                                        "Mish",
                                                        "Clip",
                                                        "Softmax",
                                                        "LogSoftmax",
                                                        "BatchNormalization",
                                                        "LayerNormalization",
                                                        "Flatten",
                                                        "Reshape",
                                                        "Identity",
                                                        "Dropout",
                                                        "Constant",
                                                        "Erf",
                                                        "ReduceMean",
                                                        "Pow",
                                                        "Sqrt",
                                                        "IsNaN",
                                                        "Where"};

constexpr std::int64_t max_row_width = std::int64_t{1} << 31;

std::string supported_list() {
    std::string text;
    for (std::string_view op : supported_operators) {
        if (!text.empty()) text += ", ";
        text += op;
    }
    return text + " (Erf only inside GELU's Div-Erf-Add-Mul-Mul chain; ReduceMean and Pow " +
           "only inside LayerNorm's decomposition, Pow also as GELU's tanh-form cube; IsNaN "
           "and Where only as Where(IsNaN(x), c, "
           "x))";
}

}  // namespace

std::string shape_text(const std::vector<std::int64_t>& dims, const std::string& first) {
    std::string text = "[" + first;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (i > 0 || !first.empty()) text += ", ";
        text += dims[i] < 0 ? std::string("?") : std::to_string(dims[i]);
    }
    return text + "]";
}

float to_float(double value) {
    constexpr double largest = std::numeric_limits<float>::max();
    return static_cast<float>(std::clamp(value, -largest, largest));
}

std::vector<float> to_floats(const std::vector<double>& values) {
    std::vector<float> result(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        // NaN and overflow are left for validate() to report, with the layer's name.
        result[i] = static_cast<float>(values[i]);
    }
    return result;
}

ActivationLayer activation(Activation function) {
    return {function, default_alpha(function), default_beta(function)};
}

std::int64_t product(const std::vector<std::int64_t>& dims, const std::string& label) {
    std::int64_t width = 1;
    for (std::int64_t dim : dims) {
        if (dim <= 0) {
            throw ModelError(label + " has feature shape " + shape_text(dims, "batch") +
                             "; its feature dimensions must be known numbers; export the "
                             "model with a fixed feature shape");
        }
        if (width > max_row_width / dim) {
            throw ModelError(label + " has feature shape " + shape_text(dims, "batch") +
                             ", more than " + std::to_string(max_row_width) + " values per row");
        }
        width *= dim;
    }
    return width;
}

Importer::Importer(const onnx::ModelProto& proto, const std::string& path)
    : proto_(proto),
      path_(path),
      graph_(proto.graph(), "model '" + path + "'",
             std::filesystem::absolute(path).parent_path().string()) {
    for (const auto& opset : proto.opset_import()) {
        if (!opset.domain().empty() && opset.domain() != "ai.onnx") {
            throw ModelError(graph_.label() + " imports the operator set of domain '" +
                             opset.domain() + "' (version " + std::to_string(opset.version()) +
                             "); h5infer imports only the default ONNX domain: export the "
                             "model without custom or contrib operators");
        }
        if (opset_ != 0) {
            throw ModelError(graph_.label() +
                             " declares the default ONNX domain's opset twice; export it again");
        }
        opset_ = opset.version();
    }
    if (opset_ <= 0) {
        throw ModelError(graph_.label() +
                         " declares no opset for the default ONNX domain; export it again");
    }
    if (opset_ > newest_opset) {
        throw ModelError(graph_.label() + " uses ONNX opset " + std::to_string(opset_) +
                         ", newer than the newest this h5infer knows (" +
                         std::to_string(newest_opset) +
                         "), whose operators may mean something "
                         "else: export it with opset_version=" +
                         std::to_string(newest_opset) + " or lower");
    }
}

void Importer::check_operators() const {
    for (int i = 0; i < graph_.node_count(); ++i) {
        const onnx::NodeProto& node = graph_.node(i);
        const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
        const bool known = std::find(supported_operators.begin(), supported_operators.end(),
                                     node.op_type()) != supported_operators.end();
        if (!default_domain || !known) {
            const std::string op =
                default_domain ? node.op_type() : node.domain() + "." + node.op_type();
            throw ModelError(graph_.node_label(i) + ": h5infer does not import the operator " + op +
                             "; it imports chains of " + supported_list() +
                             "; see docs/model-format.md");
        }
    }
}

void Importer::start_chain() {
    const onnx::GraphProto& graph = graph_.proto();
    std::vector<const onnx::ValueInfoProto*> inputs;
    std::string names;
    for (const auto& input : graph.input()) {
        if (graph_.is_constant(input.name())) continue;  // IR < 4 lists initializers as inputs
        inputs.push_back(&input);
        names += (names.empty() ? "'" : ", '") + input.name() + "'";
    }
    if (inputs.size() != 1) {
        throw ModelError(graph_.label() + " has " + std::to_string(inputs.size()) +
                         " graph inputs" + (names.empty() ? "" : " (" + names + ")") +
                         "; h5infer imports graphs with exactly one input (the feature rows)");
    }
    if (graph.output_size() != 1) {
        throw ModelError(graph_.label() + " has " + std::to_string(graph.output_size()) +
                         " graph outputs; h5infer imports graphs with exactly one output");
    }
    input_name_ = inputs.front()->name();
    output_name_ = graph.output(0).name();
    if (input_name_.empty() || output_name_.empty()) {
        throw ModelError(graph_.label() + " has an unnamed graph input or output");
    }
    const std::string label = graph_.label() + " input '" + input_name_ + "'";
    const onnx::TypeProto& type = inputs.front()->type();
    if (!type.has_tensor_type() || !type.tensor_type().has_shape()) {
        throw ModelError(label + " has no tensor shape; export it with its shape");
    }
    const int element = type.tensor_type().elem_type();
    if (element != onnx::TensorProto_DataType_FLOAT &&
        element != onnx::TensorProto_DataType_DOUBLE) {
        throw ModelError(label + " has element type " + onnx_import::data_type_name(element) +
                         "; h5infer feeds FLOAT (or DOUBLE) features");
    }
    for (const auto& dim : type.tensor_type().shape().dim()) {
        input_dims_.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    }
    if (input_dims_.size() < 2) {
        throw ModelError(label + " has shape " + shape_text(input_dims_) +
                         "; h5infer needs [batch, features] (rows are samples)");
    }
    fixed_batch_ = input_dims_[0];
    input_features_.assign(input_dims_.begin() + 1, input_dims_.end());
    current_ = input_name_;
    dims_ = input_features_;
}

std::int64_t Importer::flat_width(const std::string& label) const {
    return product(dims_, label);
}

std::int64_t Importer::features(const std::string& label) const {
    if (dims_.size() != 1) {
        throw ModelError(label + " receives data of shape " + shape_text(dims_, "batch") +
                         " but h5infer maps it only on 2-D [batch, features] data; flatten it "
                         "first (Flatten, or Reshape to [batch, -1])");
    }
    return flat_width(label);
}

std::vector<double> Importer::per_feature(const Tensor& tensor, std::int64_t width,
                                          const std::string& what) const {
    const auto& dims = tensor.dims;
    const std::int64_t last = dims.empty() ? 1 : dims.back();
    const bool leading_ones = dims.size() <= 2 && (dims.size() < 2 || dims[0] == 1);
    if (!leading_ones || (last != 1 && last != width)) {
        throw ModelError(what + " has shape " + shape_text(dims) + ", which is not one value " +
                         "or one value per feature (" + std::to_string(width) +
                         ") broadcast over the rows");
    }
    if (last == width) return tensor.values;
    return std::vector<double>(static_cast<std::size_t>(width), tensor.values.at(0));
}

void Importer::transpose_input(const std::string& label) {
    if (current_ != input_name_ || input_dims_.size() != 2) {
        throw ModelError(label +
                         " transposes its data input (transA=1): h5infer supports that only "
                         "when it is the 2-D graph input itself, declared [features, batch]");
    }
    // The graph wants [features, batch]; h5infer's rows are samples, so the transpose cancels.
    fixed_batch_ = input_dims_[1];
    input_features_ = {input_dims_[0]};
    dims_ = input_features_;
}

void Importer::map_node(int index) {
    const onnx::NodeProto& node = graph_.node(index);
    const std::string label = graph_.node_label(index);
    const std::string& op = node.op_type();
    graph_.consume(index);
    const bool commutes = op == "Add" || op == "Sub" || op == "Mul" || op == "Div";
    if (!commutes && (node.input_size() == 0 || node.input(0) != current_)) {
        throw ModelError(label + " reads the data '" + current_ +
                         "' as a parameter input; h5infer needs it as the first input");
    }
    if (node.output_size() == 0 || node.output(0).empty()) {
        throw ModelError(label + " has no output");
    }
    if (op == "Gemm") {
        map_gemm(index, label);
    } else if (op == "MatMul") {
        map_matmul(index, label);
    } else if (commutes) {
        map_arithmetic(index, label);
    } else if (op == "Clip") {
        map_clip(index, label);
    } else if (op == "Softmax" || op == "LogSoftmax") {
        map_softmax(index, label);
    } else if (op == "BatchNormalization") {
        map_batch_norm(index, label);
    } else if (op == "LayerNormalization") {
        map_layer_norm(index, label);
    } else if (op == "Flatten") {
        map_flatten(index, label);
    } else if (op == "Reshape") {
        map_reshape(index, label);
    } else if (op == "Dropout") {
        map_dropout(index, label);
    } else if (op == "Identity") {
        const Attributes attributes(node, {}, label);
    } else if (op == "Erf") {
        throw ModelError(label +
                         ": h5infer imports Erf only inside GELU's Div-Erf-Add-Mul-Mul "
                         "chain (x * 0.5 * (1 + erf(x / sqrt(2))))");
    } else if (op == "Neg") {
        const Attributes attributes(node, {}, label);
        const auto width = static_cast<std::size_t>(flat_width(label));
        model_.layers.emplace_back(
            AffineLayer{std::vector<double>(width, -1.0), std::vector<double>(width, 0.0)});
    } else if (op == "IsNaN" || op == "Where") {
        throw ModelError(label + ": h5infer imports " + op +
                         " only as Where(IsNaN(x), c, x) with a constant c (torch.where(x.isnan(), "
                         "c, x), the NaN part of torch.nan_to_num)");
    } else if (op == "Log" || op == "Sqrt") {
        // LayerNorm's Sqrt was taken by its decomposition before: this one stands alone.
        const Attributes attributes(node, {}, label);
        const auto width = static_cast<std::size_t>(flat_width(label));
        PerColumnLayer layer;
        layer.ops.assign(width, op == "Log" ? ColumnOp::Log : ColumnOp::Sqrt);
        layer.offsets.assign(width + 1, 0);
        layer.drop.assign(width, -1);
        layer.unknown.assign(width, 0.0);
        model_.layers.emplace_back(std::move(layer));
    } else if (op == "ReduceMean" || op == "Pow") {
        throw ModelError(label + ": h5infer imports " + op +
                         " only inside LayerNorm's decomposition ((x - mean) / sqrt(variance + "
                         "eps), torch.nn.LayerNorm below opset 17) or, Pow, as the cube in "
                         "GELU's tanh approximation");
    } else {
        map_activation(index, label);
    }
    graph_.require_only_first_output(index);
    current_ = node.output(0);
}

void Importer::finish() {
    for (int i = 0; i < graph_.node_count(); ++i) {
        if (graph_.consumed(i) || graph_.node(i).op_type() == "Constant") continue;
        if (graph_.node(i).op_type() == "Identity" &&
            graph_.is_constant(graph_.node(i).output(0))) {
            continue;
        }
        throw ModelError(graph_.node_label(i) + " is not on the chain from input '" + input_name_ +
                         "' to output '" + output_name_ +
                         "'; h5infer imports only graphs that are one chain");
    }
    const std::int64_t width = features(graph_.label() + " output '" + output_name_ + "'");
    const onnx::TypeProto& type = graph_.proto().output(0).type();
    if (type.has_tensor_type() && type.tensor_type().has_shape()) {
        const auto& dims = type.tensor_type().shape().dim();
        const bool fits =
            dims.size() == 2 && (!dims[1].has_dim_value() || dims[1].dim_value() == width);
        if (!fits) {
            throw ModelError(graph_.label() + " declares its output '" + output_name_ + "' with " +
                             std::to_string(dims.size()) +
                             " dimensions that do not match the [batch, " + std::to_string(width) +
                             "] the chain computes");
        }
    }
    // MatMul + Add: an affine layer that only shifts becomes the bias of the dense layer before.
    for (std::size_t i = 0; i + 1 < model_.layers.size(); ++i) {
        auto* dense = std::get_if<DenseLayer>(&model_.layers[i]);
        const auto* affine = std::get_if<AffineLayer>(&model_.layers[i + 1]);
        if (dense == nullptr || affine == nullptr || !dense->bias.empty()) continue;
        if (!std::all_of(affine->scale.begin(), affine->scale.end(),
                         [](double s) { return s == 1.0; })) {
            continue;
        }
        dense->bias = to_floats(affine->shift);
        model_.layers.erase(model_.layers.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
    if (model_.layers.empty()) model_.layers.emplace_back(activation(Activation::Identity));
    model_.input_width = product(input_features_, graph_.label() + " input '" + input_name_ + "'");
    model_.producer = proto_.producer_name();
    if (!proto_.producer_version().empty()) model_.producer += " " + proto_.producer_version();
    model_.producer += " (ONNX, opset " + std::to_string(opset_) + ")";
    model_.description =
        "imported from ONNX model '" + std::filesystem::path(path_).filename().string() + "'";
    if (fixed_batch_ > 0) {
        model_.description += "; the ONNX graph fixes the batch size to " +
                              std::to_string(fixed_batch_) +
                              ", h5infer treats the batch dimension as free (any row count)";
    }
}

Model Importer::run() {
    check_operators();
    start_chain();
    while (current_ != output_name_) {
        const std::vector<int> readers = graph_.open_consumers(current_);
        if (readers.size() == 1) {
            map_node(readers.front());
            continue;
        }
        if (readers.empty()) {
            throw ModelError(graph_.label() + ": the chain from input '" + input_name_ +
                             "' stops at tensor '" + current_ +
                             "', which feeds no node and is not the graph output '" + output_name_ +
                             "'");
        }
        if (map_gelu_chain(readers) || map_gated(readers) || map_layer_norm_chain(readers) ||
            map_nan_fill(readers) || map_gelu_tanh_chain(readers)) {
            continue;
        }
        std::string names;
        for (int reader : readers) {
            names += (names.empty() ? "" : ", ") +
                     graph_.node_label(reader).substr(graph_.label().size() + 1);
        }
        throw ModelError(
            graph_.label() + ": tensor '" + current_ + "' feeds " + std::to_string(readers.size()) +
            " nodes (" + names +
            "); h5infer imports chains where each result feeds only the next "
            "node (except the decompositions of GELU (both forms), SiLU, Hardswish, LayerNorm and "
            "Where(IsNaN(x), c, x): "
            "see docs/model-format.md)");
    }
    finish();
    try {
        validate(model_);
    } catch (const Error& error) {
        rethrow_with_context(error, graph_.label() + " (imported from ONNX)");
    }
    return std::move(model_);
}

}  // namespace h5infer::onnx_import

namespace h5infer {

Model import_onnx(const std::string& path) {
    const onnx::ModelProto proto = onnx_import::parse_model_file(path);
    onnx_import::Importer importer(proto, path);
    Model model = importer.run();
    model.data_files = onnx_import::external_data_files(
        proto, std::filesystem::absolute(path).parent_path().string());
    return model;
}

}  // namespace h5infer
