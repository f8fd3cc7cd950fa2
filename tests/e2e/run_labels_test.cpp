// End-to-end: class labels carried from the model into the prediction file, and `--labels`
// writing the predicted label of every row, on 1, 3 and 4 ranks (4: a rank without rows).
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "e2e/cli_runner.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer::testing {
namespace {

constexpr std::int64_t rows = 250;  // 3 chunks of 100: the fourth rank has none

// A generated 3-class softmax model with `labels` added.
void make_job(const TempDir& dir, const std::vector<std::string>& labels) {
    GenerateConfig config;
    config.data_path = dir / "data.h5";
    config.model_path = dir / "model.h5";
    config.rows = rows;
    config.features = 6;
    config.hidden = {9};
    config.outputs = 3;
    generate(config);
    Model model = load_model(config.model_path);
    model.labels = labels;
    save_model(model, config.model_path);
}

CommandResult run_with_labels(const TempDir& dir, const std::string& output, int ranks) {
    return run_h5infer({"run", "--model", dir / "model.h5", "--input", dir / "data.h5:/features",
                        "--output", output, "--chunk-rows", "100", "--labels", "--quiet"},
                       {ranks});
}

// The index of the largest prediction of each row (predictions have no ties or NaN here).
std::vector<std::size_t> argmax(const Matrix& predictions) {
    std::vector<std::size_t> best(static_cast<std::size_t>(predictions.rows), 0);
    for (std::int64_t r = 0; r < predictions.rows; ++r) {
        for (std::int64_t c = 1; c < predictions.cols; ++c) {
            if (predictions.values[r * predictions.cols + c] >
                predictions.values[r * predictions.cols + best[r]]) {
                best[r] = static_cast<std::size_t>(c);
            }
        }
    }
    return best;
}

std::vector<std::int64_t> read_int64(hid_t location, const std::string& name, bool attribute) {
    const hid_t object = attribute ? H5Aopen(location, name.c_str(), H5P_DEFAULT)
                                   : H5Dopen2(location, name.c_str(), H5P_DEFAULT);
    const hid_t space = attribute ? H5Aget_space(object) : H5Dget_space(object);
    const hid_t type = attribute ? H5Aget_type(object) : H5Dget_type(object);
    EXPECT_EQ(H5Tget_class(type), H5T_INTEGER) << name;
    EXPECT_EQ(H5Tget_size(type), 8U) << name;
    std::vector<std::int64_t> values(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)));
    if (attribute) {
        H5Aread(object, H5T_NATIVE_INT64, values.data());
    } else {
        H5Dread(object, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    }
    H5Tclose(type);
    H5Sclose(space);
    attribute ? H5Aclose(object) : H5Dclose(object);
    return values;
}

std::vector<std::string> read_fixed_strings(hid_t file, const std::string& name) {
    const hid_t dataset = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
    const hid_t space = H5Dget_space(dataset);
    const hid_t type = H5Dget_type(dataset);
    EXPECT_EQ(H5Tget_class(type), H5T_STRING);
    EXPECT_LE(H5Tis_variable_str(type), 0) << "parallel HDF5 writes fixed-length strings only";
    const std::size_t size = H5Tget_size(type);
    const auto count = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space));
    std::string buffer(size * count, '\0');
    H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data());
    std::vector<std::string> values;
    for (std::size_t i = 0; i < count; ++i) {
        std::string value = buffer.substr(i * size, size);
        values.push_back(value.substr(0, value.find('\0')));
    }
    H5Tclose(type);
    H5Sclose(space);
    H5Dclose(dataset);
    return values;
}

TEST(Labels, IntegerLabelsAreWrittenAsInt64OnOneThreeAndFourRanks) {
    TempDir dir;
    const std::vector<std::int64_t> classes = {-1, 7, 42};
    make_job(dir, {"-1", "7", "42"});
    for (int ranks : {1, 3, 4}) {
        SCOPED_TRACE(std::to_string(ranks) + " ranks");
        const std::string output = dir / ("preds" + std::to_string(ranks) + ".h5");
        const CommandResult result = run_with_labels(dir, output, ranks);
        ASSERT_EQ(result.exit_code, 0) << result.err;
        const std::vector<std::size_t> best = argmax(read_matrix(output, "/predictions"));
        h5::Handle file = h5::open_file(output);
        const std::vector<std::int64_t> labels = read_int64(file.get(), "/labels", false);
        ASSERT_EQ(labels.size(), static_cast<std::size_t>(rows));
        for (std::size_t r = 0; r < labels.size(); ++r) {
            ASSERT_EQ(labels[r], classes[best[r]]) << "row " << r;
        }
        h5::Handle predictions = h5::open_dataset(file.get(), "/predictions");
        EXPECT_EQ(read_int64(predictions.get(), "labels", true), classes);
    }
}

