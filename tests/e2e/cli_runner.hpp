#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "h5infer/generate.hpp"
#include "h5infer/model.hpp"

namespace h5infer::testing {

/// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&&) = delete;
    TempDir& operator=(TempDir&&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }
    /// path() + "/" + name
    [[nodiscard]] std::string operator/(const std::string& name) const;
    /// path() + "/" + name, created as a directory if it is not one yet: a test case's own.
    [[nodiscard]] std::string subdirectory(const std::string& name) const;

private:
    std::string path_;
};

/// What generate() makes in `dir` for most suites: a model (model.h5) of `features` inputs,
/// `hidden` layers and `outputs` outputs, and `rows` rows of its inputs (data.h5:/features).
/// Change what the suite needs, then call generate().
[[nodiscard]] GenerateConfig model_and_data(const TempDir& dir, std::int64_t rows,
                                            std::int64_t features, std::vector<std::int64_t> hidden,
                                            std::int64_t outputs);

/// How a finished command ended and what it printed.
struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Options of a run of the real h5infer binary.
struct Launch {
    // Not explicit: `{2}` or `{1, "--bind-to none"}` reads well at call sites.
    Launch(int rank_count = 1, std::string flags = {}, std::string env = {})  // NOLINT
        : ranks(rank_count), mpiexec_flags(std::move(flags)), environment(std::move(env)) {}
    int ranks = 1;              ///< 0: run the binary directly (MPI singleton)
    std::string mpiexec_flags;  ///< extra mpiexec flags, e.g. "--bind-to none"
    std::string environment;    ///< "NAME=value ..." prepended to the command
};

/// Runs `h5infer <args>` under mpiexec, waits for it and captures its output.
CommandResult run_h5infer(const std::vector<std::string>& args, const Launch& launch = {});

/// The shell command line run_h5infer() would execute, with stdout and stderr redirected.
[[nodiscard]] std::string h5infer_command(const std::vector<std::string>& args,
                                          const Launch& launch, const std::string& out_file,
                                          const std::string& err_file);

/// Single-quotes a word for the shell.
[[nodiscard]] std::string shell_quote(const std::string& word);

/// How many times `word` occurs in `text`, overlaps included (e.g. to check that an error is
/// printed once).
[[nodiscard]] std::size_t count_occurrences(const std::string& text, const std::string& word);

/// Reads a whole text file ("" if missing).
[[nodiscard]] std::string read_text(const std::string& path);

/// Names of the entries of a directory.
[[nodiscard]] std::vector<std::string> list_dir(const std::string& path);

/// A float32 matrix read from an HDF5 dataset.
struct Matrix {
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    std::vector<float> values;
};
[[nodiscard]] Matrix read_matrix(const std::string& file, const std::string& dataset);

/// Same shape and the same bytes (so NaNs compare equal to themselves).
[[nodiscard]] bool bitwise_equal(const Matrix& a, const Matrix& b);

/// bitwise_equal() of the /predictions datasets of two files.
[[nodiscard]] bool same_predictions(const std::string& file_a, const std::string& file_b);

/// The Eigen double-precision reference's predictions of `model_file` for a dataset.
[[nodiscard]] Matrix reference_predictions(const std::string& model_file,
                                           const std::string& data_file,
                                           const std::string& dataset);

/// Largest |got - want| / max(1, |want|); the tests' stated tolerance is 1e-5.
[[nodiscard]] double max_scaled_error(const Matrix& got, const Matrix& want);

}  // namespace h5infer::testing
