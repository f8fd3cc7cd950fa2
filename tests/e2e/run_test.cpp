// End-to-end: the real h5infer binary under mpiexec on generated HDF5 files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/plan.hpp"

namespace h5infer::testing {
namespace {

constexpr double tolerance = 1e-5;  // |got - ref| <= 1e-5 * max(1, |ref|) per element

GenerateConfig small_job(const TempDir& dir) {
    GenerateConfig config;
    config.data_path = dir / "data.h5";
    config.dataset = "/features";
    config.model_path = dir / "model.h5";
    config.rows = 1009;  // prime: the last chunk is always partial
    config.features = 13;
    config.hidden = {31, 17};
    config.outputs = 5;
    config.hidden_activation = Activation::Tanh;
    config.output_activation = Activation::Softmax;
    return config;
}

std::vector<std::string> run_args(const TempDir& dir, const std::string& output,
                                  std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "run",      "--model", dir / "model.h5", "--input", dir / "data.h5:/features",
        "--output", output};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

TEST(Run, MatchesReferenceAndIsBitwiseIdenticalOnOneToFourRanks) {
    TempDir dir;
    generate(small_job(dir));
    const Matrix want = reference_predictions(dir / "model.h5", dir / "data.h5", "/features");
    Matrix first;
    for (int ranks = 1; ranks <= 4; ++ranks) {
        const std::string output = dir / ("preds" + std::to_string(ranks) + ".h5");
        const CommandResult result =
            run_h5infer(run_args(dir, output, {"--chunk-rows", "100"}), {ranks});
        ASSERT_EQ(result.exit_code, 0) << result.err;
        const Matrix got = read_matrix(output, "/predictions");
        EXPECT_LE(max_scaled_error(got, want), tolerance) << ranks << " ranks";
        if (ranks == 1) {
            first = got;
        } else {
            EXPECT_TRUE(bitwise_equal(got, first)) << ranks << " ranks differ from 1 rank";
        }
    }
}

TEST(Run, RepeatedRunsAreBitwiseIdentical) {
    TempDir dir;
    generate(small_job(dir));
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "a.h5"), {2}).exit_code, 0);
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "b.h5"), {2}).exit_code, 0);
    EXPECT_TRUE(bitwise_equal(read_matrix(dir / "a.h5", "/predictions"),
                              read_matrix(dir / "b.h5", "/predictions")));
}

TEST(Run, TwoChunkSizesAgreeWithinTolerance) {
    TempDir dir;
    generate(small_job(dir));
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "a.h5", {"--chunk-rows", "7"}), {2}).exit_code, 0);
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "b.h5", {"--chunk-rows", "4096"}), {2}).exit_code, 0);
    EXPECT_LE(max_scaled_error(read_matrix(dir / "a.h5", "/predictions"),
                               read_matrix(dir / "b.h5", "/predictions")),
              tolerance);
}

TEST(Run, ResultsDoNotDependOnBindingOrThreadCount) {
    TempDir dir;
    generate(small_job(dir));
    // mpirun binds 1-2 ranks to a core (1 thread) and leaves 3+ unbound (2 threads here).
    const CommandResult bound = run_h5infer(run_args(dir, dir / "bound.h5"), {1, "--bind-to core"});
    ASSERT_EQ(bound.exit_code, 0) << bound.err;
    const CommandResult unbound =
        run_h5infer(run_args(dir, dir / "unbound.h5"), {1, "--bind-to none"});
    ASSERT_EQ(unbound.exit_code, 0) << unbound.err;
    const CommandResult three =
        run_h5infer(run_args(dir, dir / "three.h5", {"--threads", "3"}), {1});
    ASSERT_EQ(three.exit_code, 0) << three.err;
    EXPECT_NE(bound.out.find("1 rank x 1 thread (affinity mask)"), std::string::npos) << bound.out;
    EXPECT_NE(three.out.find("x 3 threads (--threads)"), std::string::npos) << three.out;
    const Matrix reference = read_matrix(dir / "bound.h5", "/predictions");
    EXPECT_TRUE(bitwise_equal(read_matrix(dir / "unbound.h5", "/predictions"), reference));
    EXPECT_TRUE(bitwise_equal(read_matrix(dir / "three.h5", "/predictions"), reference));
}

