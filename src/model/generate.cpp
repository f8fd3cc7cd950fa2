// Synthetic datasets and random models for tests, benchmarks and demos. Everything derives from
// the seed through std::mt19937_64 and our own uniform and normal transforms: the standard's
// distributions are implementation-defined, and the same seed must give the same bytes with
// any standard library.

#include "h5infer/generate.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t max_block_rows = 65536;
constexpr std::int64_t max_block_values = std::int64_t{1} << 22;  // 16 MiB of float32 per write
constexpr double feature_mean_range = 10.0;    // feature means are uniform in [-10, 10]
constexpr double unsigned_mean_offset = 60.0;  // keeps unsigned features clear of zero
constexpr double min_feature_std = 0.5;
constexpr double max_feature_std = 5.0;
constexpr double bias_std = 0.1;

/// One dataset element type: its name and the values its integers can hold.
struct Dtype {
    std::string_view name;
    bool integer;
    double lowest;
    double highest;
};

template <typename T>
constexpr Dtype integer_dtype(std::string_view name) {
    return {name, true, static_cast<double>(std::numeric_limits<T>::lowest()),
            static_cast<double>(std::numeric_limits<T>::max())};
}

constexpr std::array<Dtype, 10> dtypes{{
    {"float32", false, 0, 0},
    {"float64", false, 0, 0},
    integer_dtype<std::int8_t>("int8"),
    integer_dtype<std::int16_t>("int16"),
    integer_dtype<std::int32_t>("int32"),
    integer_dtype<std::int64_t>("int64"),
    integer_dtype<std::uint8_t>("uint8"),
    integer_dtype<std::uint16_t>("uint16"),
    integer_dtype<std::uint32_t>("uint32"),
    integer_dtype<std::uint64_t>("uint64"),
}};

constexpr std::array<std::pair<std::string_view, h5::Layout>, 3> layouts{{
    {"contiguous", h5::Layout::Contiguous},
    {"chunked", h5::Layout::Chunked},
    {"gzip", h5::Layout::ChunkedGzip},
}};

const Dtype* find_dtype(std::string_view name) {
    for (const Dtype& dtype : dtypes) {
        if (dtype.name == name) return &dtype;
    }
    return nullptr;
}

hid_t file_type(std::string_view name) {
    if (name == "float64") return H5T_IEEE_F64LE;
    if (name == "int8") return H5T_STD_I8LE;
    if (name == "int16") return H5T_STD_I16LE;
    if (name == "int32") return H5T_STD_I32LE;
    if (name == "int64") return H5T_STD_I64LE;
    if (name == "uint8") return H5T_STD_U8LE;
    if (name == "uint16") return H5T_STD_U16LE;
    if (name == "uint32") return H5T_STD_U32LE;
    if (name == "uint64") return H5T_STD_U64LE;
    return H5T_IEEE_F32LE;
}

/// Independent random streams: adding a model layer must not change the dataset.
enum class Stream : std::uint64_t { Features = 1, Data = 2, Weights = 3 };

std::uint64_t stream_seed(std::uint64_t seed, Stream stream) {
    // splitmix64 finalizer: nearby seeds and stream numbers give unrelated engine states.
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(stream);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
}

class Random {
public:
    explicit Random(std::uint64_t seed) : engine_(seed) {}

    /// Uniform in the open interval (0, 1): 53 random bits, never exactly 0.
    double uniform() {
        constexpr int unused_bits = 11;
        constexpr double scale = 0x1.0p-53;
        return (static_cast<double>(engine_() >> unused_bits) + 0.5) * scale;
    }

    double uniform(double low, double high) { return low + (high - low) * uniform(); }

    /// Standard normal by Box-Muller; the second value of each pair is kept for the next call.
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        constexpr double two_pi = 6.283185307179586476925;
        const double radius = std::sqrt(-2.0 * std::log(uniform()));
        const double angle = two_pi * uniform();
        spare_ = radius * std::sin(angle);
        has_spare_ = true;
        return radius * std::cos(angle);
    }

private:
    std::mt19937_64 engine_;
    bool has_spare_ = false;
    double spare_ = 0.0;
};

/// The distribution each feature is drawn from: mean + stddev * N(0, 1).
struct FeatureStats {
    std::vector<double> mean;
    std::vector<double> stddev;
};

