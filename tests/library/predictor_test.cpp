// The C++ library API (h5infer::Predictor in libh5infer.so) against `h5infer run` and the
// reference backend, in a process that never calls MPI_Init.
#include "h5infer/predictor.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <mpi.h>
#include <omp.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <thread>

#include "h5infer/plan.hpp"
#include "library/fixtures.hpp"

namespace h5infer::testing {
namespace {

constexpr double tolerance = 1e-5;  // |got - ref| <= 1e-5 * max(1, |ref|), as the e2e tests

PredictorOptions options(int threads, std::int64_t chunk_rows = 0,
                         const std::string& backend = "onednn",
                         const std::string& precision = "f32") {
    PredictorOptions options;
    options.threads = threads;
    options.chunk_rows = chunk_rows;
    options.backend = backend;
    options.precision = precision;
    return options;
}

std::vector<float> predicted(Predictor& predictor, const Matrix& rows) {
    return predictor.predict(rows.values);
}

TEST(Predictor, TellsWidthsFeatureNamesAndLabels) {
    TempDir dir;
    named_model(dir, 10, 7);
    const Predictor predictor(dir / "model.h5", options(2));
    EXPECT_EQ(predictor.input_width(), 7);
    EXPECT_EQ(predictor.output_width(), 5);
    EXPECT_EQ(predictor.feature_names(),
              (std::vector<std::string>{"f0", "f1", "f2", "f3", "f4", "f5", "f6"}));
    EXPECT_EQ(predictor.labels(),
              (std::vector<std::string>{"alpha", "beta", "gamma", "delta", "epsilon"}));
    EXPECT_EQ(predictor.threads(), 2);
    EXPECT_GE(predictor.chunk_rows(), min_auto_chunk_rows);
}

TEST(Predictor, GivesTheBitsOfRunForAnOnnxModel) {
    TempDir dir;
    const std::string fixtures = H5INFER_ONNX_FIXTURES;
    const std::string model = fixtures + "/batchnorm.onnx";
    const Matrix input = read_matrix(fixtures + "/cases.h5", "/batchnorm/input");
    Predictor predictor(model, options(2));
    EXPECT_EQ(predictor.input_width(), input.cols);
    const CommandResult result =
        run_h5infer({"run", "--model", model, "--input", fixtures + "/cases.h5:/batchnorm/input",
                     "--output", dir / "run.h5"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const Matrix want = read_matrix(dir / "run.h5", "/predictions");
    EXPECT_EQ(predictor.output_width(), want.cols);
    EXPECT_TRUE(same_bits(predicted(predictor, input), want));
}

TEST(Predictor, MatchesTheReferenceBackendWithinTolerance) {
    TempDir dir;
    named_model(dir, 1009);
    const Matrix rows = read_matrix(dir / "data.h5", "/features");
    Predictor onednn(dir / "model.h5", options(2));
    Predictor reference(dir / "model.h5", options(1, 0, "reference"));
    Matrix want{rows.rows, 5, predicted(reference, rows)};
    const Matrix got{rows.rows, 5, predicted(onednn, rows)};
    EXPECT_LE(max_scaled_error(got, want), tolerance);
}

// Odd row counts, chunks cut inside by blocks (700 rows, blocks of 256), a last chunk that is
// partial, a single row and a job of a few rows (the kernels' plain weights in `run`).
TEST(Predictor, GivesTheBitsOfRunForOddRowCountsChunksAndThreads) {
    for (const std::int64_t rows : {std::int64_t{1999}, std::int64_t{5}, std::int64_t{1}}) {
        TempDir dir;
        named_model(dir, rows, 13, {1536, 64});
        const Matrix input = read_matrix(dir / "data.h5", "/features");
        for (const std::int64_t chunk_rows : {std::int64_t{0}, std::int64_t{700}}) {
            const std::vector<std::string> chunk_flag =
                chunk_rows > 0 ? std::vector<std::string>{"--chunk-rows", "700"}
                               : std::vector<std::string>{};
            const Matrix want = run_predictions(dir, chunk_flag, rows > 5 ? 2 : 1);
            for (const int threads : {1, 2}) {
                SCOPED_TRACE(std::to_string(rows) + " rows, chunk rows " +
                             std::to_string(chunk_rows) + ", " + std::to_string(threads) +
                             " threads");
                Predictor predictor(dir / "model.h5", options(threads, chunk_rows));
                EXPECT_TRUE(same_bits(predicted(predictor, input), want));
            }
        }
    }
}

TEST(Predictor, GivesTheBitsOfRunWithTheReferenceBackend) {
    TempDir dir;
    named_model(dir, 1001, 13, {1536, 64});
    const Matrix input = read_matrix(dir / "data.h5", "/features");
    const Matrix want = run_predictions(dir, {"--backend", "reference", "--chunk-rows", "300"});
    Predictor predictor(dir / "model.h5", options(1, 300, "reference"));
    EXPECT_TRUE(same_bits(predicted(predictor, input), want));
}

TEST(Predictor, GivesTheBitsOfRunInBf16) {
    TempDir dir;
    named_model(dir, 1301);
    std::unique_ptr<Predictor> predictor;
    try {
        predictor = std::make_unique<Predictor>(dir / "model.h5", options(2, 0, "onednn", "bf16"));
    } catch (const ConfigError& error) {
        std::printf("bf16 skipped: this CPU cannot compute in bf16: %s\n", error.what());
        GTEST_SKIP() << error.what();
    }
    const Matrix want = run_predictions(dir, {"--precision", "bf16"}, 2);
    EXPECT_TRUE(same_bits(predicted(*predictor, read_matrix(dir / "data.h5", "/features")), want));
}

// The oneDNN backend sets the thread count before it creates its primitives: predictors of
// other thread counts in one process, created in either order, still give the same bits.
TEST(Predictor, PredictorsOfOtherThreadCountsInOneProcessGiveTheSameBits) {
    TempDir dir;
    named_model(dir, 2111);
    const Matrix input = read_matrix(dir / "data.h5", "/features");
    Predictor one(dir / "model.h5", options(1, 1024));
    const std::vector<float> first = predicted(one, input);
    Predictor three(dir / "model.h5", options(3, 1024));
    Predictor two(dir / "model.h5", options(2, 1024));
    const Matrix want{input.rows, 5, first};
    EXPECT_TRUE(same_bits(predicted(three, input), want));
    EXPECT_TRUE(same_bits(predicted(one, input), want));
    EXPECT_TRUE(same_bits(predicted(two, input), want));
}

// The documented rule: one predictor per thread; they may load and predict at the same time.
TEST(Predictor, OnePredictorPerThreadLoadsAndPredictsConcurrently) {
    TempDir dir;
    named_model(dir, 1500);
    const Matrix input = read_matrix(dir / "data.h5", "/features");
    Predictor serial(dir / "model.h5", options(1));
    const Matrix want{input.rows, 5, predicted(serial, input)};
    constexpr int thread_count = 4;
    std::vector<std::vector<float>> got(thread_count);
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            Predictor mine(dir / "model.h5", options(1 + t % 2));
            for (int repeat = 0; repeat < 3; ++repeat) got[t] = predicted(mine, input);
        });
    }
    for (std::thread& thread : threads) thread.join();
    for (int t = 0; t < thread_count; ++t) EXPECT_TRUE(same_bits(got[t], want)) << "thread " << t;
}

// Inside the program's own parallel region (OpenMP's nesting off): each thread's predictor
// runs on its thread alone, with the same bits.
TEST(Predictor, PredictsInsideTheProgramsParallelRegion) {
    TempDir dir;
    named_model(dir, 1200);
    const Matrix input = read_matrix(dir / "data.h5", "/features");
    Predictor serial(dir / "model.h5", options(2));
    const Matrix want{input.rows, 5, predicted(serial, input)};
    std::vector<std::vector<float>> got(2);
#pragma omp parallel num_threads(2)
    {
        Predictor mine(dir / "model.h5", options(2));
        got[omp_get_thread_num()] = predicted(mine, input);
    }
    EXPECT_TRUE(same_bits(got[0], want));
    EXPECT_TRUE(same_bits(got[1], want));
}

TEST(Predictor, LeavesTheProgramsOpenMpHdf5AndMpiStateAlone) {
    TempDir dir;
    named_model(dir, 10);
    omp_set_num_threads(3);
    H5E_auto2_t printer_before = nullptr;
    void* data_before = nullptr;
    H5Eget_auto2(H5E_DEFAULT, &printer_before, &data_before);
    EXPECT_THROW((void)Predictor(dir / "data.h5", options(2)), ModelError);
    Predictor predictor(dir / "model.h5", options(2));
    EXPECT_EQ(omp_get_max_threads(), 3);
    H5E_auto2_t printer_after = nullptr;
    void* data_after = nullptr;
    H5Eget_auto2(H5E_DEFAULT, &printer_after, &data_after);
    EXPECT_EQ(printer_after, printer_before);
    EXPECT_EQ(data_after, data_before);
    int initialized = 1;
    MPI_Initialized(&initialized);
    EXPECT_EQ(initialized, 0) << "the library must not need (or call) MPI_Init";
}

// oneDNN's max and min drop NaN: the kernels compute such rows again with the reference twin.
TEST(Predictor, NanRowsGiveNanAndInfinityRowsTheReferencesPredictions) {
    TempDir dir;
    named_model(dir, 600);
    Matrix input = read_matrix(dir / "data.h5", "/features");
    Predictor predictor(dir / "model.h5", options(2));
    const std::vector<float> clean = predicted(predictor, input);
    input.values[7 * 13 + 2] = std::numeric_limits<float>::quiet_NaN();
    input.values[300 * 13] = -std::numeric_limits<float>::infinity();
    const std::vector<float> got = predicted(predictor, input);
    Predictor reference(dir / "model.h5", options(1, 0, "reference"));
    const std::vector<float> want = predicted(reference, input);
    for (std::int64_t row = 0; row < input.rows; ++row) {
        for (std::int64_t col = 0; col < 5; ++col) {
            const auto i = static_cast<std::size_t>(row * 5 + col);
            if (row == 7) {
                EXPECT_TRUE(std::isnan(got[i])) << "row " << row;
            } else if (row == 300) {
                EXPECT_NEAR(got[i], want[i], tolerance) << "row " << row;
            } else {
                EXPECT_EQ(got[i], clean[i]) << "row " << row;
            }
        }
    }
}

TEST(Predictor, ZeroRowsDoNothing) {
    TempDir dir;
    named_model(dir, 10);
    Predictor predictor(dir / "model.h5");
    predictor.predict(nullptr, 0, nullptr);
    EXPECT_TRUE(predictor.predict(std::vector<float>()).empty());
}

// Each error: its class (the exit code of `h5infer run`) and a message naming the problem.
template <typename Work>
void expect_error(const Work& work, ExitCode code, const std::string& words) {
    try {
        work();
        ADD_FAILURE() << "no error; expected one saying '" << words << "'";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), code) << error.what();
        EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
    }
}

