#pragma once

// Internal to src/model: the ONNX importer's walk along the chain (onnx_import.cpp), its
// per-operator mappings (onnx_operators.cpp) and the decompositions it recognises where the data
// feeds several nodes (onnx_patterns.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "h5infer/model.hpp"
#include "model/onnx_graph.hpp"

namespace h5infer::onnx_import {

/// "[batch, 2, 3]" ("?" for an unknown dimension); `first` names a leading batch entry.
[[nodiscard]] std::string shape_text(const std::vector<std::int64_t>& dims,
                                     const std::string& first = "");

/// Rounds to float32, clamping to the finite float range (ONNX's infinite Clip bounds).
[[nodiscard]] float to_float(double value);

/// Rounds each value to float32; NaN and overflow are left for validate() to report.
[[nodiscard]] std::vector<float> to_floats(const std::vector<double>& values);

/// An activation layer with the default parameters of `function`.
[[nodiscard]] ActivationLayer activation(Activation function);

/// The number of values per row for feature dims `dims`. Throws ModelError (prefixed by
/// `label`) for an unknown dimension or more than 2^31 values.
[[nodiscard]] std::int64_t product(const std::vector<std::int64_t>& dims, const std::string& label);

/// Turns one parsed ONNX model into a Model: check every operator, walk the chain from the
/// graph input to the graph output mapping each node, then check and finish the model.
class Importer {
public:
    /// `proto` must outlive the importer; `path` names the file in messages.
    Importer(const onnx::ModelProto& proto, const std::string& path);

    /// Imports the graph. Throws ModelError naming the file, and the node where there is one.
    [[nodiscard]] Model run();

private:
    void check_operators() const;
    void start_chain();
    void map_node(int index);
    void map_gemm(int index, const std::string& label);
    void map_matmul(int index, const std::string& label);
    void map_arithmetic(int index, const std::string& label);
    void map_activation(int index, const std::string& label);
    void map_clip(int index, const std::string& label);
    void map_softmax(int index, const std::string& label);
    void map_batch_norm(int index, const std::string& label);
    void map_layer_norm(int index, const std::string& label);
    void map_flatten(int index, const std::string& label);
    void map_reshape(int index, const std::string& label);
    void map_dropout(int index, const std::string& label);
    // The decompositions of onnx_patterns.cpp: each takes the nodes reading the current tensor,
    // returns false when they are not its pattern and throws on a near-miss.
    bool map_gelu_chain(const std::vector<int>& readers);
    bool map_gated(const std::vector<int>& readers);
    bool map_layer_norm_chain(const std::vector<int>& readers);
    bool map_nan_fill(const std::vector<int>& readers);
    bool map_gelu_tanh_chain(const std::vector<int>& readers);
    [[nodiscard]] std::optional<int> gelu_cube(const std::vector<int>& readers,
                                               std::vector<int>& nodes) const;
    [[nodiscard]] bool is_binary_of(int index, const std::string& op, const std::string& a,
                                    const std::string& b) const;
    [[nodiscard]] std::optional<std::vector<int>> gate_branch(int start, int join) const;
    [[nodiscard]] std::optional<ActivationLayer> gate_function(const std::vector<int>& nodes,
                                                               std::string& construct) const;
    [[nodiscard]] std::optional<ActivationLayer> hard_swish_chain(
        const std::vector<int>& nodes) const;
    void check_reduce_mean(int index) const;
    [[nodiscard]] double layer_norm_variance(int centered, int divide,
                                             std::vector<int>& nodes) const;
    void fold_scale_shift();
    void transpose_input(const std::string& label);
    void finish();

    [[nodiscard]] std::int64_t features(const std::string& label) const;
    [[nodiscard]] std::int64_t flat_width(const std::string& label) const;
    [[nodiscard]] std::vector<double> per_feature(const Tensor& tensor, std::int64_t width,
                                                  const std::string& what) const;
    [[nodiscard]] bool is_scalar_op(int index, const std::string& op, const std::string& data,
                                    double value) const;
    [[nodiscard]] std::optional<double> scalar_operand(int index, const std::string& data) const;
    [[noreturn]] void refuse_near_miss(int index, const std::string& problem,
                                       const std::string& construct) const;
    [[nodiscard]] std::pair<double, double> clip_bounds(int index, const std::string& label) const;

    const onnx::ModelProto& proto_;
    std::string path_;
    Graph graph_;
    std::int64_t opset_ = 0;
    std::string input_name_;
    std::string output_name_;
    std::vector<std::int64_t> input_dims_;      // as declared, -1 for unknown
    std::vector<std::int64_t> input_features_;  // the input's dims after the batch dimension
    std::int64_t fixed_batch_ = -1;             // a batch size fixed by the graph, else -1
    std::string current_;                       // the tensor the chain has reached
    std::vector<std::int64_t> dims_;            // its dims after the batch dimension
    Model model_;
};

}  // namespace h5infer::onnx_import
