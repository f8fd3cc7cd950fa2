// Every bad input: the exit code of its class, a message naming the problem, printed once,
// and no output file (final or temporary) left behind.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer::testing {
namespace {

class BadInput : public ::testing::Test {
protected:
    void SetUp() override {
        GenerateConfig config;
        config.data_path = dir_ / "data.h5";
        config.model_path = dir_ / "model.h5";
        config.rows = 300;
        config.features = 7;
        config.hidden = {11};
        config.outputs = 3;
        generate(config);
        std::filesystem::create_directory(out_dir());
    }

    std::string out_dir() const { return dir_ / "out"; }
    std::string output() const { return out_dir() + "/preds.h5"; }

    // Runs on 2 ranks and checks the failure: code, message, printed once, nothing left.
    void expect_failure(const std::string& model, const std::string& input, ExitCode code,
                        const std::string& message, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"run", "--model",  model,   "--input",
                                      input, "--output", output()};
        args.insert(args.end(), extra.begin(), extra.end());
        const CommandResult result = run_h5infer(args, {2});
        EXPECT_EQ(result.exit_code, static_cast<int>(code)) << result.err;
        EXPECT_NE(result.err.find(message), std::string::npos)
            << "expected '" << message << "' in: " << result.err;
        EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
        EXPECT_TRUE(list_dir(out_dir()).empty()) << "left in the output directory";
    }

