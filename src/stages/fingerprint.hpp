#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "h5infer/run.hpp"
#include "io/input.hpp"

namespace h5infer::stages {

/// The fingerprint of a prediction file: one `key=value` line for everything its values depend
/// on (h5infer's version, the model file's SHA-256, the path, size and mtime of each of
/// `model_files` (an ONNX model's external data files), the input's absolute path, size, mtime,
/// dataset and shape, those of the other files its values come from (InputInfo::data_files), where
/// each of the model's columns is read from when the input is not one 2-D dataset read in its own
/// order, the output dataset, the chunk rows, backend, precision, the instruction set of the
/// oneDNN kernels (`instruction_set`; no line when empty), --labels and the copied datasets).
/// Equal fingerprints mean a rerun would compute the same file, so it can be skipped or resumed.
[[nodiscard]] std::string fingerprint(const RunConfig& config, const std::string& model_sha256,
                                      const std::vector<io::FileVersion>& model_files,
                                      std::int64_t chunk_rows, const std::string& instruction_set,
                                      const io::InputInfo& input, const std::string& output_dataset,
                                      const std::vector<std::string>& copies);

/// Why a file recording fingerprint `found` is not reused for a run wanting `wanted`: the key
/// of the first line of `wanted` that `found` lacks ("its model_sha256 differs"), or that the
/// file records none.
[[nodiscard]] std::string first_difference(const std::string& found, const std::string& wanted);

/// The value of the `key` line of a fingerprint, or "" when it has none.
[[nodiscard]] std::string fingerprint_value(const std::string& fingerprint, std::string_view key);

/// Whether `found` equals `wanted` but for their instruction set lines. A complete output made
/// with another instruction set holds predictions as good as this run's, in other last bits: it
/// is up to date. A partial file is resumed only with the same set, so that one file never mixes
/// the bits of two.
[[nodiscard]] bool same_but_instruction_set(const std::string& found, const std::string& wanted);

}  // namespace h5infer::stages