TEST(Predictor, RefusesAMissingFileAndAFileThatIsNotAModel) {
    TempDir dir;
    named_model(dir, 10);
    expect_error([&] { (void)Predictor(dir / "missing.h5"); }, ExitCode::Model,
                 "model file '" + (dir / "missing.h5") + "' does not exist");
    std::ofstream(dir / "notes.txt") << "not a model\n";
    expect_error([&] { (void)Predictor(dir / "notes.txt"); }, ExitCode::Model, "notes.txt");
    expect_error([&] { (void)Predictor(dir / "data.h5"); }, ExitCode::Model, "data.h5");
    EXPECT_THROW((void)Predictor(dir / "missing.h5"), ModelError);
}

TEST(Predictor, RefusesBadOptions) {
    TempDir dir;
    named_model(dir, 10);
    expect_error([&] { (void)Predictor(dir / "model.h5", options(1, 0, "gpu")); }, ExitCode::Usage,
                 "unknown backend 'gpu'; use one of: onednn, reference");
    expect_error([&] { (void)Predictor(dir / "model.h5", options(1, 0, "onednn", "f16")); },
                 ExitCode::Usage, "unknown precision 'f16'; use one of: f32, bf16");
    expect_error([&] { (void)Predictor(dir / "model.h5", options(-1)); }, ExitCode::Usage,
                 "threads must be 0");
    expect_error([&] { (void)Predictor(dir / "model.h5", options(1, -5)); }, ExitCode::Usage,
                 "chunk rows must be 0");
    expect_error([&] { (void)Predictor(dir / "model.h5", options(1, 0, "reference", "bf16")); },
                 ExitCode::Usage, "bf16");
}