    std::string write_bytes(const std::string& name, const std::string& bytes) const {
        const std::string path = dir_ / name;
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

    // A file whose dataset `name` is made by `make(file)`.
    template <typename Make>
    std::string data_file(const std::string& file_name, Make make) const {
        const std::string path = dir_ / file_name;
        h5::Handle file = h5::create_file(path);
        make(file.get());
        return path;
    }

    Model model() const { return load_model(dir_ / "model.h5"); }

    TempDir dir_;
};

TEST_F(BadInput, MissingInputFile) {
    expect_failure(dir_ / "model.h5", dir_ / "nope.h5:/features", ExitCode::Input,
                   "nope.h5' cannot be read: No such file");
}

TEST_F(BadInput, RandomBytesAreNotHdf5) {
    std::string bytes(4096, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7919 % 251);
    expect_failure(dir_ / "model.h5", write_bytes("random.h5", bytes) + ":/x", ExitCode::Input,
                   "is not an HDF5 file");
}

TEST_F(BadInput, TextFileIsNotHdf5) {
    expect_failure(dir_ / "model.h5", write_bytes("data.csv", "a,b\n1,2\n") + ":/x",
                   ExitCode::Input, "is not an HDF5 file");
}

TEST_F(BadInput, EmptyFileIsNotHdf5) {
    expect_failure(dir_ / "model.h5", write_bytes("empty.h5", "") + ":/x", ExitCode::Input,
                   "is not an HDF5 file");
}

TEST_F(BadInput, TruncatedHdf5File) {
    const std::string path = dir_ / "data.h5";
    std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
    expect_failure(dir_ / "model.h5", path + ":/features", ExitCode::Input, "truncated");
}

TEST_F(BadInput, MissingDatasetListsWhatExists) {
    expect_failure(dir_ / "model.h5", dir_ / "data.h5:/featurez", ExitCode::Input,
                   "'/featurez' in '" + (dir_ / "data.h5") +
                       "' does not exist (datasets in the file: /features)");
}

TEST_F(BadInput, PathIsAGroup) {
    const std::string path = data_file("group.h5", [](hid_t file) {
        h5::Handle group = h5::create_group(file, "/run");
        h5::Handle data = h5::create_dataset(file, "/run/x", {4, 7}, H5T_IEEE_F32LE);
    });
    expect_failure(dir_ / "model.h5", path + ":/run", ExitCode::Input, "is a group");
}

TEST_F(BadInput, OneDimensionalDataset) {
    const std::string path = data_file("d1.h5", [](hid_t file) {
        h5::Handle data = h5::create_dataset(file, "/x", {7}, H5T_IEEE_F32LE);
    });
    expect_failure(dir_ / "model.h5", path + ":/x", ExitCode::Input, "is 1-D");
}

TEST_F(BadInput, ThreeDimensionalDataset) {
    const std::string path = data_file("d3.h5", [](hid_t file) {
        h5::Handle data = h5::create_dataset(file, "/x", {2, 3, 7}, H5T_IEEE_F32LE);
    });
    expect_failure(dir_ / "model.h5", path + ":/x", ExitCode::Input, "is 3-D");
}

TEST_F(BadInput, StringDataset) {
    const std::string path = data_file("strings.h5", [](hid_t file) {
        h5::Handle type(H5Tcopy(H5T_C_S1));
        H5Tset_size(type.get(), 8);
        h5::Handle data = h5::create_dataset(file, "/x", {4, 7}, type.get());
    });
    expect_failure(dir_ / "model.h5", path + ":/x", ExitCode::Input, "holds string values");
}

TEST_F(BadInput, CompoundDataset) {
    const std::string path = data_file("compound.h5", [](hid_t file) {
        h5::Handle type(H5Tcreate(H5T_COMPOUND, 16));
        H5Tinsert(type.get(), "a", 0, H5T_NATIVE_DOUBLE);
        H5Tinsert(type.get(), "b", 8, H5T_NATIVE_DOUBLE);
        h5::Handle data = h5::create_dataset(file, "/x", {4, 7}, type.get());
    });
    expect_failure(dir_ / "model.h5", path + ":/x", ExitCode::Input, "holds compound values");
}

TEST_F(BadInput, FeatureCountDiffersFromModel) {
    const std::string path = data_file("wide.h5", [](hid_t file) {
        h5::Handle data = h5::create_dataset(file, "/x", {4, 8}, H5T_IEEE_F32LE);
        std::vector<float> zeros(32, 0.0F);
        h5::write_all(data.get(), zeros.data());
    });
    expect_failure(dir_ / "model.h5", path + ":/x", ExitCode::Input,
                   "has 8 features per row but the model expects 7");
}

TEST_F(BadInput, ChunkedInputWrittenHalfWayIsRefusedNamingTheRowsNeverWritten) {
    const Matrix data = read_matrix(dir_ / "data.h5", "/features");
    const std::string path = data_file("half.h5", [&](hid_t file) {
        h5::Handle x =
            h5::create_dataset(file, "/x", {300, 7}, H5T_IEEE_F32LE, h5::Layout::Chunked, 50);
        h5::write_rows(x.get(), 0, 150, 7, data.values.data());
    });
    expect_failure(dir_ / "model.h5", path + ":/x", ExitCode::Input,
                   "dataset '/x' in '" + path +
                       "' has rows that were never written, which HDF5 would read as its fill "
                       "value: rows 150..300 (3 chunks of its 6 were never written); write "
                       "them (or the missing files), or pass --unwritten-rows nan");
}

TEST_F(BadInput, ContiguousInputNeverWrittenIsRefused) {
    const std::string path = data_file("empty.h5", [](hid_t file) {
        const std::array<hsize_t, 2> dims{300, 7};
        h5::Handle space(H5Screate_simple(2, dims.data(), nullptr));
        h5::Handle x(H5Dcreate2(file, "/x", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT));
    });
    expect_failure(dir_ / "model.h5", path + ":/x", ExitCode::Input,
                   "rows 0..300 (its storage was never allocated: it was created but never "
                   "written)");
}

TEST_F(BadInput, VirtualInputWithAMissingSourceFileIsRefused) {
    const Matrix data = read_matrix(dir_ / "data.h5", "/features");
    const std::string path = data_file("vds.h5", [&](hid_t file) {
        const std::array<hsize_t, 2> dims{300, 7};
        const std::array<hsize_t, 2> half{150, 7};
        h5::Handle space(H5Screate_simple(2, dims.data(), nullptr));
        h5::Handle source_space(H5Screate_simple(2, half.data(), nullptr));
        h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        for (const std::string name : {"a.h5", "b.h5"}) {
            const std::array<hsize_t, 2> start{name == "a.h5" ? 0U : 150U, 0};
            H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, half.data(),
                                nullptr);
            H5Pset_virtual(dcpl.get(), space.get(), (dir_ / name).c_str(), "/x",
                           source_space.get());
        }
        h5::Handle all(H5Screate_simple(2, dims.data(), nullptr));
        h5::Handle x(H5Dcreate2(file, "/x", H5T_IEEE_F32LE, all.get(), H5P_DEFAULT, dcpl.get(),
                                H5P_DEFAULT));
    });
    (void)data_file("a.h5", [&](hid_t file) {
        h5::Handle x = h5::create_dataset(file, "/x", {150, 7}, H5T_IEEE_F32LE);
        h5::write_all(x.get(), data.values.data());
    });
    expect_failure(dir_ / "model.h5", path + ":/x", ExitCode::Input,
                   "rows 150..300 (its source file '" + (dir_ / "b.h5") + "' is missing)");
}

