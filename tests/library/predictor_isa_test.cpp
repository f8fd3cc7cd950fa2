// PredictorOptions::isa, in a program of its own: the instruction set holds for the whole
// process from its first oneDNN kernel on, so these steps run in order in one test.
#include <gtest/gtest.h>

#include <string>

#include "h5infer/predictor.hpp"
#include "library/fixtures.hpp"

namespace h5infer::testing {
namespace {

PredictorOptions with_isa(const std::string& isa, const std::string& backend = "onednn") {
    PredictorOptions options;
    options.isa = isa;
    options.backend = backend;
    return options;
}

std::string error_of(const std::string& model, const PredictorOptions& options) {
    try {
        (void)Predictor(model, options);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "no error";
}

// The bits of `run --isa avx` (which differ from AVX2's and AVX-512's on this model, see
// e2e.InstructionSets), then no other set in the same process.
TEST(PredictorIsa, GivesTheBitsOfRunWithThatIsaAndHoldsForTheProcess) {
    TempDir dir;
    named_model(dir, 3001, 64, {512, 512});
    const std::string model = dir / "model.h5";
    EXPECT_NE(error_of(model, with_isa("avx3")).find("unknown isa 'avx3'; use one of: sse41, avx,"),
              std::string::npos);
    EXPECT_NE(error_of(model, with_isa("avx", "reference"))
                  .find("the reference backend computes the same bits on every CPU"),
              std::string::npos);

    const Matrix want = run_predictions(dir, {"--isa", "avx"}, 2);
    Predictor predictor(model, with_isa("avx"));
    EXPECT_TRUE(
        same_bits(predictor.predict(read_matrix(dir / "data.h5", "/features").values), want));
    Predictor again(model, with_isa("AVX"));  // the set in force: fine
    EXPECT_NE(error_of(model, with_isa("sse41")).find("oneDNN computes with avx in this process"),
              std::string::npos);
}

}  // namespace
}  // namespace h5infer::testing