FeatureStats feature_stats(const GenerateConfig& config) {
    Random random(stream_seed(config.seed, Stream::Features));
    const bool is_unsigned = config.dtype.rfind("uint", 0) == 0;
    FeatureStats stats;
    for (std::int64_t j = 0; j < config.features; ++j) {
        const double offset = is_unsigned ? unsigned_mean_offset : 0.0;
        stats.mean.push_back(offset + random.uniform(-feature_mean_range, feature_mean_range));
        stats.stddev.push_back(random.uniform(min_feature_std, max_feature_std));
    }
    return stats;
}

void check_model_config(const GenerateConfig& config) {
    if (config.features < 1) {
        throw ConfigError("the number of features must be at least 1, got " +
                          std::to_string(config.features));
    }
    if (config.outputs < 1) {
        throw ConfigError("the number of outputs must be at least 1, got " +
                          std::to_string(config.outputs));
    }
    for (std::int64_t width : config.hidden) {
        if (width < 1) {
            throw ConfigError("every hidden layer width must be at least 1, got " +
                              std::to_string(width));
        }
    }
}

void check_generate_config(const GenerateConfig& config) {
    if (config.data_path.empty() && config.model_path.empty()) {
        throw ConfigError("nothing to generate: give a data file path, a model file path or both");
    }
    if (config.data_path == config.model_path) {
        throw ConfigError("the data and model paths are both '" + config.data_path +
                          "'; give them different files");
    }
    check_model_config(config);
    if (config.rows < 0) {
        throw ConfigError("the number of rows must be at least 0, got " +
                          std::to_string(config.rows));
    }
    if (find_dtype(config.dtype) == nullptr) {
        throw ConfigError("unknown dtype '" + config.dtype + "'; valid dtypes are " +
                          generate_dtype_names());
    }
    if (std::none_of(layouts.begin(), layouts.end(),
                     [&](const auto& entry) { return entry.first == config.layout; })) {
        throw ConfigError("unknown layout '" + config.layout + "'; valid layouts are " +
                          generate_layout_names());
    }
    if (config.layout != "contiguous" && config.chunk_rows < 1) {
        throw ConfigError("chunk rows must be at least 1, got " +
                          std::to_string(config.chunk_rows));
    }
    if (config.dataset.empty() || config.dataset.back() == '/') {
        throw ConfigError("the dataset path '" + config.dataset +
                          "' does not name a dataset; use a path like /features");
    }
}

/// Refuses to replace a file without `overwrite`, and a missing directory, before any writing.
void check_target(const std::string& path, bool overwrite) {
    std::error_code error;
    if (fs::symlink_status(path, error).type() != fs::file_type::not_found && !overwrite) {
        throw ConfigError("'" + path + "' exists; pass --overwrite to replace it");
    }
    const fs::path directory = fs::path(path).parent_path();
    if (!directory.empty() && !fs::is_directory(directory, error)) {
        throw IoError("cannot write '" + path + "': the directory '" + directory.string() +
                      "' does not exist");
    }
}

