#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5infer/model.hpp"

namespace h5infer {

/// What `h5infer generate` writes: a synthetic dataset and a random model that fits it.
struct GenerateConfig {
    std::string data_path;              ///< HDF5 file for the dataset; empty: no dataset
    std::string dataset = "/features";  ///< dataset path inside data_path (groups created)
    std::string model_path;             ///< native model file; empty: no model
    std::int64_t rows = 1000;
    std::int64_t features = 16;
    std::vector<std::int64_t> hidden{32};  ///< hidden layer widths, may be empty
    std::int64_t outputs = 4;
    Activation hidden_activation = Activation::Relu;
    Activation output_activation = Activation::Softmax;
    bool scaler = true;  ///< start the model with a standardizing affine layer
    std::uint64_t seed = 42;
    std::string dtype =
        "float32";  ///< dataset element type: float32, float64, int8..int64, uint8..uint64
    std::string layout = "contiguous";  ///< dataset layout: contiguous, chunked, gzip
    std::int64_t chunk_rows = 4096;     ///< rows per HDF5 chunk (chunked and gzip layouts)
    bool overwrite = false;             ///< replace existing files instead of refusing
};

/// Every dtype name `GenerateConfig::dtype` accepts, comma-separated.
[[nodiscard]] std::string generate_dtype_names();

/// Every layout name `GenerateConfig::layout` accepts, comma-separated.
[[nodiscard]] std::string generate_layout_names();

/// The random model `generate()` writes: He-scaled weights so activations stay O(1), with the
/// same seed giving the same model. Does not touch the filesystem.
[[nodiscard]] Model random_model(const GenerateConfig& config);

/// Writes the dataset (streamed in blocks, memory independent of `rows`) and the model, each
/// under a temporary name renamed into place when complete. Throws ConfigError for bad values
/// or existing files without `overwrite`, IoError when writing fails.
void generate(const GenerateConfig& config);

}  // namespace h5infer