TEST(Predictor, RefusesRowsThatDoNotFitAndNullPointers) {
    TempDir dir;
    named_model(dir, 10);
    Predictor predictor(dir / "model.h5");
    expect_error([&] { (void)predictor.predict(std::vector<float>(27)); }, ExitCode::Input,
                 "the rows hold 27 values, not a multiple of the model's 13 features per row");
    std::vector<float> dst(5);
    expect_error([&] { predictor.predict(nullptr, 1, dst.data()); }, ExitCode::Usage,
                 "the input rows are a null pointer");
    const std::vector<float> src(13);
    expect_error([&] { predictor.predict(src.data(), 1, nullptr); }, ExitCode::Usage,
                 "the output rows are a null pointer");
    expect_error([&] { predictor.predict(src.data(), -1, dst.data()); }, ExitCode::Usage,
                 "rows must be 0 or more, not -1");
}

TEST(Predictor, MovesWithItsModel) {
    TempDir dir;
    named_model(dir, 50);
    const Matrix input = read_matrix(dir / "data.h5", "/features");
    Predictor first(dir / "model.h5");
    const Matrix want{input.rows, 5, predicted(first, input)};
    Predictor moved(std::move(first));
    EXPECT_TRUE(same_bits(predicted(moved, input), want));
    Predictor assigned(dir / "model.h5", options(1, 0, "reference"));
    assigned = std::move(moved);
    EXPECT_TRUE(same_bits(predicted(assigned, input), want));
}

}  // namespace
}  // namespace h5infer::testing
