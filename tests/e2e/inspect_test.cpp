// End-to-end: `h5infer inspect` on models, data files and files that are neither.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "e2e/cli_runner.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "model/describe.hpp"

namespace h5infer::testing {
namespace {

GenerateConfig small_job(const TempDir& dir) {
    GenerateConfig config;
    config.data_path = dir / "data.h5";
    config.dataset = "/run/detector/features";
    config.model_path = dir / "model.h5";
    config.rows = 1009;
    config.features = 13;
    config.hidden = {31, 17};
    config.outputs = 5;
    config.hidden_activation = Activation::Tanh;
    config.layout = "gzip";
    config.chunk_rows = 64;
    return config;
}

TEST(Inspect, DescribesAGeneratedModel) {
    TempDir dir;
    generate(small_job(dir));
    const CommandResult result = run_h5infer({"inspect", dir / "model.h5"}, {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::string& out = result.out;
    EXPECT_NE(out.find("model:       " + (dir / "model.h5") + "\n"), std::string::npos) << out;
    EXPECT_NE(out.find("format:      h5infer-model version 1\n"), std::string::npos) << out;
    EXPECT_NE(out.find("sha256:      " + file_sha256(dir / "model.h5") + "\n"), std::string::npos)
        << out;
    EXPECT_NE(out.find("producer:    h5infer generate\n"), std::string::npos) << out;
    EXPECT_NE(out.find("description: random model"), std::string::npos) << out;
    EXPECT_NE(out.find("dense           13       31  -"), std::string::npos) << out;
    EXPECT_NE(out.find("activation      31       31  tanh"), std::string::npos) << out;
    const Model model = load_model(dir / "model.h5");
    EXPECT_NE(out.find("total: " + std::to_string(model.layers.size()) + " layers, 13 inputs -> " +
                       "5 outputs, " + std::to_string(parameter_count(model)) + " parameters, " +
                       std::to_string(flops_per_row(model)) + " FLOPs per row\n"),
              std::string::npos)
        << out;
    EXPECT_EQ(count_occurrences(out, "total:"), 1U) << "printed by rank 0 only";
}

TEST(Inspect, ListsTheDatasetsOfADataFile) {
    TempDir dir;
    generate(small_job(dir));
    {
        h5::Handle file = h5::open_file(dir / "data.h5", true);
        h5::Handle ids = h5::create_dataset(file.get(), "/meta/ids", {10}, H5T_IEEE_F64LE);
        const std::vector<float> values(10, 1.0F);
        h5::write_all(ids.get(), values.data());
    }
    const CommandResult result = run_h5infer({"inspect", dir / "data.h5"}, {1});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::string& out = result.out;
    EXPECT_NE(out.find("data: " + (dir / "data.h5") + "\n"), std::string::npos) << out;
    EXPECT_NE(out.find("/meta/ids               10         float64  contiguous\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("/run/detector/features  1009 x 13  float32  chunked 64x13, "
                       "shuffle+deflate\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("2 datasets; `run --input " + (dir / "data.h5") +
                       "` reads /run/detector/features, the only 2-D one"),
              std::string::npos)
        << out;
}

TEST(Inspect, SaysWhenNoDatasetIsTheDefaultInput) {
    TempDir dir;
    {
        h5::Handle file = h5::create_file(dir / "two.h5");
        h5::Handle a = h5::create_dataset(file.get(), "/a", {2, 3}, H5T_IEEE_F32LE);
        h5::Handle b = h5::create_dataset(file.get(), "/b", {4, 3}, H5T_STD_I16LE);
    }
    const CommandResult result = run_h5infer({"inspect", dir / "two.h5"}, {1});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("/b       4 x 3  int16"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("2 datasets, 2 of them 2-D; name one with `run --input"),
              std::string::npos)
        << result.out;
}

TEST(Inspect, RefusesAFileThatIsNeitherModelNorHdf5) {
    TempDir dir;
    std::ofstream(dir / "notes.txt") << "not a model\n";
    const CommandResult result = run_h5infer({"inspect", dir / "notes.txt"}, {2});
    EXPECT_EQ(result.exit_code, 3) << result.err;
    EXPECT_NE(result.err.find("cannot inspect '" + (dir / "notes.txt") +
                              "', which is not an HDF5 data file: model file '" +
                              (dir / "notes.txt") + "' is neither an h5infer model"),
              std::string::npos)
        << result.err;
    EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
}

TEST(Inspect, DescribesAnOnnxModel) {
    const std::string onnx = std::string(H5INFER_ONNX_FIXTURES) + "/relu.onnx";
    ASSERT_TRUE(std::filesystem::exists(onnx)) << onnx << " is missing";
    const CommandResult result = run_h5infer({"inspect", onnx}, {1});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::string& out = result.out;
    EXPECT_NE(out.find("model:       " + onnx + "\n"), std::string::npos) << out;
    EXPECT_NE(out.find("format:      ONNX\n"), std::string::npos) << out;
    EXPECT_NE(out.find("sha256:      " + file_sha256(onnx) + "\n"), std::string::npos) << out;
    EXPECT_NE(out.find("(ONNX, opset 17)"), std::string::npos) << out;
    const Model model = read_model(onnx);
    EXPECT_NE(out.find(std::to_string(parameter_count(model)) + " parameters, " +
                       std::to_string(flops_per_row(model)) + " FLOPs per row\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("  relu  "), std::string::npos) << out;
}

TEST(Inspect, RefusesAMissingFile) {
    TempDir dir;
    const CommandResult result = run_h5infer({"inspect", dir / "nope.h5"}, {1});
    EXPECT_EQ(result.exit_code, 4) << result.err;
    EXPECT_NE(result.err.find("nope.h5': No such file"), std::string::npos) << result.err;
}

TEST(Inspect, ReportsAnInvalidModelAsAModelError) {
    TempDir dir;
    {
        h5::Handle file = h5::create_file(dir / "broken.h5");
        h5::write_attribute(file.get(), "format", std::string("h5infer-model"));
        h5::write_attribute(file.get(), "format_version", std::int64_t{1});
    }
    const CommandResult result = run_h5infer({"inspect", dir / "broken.h5"}, {1});
    EXPECT_EQ(result.exit_code, 3) << result.err;
    EXPECT_NE(result.err.find("broken.h5"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace h5infer::testing