/// A file written under "<dir>/.<name>.tmp-<pid>" and renamed into place by commit(); removed
/// by the destructor if never committed, so a failed run leaves no partial file behind.
class TempFile {
public:
    explicit TempFile(std::string target) : target_(std::move(target)) {
        const fs::path target_path(target_);
        const std::string name =
            "." + target_path.filename().string() + ".tmp-" + std::to_string(::getpid());
        path_ = (target_path.parent_path() / name).string();
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    TempFile(TempFile&&) = delete;
    TempFile& operator=(TempFile&&) = delete;
    ~TempFile() {
        std::error_code ignored;
        if (!committed_) fs::remove(path_, ignored);
    }

    [[nodiscard]] const std::string& path() const { return path_; }

    void commit() {
        std::error_code error;
        fs::rename(path_, target_, error);
        if (error) {
            throw IoError("cannot move '" + path_ + "' to '" + target_ + "': " + error.message());
        }
        committed_ = true;
    }

private:
    std::string target_;
    std::string path_;
    bool committed_ = false;
};

DenseLayer random_dense(Random& random, std::int64_t inputs, std::int64_t outputs) {
    DenseLayer dense{inputs, outputs, {}, {}};
    // He initialization: weight variance 2 / inputs keeps activations O(1) through ReLU layers.
    const double weight_std = std::sqrt(2.0 / static_cast<double>(inputs));
    dense.weights.resize(static_cast<std::size_t>(inputs * outputs));
    for (float& w : dense.weights) w = static_cast<float>(weight_std * random.normal());
    dense.bias.resize(static_cast<std::size_t>(outputs));
    for (float& b : dense.bias) b = static_cast<float>(bias_std * random.normal());
    return dense;
}

void write_dataset(const GenerateConfig& config, const std::string& path) {
    const FeatureStats stats = feature_stats(config);
    const Dtype& dtype = *find_dtype(config.dtype);
    const auto layout = std::find_if(layouts.begin(), layouts.end(), [&](const auto& entry) {
                            return entry.first == config.layout;
                        })->second;
    h5::Handle file = h5::create_file(path);
    {
        h5::Handle dataset =
            h5::create_dataset(file.get(), config.dataset, {config.rows, config.features},
                               file_type(dtype.name), layout, config.chunk_rows);
        Random random(stream_seed(config.seed, Stream::Data));
        const std::int64_t block_rows =
            std::clamp<std::int64_t>(max_block_values / config.features, 1, max_block_rows);
        std::vector<float> block(
            static_cast<std::size_t>(std::min(block_rows, config.rows) * config.features));
        for (std::int64_t row = 0; row < config.rows; row += block_rows) {
            const std::int64_t rows = std::min(block_rows, config.rows - row);
            for (std::int64_t i = 0; i < rows * config.features; ++i) {
                const auto j = static_cast<std::size_t>(i % config.features);
                double value = stats.mean[j] + stats.stddev[j] * random.normal();
                if (dtype.integer)
                    value = std::clamp(std::round(value), dtype.lowest, dtype.highest);
                block[static_cast<std::size_t>(i)] = static_cast<float>(value);
            }
            h5::write_rows(dataset.get(), row, rows, config.features, block.data());
        }
    }
    file.close();
}

std::string join_names(const std::vector<std::string_view>& names) {
    std::string text;
    for (std::string_view name : names) text += (text.empty() ? "" : ", ") + std::string(name);
    return text;
}

}  // namespace

std::string generate_dtype_names() {
    std::vector<std::string_view> names;
    for (const Dtype& dtype : dtypes) names.push_back(dtype.name);
    return join_names(names);
}

std::string generate_layout_names() {
    std::vector<std::string_view> names;
    for (const auto& entry : layouts) names.push_back(entry.first);
    return join_names(names);
}

Model random_model(const GenerateConfig& config) {
    check_model_config(config);
    Model model;
    model.input_width = config.features;
    model.producer = "h5infer generate";
    model.description = "random model for a synthetic dataset, seed " + std::to_string(config.seed);
    if (config.scaler) {
        // Standardize with the generating distribution, so the scaler is exact by construction.
        const FeatureStats stats = feature_stats(config);
        AffineLayer scaler;
        for (std::size_t j = 0; j < stats.mean.size(); ++j) {
            scaler.scale.push_back(1.0 / stats.stddev[j]);
            scaler.shift.push_back(-stats.mean[j] / stats.stddev[j]);
        }
        model.layers.emplace_back(std::move(scaler));
    }
    Random random(stream_seed(config.seed, Stream::Weights));
    std::int64_t width = config.features;
    for (std::int64_t hidden : config.hidden) {
        model.layers.emplace_back(random_dense(random, width, hidden));
        if (config.hidden_activation != Activation::Identity) {
            model.layers.emplace_back(
                ActivationLayer{config.hidden_activation, default_alpha(config.hidden_activation)});
        }
        width = hidden;
    }
    model.layers.emplace_back(random_dense(random, width, config.outputs));
    if (config.output_activation != Activation::Identity) {
        model.layers.emplace_back(
            ActivationLayer{config.output_activation, default_alpha(config.output_activation)});
    }
    return model;
}

void generate(const GenerateConfig& config) {
    check_generate_config(config);
    if (!config.data_path.empty()) check_target(config.data_path, config.overwrite);
    if (!config.model_path.empty()) check_target(config.model_path, config.overwrite);
    std::vector<std::unique_ptr<TempFile>> written;
    if (!config.data_path.empty()) {
        written.push_back(std::make_unique<TempFile>(config.data_path));
        write_dataset(config, written.back()->path());
    }
    if (!config.model_path.empty()) {
        written.push_back(std::make_unique<TempFile>(config.model_path));
        save_model(random_model(config), written.back()->path());
    }
    for (const auto& file : written) file->commit();
}

}  // namespace h5infer
