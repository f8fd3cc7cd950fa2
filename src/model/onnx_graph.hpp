#pragma once

// Internal to src/model: an index over an ONNX graph for the importer. Knows which tensors are
// constants (initializers, Constant nodes and Identity of a constant), which nodes read each
// tensor and which nodes the importer has consumed.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/onnx_proto.hpp"

namespace h5infer::onnx_import {

/// Read-only view of a GraphProto plus the importer's "consumed" marks.
class Graph {
public:
    /// `label` prefixes every message ("model 'm.onnx'"); `model_dir` is where external data
    /// files are looked up. Keeps references to `graph`, which must outlive this object.
    Graph(const onnx::GraphProto& graph, std::string label, std::string model_dir);

    [[nodiscard]] const onnx::GraphProto& proto() const { return *graph_; }
    [[nodiscard]] const std::string& label() const { return label_; }
    [[nodiscard]] int node_count() const { return graph_->node_size(); }
    [[nodiscard]] const onnx::NodeProto& node(int index) const { return graph_->node(index); }

    /// "model 'm.onnx' node 'fc1' (Gemm)", or "... node #3 (Gemm)" for an unnamed node.
    [[nodiscard]] std::string node_label(int index) const;

    /// Whether `name` is an initializer, the output of a Constant node or an Identity of one.
    [[nodiscard]] bool is_constant(const std::string& name) const;

    /// The decoded value of constant tensor `name`; nullopt when it is not a constant.
    /// Throws ModelError when the tensor cannot be decoded.
    [[nodiscard]] std::optional<Tensor> constant(const std::string& name) const;

    /// The value of input `position` of node `index`, which must be a constant: throws
    /// ModelError naming the node otherwise.
    [[nodiscard]] Tensor require_constant(int index, int position) const;

    /// Nodes not yet consumed that read tensor `name`, in graph order.
    [[nodiscard]] std::vector<int> open_consumers(const std::string& name) const;

    /// The only open consumer of `name`, or nullopt when there are none, several, or `name` is
    /// also a graph output (then it cannot be an intermediate of a fused pattern).
    [[nodiscard]] std::optional<int> sole_consumer(const std::string& name) const;

    /// Whether `name` is one of the graph's outputs.
    [[nodiscard]] bool is_graph_output(const std::string& name) const;

    void consume(int index) { consumed_.at(static_cast<std::size_t>(index)) = true; }
    [[nodiscard]] bool consumed(int index) const {
        return consumed_.at(static_cast<std::size_t>(index));
    }

    /// Throws ModelError when an output of node `index` other than the first is read by a node
    /// or is a graph output (a Dropout mask, BatchNormalization's running statistics, ...).
    void require_only_first_output(int index) const;

private:
    [[nodiscard]] std::optional<Tensor> constant(const std::string& name, int depth) const;

    const onnx::GraphProto* graph_ = nullptr;
    std::string label_;
    std::string model_dir_;
    std::map<std::string, int> initializers_;            // name -> index in graph.initializer
    std::map<std::string, int> producers_;               // tensor -> node index
    std::map<std::string, std::vector<int>> consumers_;  // tensor -> node indices
    std::vector<bool> consumed_;
};

}  // namespace h5infer::onnx_import
