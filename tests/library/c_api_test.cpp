// The C library API (h5infer.h in libh5infer.so): status codes, this thread's last error,
// names and labels, and the bits of `h5infer run`.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <thread>

#include "h5infer/h5infer.h"
#include "library/fixtures.hpp"

namespace h5infer::testing {
namespace {

struct Free {
    void operator()(h5infer_predictor* predictor) const { h5infer_free(predictor); }
};
using Owned = std::unique_ptr<h5infer_predictor, Free>;

Owned load(const std::string& path, int threads = 1, const char* backend = nullptr,
           std::int64_t chunk_rows = 0) {
    h5infer_predictor* predictor = nullptr;
    const int status =
        h5infer_load_with(path.c_str(), threads, backend, nullptr, chunk_rows, &predictor);
    EXPECT_EQ(status, H5INFER_OK) << h5infer_last_error();
    return Owned(predictor);
}

std::vector<float> predicted(h5infer_predictor* predictor, const Matrix& rows) {
    std::vector<float> dst(static_cast<std::size_t>(rows.rows * 5));
    const int status =
        h5infer_predict(predictor, rows.values.data(), rows.rows, rows.cols, dst.data(), 5);
    EXPECT_EQ(status, H5INFER_OK) << h5infer_last_error();
    return dst;
}

// A failed call: its status and the words of this thread's last error.
void expect_failure(int status, int want, const std::string& words) {
    EXPECT_EQ(status, want) << h5infer_last_error();
    EXPECT_NE(std::string(h5infer_last_error()).find(words), std::string::npos)
        << h5infer_last_error();
}

TEST(CApi, TellsWidthsFeatureNamesAndLabels) {
    TempDir dir;
    named_model(dir, 10, 4);
    const Owned predictor = load(dir / "model.h5", 2);
    std::int64_t value = -1;
    ASSERT_EQ(h5infer_input_width(predictor.get(), &value), H5INFER_OK);
    EXPECT_EQ(value, 4);
    ASSERT_EQ(h5infer_output_width(predictor.get(), &value), H5INFER_OK);
    EXPECT_EQ(value, 5);
    ASSERT_EQ(h5infer_feature_count(predictor.get(), &value), H5INFER_OK);
    EXPECT_EQ(value, 4);
    const char* name = nullptr;
    ASSERT_EQ(h5infer_feature_name(predictor.get(), 3, &name), H5INFER_OK);
    EXPECT_STREQ(name, "f3");
    ASSERT_EQ(h5infer_label_count(predictor.get(), &value), H5INFER_OK);
    EXPECT_EQ(value, 5);
    ASSERT_EQ(h5infer_label(predictor.get(), 4, &name), H5INFER_OK);
    EXPECT_STREQ(name, "epsilon");
    expect_failure(h5infer_label(predictor.get(), 5, &name), H5INFER_ERROR_USAGE,
                   "label index 5 is out of range: the model has 5 labels");
    expect_failure(h5infer_feature_name(predictor.get(), -1, &name), H5INFER_ERROR_USAGE,
                   "feature name index -1 is out of range: the model has 4 feature names");
    EXPECT_STREQ(h5infer_version(), "0.1.0");
}

TEST(CApi, AModelWithoutNamesHasNone) {
    TempDir dir;
    GenerateConfig config = named_model(dir, 10);
    config.data_path.clear();
    config.overwrite = true;
    generate(config);  // the same model without its names
    const Owned predictor = load(dir / "model.h5");
    std::int64_t count = -1;
    ASSERT_EQ(h5infer_feature_count(predictor.get(), &count), H5INFER_OK);
    EXPECT_EQ(count, 0);
    ASSERT_EQ(h5infer_label_count(predictor.get(), &count), H5INFER_OK);
    EXPECT_EQ(count, 0);
}

TEST(CApi, MatchesTheReferenceWithinToleranceAndRunBitwise) {
    TempDir dir;
    named_model(dir, 1777);
    const Matrix input = read_matrix(dir / "data.h5", "/features");
    const Owned onednn = load(dir / "model.h5", 2, "onednn", 500);
    const Owned reference = load(dir / "model.h5", 1, "reference", 500);
    const Matrix got{input.rows, 5, predicted(onednn.get(), input)};
    const Matrix want{input.rows, 5, predicted(reference.get(), input)};
    EXPECT_LE(max_scaled_error(got, want), 1e-5);
    EXPECT_TRUE(bitwise_equal(got, run_predictions(dir, {"--chunk-rows", "500"}, 2)));
    EXPECT_TRUE(bitwise_equal(
        want, run_predictions(dir, {"--chunk-rows", "500", "--backend", "reference"})));
    const Owned defaults = load(dir / "model.h5", 1);
    EXPECT_TRUE(same_bits(predicted(defaults.get(), input), run_predictions(dir, {})));
}

TEST(CApi, NanRowsGiveNanPredictions) {
    TempDir dir;
    named_model(dir, 40);
    Matrix input = read_matrix(dir / "data.h5", "/features");
    input.values[9 * 13] = std::numeric_limits<float>::quiet_NaN();
    const Owned predictor = load(dir / "model.h5", 2);
    const std::vector<float> got = predicted(predictor.get(), input);
    for (std::int64_t col = 0; col < 5; ++col) EXPECT_TRUE(std::isnan(got[9 * 5 + col]));
    EXPECT_FALSE(std::isnan(got[8 * 5]));
}

TEST(CApi, RefusesAMissingFileAndAFileThatIsNotAModel) {
    TempDir dir;
    named_model(dir, 10);
    int sentinel = 0;
    auto* predictor = reinterpret_cast<h5infer_predictor*>(&sentinel);  // NULL after a failure
    expect_failure(h5infer_load((dir / "missing.h5").c_str(), 1, &predictor), H5INFER_ERROR_MODEL,
                   "model file '" + (dir / "missing.h5") + "' does not exist");
    EXPECT_EQ(predictor, nullptr);
    std::ofstream(dir / "notes.txt") << "not a model\n";
    expect_failure(h5infer_load((dir / "notes.txt").c_str(), 1, &predictor), H5INFER_ERROR_MODEL,
                   "notes.txt");
    expect_failure(h5infer_load((dir / "data.h5").c_str(), 1, &predictor), H5INFER_ERROR_MODEL,
                   "data.h5");
    expect_failure(h5infer_load(nullptr, 1, &predictor), H5INFER_ERROR_USAGE,
                   "the model path is a null pointer");
    expect_failure(h5infer_load((dir / "model.h5").c_str(), 1, nullptr), H5INFER_ERROR_USAGE,
                   "the predictor's address is a null pointer");
    expect_failure(h5infer_load_with((dir / "model.h5").c_str(), 1, "gpu", nullptr, 0, &predictor),
                   H5INFER_ERROR_USAGE, "unknown backend 'gpu'");
    expect_failure(h5infer_load((dir / "model.h5").c_str(), -2, &predictor), H5INFER_ERROR_USAGE,
                   "threads must be 0");
}

TEST(CApi, RefusesRowsOfTheWrongWidthAndNullPointers) {
    TempDir dir;
    named_model(dir, 10);
    const Owned predictor = load(dir / "model.h5");
    std::vector<float> src(2 * 13);
    std::vector<float> dst(2 * 5);
    expect_failure(h5infer_predict(predictor.get(), src.data(), 2, 12, dst.data(), 5),
                   H5INFER_ERROR_INPUT,
                   "the input rows are 12 values wide, but the model has 13 features per row");
    expect_failure(h5infer_predict(predictor.get(), src.data(), 2, 13, dst.data(), 4),
                   H5INFER_ERROR_INPUT,
                   "the output rows are 4 values wide, but the model has 5 predictions per row");
    expect_failure(h5infer_predict(predictor.get(), nullptr, 2, 13, dst.data(), 5),
                   H5INFER_ERROR_USAGE, "the input rows are a null pointer");
    expect_failure(h5infer_predict(predictor.get(), src.data(), -1, 13, dst.data(), 5),
                   H5INFER_ERROR_USAGE, "rows must be 0 or more, not -1");
    expect_failure(h5infer_predict(nullptr, src.data(), 2, 13, dst.data(), 5), H5INFER_ERROR_USAGE,
                   "the predictor is a null pointer");
    std::int64_t width = 0;
    expect_failure(h5infer_input_width(nullptr, &width), H5INFER_ERROR_USAGE,
                   "the predictor is a null pointer");
    expect_failure(h5infer_output_width(predictor.get(), nullptr), H5INFER_ERROR_USAGE,
                   "the width's address is a null pointer");
    EXPECT_EQ(h5infer_predict(predictor.get(), nullptr, 0, 13, nullptr, 5), H5INFER_OK);
    h5infer_free(nullptr);
}

TEST(CApi, TheLastErrorIsPerThread) {
    TempDir dir;
    h5infer_predictor* predictor = nullptr;
    expect_failure(h5infer_load((dir / "here.h5").c_str(), 1, &predictor), H5INFER_ERROR_MODEL,
                   "here.h5");
    std::string other;
    std::thread([&] {
        EXPECT_STREQ(h5infer_last_error(), "");
        EXPECT_EQ(h5infer_load((dir / "there.h5").c_str(), 1, &predictor), H5INFER_ERROR_MODEL);
        other = h5infer_last_error();
    }).join();
    EXPECT_NE(other.find("there.h5"), std::string::npos) << other;
    EXPECT_NE(std::string(h5infer_last_error()).find("here.h5"), std::string::npos);
}

}  // namespace
}  // namespace h5infer::testing
