#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5infer/model.hpp"

namespace h5infer {

/// The native model format version this build writes and the newest it reads.
inline constexpr std::int64_t model_format_version = 1;

/// Loads a native h5infer model (docs/model-format.md) and validates all of it: format marker
/// and version, every layer's kind, attributes and datasets (unknown ones are errors listing
/// what is supported), shapes, widths and finiteness. Throws ModelError naming the file.
[[nodiscard]] Model load_model(const std::string& path);

/// Imports an ONNX model whose graph is a chain from one input to one output, mapping each
/// operator onto h5infer's layers (docs/model-format.md lists them and how each maps). A fixed
/// batch dimension is treated as free and noted in the model's description. Weights may be
/// inline or in external data files in the model's directory. Throws ModelError naming the file
/// and, for an unsupported graph, the node, its operator and the supported list.
[[nodiscard]] Model import_onnx(const std::string& path);

/// Reads a model in either format, chosen by the file's content (not its name): a native model
/// when it is an HDF5 file, else ONNX. Throws ModelError naming the file.
[[nodiscard]] Model read_model(const std::string& path);

/// Writes `model` in the native format, replacing `path`. Throws IoError.
void save_model(const Model& model, const std::string& path);

/// What a model's byte image holds.
enum class ImageContent {
    Everything,  ///< the whole model
    Structure,   ///< all but the values of the float arrays (float_arrays()): their sizes
};

/// A compact byte image of a model, so rank 0 can load once and broadcast. With
/// ImageContent::Structure the image stays small however large the model; the ranks then
/// receive the values straight into float_arrays() of the deserialized model, and no copy of
/// the weights is ever made on either side.
[[nodiscard]] std::vector<char> serialize(const Model& model,
                                          ImageContent content = ImageContent::Everything);

/// Inverse of serialize(). From a Structure image the float arrays have their sizes and hold
/// zeros; with DenseArrays::Absent (a Structure image only) the dense layers' arrays stay
/// empty instead, after their sizes are checked. Throws ModelError on a malformed image.
[[nodiscard]] Model deserialize(const std::vector<char>& bytes,
                                DenseArrays dense_arrays = DenseArrays::Present);

/// Every float array of `model`: its dense weights and biases unless `dense_arrays` is Absent
/// (affine layers, in double, travel in every image), in layer order: the same list on every
/// rank for models with the same structure.
[[nodiscard]] std::vector<std::vector<float>*> float_arrays(
    Model& model, DenseArrays dense_arrays = DenseArrays::Present);

/// SHA-256 of a file's contents as 64 lower-case hex digits. Streams the file; throws IoError.
[[nodiscard]] std::string file_sha256(const std::string& path);

}  // namespace h5infer