TEST(Run, WideModelIsBitwiseIdenticalForAnyThreadCount) {
    // Wide layers make the kernels split each chunk into several blocks that run concurrently.
    TempDir dir;
    GenerateConfig config = small_job(dir);
    config.rows = 3001;
    config.hidden = {512, 8, 512};
    generate(config);
    const Matrix want = reference_predictions(dir / "model.h5", dir / "data.h5", "/features");
    Matrix first;
    for (const char* threads : {"1", "2", "3"}) {
        const std::string output = dir / (std::string("p") + threads + ".h5");
        const CommandResult result =
            run_h5infer(run_args(dir, output, {"--chunk-rows", "1500", "--threads", threads}), {1});
        ASSERT_EQ(result.exit_code, 0) << result.err;
        const Matrix got = read_matrix(output, "/predictions");
        EXPECT_LE(max_scaled_error(got, want), tolerance) << threads << " threads";
        if (first.values.empty()) {
            first = got;
        } else {
            EXPECT_TRUE(bitwise_equal(got, first)) << threads << " threads differ from 1";
        }
    }
}

TEST(Run, ThreadsComeFromSlurmCpusPerTask) {
    TempDir dir;
    generate(small_job(dir));
    const CommandResult result =
        run_h5infer(run_args(dir, dir / "p.h5"), {1, "", "SLURM_CPUS_PER_TASK=2"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("x 2 threads (SLURM_CPUS_PER_TASK)"), std::string::npos)
        << result.out;
}

TEST(Run, ReadsAnyNumericDtypeLayoutAndNestedGroup) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"float64", "contiguous"}, {"int16", "chunked"}, {"uint8", "gzip"}, {"int64", "gzip"}};
    for (const auto& [dtype, layout] : cases) {
        TempDir dir;
        GenerateConfig config = small_job(dir);
        config.dataset = "/run1/detector/features";
        config.dtype = dtype;
        config.layout = layout;
        config.chunk_rows = 128;
        generate(config);
        const std::string output = dir / "p.h5";
        const CommandResult result =
            run_h5infer({"run", "--model", config.model_path, "--input",
                         config.data_path + ":run1/detector/features", "--output", output},
                        {3});
        ASSERT_EQ(result.exit_code, 0) << dtype << " " << layout << ": " << result.err;
        EXPECT_LE(max_scaled_error(
                      read_matrix(output, "/predictions"),
                      reference_predictions(config.model_path, config.data_path, config.dataset)),
                  tolerance)
            << dtype << " " << layout;
    }
}

