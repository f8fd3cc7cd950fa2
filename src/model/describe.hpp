#pragma once

#include <cstdint>
#include <string>

#include "h5infer/model.hpp"

namespace h5infer {

// FLOPs convention (also in docs/cli.md): every multiply, add, compare and elementary function
// (exp, log, tanh, erf) counts one; work done once per row (a softmax's final reciprocal, a
// layer norm's square root) is not counted.

/// FLOPs per value of an activation: identity 0; relu, tanh 1; leaky_relu, clip, normalize 2;
/// elu, sigmoid, softplus 3; gelu_erf, swish, hard_swish, softmax, log_softmax, layer_norm 5;
/// gelu_tanh 9.
[[nodiscard]] std::int64_t activation_flops(Activation activation);

/// FLOPs one row costs in `layer` when it receives `input_width` features: dense
/// 2 x inputs x outputs, plus outputs with a bias; affine 2 per feature; an activation its
/// activation_flops() per feature.
[[nodiscard]] std::int64_t layer_flops(const Layer& layer, std::int64_t input_width);

/// FLOPs of one input row through the whole model.
[[nodiscard]] std::int64_t flops_per_row(const Model& model);

/// Parameters (weights, biases, scales, shifts) of one layer.
[[nodiscard]] std::int64_t layer_parameters(const Layer& layer);

/// Where a model came from, as `h5infer inspect` prints it.
struct ModelSource {
    std::string path;
    std::string format;  ///< e.g. "h5infer-model version 1" or "ONNX"
    std::string sha256;  ///< of the file's bytes
};

/// The layer table of a validated model, one line per layer (index, kind, input and output
/// width, activation with its parameters, parameters, FLOPs per row), then a totals line and
/// a line stating the FLOPs convention. Every line ends with '\n'.
[[nodiscard]] std::string describe_layers(const Model& model);

/// What `h5infer inspect MODEL` prints: the source (path, format, SHA-256, producer,
/// description, feature names and class labels if any), a blank line, then describe_layers().
[[nodiscard]] std::string describe_model(const Model& model, const ModelSource& source);

}  // namespace h5infer
