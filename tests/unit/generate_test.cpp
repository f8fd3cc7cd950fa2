#include "h5infer/generate.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "unit/model_equal.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer {
namespace {

namespace fs = std::filesystem;

class Generate : public ::testing::Test {
protected:
    void SetUp() override {
        h5::silence_errors();
        config_.data_path = dir_.file("data.h5");
        config_.model_path = dir_.file("model.h5");
        config_.rows = 100;
        config_.features = 3;
        config_.hidden = {5, 4};
        config_.outputs = 2;
    }

    /// The whole generated dataset; dims receives its shape.
    [[nodiscard]] std::vector<float> read_data(std::vector<std::int64_t>& dims) const {
        h5::Handle file = h5::open_file(config_.data_path);
        h5::Handle dataset = h5::open_dataset(file.get(), config_.dataset);
        return h5::read_all(dataset.get(), dims);
    }

    [[nodiscard]] std::vector<std::string> directory_entries() const {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(dir_.path())) {
            names.push_back(entry.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    /// The message of the ConfigError generate() throws, or "" if it throws nothing.
    [[nodiscard]] std::string config_error() const {
        try {
            generate(config_);
        } catch (const ConfigError& error) {
            return error.what();
        }
        return "";
    }

    testing::TempDir dir_;
    GenerateConfig config_;
};

TEST_F(Generate, SameSeedGivesSameModel) {
    EXPECT_TRUE(testing::models_equal(random_model(config_), random_model(config_)));
    GenerateConfig other = config_;
    other.seed = config_.seed + 1;
    EXPECT_FALSE(testing::models_equal(random_model(config_), random_model(other)));
}

TEST_F(Generate, SameSeedGivesSameData) {
    std::vector<std::int64_t> dims;
    generate(config_);
    const std::vector<float> first = read_data(dims);
    config_.overwrite = true;
    generate(config_);
    EXPECT_EQ(read_data(dims), first);
    config_.seed += 1;
    generate(config_);
    EXPECT_NE(read_data(dims), first);
}

TEST_F(Generate, WritesTheRandomModel) {
    generate(config_);
    EXPECT_TRUE(testing::models_equal(load_model(config_.model_path), random_model(config_)));
}

TEST_F(Generate, ModelHasScalerHiddenAndOutputLayers) {
    const Model model = random_model(config_);
    ASSERT_EQ(model.layers.size(), 7U);
    EXPECT_TRUE(std::holds_alternative<AffineLayer>(model.layers[0]));
    EXPECT_EQ(std::get<DenseLayer>(model.layers[1]).outputs, 5);
    EXPECT_EQ(std::get<ActivationLayer>(model.layers[2]).function, Activation::Relu);
    EXPECT_EQ(std::get<DenseLayer>(model.layers[3]).outputs, 4);
    EXPECT_EQ(std::get<ActivationLayer>(model.layers[4]).function, Activation::Relu);
    EXPECT_EQ(std::get<DenseLayer>(model.layers[5]).outputs, 2);
    EXPECT_EQ(std::get<ActivationLayer>(model.layers[6]).function, Activation::Softmax);
    EXPECT_NO_THROW(validate(model));
}

TEST_F(Generate, IdentityAndNoScalerAddNoLayers) {
    config_.scaler = false;
    config_.hidden = {};
    config_.output_activation = Activation::Identity;
    const Model model = random_model(config_);
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(std::get<DenseLayer>(model.layers[0]).inputs, 3);
    EXPECT_EQ(std::get<DenseLayer>(model.layers[0]).outputs, 2);
}

TEST_F(Generate, ScalerStandardizesTheDataInEveryBlock) {
    config_.rows = 70000;  // more than one 65536-row write block
    config_.model_path.clear();
    generate(config_);
    std::vector<std::int64_t> dims;
    const std::vector<float> data = read_data(dims);
    const Model model = random_model(config_);
    const auto& scaler = std::get<AffineLayer>(model.layers[0]);
    for (const auto& [begin, end] : {std::pair<std::int64_t, std::int64_t>{0, 65536},
                                     std::pair<std::int64_t, std::int64_t>{65536, 70000}}) {
        for (std::size_t j = 0; j < 3; ++j) {
            double sum = 0;
            double sum_squares = 0;
            for (std::int64_t row = begin; row < end; ++row) {
                const double x =
                    data[static_cast<std::size_t>(row) * 3 + j] * scaler.scale[j] + scaler.shift[j];
                sum += x;
                sum_squares += x * x;
            }
            const auto n = static_cast<double>(end - begin);
            EXPECT_NEAR(sum / n, 0.0, 0.06) << "feature " << j << " rows " << begin;
            EXPECT_NEAR(std::sqrt(sum_squares / n - (sum / n) * (sum / n)), 1.0, 0.06)
                << "feature " << j << " rows " << begin;
        }
    }
}

TEST_F(Generate, WritesEveryDtype) {
    config_.model_path.clear();
    config_.overwrite = true;
    for (const char* dtype : {"float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                              "uint16", "uint32", "uint64"}) {
        config_.dtype = dtype;
        generate(config_);
        h5::Handle file = h5::open_file(config_.data_path);
        h5::Handle dataset = h5::open_dataset(file.get(), config_.dataset);
        EXPECT_EQ(h5::dataset_info(dataset.get()).type_description, dtype);
        std::vector<std::int64_t> dims;
        const std::vector<float> data = h5::read_all(dataset.get(), dims);
        EXPECT_EQ(dims, (std::vector<std::int64_t>{100, 3}));
        const bool integer = dtype[0] != 'f';
        const bool is_unsigned = dtype[0] == 'u';
        bool fractional = false;
        for (float v : data) {
            if (integer) {
                EXPECT_EQ(v, std::round(v)) << dtype;
            }
            if (is_unsigned) {
                EXPECT_GT(v, 0.0F) << dtype;
            }
            fractional = fractional || v != std::round(v);
        }
        EXPECT_EQ(fractional, !integer) << dtype;
    }
    EXPECT_NE(generate_dtype_names().find("uint64"), std::string::npos);
}

TEST_F(Generate, WritesEveryLayout) {
    config_.model_path.clear();
    config_.overwrite = true;
    config_.chunk_rows = 16;
    const std::pair<const char*, h5::Layout> cases[] = {{"contiguous", h5::Layout::Contiguous},
                                                        {"chunked", h5::Layout::Chunked},
                                                        {"gzip", h5::Layout::ChunkedGzip}};
    for (const auto& [name, layout] : cases) {
        config_.layout = name;
        generate(config_);
        h5::Handle file = h5::open_file(config_.data_path);
        h5::Handle dataset = h5::open_dataset(file.get(), config_.dataset);
        EXPECT_EQ(h5::dataset_layout(dataset.get()), layout) << name;
        const std::vector<std::int64_t> expected_chunk = layout == h5::Layout::Contiguous
                                                             ? std::vector<std::int64_t>{}
                                                             : std::vector<std::int64_t>{16, 3};
        EXPECT_EQ(h5::chunk_dims(dataset.get()), expected_chunk) << name;
    }
}

TEST_F(Generate, CreatesGroupsOfTheDatasetPath) {
    config_.dataset = "/inputs/batch/features";
    generate(config_);
    std::vector<std::int64_t> dims;
    EXPECT_EQ(read_data(dims).size(), 300U);
}

TEST_F(Generate, ZeroRowsWritesAnEmptyDataset) {
    config_.rows = 0;
    config_.layout = "gzip";
    generate(config_);
    std::vector<std::int64_t> dims;
    EXPECT_TRUE(read_data(dims).empty());
    EXPECT_EQ(dims, (std::vector<std::int64_t>{0, 3}));
}

TEST_F(Generate, RefusesExistingFiles) {
    std::ofstream(config_.model_path) << "keep me";
    const std::string message = config_error();
    EXPECT_EQ(message, "'" + config_.model_path + "' exists; pass --overwrite to replace it");
    EXPECT_FALSE(fs::exists(config_.data_path)) << "nothing is written when a target exists";
    EXPECT_EQ(fs::file_size(config_.model_path), 7U);
}

TEST_F(Generate, OverwriteReplacesExistingFiles) {
    std::ofstream(config_.data_path) << "old";
    config_.overwrite = true;
    generate(config_);
    EXPECT_TRUE(h5::is_hdf5(config_.data_path));
}

TEST_F(Generate, LeavesNoTemporaryFileAfterSuccess) {
    generate(config_);
    EXPECT_EQ(directory_entries(), (std::vector<std::string>{"data.h5", "model.h5"}));
}

TEST_F(Generate, RemovesTemporaryFilesAfterFailure) {
    // Renaming a finished file onto a directory fails after both temporary files are written.
    config_.data_path = dir_.file("occupied");
    fs::create_directories(dir_.file("occupied/inside"));
    config_.overwrite = true;
    EXPECT_THROW(generate(config_), IoError);
    EXPECT_EQ(directory_entries(), (std::vector<std::string>{"occupied"}));
}

TEST_F(Generate, MissingDirectoryIsAnIoError) {
    config_.data_path = dir_.file("missing/data.h5");
    EXPECT_THROW(generate(config_), IoError);
}

TEST_F(Generate, RejectsBadValues) {
    const GenerateConfig good = config_;
    const auto expect_error = [&](const std::string& part) {
        const std::string message = config_error();
        EXPECT_NE(message.find(part), std::string::npos) << "no '" << part << "' in: " << message;
        config_ = good;
    };
    config_.rows = -1;
    expect_error("rows must be at least 0");
    config_.features = 0;
    expect_error("features must be at least 1");
    config_.outputs = 0;
    expect_error("outputs must be at least 1");
    config_.hidden = {4, 0};
    expect_error("hidden layer width must be at least 1");
    config_.dtype = "float16";
    expect_error("unknown dtype 'float16'; valid dtypes are float32, float64, int8");
    config_.layout = "zip";
    expect_error("unknown layout 'zip'; valid layouts are contiguous, chunked, gzip");
    config_.layout = "chunked";
    config_.chunk_rows = 0;
    expect_error("chunk rows must be at least 1");
    config_.data_path = config_.model_path;
    expect_error("give them different files");
    config_.data_path.clear();
    config_.model_path.clear();
    expect_error("nothing to generate");
    EXPECT_EQ(directory_entries(), std::vector<std::string>{});
}

TEST_F(Generate, RandomModelRejectsBadWidths) {
    config_.hidden = {0};
    EXPECT_THROW((void)random_model(config_), ConfigError);
}

}  // namespace
}  // namespace h5infer