TEST_F(BadInput, CopyOfReferencesIsRefusedBeforeAnyWork) {
    for (const hid_t type : {H5T_STD_REF_OBJ, H5T_STD_REF_DSETREG}) {
        const std::string path = data_file("refs.h5", [&](hid_t file) {
            const Matrix data = read_matrix(dir_ / "data.h5", "/features");
            h5::Handle x = h5::create_dataset(file, "/x", {300, 7}, H5T_IEEE_F32LE);
            h5::write_all(x.get(), data.values.data());
            const std::array<hsize_t, 1> rows{300};
            h5::Handle space(H5Screate_simple(1, rows.data(), nullptr));
            h5::Handle refs(H5Dcreate2(file, "/refs", type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                       H5P_DEFAULT));
            if (type == H5T_STD_REF_OBJ) {
                std::vector<hobj_ref_t> values(300);
                for (hobj_ref_t& value : values) {
                    H5Rcreate(&value, file, "/x", H5R_OBJECT, H5I_INVALID_HID);
                }
                H5Dwrite(refs.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
            } else {
                h5::Handle region(H5Dget_space(x.get()));
                std::vector<hdset_reg_ref_t> values(300);
                for (hdset_reg_ref_t& value : values) {
                    H5Rcreate(&value, file, "/x", H5R_DATASET_REGION, region.get());
                }
                H5Dwrite(refs.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
            }
        });
        expect_failure(dir_ / "model.h5", path + ":/x", ExitCode::Input,
                       "--copy '/refs' in '" + path + "' holds HDF5 object or region references",
                       {"--copy", "/refs"});
    }
}

TEST_F(BadInput, AmbiguousDatasetMustBeNamed) {
    const std::string path = data_file("two.h5", [](hid_t file) {
        h5::Handle a = h5::create_dataset(file, "/a", {4, 7}, H5T_IEEE_F32LE);
        h5::Handle b = h5::create_dataset(file, "/b", {4, 7}, H5T_IEEE_F32LE);
    });
    expect_failure(dir_ / "model.h5", path, ExitCode::Input, "name one with --input FILE:DATASET");
}

// The column layers' checks on load: exit 3, naming the layer and what is wrong.
TEST_F(BadInput, InconsistentColumnLayersAreModelErrors) {
    Model routed = model();
    routed.layers.insert(routed.layers.begin(), ColumnsLayer{{0, 1, 2, 3, 4, 5, 7}});
    save_model(routed, dir_ / "routed.h5");
    expect_failure(dir_ / "routed.h5", dir_ / "data.h5:/x", ExitCode::Model,
                   "layer 0 (columns) index[6] is 7 but the previous layer has 7 columns");
    Model encoded = model();
    PerColumnLayer encoder;
    encoder.ops = {ColumnOp::OneHot, ColumnOp::Pass, ColumnOp::Pass, ColumnOp::Pass,
                   ColumnOp::Pass,   ColumnOp::Pass, ColumnOp::Pass};
    encoder.offsets = {0, 3, 3, 3, 3, 3, 3, 3};
    encoder.values = {0.0, 2.0, 1.0};
    encoder.drop = {0, -1, -1, -1, -1, -1, -1};
    encoder.unknown = {0, 0, 0, 0, 0, 0, 0};
    encoded.layers.insert(encoded.layers.begin(), encoder);
    save_model(encoded, dir_ / "encoded.h5");
    expect_failure(dir_ / "encoded.h5", dir_ / "data.h5:/x", ExitCode::Model,
                   "layer 0 (per_column) column 0 (one_hot) categories must strictly increase");
}

TEST_F(BadInput, OutputExistsWithoutOverwrite) {
    std::ofstream(output()) << "keep me";
    const CommandResult result = run_h5infer(
        {"run", "--model", dir_ / "model.h5", "--input", dir_ / "data.h5", "--output", output()},
        {2});
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Io));
    EXPECT_NE(result.err.find("exists; pass --overwrite"), std::string::npos) << result.err;
    EXPECT_EQ(read_text(output()), "keep me");
    EXPECT_EQ(list_dir(out_dir()).size(), 1U);
}