// h5infer narrows float64 inputs itself (src/io/input.cpp); HDF5's own conversion is the
// reference: the predictions of a float64 input equal those of its float32 copy made by HDF5,
// with values that round, overflow to infinity, underflow or are NaN.
TEST(Run, Float64InputGivesTheBitsOfItsFloat32CopyMadeByHdf5) {
    TempDir dir;
    GenerateConfig config = small_job(dir);
    config.dtype = "float64";
    generate(config);
    {
        h5::Handle file = h5::open_file(config.data_path, true);
        h5::Handle data = h5::open_dataset(file.get(), config.dataset);
        std::vector<double> values(static_cast<std::size_t>(config.rows * config.features));
        ASSERT_GE(
            H5Dread(data.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
            0);
        const std::vector<double> edges{1e39,
                                        -1e39,
                                        1e-46,
                                        -1e-40,
                                        0.1,
                                        3.4028235e38,
                                        std::numeric_limits<double>::quiet_NaN(),
                                        1.0 / 3.0};
        for (std::size_t i = 0; i < edges.size(); ++i) values[i * 29] = edges[i];
        ASSERT_GE(
            H5Dwrite(data.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
            0);
    }
    const Matrix narrowed = read_matrix(config.data_path, config.dataset);  // HDF5 converts
    {
        h5::Handle file = h5::create_file(dir / "f32.h5");
        h5::Handle data = h5::create_dataset(file.get(), "/features",
                                             {narrowed.rows, narrowed.cols}, H5T_IEEE_F32LE);
        ASSERT_GE(H5Dwrite(data.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           narrowed.values.data()),
                  0);
    }
    for (const std::string& input : {config.data_path, dir / "f32.h5"}) {
        const CommandResult result =
            run_h5infer({"run", "--model", config.model_path, "--input", input + ":/features",
                         "--output", input + ".preds.h5", "--chunk-rows", "100"},
                        {2});
        ASSERT_EQ(result.exit_code, 0) << result.err;
    }
    EXPECT_TRUE(same_predictions(config.data_path + ".preds.h5", dir / "f32.h5.preds.h5"));
}

TEST(Run, DatasetMayBeOmittedWhenTheFileHasOneMatrix) {
    TempDir dir;
    generate(small_job(dir));
    const CommandResult result =
        run_h5infer({"run", "--model", dir / "model.h5", "--input", dir / "data.h5", "--output",
                     dir / "p.h5:/out/scores"},
                    {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(read_matrix(dir / "p.h5", "/out/scores").rows, 1009);
}

// Writes `data` to `path`:/features in chunks of chunk_rows x chunk_cols.
void write_chunked(const std::string& path, const Matrix& data, hsize_t chunk_rows,
                   hsize_t chunk_cols) {
    const hsize_t dims[2] = {static_cast<hsize_t>(data.rows), static_cast<hsize_t>(data.cols)};
    const hsize_t chunk[2] = {chunk_rows, chunk_cols};
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    const hid_t dataset =
        H5Dcreate2(file, "/features", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.values.data());
    H5Dclose(dataset);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(file);
}

TEST(Run, ChunksNarrowerThanARowAreReadRightAndGetANoteWithTheRewriteThatHelps) {
    TempDir dir;
    generate(small_job(dir));
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "want.h5"), {2}).exit_code, 0);
    write_chunked(dir / "narrow.h5", read_matrix(dir / "data.h5", "/features"), 250, 1);
    const std::vector<std::string> narrow{
        "run", "--model", dir / "model.h5", "--input", dir / "narrow.h5", "--output", dir / "p.h5"};
    const CommandResult result = run_h5infer(narrow, {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(same_predictions(dir / "p.h5", dir / "want.h5"));
    const std::string note = "h5infer: note: " + dir / "narrow.h5" +
                             ":/features is stored in chunks of 250 x 1, narrower than its rows";
    EXPECT_EQ(result.out.find(note), result.out.rfind("h5infer: note:")) << result.out;
    ASSERT_NE(result.out.find(note), std::string::npos) << result.out;
    const std::string repack = "h5repack -l /features:CHUNK=1009x13 " + dir / "narrow.h5" + " ";
    ASSERT_NE(result.out.find(repack + "NEW.h5"), std::string::npos) << result.out;

    // The line it gives works and makes the note go away; contiguous inputs never get it.
    ASSERT_EQ(std::system((repack + dir / "rewritten.h5").c_str()), 0);
    const CommandResult rewritten = run_h5infer({"run", "--model", dir / "model.h5", "--input",
                                                 dir / "rewritten.h5", "--output", dir / "q.h5"},
                                                {2});
    ASSERT_EQ(rewritten.exit_code, 0) << rewritten.err;
    EXPECT_TRUE(same_predictions(dir / "q.h5", dir / "want.h5"));
    EXPECT_EQ(rewritten.out.find("note:"), std::string::npos) << rewritten.out;
    const CommandResult contiguous = run_h5infer(run_args(dir, dir / "r.h5"), {1});
    EXPECT_EQ(contiguous.out.find("note:"), std::string::npos) << contiguous.out;
    const CommandResult quiet =
        run_h5infer({"run", "--model", dir / "model.h5", "--input", dir / "narrow.h5", "--output",
                     dir / "s.h5", "--quiet"},
                    {1});
    EXPECT_EQ(quiet.out, "");
}

TEST(Run, EmptyDatasetGivesEmptyOutput) {
    for (int ranks : {1, 3}) {
        TempDir dir;
        GenerateConfig config = small_job(dir);
        config.rows = 0;
        generate(config);
        const CommandResult result = run_h5infer(run_args(dir, dir / "p.h5"), {ranks});
        ASSERT_EQ(result.exit_code, 0) << result.err;
        const Matrix got = read_matrix(dir / "p.h5", "/predictions");
        EXPECT_EQ(got.rows, 0);
        EXPECT_EQ(got.cols, 5);
    }
}

TEST(Run, MoreRanksThanChunks) {
    TempDir dir;
    GenerateConfig config = small_job(dir);
    config.rows = 5;
    generate(config);
    const CommandResult result =
        run_h5infer(run_args(dir, dir / "p.h5", {"--chunk-rows", "2"}), {4});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_LE(
        max_scaled_error(read_matrix(dir / "p.h5", "/predictions"),
                         reference_predictions(dir / "model.h5", dir / "data.h5", "/features")),
        tolerance);
}

TEST(Run, ChoosesTheChunkRowsFromTheModelUnlessGiven) {
    TempDir dir;
    generate(small_job(dir));
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "narrow.h5"), {2}).exit_code, 0);
    EXPECT_EQ(h5::read_int_attribute(h5::open_file(dir / "narrow.h5").get(), "chunk_rows"),
              max_auto_chunk_rows);

    // About 10.5 MFLOP per row: 16 GFLOP of work is 1500 rows, so chunks of 1024.
    GenerateConfig wide = small_job(dir);
    wide.rows = 2500;
    wide.features = 512;
    wide.hidden = {2048, 2048};
    wide.overwrite = true;
    generate(wide);
    const CommandResult result = run_h5infer(run_args(dir, dir / "wide.h5"), {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("2500 rows in 3 chunks of 1024"), std::string::npos) << result.out;
    EXPECT_EQ(h5::read_int_attribute(h5::open_file(dir / "wide.h5").get(), "chunk_rows"), 1024);
    const Matrix want = reference_predictions(dir / "model.h5", dir / "data.h5", "/features");
    EXPECT_LE(max_scaled_error(read_matrix(dir / "wide.h5", "/predictions"), want), tolerance);
}

TEST(Run, RecordsProvenanceAttributes) {
    TempDir dir;
    generate(small_job(dir));
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "p.h5", {"--chunk-rows", "300"}), {2}).exit_code, 0);
    h5::Handle file = h5::open_file(dir / "p.h5");
    EXPECT_EQ(h5::read_int_attribute(file.get(), "rows"), 1009);
    EXPECT_EQ(h5::read_int_attribute(file.get(), "ranks"), 2);
    EXPECT_EQ(h5::read_int_attribute(file.get(), "chunk_rows"), 300);
    EXPECT_EQ(h5::read_string_attribute(file.get(), "backend"), "onednn");
    EXPECT_EQ(h5::read_string_attribute(file.get(), "input_dataset"), "/features");
    EXPECT_EQ(h5::read_string_attribute(file.get(), "model_sha256").size(), 64U);
    EXPECT_NE(h5::read_string_attribute(file.get(), "model_path").find("model.h5"),
              std::string::npos);
    EXPECT_FALSE(h5::read_string_attribute(file.get(), "h5infer_version").empty());
    EXPECT_FALSE(h5::read_string_attribute(file.get(), "threads_per_rank").empty());
    EXPECT_FALSE(h5::read_string_attribute(file.get(), "start_time").empty());
    EXPECT_GE(h5::read_double_attribute(file.get(), "elapsed_seconds"), 0.0);
}