TEST(Labels, TextLabelsAreWrittenAsFixedLengthStringsOnOneThreeAndFourRanks) {
    TempDir dir;
    const std::vector<std::string> classes = {"setosa", "versicolor", "\xc3\xa9t\xc3\xa9"};
    make_job(dir, classes);
    for (int ranks : {1, 3, 4}) {
        SCOPED_TRACE(std::to_string(ranks) + " ranks");
        const std::string output = dir / ("preds" + std::to_string(ranks) + ".h5");
        const CommandResult result = run_with_labels(dir, output, ranks);
        ASSERT_EQ(result.exit_code, 0) << result.err;
        const std::vector<std::size_t> best = argmax(read_matrix(output, "/predictions"));
        h5::Handle file = h5::open_file(output);
        const std::vector<std::string> labels = read_fixed_strings(file.get(), "/labels");
        ASSERT_EQ(labels.size(), static_cast<std::size_t>(rows));
        for (std::size_t r = 0; r < labels.size(); ++r) {
            ASSERT_EQ(labels[r], classes[best[r]]) << "row " << r;
        }
        h5::Handle predictions = h5::open_dataset(file.get(), "/predictions");
        EXPECT_EQ(h5::read_string_list_attribute(predictions.get(), "labels"), classes);
    }
}

// Rows 0, 10, 20, ... of the data get a NaN, an infinity or a negative infinity.
void spoil_rows(const TempDir& dir) {
    h5::Handle file = h5::open_file(dir / "data.h5", true);
    h5::Handle dataset = h5::open_dataset(file.get(), "/features");
    std::vector<std::int64_t> dims;
    std::vector<float> values = h5::read_all(dataset.get(), dims);
    const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity()};
    for (std::int64_t r = 0; r < dims[0]; r += 10) {
        values[r * dims[1] + (r / 10) % dims[1]] = specials[(r / 10) % 3];
    }
    h5::write_all(dataset.get(), values.data());
}

// A row whose input holds NaN or an infinity has NaN predictions through the model's ReLU (as
// in every framework) and gets no class: the smallest int64 or the empty string, which is also
// the labels dataset's fill value.
TEST(Labels, RowsWithNanPredictionsGetNoClassOnOneAndThreeRanks) {
    for (const bool integers : {true, false}) {
        TempDir dir;
        make_job(dir, integers ? std::vector<std::string>{"-1", "7", "42"}
                               : std::vector<std::string>{"a", "bb", "c"});
        spoil_rows(dir);
        for (int ranks : {1, 3}) {
            SCOPED_TRACE(std::string(integers ? "integer" : "string") + " labels, " +
                         std::to_string(ranks) + " ranks");
            const std::string output = dir / ("preds" + std::to_string(ranks) + ".h5");
            const CommandResult result = run_with_labels(dir, output, ranks);
            ASSERT_EQ(result.exit_code, 0) << result.err;
            const Matrix predictions = read_matrix(output, "/predictions");
            h5::Handle file = h5::open_file(output);
            const std::vector<std::int64_t> numbers =
                integers ? read_int64(file.get(), "/labels", false) : std::vector<std::int64_t>{};
            const std::vector<std::string> texts =
                integers ? std::vector<std::string>{} : read_fixed_strings(file.get(), "/labels");
            for (std::int64_t r = 0; r < rows; ++r) {
                const bool spoiled = r % 10 == 0;
                for (std::int64_t c = 0; c < predictions.cols; ++c) {
                    ASSERT_EQ(std::isnan(predictions.values[r * predictions.cols + c]), spoiled)
                        << "row " << r;
                }
                if (!spoiled) continue;
                if (integers) {
                    ASSERT_EQ(numbers[r], std::numeric_limits<std::int64_t>::min()) << "row " << r;
                } else {
                    ASSERT_EQ(texts[r], "") << "row " << r;
                }
            }
            if (integers) {
                h5::Handle labels = h5::open_dataset(file.get(), "/labels");
                h5::Handle plist(H5Dget_create_plist(labels.get()));
                std::int64_t fill = 0;
                H5Pget_fill_value(plist.get(), H5T_NATIVE_INT64, &fill);
                EXPECT_EQ(fill, std::numeric_limits<std::int64_t>::min());
            }
        }
    }
}

TEST(Labels, WithoutTheFlagOnlyTheAttributeIsWritten) {
    TempDir dir;
    make_job(dir, {"a", "b", "c"});
    const std::string output = dir / "preds.h5";
    const CommandResult result =
        run_h5infer({"run", "--model", dir / "model.h5", "--input", dir / "data.h5:/features",
                     "--output", output, "--quiet"},
                    {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    h5::Handle file = h5::open_file(output);
    EXPECT_EQ(h5::object_type(file.get(), "/labels"), h5::ObjectType::Missing);
    h5::Handle predictions = h5::open_dataset(file.get(), "/predictions");
    EXPECT_EQ(h5::read_string_list_attribute(predictions.get(), "labels"),
              (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Labels, OutputDatasetNamedLabelsIsAUsageError) {
    TempDir dir;
    make_job(dir, {"a", "b", "c"});
    const CommandResult result = run_with_labels(dir, dir / "preds.h5:/labels", 2);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find("choose another --output dataset"), std::string::npos) << result.err;
    EXPECT_FALSE(list_dir(dir.path()).empty());
    for (const std::string& name : list_dir(dir.path())) {
        EXPECT_EQ(name.find("preds"), std::string::npos) << name << " left behind";
    }
}

}  // namespace
}  // namespace h5infer::testing