TEST_F(BadInput, OutputDirectoryMissing) {
    const CommandResult result =
        run_h5infer({"run", "--model", dir_ / "model.h5", "--input", dir_ / "data.h5", "--output",
                     dir_ / "missing/preds.h5"},
                    {2});
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Io));
    EXPECT_NE(result.err.find("does not exist; create it first"), std::string::npos) << result.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "missing"));
}

TEST_F(BadInput, OutputDirectoryNotWritable) {
    std::filesystem::permissions(
        out_dir(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                       std::filesystem::perms::others_read | std::filesystem::perms::others_exec);
    std::filesystem::permissions(dir_ / "data.h5", std::filesystem::perms::all);
    std::filesystem::permissions(dir_ / "model.h5", std::filesystem::perms::all);
    // Root writes anywhere: drop to nobody for this run (MPI singleton, no mpiexec).
    Launch launch{0, "", ""};
    if (::geteuid() == 0)
        launch.environment = "HOME=/tmp setpriv --reuid=65534 --regid=65534 --clear-groups";
    const CommandResult result = run_h5infer(
        {"run", "--model", dir_ / "model.h5", "--input", dir_ / "data.h5", "--output", output()},
        launch);
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Io)) << result.err;
    EXPECT_NE(result.err.find("is not writable: Permission denied"), std::string::npos)
        << result.err;
    EXPECT_TRUE(list_dir(out_dir()).empty());
}

TEST_F(BadInput, ModelFileMissing) {
    expect_failure(dir_ / "nomodel.h5", dir_ / "data.h5", ExitCode::Model, "does not exist");
}

TEST_F(BadInput, ModelFileIsNotAModel) {
    expect_failure(dir_ / "data.h5", dir_ / "data.h5", ExitCode::Model, "not an h5infer model");
}

TEST_F(BadInput, ModelHasUnsupportedLayer) {
    {
        h5::Handle file = h5::open_file(dir_ / "model.h5", true);
        h5::Handle layer = h5::open_group(file.get(), "/layers/0001");
        h5::write_attribute(layer.get(), "kind", std::string("conv2d"));
    }
    expect_failure(dir_ / "model.h5", dir_ / "data.h5", ExitCode::Model, "conv2d");
}

TEST_F(BadInput, ModelShapesDoNotChain) {
    Model broken = model();
    for (Layer& layer : broken.layers) {
        if (auto* dense = std::get_if<DenseLayer>(&layer)) {
            dense->inputs += 1;
            dense->weights.resize(static_cast<std::size_t>(dense->inputs * dense->outputs), 0.1F);
            break;
        }
    }
    const std::string path = dir_ / "broken.h5";
    save_model(broken, path);
    expect_failure(path, dir_ / "data.h5", ExitCode::Model, "do not chain");
}

TEST_F(BadInput, ModelHasNanWeights) {
    Model broken = model();
    for (Layer& layer : broken.layers) {
        if (auto* dense = std::get_if<DenseLayer>(&layer)) dense->weights[2] = NAN;
    }
    const std::string path = dir_ / "nan.h5";
    save_model(broken, path);
    expect_failure(path, dir_ / "data.h5", ExitCode::Model, "NaN");
}

TEST_F(BadInput, LabelsFlagWithAModelWithoutLabels) {
    expect_failure(dir_ / "model.h5", dir_ / "data.h5", ExitCode::Usage, "has no class labels",
                   {"--labels"});
}

TEST_F(BadInput, UsageErrorIsReportedOnce) {
    const CommandResult result = run_h5infer({"run", "--model", dir_ / "model.h5"}, {2});
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Usage));
    EXPECT_NE(result.err.find("no input: give --input"), std::string::npos) << result.err;
    EXPECT_EQ(count_occurrences(result.err, "no input: give --input"), 1U) << result.err;
}

TEST_F(BadInput, NonFiniteInputOnTheLastRankFailsTheWholeJob) {
    {
        h5::Handle file = h5::open_file(dir_ / "data.h5", true);
        h5::Handle data = h5::open_dataset(file.get(), "/features");
        std::vector<float> row(7, NAN);
        h5::write_rows(data.get(), 299, 1, 7, row.data());
    }
    const CommandResult result =
        run_h5infer({"run", "--model", dir_ / "model.h5", "--input", dir_ / "data.h5", "--output",
                     output(), "--fail-on-nonfinite", "--chunk-rows", "50"},
                    {3});
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Input)) << result.err;
    EXPECT_NE(result.err.find("[rank 2]: dataset '/features'"), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("NaN or Inf values in rows 250..300"), std::string::npos);
    EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
    EXPECT_TRUE(list_dir(out_dir()).empty());
}

