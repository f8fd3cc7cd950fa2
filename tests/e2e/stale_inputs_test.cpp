// Inputs whose values live in other files (virtual datasets, external links, external storage,
// ONNX external data) and inputs with rows never written: a change to any file the predictions
// come from makes a rerun recompute and a resume start over, and rows never written are refused
// (or, on request, predicted as NaN) instead of being predicted from the fill value.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"
#include "io/output.hpp"

namespace h5infer::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t rows = 300;
constexpr std::int64_t cols = 7;
constexpr std::int64_t half = rows / 2;

class StaleInputs : public ::testing::Test {
protected:
    void SetUp() override {
        GenerateConfig config;
        config.data_path = dir_ / "data.h5";
        config.model_path = dir_ / "model.h5";
        config.rows = rows;
        config.features = cols;
        config.hidden = {11};
        config.outputs = 3;
        generate(config);
        data_ = read_matrix(dir_ / "data.h5", "/features").values;
        fs::create_directory(out_dir());
    }

    std::string out_dir() const { return dir_ / "out"; }

    // `h5infer run` on one rank in chunks of 50 rows, so a partial file has six chunks.
    CommandResult run(const std::string& model, const std::string& input, const std::string& output,
                      std::vector<std::string> extra = {}) const {
        std::vector<std::string> args{"run",      "--model", model,          "--input", input,
                                      "--output", output,    "--chunk-rows", "50"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_h5infer(args, {1});
    }

    // Rows [begin, end) of the data times `scale`, as a contiguous float32 dataset /x.
    std::string write_rows(const std::string& name, std::int64_t begin, std::int64_t end,
                           float scale = 1) const {
        std::vector<float> values(data_.begin() + begin * cols, data_.begin() + end * cols);
        for (float& value : values) value *= scale;
        const std::string path = dir_ / name;
        h5::Handle file = h5::create_file(path);
        h5::Handle dataset =
            h5::create_dataset(file.get(), "/x", {end - begin, cols}, H5T_IEEE_F32LE);
        h5::write_all(dataset.get(), values.data());
        return path;
    }

    // /x of vds.h5: rows 0..150 from a.h5:/x and 150..300 from b.h5:/x.
    std::string write_virtual() const {
        const std::string path = dir_ / "vds.h5";
        h5::Handle file = h5::create_file(path);
        const std::array<hsize_t, 2> dims{rows, cols};
        const std::array<hsize_t, 2> source_dims{half, cols};
        h5::Handle space(H5Screate_simple(2, dims.data(), nullptr));
        h5::Handle source_space(H5Screate_simple(2, source_dims.data(), nullptr));
        h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        for (const auto& [name, first] :
             {std::pair{"a.h5", std::int64_t{0}}, std::pair{"b.h5", half}}) {
            const std::array<hsize_t, 2> start{static_cast<hsize_t>(first), 0};
            H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                source_dims.data(), nullptr);
            H5Pset_virtual(dcpl.get(), space.get(), (dir_ / name).c_str(), "/x",
                           source_space.get());
        }
        h5::Handle all(H5Screate_simple(2, dims.data(), nullptr));
        h5::Handle dataset(H5Dcreate2(file.get(), "/x", H5T_IEEE_F32LE, all.get(), H5P_DEFAULT,
                                      dcpl.get(), H5P_DEFAULT));
        return path;
    }

    // /x of a new file made by `make(file)`.
    template <typename Make>
    std::string data_file(const std::string& name, Make make) const {
        const std::string path = dir_ / name;
        h5::Handle file = h5::create_file(path);
        make(file.get());
        return path;
    }

    // The predictions of the same rows read from an ordinary dataset.
    std::string fresh_predictions(const std::string& plain_input) const {
        const std::string output = dir_ / "fresh.h5";
        const CommandResult fresh = run(dir_ / "model.h5", plain_input, output, {"--overwrite"});
        EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
        return output;
    }

    // Turns a complete prediction file into the partial file of a run stopped after its first
    // three chunks of six, as a stop signal leaves it.
    static void make_partial(const std::string& output) {
        const std::string partial = io::partial_path(output);
        fs::rename(output, partial);
        h5::Handle file = h5::open_file(partial, true);
        h5::Handle progress =
            h5::create_dataset(file.get(), std::string(io::progress_dataset), {6}, H5T_STD_U8LE);
        const std::array<unsigned char, 6> done{1, 1, 1, 0, 0, 0};
        H5Dwrite(progress.get(), H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, done.data());
    }

    // Sets a file's modification time a minute ahead, as a later write would.
    static void touch_later(const std::string& path) {
        struct stat status {};
        ASSERT_EQ(::stat(path.c_str(), &status), 0);
        std::array<timespec, 2> times{status.st_atim, status.st_mtim};
        times[1].tv_sec += 60;
        ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times.data(), 0), 0);
    }

    // The rerun of a run whose input's data changed recomputes instead of calling the old
    // predictions up to date.
    void expect_recomputed(const std::string& input, const std::string& plain_input) const {
        const std::string output = out_dir() + "/preds.h5";
        const CommandResult rerun = run(dir_ / "model.h5", input, output, {"--overwrite"});
        ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
        EXPECT_EQ(rerun.out.find("up to date"), std::string::npos) << rerun.out;
        EXPECT_TRUE(same_predictions(output, fresh_predictions(plain_input)));
    }

    TempDir dir_;
    std::vector<float> data_;
};

