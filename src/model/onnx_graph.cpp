#include "model/onnx_graph.hpp"

#include <algorithm>
#include <utility>

#include "h5infer/error.hpp"

namespace h5infer::onnx_import {
namespace {

// Identity chains over constants are short in real exports; the bound stops a crafted cycle.
constexpr int max_constant_depth = 64;

}  // namespace

Graph::Graph(const onnx::GraphProto& graph, std::string label, std::string model_dir)
    : graph_(&graph),
      label_(std::move(label)),
      model_dir_(std::move(model_dir)),
      consumed_(static_cast<std::size_t>(graph.node_size()), false) {
    for (int i = 0; i < graph.initializer_size(); ++i) {
        // ONNX requires unique names; which of two values a runtime would use is anyone's guess.
        if (!initializers_.emplace(graph.initializer(i).name(), i).second) {
            throw ModelError(label_ + " has two initializers named '" +
                             graph.initializer(i).name() +
                             "'; tensor names must be unique: export the model again");
        }
    }
    for (int i = 0; i < graph.node_size(); ++i) {
        const onnx::NodeProto& node = graph.node(i);
        for (const std::string& output : node.output()) {
            if (!output.empty()) producers_.emplace(output, i);
        }
        for (const std::string& input : node.input()) {
            if (input.empty()) continue;
            std::vector<int>& readers = consumers_[input];
            if (readers.empty() || readers.back() != i) readers.push_back(i);
        }
    }
}

std::string Graph::node_label(int index) const {
    const onnx::NodeProto& node = graph_->node(index);
    const std::string name =
        node.name().empty() ? "#" + std::to_string(index) : "'" + node.name() + "'";
    return label_ + " node " + name + " (" + node.op_type() + ")";
}

bool Graph::is_constant(const std::string& name) const {
    int depth = 0;
    std::string current = name;
    while (depth++ < max_constant_depth) {
        if (initializers_.count(current) != 0) return true;
        const auto producer = producers_.find(current);
        if (producer == producers_.end()) return false;
        const onnx::NodeProto& node = graph_->node(producer->second);
        if (node.op_type() == "Constant") return true;
        if (node.op_type() != "Identity" || node.input_size() != 1) return false;
        current = node.input(0);
    }
    return false;
}

std::optional<Tensor> Graph::constant(const std::string& name) const {
    return constant(name, 0);
}

std::optional<Tensor> Graph::constant(const std::string& name, int depth) const {
    if (depth > max_constant_depth) return std::nullopt;
    if (const auto found = initializers_.find(name); found != initializers_.end()) {
        return decode_tensor(graph_->initializer(found->second), model_dir_,
                             label_ + " initializer '" + name + "'");
    }
    const auto producer = producers_.find(name);
    if (producer == producers_.end()) return std::nullopt;
    const onnx::NodeProto& node = graph_->node(producer->second);
    const std::string label = node_label(producer->second);
    if (node.op_type() == "Identity" && node.input_size() == 1) {
        return constant(node.input(0), depth + 1);
    }
    if (node.op_type() != "Constant") return std::nullopt;
    const Attributes attributes(
        node, {"value", "value_float", "value_floats", "value_int", "value_ints"}, label);
    if (const onnx::TensorProto* value = attributes.tensor("value")) {
        return decode_tensor(*value, model_dir_, label + " value");
    }
    if (attributes.has("value_float")) return Tensor{{}, {attributes.real("value_float", 0.0)}};
    if (attributes.has("value_int")) {
        return Tensor{{}, {static_cast<double>(attributes.integer("value_int", 0))}};
    }
    for (const char* list_name : {"value_floats", "value_ints"}) {
        if (!attributes.has(list_name)) continue;
        std::vector<double> values = attributes.list(list_name);
        const auto count = static_cast<std::int64_t>(values.size());
        return Tensor{{count}, std::move(values)};
    }
    throw ModelError(label + " has no value; h5infer reads Constant nodes with 'value', " +
                     "'value_float(s)' or 'value_int(s)'");
}

Tensor Graph::require_constant(int index, int position) const {
    const onnx::NodeProto& node = graph_->node(index);
    if (position >= node.input_size() || node.input(position).empty()) {
        throw ModelError(node_label(index) + " lacks its input " + std::to_string(position + 1));
    }
    const std::string& name = node.input(position);
    std::optional<Tensor> value = constant(name);
    if (!value) {
        throw ModelError(node_label(index) + ": input " + std::to_string(position + 1) + " '" +
                         name +
                         "' must be a constant (an initializer or a Constant node), but the "
                         "graph computes it; h5infer imports only chains of operations on "
                         "one data tensor");
    }
    return std::move(*value);
}

std::vector<int> Graph::open_consumers(const std::string& name) const {
    std::vector<int> open;
    const auto found = consumers_.find(name);
    if (found == consumers_.end()) return open;
    for (int index : found->second) {
        if (!consumed(index)) open.push_back(index);
    }
    return open;
}

std::optional<int> Graph::sole_consumer(const std::string& name) const {
    if (is_graph_output(name)) return std::nullopt;
    const std::vector<int> open = open_consumers(name);
    if (open.size() != 1) return std::nullopt;
    return open.front();
}

bool Graph::is_graph_output(const std::string& name) const {
    return std::any_of(graph_->output().begin(), graph_->output().end(),
                       [&](const onnx::ValueInfoProto& output) { return output.name() == name; });
}

void Graph::require_only_first_output(int index) const {
    const onnx::NodeProto& node = graph_->node(index);
    for (int i = 1; i < node.output_size(); ++i) {
        const std::string& name = node.output(i);
        if (name.empty()) continue;
        if (is_graph_output(name) || consumers_.count(name) != 0) {
            throw ModelError(node_label(index) + ": its output " + std::to_string(i + 1) + " '" +
                             name +
                             "' is used, but h5infer computes only the first output (inference "
                             "mode); export the model in eval mode");
        }
    }
}

}  // namespace h5infer::onnx_import
