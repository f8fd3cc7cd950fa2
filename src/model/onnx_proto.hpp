#pragma once

// Internal to src/model: the protobuf side of the ONNX importer. Reads a file into an
// onnx::ModelProto and decodes tensors and attributes, validating everything against the
// untrusted file before any value is used.

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace h5infer::onnx_import {

/// Reads and parses the ONNX model at `path`. Throws ModelError naming the file when it is
/// missing, empty, larger than protobuf can parse, truncated, not ONNX at all or damaged.
[[nodiscard]] onnx::ModelProto parse_model_file(const std::string& path);

/// A decoded numeric tensor, its values converted to double (exact for float32, float64 and
/// every int32; int64 shape values are exact up to 2^53).
struct Tensor {
    std::vector<std::int64_t> dims;
    std::vector<double> values;  ///< row-major, product(dims) values
};

/// Decodes `tensor` from its typed fields, raw_data or an external data file, which must lie in
/// `model_dir` or below it. Checks every dimension and that the data holds exactly
/// product(dims) values of a supported type (float, double, int32, int64, bool). `label` names the
/// tensor in errors ("model 'm.onnx' initializer 'fc.weight'"). Throws ModelError.
[[nodiscard]] Tensor decode_tensor(const onnx::TensorProto& tensor, const std::string& model_dir,
                                   const std::string& label);

/// The external data files named by the tensors of `model` (its initializers and its Constant
/// nodes' values), as paths below `model_dir`, each once, in the order first named.
[[nodiscard]] std::vector<std::string> external_data_files(const onnx::ModelProto& model,
                                                           const std::string& model_dir);

/// ONNX's name of a TensorProto data type ("FLOAT16", ...), for messages.
[[nodiscard]] std::string data_type_name(int data_type);

/// The attributes of one node, checked on construction against the names its operator allows:
/// an attribute h5infer does not know could change the result, so it is an error.
class Attributes {
public:
    /// Throws ModelError (prefixed by `label`) when `node` has an attribute not in `allowed`.
    Attributes(const onnx::NodeProto& node, std::initializer_list<std::string_view> allowed,
               std::string label);

    /// Whether the node sets `name`.
    [[nodiscard]] bool has(std::string_view name) const;
    /// A FLOAT attribute, or `fallback` when absent. Throws ModelError on another type.
    [[nodiscard]] double real(std::string_view name, double fallback) const;
    /// An INT attribute, or `fallback` when absent. Throws ModelError on another type.
    [[nodiscard]] std::int64_t integer(std::string_view name, std::int64_t fallback) const;
    /// A STRING attribute, or `fallback` when absent. Throws ModelError on another type.
    [[nodiscard]] std::string text(std::string_view name, const std::string& fallback) const;
    /// A TENSOR attribute; nullptr when absent. Throws ModelError on another type.
    [[nodiscard]] const onnx::TensorProto* tensor(std::string_view name) const;
    /// A FLOATS or INTS attribute as doubles; empty when absent.
    [[nodiscard]] std::vector<double> list(std::string_view name) const;

private:
    [[nodiscard]] const onnx::AttributeProto* find(std::string_view name, int type) const;

    const onnx::NodeProto* node_ = nullptr;
    std::string label_;
};

}  // namespace h5infer::onnx_import