TEST_F(StaleInputs, AChangedSourceOfAVirtualInputIsNotUpToDate) {
    write_rows("a.h5", 0, half);
    write_rows("b.h5", half, rows);
    const std::string input = write_virtual() + ":/x";
    const CommandResult first = run(dir_ / "model.h5", input, out_dir() + "/preds.h5");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    write_rows("b.h5", half, rows, 2);
    touch_later(dir_ / "b.h5");
    std::vector<float> changed = data_;
    for (std::size_t i = half * cols; i < changed.size(); ++i) changed[i] *= 2;
    data_ = changed;
    expect_recomputed(input, write_rows("plain.h5", 0, rows) + ":/x");
}

TEST_F(StaleInputs, AChangedExternalLinkTargetIsNotUpToDate) {
    write_rows("target.h5", 0, rows);
    const std::string input = data_file("link.h5", [&](hid_t file) {
        H5Lcreate_external((dir_ / "target.h5").c_str(), "/x", file, "/x", H5P_DEFAULT,
                           H5P_DEFAULT);
    });
    const CommandResult first = run(dir_ / "model.h5", input + ":/x", out_dir() + "/preds.h5");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    write_rows("target.h5", 0, rows, 3);
    touch_later(dir_ / "target.h5");
    for (float& value : data_) value *= 3;
    expect_recomputed(input + ":/x", write_rows("plain.h5", 0, rows) + ":/x");
}

TEST_F(StaleInputs, AChangedExternalStorageFileIsNotUpToDate) {
    const std::string raw = dir_ / "values.raw";
    const auto write_raw = [&] {
        std::ofstream(raw, std::ios::binary)
            .write(reinterpret_cast<const char*>(data_.data()),
                   static_cast<std::streamsize>(data_.size() * sizeof(float)));
    };
    write_raw();
    const std::string input = data_file("external.h5", [&](hid_t file) {
        const std::array<hsize_t, 2> dims{rows, cols};
        h5::Handle space(H5Screate_simple(2, dims.data(), nullptr));
        h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        H5Pset_external(dcpl.get(), raw.c_str(), 0, rows * cols * sizeof(float));
        h5::Handle dataset(H5Dcreate2(file, "/x", H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT,
                                      dcpl.get(), H5P_DEFAULT));
    });
    const CommandResult first = run(dir_ / "model.h5", input + ":/x", out_dir() + "/preds.h5");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    for (float& value : data_) value *= 5;
    write_raw();
    touch_later(raw);
    expect_recomputed(input + ":/x", write_rows("plain.h5", 0, rows) + ":/x");
}

TEST_F(StaleInputs, AChangedOnnxExternalDataFileIsNotUpToDate) {
    const std::string fixtures = H5INFER_ONNX_FIXTURES;
    for (const std::string name : {"external_data.onnx", "external_data.onnx.data"}) {
        fs::copy_file(fixtures + "/" + name, dir_ / name);
    }
    const std::string model = dir_ / "external_data.onnx";
    const std::string input = fixtures + "/cases.h5:/external_data/input";
    const std::string output = out_dir() + "/preds.h5";
    ASSERT_EQ(run(model, input, output).exit_code, 0);
    const std::string before = dir_ / "before.h5";
    fs::copy_file(output, before);
    // The same size, other weights: the floats in reverse order.
    std::string bytes = read_text(dir_ / "external_data.onnx.data");
    std::vector<float> weights(bytes.size() / sizeof(float));
    std::memcpy(weights.data(), bytes.data(), weights.size() * sizeof(float));
    std::reverse(weights.begin(), weights.end());
    std::memcpy(bytes.data(), weights.data(), weights.size() * sizeof(float));
    std::ofstream(dir_ / "external_data.onnx.data", std::ios::binary) << bytes;
    touch_later(dir_ / "external_data.onnx.data");

    const CommandResult rerun = run(model, input, output, {"--overwrite"});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_EQ(rerun.out.find("up to date"), std::string::npos) << rerun.out;
    const std::string fresh = dir_ / "fresh.h5";
    ASSERT_EQ(run(model, input, fresh).exit_code, 0);
    EXPECT_TRUE(same_predictions(output, fresh));
    EXPECT_FALSE(same_predictions(output, before)) << "the change did not change the model";
}