TEST_F(BadInput, Float64BeyondTheFloat32RangeIsNotCalledNanOrInf) {
    GenerateConfig config;
    config.data_path = dir_ / "wide.h5";
    config.rows = 300;
    config.features = 7;
    config.dtype = "float64";
    generate(config);
    {
        h5::Handle file = h5::open_file(dir_ / "wide.h5", true);
        h5::Handle data = h5::open_dataset(file.get(), "/features");
        const std::vector<double> row{1, 2, 1e300, 4, 5, 6, 7};  // finite, beyond float32
        h5::write_rows(data.get(), 123, 1, 7, row.data());
    }
    const std::string message =
        "wide.h5' has 1 row with values that are not finite in float32 (NaN, Inf, or finite "
        "values beyond the float32 range, about +-3.4e38, which become Inf when narrowed to "
        "float32) in rows 100..150";
    expect_failure(dir_ / "model.h5", dir_ / "wide.h5", ExitCode::Input, message,
                   {"--fail-on-nonfinite", "--chunk-rows", "50"});
}

// --report follows the rules of an output: it never names a file the run reads or writes, and
// is checked before any work.
TEST_F(BadInput, ReportNamingTheModelAnInputOrAnOutputIsRefusedAndTouchesNothing) {
    const std::string data = dir_ / "data.h5";
    const std::string model_file = dir_ / "model.h5";
    for (const auto& [report, what] : std::vector<std::pair<std::string, std::string>>{
             {data, "an input of this run"},
             {model_file, "the model"},
             {output(), "an output of this run"},
             {out_dir() + "/./preds.h5", "an output of this run"}}) {
        SCOPED_TRACE(report);
        const std::string data_before = read_text(data);
        const std::string model_before = read_text(model_file);
        expect_failure(model_file, data + ":/features", ExitCode::Io,
                       "--report '" + report + "' is " + what, {"--report", report});
        EXPECT_EQ(read_text(data), data_before);
        EXPECT_EQ(read_text(model_file), model_before);
    }
}

TEST_F(BadInput, ReportInAMissingDirectoryFailsBeforeAnyOutputIsWritten) {
    expect_failure(dir_ / "model.h5", dir_ / "data.h5:/features", ExitCode::Io,
                   "--report directory '" + (dir_ / "nowhere") + "' does not exist",
                   {"--report", dir_ / "nowhere/run.json"});
}

TEST_F(BadInput, ReportOverAFileThatIsNotAReportNeedsOverwrite) {
    const std::string notes = write_bytes("notes.txt", "my notes\n");
    expect_failure(dir_ / "model.h5", dir_ / "data.h5:/features", ExitCode::Io,
                   "--report '" + notes + "' exists and is not an h5infer report",
                   {"--report", notes});
    EXPECT_EQ(read_text(notes), "my notes\n");
    const CommandResult replaced =
        run_h5infer({"run", "--model", dir_ / "model.h5", "--input", dir_ / "data.h5:/features",
                     "--output", output(), "--report", notes, "--overwrite", "--quiet"},
                    {2});
    ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
    EXPECT_EQ(read_text(notes).rfind("{\n  \"h5infer_version\": ", 0), 0U) << read_text(notes);
}

TEST_F(BadInput, AnEarlierReportIsReplacedAndNoTemporaryFileStays) {
    const std::string report = out_dir() + "/run.json";
    for (int run = 0; run < 2; ++run) {
        const CommandResult result =
            run_h5infer({"run", "--model", dir_ / "model.h5", "--input", dir_ / "data.h5:/features",
                         "--output", output(), "--report", report, "--force", "--quiet"},
                        {2});
        ASSERT_EQ(result.exit_code, 0) << result.err;
        EXPECT_NE(read_text(report).find("\"per_rank\""), std::string::npos);
    }
    std::vector<std::string> names = list_dir(out_dir());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"preds.h5", "run.json"}));
}

}  // namespace
}  // namespace h5infer::testing