TEST(Run, ProgressIsLineOrientedWhenNotATerminal) {
    TempDir dir;
    generate(small_job(dir));
    // 101 chunks on 2 ranks, a checkpoint every 8 chunks: 7 rounds, a line after each.
    const CommandResult result = run_h5infer(run_args(dir, dir / "p.h5",
                                                      {"--chunk-rows", "10", "--checkpoint-every",
                                                       "8chunks", "--progress-interval", "0"}),
                                             {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out.find('\r'), std::string::npos);
    std::size_t lines = 0;
    for (std::size_t at = result.out.find("rows ("); at != std::string::npos;
         at = result.out.find("rows (", at + 1)) {
        ++lines;
    }
    EXPECT_GE(lines, 5U) << result.out;
    EXPECT_NE(result.out.find("rows/s"), std::string::npos);
    EXPECT_NE(result.out.find("wrote 1009 rows x 5 outputs"), std::string::npos) << result.out;
}

TEST(Run, QuietPrintsNothing) {
    TempDir dir;
    generate(small_job(dir));
    const CommandResult result = run_h5infer(run_args(dir, dir / "p.h5", {"--quiet"}), {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, "");
}

TEST(Run, OverwriteReplacesAnOutputThatIsNotUpToDate) {
    TempDir dir;
    generate(small_job(dir));
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "p.h5", {"--chunk-rows", "7"}), {1}).exit_code, 0);
    const CommandResult refused = run_h5infer(run_args(dir, dir / "p.h5"), {2});
    EXPECT_EQ(refused.exit_code, static_cast<int>(ExitCode::Io)) << refused.err;
    EXPECT_NE(refused.err.find("pass --overwrite"), std::string::npos) << refused.err;
    const CommandResult result = run_h5infer(run_args(dir, dir / "p.h5", {"--overwrite"}), {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    h5::Handle file = h5::open_file(dir / "p.h5");
    EXPECT_EQ(h5::read_int_attribute(file.get(), "ranks"), 2);
}

TEST(Run, UpToDateOutputIsSkippedUnlessForced) {
    TempDir dir;
    generate(small_job(dir));
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "p.h5"), {1}).exit_code, 0);
    const auto written = std::filesystem::last_write_time(dir / "p.h5");
    const CommandResult again = run_h5infer(run_args(dir, dir / "p.h5"), {2});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("is up to date"), std::string::npos) << again.out;
    EXPECT_EQ(std::filesystem::last_write_time(dir / "p.h5"), written);
    {
        h5::Handle file = h5::open_file(dir / "p.h5");
        EXPECT_EQ(h5::read_int_attribute(file.get(), "ranks"), 1);
    }
    const CommandResult forced = run_h5infer(run_args(dir, dir / "p.h5", {"--force"}), {2});
    ASSERT_EQ(forced.exit_code, 0) << forced.err;
    EXPECT_EQ(forced.out.find("is up to date"), std::string::npos) << forced.out;
    h5::Handle file = h5::open_file(dir / "p.h5");
    EXPECT_EQ(h5::read_int_attribute(file.get(), "ranks"), 2);
}