TEST_F(StaleInputs, AResumeAfterAVirtualSourceChangedStartsOver) {
    write_rows("a.h5", 0, half);
    write_rows("b.h5", half, rows);
    const std::string input = write_virtual() + ":/x";
    const std::string output = out_dir() + "/preds.h5";
    ASSERT_EQ(run(dir_ / "model.h5", input, output).exit_code, 0);
    make_partial(output);
    // The three chunks the partial file has are rows 0..150, from a.h5.
    write_rows("a.h5", 0, half, 2);
    touch_later(dir_ / "a.h5");
    for (std::size_t i = 0; i < half * cols; ++i) data_[i] *= 2;

    const CommandResult rerun = run(dir_ / "model.h5", input, output);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find("discard the partial file"), std::string::npos) << rerun.out;
    EXPECT_NE(rerun.out.find("input_data_files differs"), std::string::npos) << rerun.out;
    EXPECT_TRUE(
        same_predictions(output, fresh_predictions(write_rows("plain.h5", 0, rows) + ":/x")));
}

TEST_F(StaleInputs, AResumeWithTheSameSourcesContinues) {
    write_rows("a.h5", 0, half);
    write_rows("b.h5", half, rows);
    const std::string input = write_virtual() + ":/x";
    const std::string output = out_dir() + "/preds.h5";
    ASSERT_EQ(run(dir_ / "model.h5", input, output).exit_code, 0);
    make_partial(output);
    const CommandResult rerun = run(dir_ / "model.h5", input, output);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_NE(rerun.out.find("3 of 6 chunks already done"), std::string::npos) << rerun.out;
}

TEST_F(StaleInputs, RowsNeverWrittenArePredictedNanAndCountedWhenAskedFor) {
    const std::string input = data_file("half.h5", [&](hid_t file) {
        h5::Handle x =
            h5::create_dataset(file, "/x", {rows, cols}, H5T_IEEE_F32LE, h5::Layout::Chunked, 50);
        h5::write_rows(x.get(), 0, half, cols, data_.data());
    });
    const std::string output = out_dir() + "/preds.h5";
    const CommandResult result =
        run(dir_ / "model.h5", input + ":/x", output, {"--unwritten-rows", "nan"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("rows 150..300 (3 chunks of its 6 were never written)"),
              std::string::npos)
        << result.out;
    EXPECT_NE(result.out.find("150 input rows with NaN/Inf"), std::string::npos) << result.out;
    const Matrix got = read_matrix(output, "/predictions");
    const Matrix fresh =
        read_matrix(fresh_predictions(write_rows("plain.h5", 0, rows) + ":/x"), "/predictions");
    ASSERT_EQ(got.values.size(), fresh.values.size());
    const auto split = got.values.begin() + half * got.cols;
    EXPECT_TRUE(std::equal(got.values.begin(), split, fresh.values.begin()));
    EXPECT_TRUE(std::all_of(split, got.values.end(), [](float v) { return std::isnan(v); }));
}

TEST_F(StaleInputs, AFillValueWrittenOnPurposeIsNotUnwritten) {
    const std::string input = data_file("filled.h5", [&](hid_t file) {
        const std::array<hsize_t, 2> dims{rows, cols};
        const std::array<hsize_t, 2> chunk{50, cols};
        h5::Handle space(H5Screate_simple(2, dims.data(), nullptr));
        h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        H5Pset_chunk(dcpl.get(), 2, chunk.data());
        H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY);
        H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC);
        h5::Handle x(H5Dcreate2(file, "/x", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(),
                                H5P_DEFAULT));
    });
    const CommandResult result = run(dir_ / "model.h5", input + ":/x", out_dir() + "/preds.h5");
    EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(StaleInputs, InspectNamesVirtualAndExternalStorage) {
    write_rows("a.h5", 0, half);
    const std::string virtual_file = write_virtual();
    const std::string raw = dir_ / "values.raw";
    std::ofstream(raw, std::ios::binary)
        .write(reinterpret_cast<const char*>(data_.data()),
               static_cast<std::streamsize>(data_.size() * sizeof(float)));
    const std::string external_file = data_file("external.h5", [&](hid_t file) {
        const std::array<hsize_t, 2> dims{rows, cols};
        h5::Handle space(H5Screate_simple(2, dims.data(), nullptr));
        h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        H5Pset_external(dcpl.get(), raw.c_str(), 0, rows * cols * sizeof(float));
        h5::Handle x(H5Dcreate2(file, "/x", H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT, dcpl.get(),
                                H5P_DEFAULT));
    });
    const CommandResult virtual_result = run_h5infer({"inspect", virtual_file}, {1});
    ASSERT_EQ(virtual_result.exit_code, 0) << virtual_result.err;
    EXPECT_NE(virtual_result.out.find("virtual (1 source file), rows 150..300 never written"),
              std::string::npos)
        << virtual_result.out;
    const CommandResult external_result = run_h5infer({"inspect", external_file}, {1});
    ASSERT_EQ(external_result.exit_code, 0) << external_result.err;
    EXPECT_NE(external_result.out.find("external (1 raw file)"), std::string::npos)
        << external_result.out;
}

}  // namespace
}  // namespace h5infer::testing
