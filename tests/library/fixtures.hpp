#pragma once

// What the library's tests share: a generated model and dataset, and `h5infer run`'s
// predictions of them, to compare the library's bits with.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "e2e/cli_runner.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer::testing {

/// A model of `features` inputs, `hidden` layers and 5 softmax outputs, with feature names and
/// class labels, at dir/model.h5, and `rows` rows of data at dir/data.h5:/features.
inline GenerateConfig named_model(const TempDir& dir, std::int64_t rows, std::int64_t features = 13,
                                  std::vector<std::int64_t> hidden = {61, 29}) {
    GenerateConfig config = model_and_data(dir, rows, features, std::move(hidden), 5);
    config.hidden_activation = Activation::Tanh;
    generate(config);
    Model model = random_model(config);
    for (std::int64_t i = 0; i < features; ++i) {
        model.feature_names.push_back("f" + std::to_string(i));
    }
    model.labels = {"alpha", "beta", "gamma", "delta", "epsilon"};
    save_model(model, config.model_path);
    return config;
}

/// `h5infer run` of dir/data.h5:/features with dir/model.h5 and `flags`, on `ranks` ranks: its
/// predictions.
inline Matrix run_predictions(const TempDir& dir, const std::vector<std::string>& flags,
                              int ranks = 1) {
    const std::string output = dir / "run.h5";
    std::vector<std::string> args{
        "run",      "--model", dir / "model.h5", "--input", dir / "data.h5:/features",
        "--output", output,    "--overwrite"};
    args.insert(args.end(), flags.begin(), flags.end());
    const CommandResult result = run_h5infer(args, {ranks});
    if (result.exit_code != 0) throw std::runtime_error("h5infer run failed: " + result.err);
    return read_matrix(output, "/predictions");
}

/// The bytes of `values` equal those of `want`'s values (so NaNs compare equal).
inline bool same_bits(const std::vector<float>& values, const Matrix& want) {
    Matrix got = want;
    got.values = values;
    return values.size() == want.values.size() && bitwise_equal(got, want);
}

}  // namespace h5infer::testing