// On several ranks the last rank hashes the model while rank 0 checks the inputs; alone, rank 0
// hashes it. Either way the fingerprint is the same, so a rerun on another rank count skips.
TEST(Run, FingerprintIsTheSameWhicheverRankHashesTheModel) {
    TempDir dir;
    generate(small_job(dir));
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "p.h5"), {3}).exit_code, 0);
    const std::string hash =
        h5::read_string_attribute(h5::open_file(dir / "p.h5").get(), "model_sha256");
    EXPECT_EQ(hash.size(), 64U);
    const CommandResult again = run_h5infer(run_args(dir, dir / "p.h5"), {1});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("is up to date"), std::string::npos) << again.out;
    ASSERT_EQ(run_h5infer(run_args(dir, dir / "q.h5"), {1}).exit_code, 0);
    EXPECT_EQ(h5::read_string_attribute(h5::open_file(dir / "q.h5").get(), "model_sha256"), hash);
}

TEST(Run, ReferenceBackendIsSelectable) {
    TempDir dir;
    generate(small_job(dir));
    const CommandResult result =
        run_h5infer(run_args(dir, dir / "p.h5", {"--backend", "reference"}), {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_LE(
        max_scaled_error(read_matrix(dir / "p.h5", "/predictions"),
                         reference_predictions(dir / "model.h5", dir / "data.h5", "/features")),
        1e-6);
}

TEST(Run, GenerateCommandWritesDataAndModel) {
    TempDir dir;
    const CommandResult generated =
        run_h5infer({"generate", "--data", dir / "d.h5:/x", "--model", dir / "m.h5", "--rows", "50",
                     "--features", "6", "--hidden", "8,4", "--outputs", "2", "--activation",
                     "gelu_erf", "--output-activation", "sigmoid", "--seed", "7"},
                    {1});
    ASSERT_EQ(generated.exit_code, 0) << generated.err;
    const CommandResult result = run_h5infer(
        {"run", "--model", dir / "m.h5", "--input", dir / "d.h5:/x", "--output", dir / "p.h5"},
        {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const Matrix got = read_matrix(dir / "p.h5", "/predictions");
    EXPECT_EQ(got.rows, 50);
    EXPECT_EQ(got.cols, 2);
}

TEST(Run, NonFiniteInputPropagatesAndIsCounted) {
    TempDir dir;
    generate(small_job(dir));
    {
        h5::Handle file = h5::open_file(dir / "data.h5", true);
        h5::Handle data = h5::open_dataset(file.get(), "/features");
        std::vector<float> row(13, 0.5F);
        row[3] = NAN;
        h5::write_rows(data.get(), 17, 1, 13, row.data());
        row[3] = INFINITY;
        h5::write_rows(data.get(), 800, 1, 13, row.data());
    }
    const CommandResult result = run_h5infer(run_args(dir, dir / "p.h5"), {2});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("2 input rows with NaN/Inf"), std::string::npos) << result.out;
    const Matrix got = read_matrix(dir / "p.h5", "/predictions");
    EXPECT_TRUE(std::isnan(got.values[17 * 5]));
    EXPECT_TRUE(std::isfinite(got.values[16 * 5]));
    h5::Handle file = h5::open_file(dir / "p.h5");
    EXPECT_EQ(h5::read_int_attribute(file.get(), "nonfinite_input_rows"), 2);
}

}  // namespace
}  // namespace h5infer::testing

namespace h5infer::testing {
namespace {

TEST(Precision, Bf16RunsAndVerifyRowsReportsItsDeviationOrTheCpuIsRefused) {
    TempDir dir;
    generate(small_job(dir));
    const std::vector<std::string> bf16 =
        run_args(dir, dir / "bf16.h5", {"--precision", "bf16", "--verify-rows", "200"});
    for (const std::string& environment : {std::string(), std::string("ONEDNN_MAX_CPU_ISA=AVX2")}) {
        SCOPED_TRACE(environment);
        std::filesystem::remove(dir / "bf16.h5");
        const CommandResult result = run_h5infer(bf16, {2, "", environment});
        if (result.exit_code == static_cast<int>(ExitCode::Usage)) {
            // Only a CPU (or ISA cap) without avx512_bf16 may refuse, and must say so.
            EXPECT_NE(result.err.find("--precision bf16 needs a CPU with avx512_bf16"),
                      std::string::npos)
                << result.err;
            EXPECT_FALSE(std::filesystem::exists(dir / "bf16.h5"));
            continue;
        }
        EXPECT_FALSE(environment.empty() && !__builtin_cpu_supports("avx512bf16"));
        ASSERT_EQ(result.exit_code, 0) << result.err;
        const std::size_t at = result.out.find("200 rows verified in f32: largest deviation ");
        ASSERT_NE(at, std::string::npos) << result.out;
        const double absolute = std::stod(result.out.substr(at + 44));
        EXPECT_GT(absolute, 0.0) << "bf16 gave exactly the f32 numbers: did it run in f32?";
        EXPECT_LT(absolute, 0.0625);
        const Matrix want = reference_predictions(dir / "model.h5", dir / "data.h5", "/features");
        EXPECT_LT(max_scaled_error(read_matrix(dir / "bf16.h5", "/predictions"), want), 0.0625);
        h5::Handle file = h5::open_file(dir / "bf16.h5");
        EXPECT_EQ(h5::read_string_attribute(file.get(), "precision"), "bf16");
    }
}

TEST(Precision, Bf16IsBitwiseIdenticalOnOneToThreeRanks) {
    // Beyond one rank, rank 0 alone converts the weights to bf16 and the others receive them.
    TempDir dir;
    generate(small_job(dir));
    Matrix first;
    for (int ranks = 1; ranks <= 3; ++ranks) {
        const std::string output = dir / ("bf16-" + std::to_string(ranks) + ".h5");
        const CommandResult result = run_h5infer(
            run_args(dir, output, {"--precision", "bf16", "--chunk-rows", "100"}), {ranks});
        if (result.exit_code == static_cast<int>(ExitCode::Usage) &&
            !__builtin_cpu_supports("avx512bf16")) {
            GTEST_SKIP() << "this CPU has no avx512_bf16";
        }
        ASSERT_EQ(result.exit_code, 0) << result.err;
        const Matrix got = read_matrix(output, "/predictions");
        if (ranks == 1) {
            first = got;
        } else {
            EXPECT_TRUE(bitwise_equal(got, first)) << ranks << " ranks differ from 1 rank";
        }
    }
}

}  // namespace
}  // namespace h5infer::testing
