// Tests of kernels/: the reference backend against hand-computed numbers, the oneDNN backend
// against the reference (f32 and bf16), the oneDNN backend's bits against the thread count, and
// compare_outputs().
//
// Not tested: forward() with more rows than max_rows() is a programmer error that trips
// H5INFER_ASSERT (an abort), so it has no death test.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/model.hpp"
#include "kernels/network.hpp"
#include "kernels/onednn/onednn.hpp"

namespace h5infer::kernels {
namespace {

// oneDNN against the double-precision reference, per element:
//     |got - ref| <= 1e-5 * max(1, |ref|).
// Inputs in [-3, 3] and Xavier-scaled weights keep every activation O(1): f32 rounding then
// stays near 1e-6 even through 2048-term sums and several layers, while a wrong formula,
// alpha, layout or fold is off by far more.
constexpr double tolerance = 1e-5;

constexpr std::array<Activation, 17> all_activations = {
    Activation::Identity,  Activation::Relu,       Activation::LeakyRelu, Activation::Elu,
    Activation::Sigmoid,   Activation::Tanh,       Activation::GeluErf,   Activation::GeluTanh,
    Activation::Softplus,  Activation::Swish,      Activation::Softmax,   Activation::Clip,
    Activation::HardSwish, Activation::LogSoftmax, Activation::LayerNorm, Activation::Exp,
    Activation::Mish};

constexpr std::array<std::int64_t, 5> odd_widths = {1, 3, 13, 127, 257};
constexpr std::array<std::int64_t, 3> odd_rows = {1, 7, 333};

// Not the defaults, so that an alpha dropped on the way to oneDNN shows.
float test_alpha(Activation activation) {
    switch (activation) {
        case Activation::LeakyRelu: return 0.2F;
        case Activation::Elu: return 0.7F;
        case Activation::Swish: return 1.5F;
        case Activation::Clip: return -0.5F;
        case Activation::LayerNorm: return 1e-3F;
        default: return 0.0F;
    }
}

float test_beta(Activation activation) {
    return activation == Activation::Clip ? 0.75F : 0.0F;
}

/// Builds a valid model layer by layer with random parameters.
class ModelBuilder {
public:
    explicit ModelBuilder(std::int64_t input_width, unsigned seed = 1) : rng_(seed) {
        model_.input_width = input_width;
        width_ = input_width;
    }

    /// Xavier-uniform weights, bias in [-0.5, 0.5].
    ModelBuilder& dense(std::int64_t outputs, bool with_bias = true) {
        DenseLayer layer;
        layer.inputs = width_;
        layer.outputs = outputs;
        const double limit = std::sqrt(6.0 / static_cast<double>(width_ + outputs));
        layer.weights = random_values(width_ * outputs, -limit, limit);
        if (with_bias) layer.bias = random_values(outputs, -0.5, 0.5);
        model_.layers.emplace_back(std::move(layer));
        width_ = outputs;
        return *this;
    }

    ModelBuilder& affine() {
        AffineLayer layer;
        for (float value : random_values(width_, 0.5, 2.0)) layer.scale.push_back(value);
        for (float value : random_values(width_, -1.0, 1.0)) layer.shift.push_back(value);
        model_.layers.emplace_back(std::move(layer));
        return *this;
    }

    /// An affine layer that only scales (no shift): the kind folded into a dense layer after it.
    ModelBuilder& scaling() {
        affine();
        auto& layer = std::get<AffineLayer>(model_.layers.back());
        std::fill(layer.shift.begin(), layer.shift.end(), 0.0);
        return *this;
    }

    ModelBuilder& activation(Activation function) {
        model_.layers.emplace_back(
            ActivationLayer{function, test_alpha(function), test_beta(function)});
        return *this;
    }

    Model build() const {
        validate(model_);
        return model_;
    }

private:
    std::vector<float> random_values(std::int64_t count, double low, double high) {
        std::uniform_real_distribution<double> uniform(low, high);
        std::vector<float> values(count);
        for (float& value : values) value = static_cast<float>(uniform(rng_));
        return values;
    }

    Model model_;
    std::int64_t width_ = 0;
    std::mt19937 rng_;
};

std::vector<float> random_input(std::int64_t rows, std::int64_t width, unsigned seed = 2) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-3.0F, 3.0F);
    std::vector<float> values(rows * width);
    for (float& value : values) value = uniform(rng);
    return values;
}

std::vector<float> run(Network& network, const std::vector<float>& src, std::int64_t rows,
                       std::int64_t output_width) {
    std::vector<float> dst(rows * output_width, -12345.0F);
    network.forward(src.data(), rows, dst.data());
    return dst;
}

std::vector<float> run(const Model& model, Backend backend, const std::vector<float>& src,
                       std::int64_t rows, int threads = 2, Precision precision = Precision::F32) {
    const auto network = make_network(model, backend, rows, threads, precision);
    return run(*network, src, rows, model.output_width());
}

void expect_close(const std::vector<float>& got, const std::vector<float>& expected) {
    ASSERT_EQ(got.size(), expected.size());
    int bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double ref = expected[i];
        if (!(std::abs(got[i] - ref) <= tolerance * std::max(1.0, std::abs(ref)))) {
            if (++bad <= 3)
                ADD_FAILURE() << "element " << i << ": got " << got[i] << ", expected " << ref;
        }
    }
    EXPECT_EQ(bad, 0) << "elements out of tolerance";
}

void expect_matches_reference(const Model& model, std::int64_t rows) {
    SCOPED_TRACE("rows " + std::to_string(rows));
    const std::vector<float> src = random_input(rows, model.input_width);
    expect_close(run(model, Backend::Onednn, src, rows), run(model, Backend::Reference, src, rows));
}

std::string name_of(Activation activation) {
    return std::string(activation_name(activation));
}

TEST(MakeNetwork, NamesItsBackends) {
    EXPECT_EQ(backend_name(Backend::Onednn), "onednn");
    EXPECT_EQ(backend_name(Backend::Reference), "reference");
}

TEST(MakeNetwork, NamesItsPrecisions) {
    EXPECT_EQ(precision_name(Precision::F32), "f32");
    EXPECT_EQ(precision_name(Precision::Bf16), "bf16");
}

TEST(ReferenceBackend, MatchesHandComputedDenseReluSoftmax) {
    Model model;
    model.input_width = 2;
    model.layers.emplace_back(
        DenseLayer{2, 3, {1.0F, 0.0F, -1.0F, 0.5F, 1.0F, 2.0F}, {0.0F, -3.0F, 0.5F}});
    model.layers.emplace_back(ActivationLayer{Activation::Relu, 0.0F});
    model.layers.emplace_back(ActivationLayer{Activation::Softmax, 0.0F});
    validate(model);
    // Row [1, 2]: dense [2, -1, 3.5], relu [2, 0, 3.5], softmax exp(v - 3.5) / sum.
    // Row [-1, 0.5]: dense [-0.75, -2.5, 2.5], relu [0, 0, 2.5].
    const std::vector<float> src = {1.0F, 2.0F, -1.0F, 0.5F};
    const std::vector<double> expected = {0.17803020550615906, 0.0240937682868484,
                                          0.7978760262069926,  0.07050946066120506,
                                          0.07050946066120506, 0.8589810786775898};
    const std::vector<float> got = run(model, Backend::Reference, src, 2);
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-7) << i;
}

TEST(ReferenceBackend, ActivationsMatchKnownValues) {
    struct Case {
        Activation function;
        float alpha;
        float x;
        double expected;  // from Python's math module; checked to 1e-6 relative
    };
    const std::vector<Case> cases = {
        {Activation::Identity, 0.0F, -1.5F, -1.5},
        {Activation::Relu, 0.0F, -1.0F, 0.0},
        {Activation::Relu, 0.0F, 2.0F, 2.0},
        {Activation::LeakyRelu, 0.1F, -2.0F, -0.2},
        {Activation::LeakyRelu, 0.1F, 3.0F, 3.0},
        {Activation::Elu, 0.5F, -1.0F, -0.31606027941427883},
        {Activation::Elu, 0.5F, 2.0F, 2.0},
        {Activation::Sigmoid, 0.0F, 0.0F, 0.5},
        {Activation::Sigmoid, 0.0F, 2.0F, 0.8807970779778823},
        {Activation::Tanh, 0.0F, 0.5F, 0.46211715726000974},
        {Activation::Tanh, 0.0F, -3.0F, -0.9950547536867305},
        {Activation::GeluErf, 0.0F, 1.0F, 0.8413447460685429},
        {Activation::GeluErf, 0.0F, -2.0F, -0.04550026389635842},
        {Activation::GeluTanh, 0.0F, 1.0F, 0.8411919906082768},
        {Activation::GeluTanh, 0.0F, -2.0F, -0.04540230591222494},
        {Activation::Softplus, 0.0F, 0.0F, 0.6931471805599453},
        {Activation::Softplus, 0.0F, -2.0F, 0.1269280110429725},
        {Activation::Softplus, 0.0F, 1000.0F, 1000.0},  // exp(1000) overflows a double
        {Activation::Softplus, 0.0F, -40.0F, 4.248354255291589e-18},  // 1 + exp(-40) == 1
        {Activation::Swish, 1.0F, 1.0F, 0.7310585786300049},
        {Activation::Swish, 1.5F, -1.0F, -0.18242552380635635},
        {Activation::Exp, 0.0F, 0.0F, 1.0},
        {Activation::Exp, 0.0F, -2.5F, 0.0820849986238988},
        {Activation::Exp, 0.0F, 10.0F, 22026.465794806718},
        {Activation::Mish, 0.0F, 1.0F, 0.8650983882673103},
        {Activation::Mish, 0.0F, -2.0F, -0.2525014826957089},
        {Activation::Mish, 0.0F, 30.0F, 30.0},
    };
    for (const Case& c : cases) {
        Model model;
        model.input_width = 1;
        model.layers.emplace_back(ActivationLayer{c.function, c.alpha});
        const std::vector<float> got = run(model, Backend::Reference, {c.x}, 1);
        EXPECT_NEAR(got[0], c.expected, 1e-6 * std::abs(c.expected))
            << name_of(c.function) << " alpha " << c.alpha << " at " << c.x;
    }
}

TEST(ReferenceBackend, ClipAndHardSwishMatchKnownValues) {
    struct Case {
        Activation function;
        float x;
        double expected;
    };
    const std::vector<Case> cases = {
        {Activation::Clip, -2.0F, -0.5},          {Activation::Clip, 0.25F, 0.25},
        {Activation::Clip, 3.0F, 0.75},           {Activation::HardSwish, -4.0F, 0.0},
        {Activation::HardSwish, 1.0F, 2.0 / 3.0}, {Activation::HardSwish, 3.5F, 3.5},
    };
    for (const Case& c : cases) {
        Model model;
        model.input_width = 1;
        model.layers.emplace_back(ActivationLayer{c.function, -0.5F, 0.75F});
        const std::vector<float> got = run(model, Backend::Reference, {c.x}, 1);
        EXPECT_NEAR(got[0], c.expected, 1e-7) << name_of(c.function) << " at " << c.x;
    }
}

TEST(ReferenceBackend, LogSoftmaxAndLayerNormMatchKnownValues) {
    Model model;
    model.input_width = 3;
    model.layers.emplace_back(ActivationLayer{Activation::LogSoftmax, 0.0F, 0.0F});
    // log(softmax([1, 2, 3])) and, with a huge spread, no overflow.
    const std::vector<float> log_probs =
        run(model, Backend::Reference, {1.0F, 2.0F, 3.0F, 1e4F, 0.0F, -1e4F}, 2);
    const std::vector<double> expected_log = {
        -2.4076059644443806, -1.4076059644443804, -0.4076059644443804, 0.0, -1e4, -2e4};
    for (std::size_t i = 0; i < log_probs.size(); ++i) {
        EXPECT_NEAR(log_probs[i], expected_log[i], 1e-6 * std::max(1.0, std::abs(expected_log[i])))
            << i;
    }
    model.layers[0] = ActivationLayer{Activation::LayerNorm, 0.5F, 0.0F};
    // [1, 2, 3]: mean 2, variance 2/3, so (x - 2) / sqrt(2/3 + 0.5); a constant row gives 0.
    const std::vector<float> normalized =
        run(model, Backend::Reference, {1.0F, 2.0F, 3.0F, 4.0F, 4.0F, 4.0F}, 2);
    const double inverse = 1.0 / std::sqrt(2.0 / 3.0 + 0.5);
    const std::vector<double> expected_norm = {-inverse, 0.0, inverse, 0.0, 0.0, 0.0};
    for (std::size_t i = 0; i < normalized.size(); ++i) {
        EXPECT_NEAR(normalized[i], expected_norm[i], 1e-7) << i;
    }
}

TEST(ReferenceBackend, SoftmaxMatchesKnownValuesAndSurvivesLargeInputs) {
    Model model;
    model.input_width = 3;
    model.layers.emplace_back(ActivationLayer{Activation::Softmax, 0.0F});
    const std::vector<float> got =
        run(model, Backend::Reference, {1.0F, 2.0F, 3.0F, 1e4F, 1e4F, -1e4F}, 2);
    const std::vector<double> expected = {
        0.09003057317038046, 0.24472847105479767, 0.6652409557748219, 0.5, 0.5, 0.0};
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-7) << i;
}

TEST(OnednnBackend, MatchesReferenceForEveryActivationFusedAfterDense) {
    for (Activation function : all_activations) {
        for (std::int64_t width : odd_widths) {
            SCOPED_TRACE(name_of(function) + ", dense 13 -> " + std::to_string(width));
            const Model model = ModelBuilder(13).dense(width).activation(function).build();
            for (std::int64_t rows : odd_rows) expect_matches_reference(model, rows);
        }
    }
}

TEST(OnednnBackend, MatchesReferenceForEveryActivationAfterAffine) {
    for (Activation function : all_activations) {
        for (std::int64_t width : odd_widths) {
            SCOPED_TRACE(name_of(function) + ", width " + std::to_string(width));
            const Model model = ModelBuilder(width).affine().activation(function).build();
            for (std::int64_t rows : odd_rows) expect_matches_reference(model, rows);
        }
    }
}

TEST(OnednnBackend, MatchesReferenceForEveryActivationAsFirstLayer) {
    for (Activation function : all_activations) {
        for (std::int64_t width : odd_widths) {
            SCOPED_TRACE(name_of(function) + ", width " + std::to_string(width));
            const Model model = ModelBuilder(width).activation(function).dense(3).build();
            for (std::int64_t rows : odd_rows) expect_matches_reference(model, rows);
            // Also alone: the only step reads the caller's src and writes its dst.
            expect_matches_reference(ModelBuilder(width).activation(function).build(), 7);
        }
    }
}

TEST(OnednnBackend, MatchesReferenceForAffineAlone) {
    for (std::int64_t width : odd_widths) {
        SCOPED_TRACE("width " + std::to_string(width));
        for (std::int64_t rows : odd_rows) {
            expect_matches_reference(ModelBuilder(width).affine().build(), rows);
            expect_matches_reference(ModelBuilder(width).affine().affine().build(), rows);
        }
    }
}

// A scaling is folded into the dense layer after it; an affine layer that shifts is not (see
// kernels/onednn/steps.cpp).
TEST(OnednnBackend, MatchesReferenceForAffineBeforeDense) {
    const std::vector<std::pair<std::string, Model>> models = {
        {"affine, dense", ModelBuilder(13).affine().dense(127).build()},
        {"scaling, dense", ModelBuilder(13).scaling().dense(127).build()},
        {"affine, dense without bias", ModelBuilder(127).affine().dense(3, false).build()},
        {"scaling, dense without bias", ModelBuilder(127).scaling().dense(3, false).build()},
        {"affine, affine, dense + tanh",
         ModelBuilder(3).affine().affine().dense(257).activation(Activation::Tanh).build()},
        {"affine, scaling, dense + tanh",
         ModelBuilder(3).affine().scaling().dense(257).activation(Activation::Tanh).build()},
        {"dense, affine, dense + relu",
         ModelBuilder(257).dense(13).affine().dense(1).activation(Activation::Relu).build()},
        {"dense, scaling, dense + relu",
         ModelBuilder(257).dense(13).scaling().dense(1).activation(Activation::Relu).build()},
    };
    for (const auto& [what, model] : models) {
        SCOPED_TRACE(what);
        for (std::int64_t rows : odd_rows) expect_matches_reference(model, rows);
    }
}

TEST(OnednnBackend, MatchesReferenceForDenseWithoutBias) {
    for (std::int64_t inputs : odd_widths) {
        for (std::int64_t outputs : odd_widths) {
            SCOPED_TRACE(std::to_string(inputs) + " -> " + std::to_string(outputs));
            const Model model = ModelBuilder(inputs).dense(outputs, false).build();
            for (std::int64_t rows : odd_rows) expect_matches_reference(model, rows);
        }
    }
}

TEST(OnednnBackend, SoftmaxRowsSumToOne) {
    for (std::int64_t width : odd_widths) {
        SCOPED_TRACE("width " + std::to_string(width));
        const Model model = ModelBuilder(64).dense(width).activation(Activation::Softmax).build();
        const std::int64_t rows = 333;
        const std::vector<float> got = run(model, Backend::Onednn, random_input(rows, 64), rows);
        for (std::int64_t r = 0; r < rows; ++r) {
            double sum = 0.0;
            for (std::int64_t c = 0; c < width; ++c) {
                const float p = got[r * width + c];
                ASSERT_TRUE(p >= 0.0F && p <= 1.0F) << "row " << r << " column " << c << ": " << p;
                sum += p;
            }
            ASSERT_NEAR(sum, 1.0, 1e-5) << "row " << r;
        }
    }
}

TEST(OnednnBackend, MatchesReferenceForMultiLayerChains) {
    const std::vector<std::pair<std::string, Model>> models = {
        {"mlp relu, softmax", ModelBuilder(13)
                                  .affine()
                                  .dense(127)
                                  .activation(Activation::Relu)
                                  .dense(257)
                                  .activation(Activation::Relu)
                                  .dense(3)
                                  .activation(Activation::Softmax)
                                  .build()},
        {"activations in a row", ModelBuilder(127)
                                     .dense(64)
                                     .activation(Activation::GeluErf)
                                     .activation(Activation::Tanh)
                                     .activation(Activation::Swish)
                                     .dense(13, false)
                                     .activation(Activation::Softmax)
                                     .activation(Activation::Sigmoid)
                                     .build()},
        {"wide and deep", ModelBuilder(257)
                              .dense(2048)
                              .activation(Activation::Elu)
                              .affine()
                              .activation(Activation::Softplus)
                              .dense(512)
                              .activation(Activation::LeakyRelu)
                              .dense(1)
                              .build()},
    };
    for (const auto& [what, model] : models) {
        SCOPED_TRACE(what + ", block rows " + std::to_string(onednn_block_rows(model)));
        for (std::int64_t rows : {std::int64_t{1}, std::int64_t{333}, std::int64_t{2500}}) {
            expect_matches_reference(model, rows);
        }
    }
}

TEST(ReferenceBackend, NormalizeDividesEachRowByItsSum) {
    Model model;
    model.input_width = 3;
    model.layers.emplace_back(ActivationLayer{Activation::Normalize, 0.0F});
    const std::vector<float> got =
        run(model, Backend::Reference, {1.0F, 1.0F, 2.0F, 0.5F, 0.0F, 1.5F}, 2);
    const std::vector<float> expected = {0.25F, 0.25F, 0.5F, 0.25F, 0.0F, 0.75F};
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], expected[i]) << i;
}

// Normalize is meant for non-negative scores (one-vs-rest sigmoids): random signed inputs could
// sum to nearly zero, so it is tested after a sigmoid or on positive inputs.
TEST(OnednnBackend, MatchesReferenceForNormalizeAfterSigmoid) {
    for (std::int64_t width : odd_widths) {
        SCOPED_TRACE("width " + std::to_string(width));
        const std::vector<Model> models = {ModelBuilder(13)
                                               .dense(width)
                                               .activation(Activation::Sigmoid)
                                               .activation(Activation::Normalize)
                                               .build(),
                                           ModelBuilder(width)
                                               .activation(Activation::Sigmoid)
                                               .activation(Activation::Normalize)
                                               .dense(3)
                                               .build(),
                                           ModelBuilder(width)
                                               .affine()
                                               .activation(Activation::Sigmoid)
                                               .activation(Activation::Normalize)
                                               .build()};
        for (const Model& model : models) {
            for (std::int64_t rows : odd_rows) expect_matches_reference(model, rows);
        }
    }
}

TEST(OnednnBackend, MatchesReferenceForNormalizeAlone) {
    const Model model = ModelBuilder(5).activation(Activation::Normalize).build();
    std::vector<float> src = random_input(333, 5);
    for (float& value : src) value = std::abs(value) + 0.01F;
    expect_close(run(model, Backend::Onednn, src, 333), run(model, Backend::Reference, src, 333));
}

// Random rows where every third row holds a NaN, an infinity or a negative infinity in one of
// its columns.
std::vector<float> input_with_nonfinite_rows(std::int64_t rows, std::int64_t width) {
    std::vector<float> src = random_input(rows, width, 5);
    const std::array<float, 3> specials = {std::numeric_limits<float>::quiet_NaN(),
                                           std::numeric_limits<float>::infinity(),
                                           -std::numeric_limits<float>::infinity()};
    for (std::int64_t row = 0; row < rows; row += 3) {
        src[row * width + (row / 3) % width] = specials[(row / 3) % specials.size()];
    }
    return src;
}

// NaN exactly where the reference has NaN, the same infinities, the finite values within
// `limit` (compare_outputs() counts a mismatch of either kind as an infinite deviation).
void expect_same_nonfinite_values(const std::vector<float>& got, const std::vector<float>& want,
                                  double limit) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        const Deviation one = compare_outputs(&got[i], &want[i], 1);
        if (!(one.relative <= limit)) {
            ADD_FAILURE() << "element " << i << ": got " << got[i] << ", reference " << want[i];
            return;
        }
    }
}

// oneDNN computes ReLU, clip and hard swish with max and min, which turn NaN into a number:
// every activation must give what the reference (and the frameworks) give on such rows.
TEST(OnednnBackend, PropagatesNanAndInfinityAsTheReferenceForEveryActivation) {
    for (Activation function : all_activations) {
        const std::vector<std::pair<std::string, Model>> models = {
            {"dense + activation, dense",
             ModelBuilder(13).dense(127).activation(function).dense(3).build()},
            {"activation first", ModelBuilder(13).activation(function).dense(3).build()},
            {"affine, activation alone", ModelBuilder(13).affine().activation(function).build()},
        };
        for (const auto& [what, model] : models) {
            SCOPED_TRACE(name_of(function) + ", " + what);
            for (std::int64_t rows : odd_rows) {
                const std::vector<float> src = input_with_nonfinite_rows(rows, 13);
                expect_same_nonfinite_values(run(model, Backend::Onednn, src, rows),
                                             run(model, Backend::Reference, src, rows), tolerance);
            }
        }
    }
}

// scikit-learn's SimpleImputer before a scaler: NaN takes the fill value, then is scaled;
// infinities are not missing and stay infinite.
TEST(EveryBackend, AffineFillReplacesNanBeforeScaling) {
    Model model;
    model.input_width = 3;
    model.layers.emplace_back(AffineLayer{{2.0, 1.0, 0.5}, {1.0, 0.0, -1.0}, {10.0, 20.0, 30.0}});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> src = {nan, 1.0F, nan, 3.0F, nan, -inf, 1.0F, 2.0F, 4.0F};
    const std::vector<float> want = {21.0F, 1.0F, 14.0F, 7.0F, 20.0F, -inf, 3.0F, 2.0F, 1.0F};
    for (Backend backend : {Backend::Onednn, Backend::Reference}) {
        EXPECT_EQ(run(model, backend, src, 3), want) << backend_name(backend);
    }
}

// Not folded into the dense layer after it (no weight can replace an input): rows with NaN
// give finite predictions, the same as the reference's.
TEST(OnednnBackend, AffineFillBeforeDenseGivesTheReferencesFinitePredictions) {
    Model model =
        ModelBuilder(13).scaling().dense(64).activation(Activation::Relu).dense(3).build();
    auto& affine = std::get<AffineLayer>(model.layers.front());
    for (std::size_t c = 0; c < affine.scale.size(); ++c)
        affine.fill.push_back(0.1 * static_cast<double>(c) - 0.5);
    validate(model);
    for (std::int64_t rows : odd_rows) {
        std::vector<float> src = input_with_nonfinite_rows(rows, 13);
        std::replace_if(
            src.begin(), src.end(), [](float v) { return std::isinf(v); }, 0.0F);
        const std::vector<float> got = run(model, Backend::Onednn, src, rows);
        EXPECT_TRUE(std::all_of(got.begin(), got.end(), [](float v) { return std::isfinite(v); }));
        expect_close(got, run(model, Backend::Reference, src, rows));
    }
}

TEST(OnednnBackend, NanThroughReluStaysNanAndTheOtherRowsKeepTheirBits) {
    const Model model = ModelBuilder(13)
                            .dense(64)
                            .activation(Activation::Relu)
                            .dense(3)
                            .activation(Activation::Softmax)
                            .build();
    const std::int64_t rows = 1000;  // several blocks
    const std::vector<float> finite = random_input(rows, 13, 5);
    const std::vector<float> mixed = input_with_nonfinite_rows(rows, 13);
    for (int threads : {1, 2}) {
        SCOPED_TRACE(std::to_string(threads) + " threads");
        const auto network = make_network(model, Backend::Onednn, rows, threads);
        std::vector<float> got(rows * 3);
        std::vector<float> clean(rows * 3);
        EXPECT_EQ(network->forward_counting_nonfinite(mixed.data(), rows, got.data()),
                  (rows + 2) / 3);
        network->forward(finite.data(), rows, clean.data());
        for (std::int64_t row = 0; row < rows; ++row) {
            for (std::int64_t c = 0; c < 3; ++c) {
                const float value = got[row * 3 + c];
                if (row % 3 == 0) {
                    ASSERT_TRUE(std::isnan(value)) << "row " << row << ": " << value;
                } else {
                    ASSERT_EQ(std::memcmp(&value, &clean[row * 3 + c], sizeof value), 0)
                        << "row " << row;
                }
            }
        }
    }
}

// The sigmoids of logits below about -88 underflow float: their normalization must not divide
// zero by zero (one-vs-rest classifiers far from their training data).
TEST(ReferenceBackend, NormalizedSigmoidsOfVeryNegativeLogitsAreTheirSoftmax) {
    Model model;
    model.input_width = 3;
    model.layers.emplace_back(ActivationLayer{Activation::Sigmoid});
    model.layers.emplace_back(ActivationLayer{Activation::Normalize});
    const std::vector<float> logits = {-100.0F, -101.0F, -102.0F, -1000.0F, -1000.0F,
                                       -999.0F, 2.0F,    -3.0F,   0.5F};
    const std::vector<float> got = run(model, Backend::Reference, logits, 3);
    const auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    const double e = std::exp(1.0);
    const double ratio = sigmoid(2.0) + sigmoid(-3.0) + sigmoid(0.5);
    // sigmoid(x) = exp(x) to double precision far below zero: the softmax of the logits there.
    const std::vector<double> want = {1.0 / (1.0 + 1.0 / e + 1.0 / (e * e)),
                                      (1.0 / e) / (1.0 + 1.0 / e + 1.0 / (e * e)),
                                      (1.0 / (e * e)) / (1.0 + 1.0 / e + 1.0 / (e * e)),
                                      1.0 / (2.0 + e),
                                      1.0 / (2.0 + e),
                                      e / (2.0 + e),
                                      sigmoid(2.0) / ratio,
                                      sigmoid(-3.0) / ratio,
                                      sigmoid(0.5) / ratio};
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
}

TEST(OnednnBackend, NormalizedSigmoidsOfVeryNegativeLogitsMatchTheReference) {
    // Logits straight from the input, and from a dense layer whose bias pushes them all below
    // -88 (sigmoid fused after the matmul otherwise).
    Model far = ModelBuilder(13)
                    .dense(5)
                    .activation(Activation::Sigmoid)
                    .activation(Activation::Normalize)
                    .build();
    for (float& bias : std::get<DenseLayer>(far.layers[0]).bias) bias -= 300.0F;
    const std::vector<std::pair<std::string, Model>> models = {
        {"sigmoid, normalize",
         ModelBuilder(5).activation(Activation::Sigmoid).activation(Activation::Normalize).build()},
        {"dense + sigmoid, normalize", far}};
    for (const auto& [what, model] : models) {
        for (std::int64_t rows : odd_rows) {
            SCOPED_TRACE(what + ", rows " + std::to_string(rows));
            std::vector<float> src = random_input(rows, model.input_width, 7);
            if (model.input_width == 5) {
                for (float& value : src) value = value * 10.0F - 100.0F;  // -130 .. -70
            }
            const std::vector<float> got = run(model, Backend::Onednn, src, rows);
            for (float value : got) ASSERT_TRUE(std::isfinite(value)) << value;
            expect_same_nonfinite_values(got, run(model, Backend::Reference, src, rows), tolerance);
        }
    }
}

// A scaler of features far from zero (coordinates, timestamps, prices) before a dense layer:
// the prediction must be as exact as float input allows, not the difference of two large
// rounded terms.
TEST(OnednnBackend, ScalerOfLargeOffsetsKeepsTheDenseLayersPrecision) {
    constexpr std::int64_t width = 6;
    const std::array<double, width> mean = {47.56, -122.21, 2080.0, 1971.0, 98077.0, 1.4e9};
    const std::array<double, width> spread = {0.14, 0.14, 900.0, 29.0, 53.0, 1.5e7};
    Model model = ModelBuilder(width).affine().dense(1).build();
    auto& scaler = std::get<AffineLayer>(model.layers[0]);
    for (std::int64_t j = 0; j < width; ++j) {
        scaler.scale[j] = 1.0 / spread[j];
        scaler.shift[j] = -mean[j] / spread[j];
    }
    const std::int64_t rows = 333;
    std::vector<float> src = random_input(rows, width, 9);
    for (std::int64_t i = 0; i < rows * width; ++i) {
        src[i] = static_cast<float>(mean[i % width] + spread[i % width] * src[i] / 3.0);
    }
    const auto& dense = std::get<DenseLayer>(model.layers[1]);
    for (Backend backend : {Backend::Onednn, Backend::Reference}) {
        SCOPED_TRACE(std::string(backend_name(backend)));
        const std::vector<float> got = run(model, backend, src, rows);
        for (std::int64_t row = 0; row < rows; ++row) {
            double want = dense.bias[0];
            for (std::int64_t j = 0; j < width; ++j) {
                want +=
                    (src[row * width + j] * scaler.scale[j] + scaler.shift[j]) * dense.weights[j];
            }
            ASSERT_NEAR(got[row], want, 1e-5 * std::max(1.0, std::abs(want))) << "row " << row;
        }
    }
}

TEST(OnednnBackend, FewerRowsThanMaxRowsAndBack) {
    const Model model = ModelBuilder(127)
                            .dense(257)
                            .activation(Activation::GeluTanh)
                            .dense(13)
                            .activation(Activation::Softmax)
                            .build();
    const std::int64_t block = onednn_block_rows(model);
    const std::int64_t max_rows = 2 * block + 37;  // full blocks and a tail
    const std::vector<float> src = random_input(max_rows, model.input_width);
    const auto onednn = make_network(model, Backend::Onednn, max_rows, 2);
    const auto reference = make_network(model, Backend::Reference, max_rows, 1);
    ASSERT_EQ(onednn->max_rows(), max_rows);
    const std::vector<float> first = run(*onednn, src, max_rows, model.output_width());
    expect_close(first, run(*reference, src, max_rows, model.output_width()));
    for (std::int64_t rows : {std::int64_t{7}, std::int64_t{1}, block - 1, block, block + 1,
                              std::int64_t{0}, max_rows - 1}) {
        SCOPED_TRACE("rows " + std::to_string(rows));
        expect_close(run(*onednn, src, rows, model.output_width()),
                     run(*reference, src, rows, model.output_width()));
    }
    const std::vector<float> again = run(*onednn, src, max_rows, model.output_width());
    EXPECT_EQ(std::memcmp(first.data(), again.data(), first.size() * sizeof(float)), 0);
}

// Layers: 0 affine (folded into 1), 1 dense, 2 relu, 3 dense, 4 softmax.
Model scaled_mlp() {
    return ModelBuilder(127)
        .scaling()
        .dense(257)
        .activation(Activation::Relu)
        .dense(13)
        .activation(Activation::Softmax)
        .build();
}

TEST(OnednnBackend, AJobOfAFewRowsKeepsTheWeightsOfAHandedOverModel) {
    const Model model = scaled_mlp();
    const std::int64_t rows = plain_weights_rows;
    const std::vector<float> src = random_input(rows, model.input_width);
    const std::vector<float> copied = run(model, Backend::Onednn, src, rows);
    Model handed = model;
    const auto network = make_network(std::move(handed), Backend::Onednn, rows, 2);
    // The unfolded dense layer's array moved into the network; the folded one's did not.
    EXPECT_TRUE(std::get<DenseLayer>(handed.layers[3]).weights.empty());  // NOLINT: moved from
    EXPECT_FALSE(std::get<DenseLayer>(handed.layers[1]).weights.empty());
    handed = Model();
    const std::vector<float> clobber(std::size_t{1} << 20U, 7.0F);  // reuse the freed memory
    const std::vector<float> kept = run(*network, src, rows, model.output_width());
    EXPECT_EQ(std::memcmp(kept.data(), copied.data(), kept.size() * sizeof(float)), 0);
    expect_close(kept, run(model, Backend::Reference, src, rows));
    EXPECT_EQ(clobber.back(), 7.0F);
    // More rows: oneDNN's blocked layout, a copy; the model keeps its arrays.
    Model larger = model;
    (void)make_network(std::move(larger), Backend::Onednn, rows + 1, 1);
    EXPECT_FALSE(std::get<DenseLayer>(larger.layers[3]).weights.empty());  // NOLINT
}

// The bits of every row must not depend on the thread count (ranks get different thread counts
// from mpirun's binding, and h5infer promises the same bytes for any rank count).
void expect_same_bits_for_one_to_four_threads(const Model& model, std::int64_t rows,
                                              Precision precision = Precision::F32) {
    const std::vector<float> src = random_input(rows, model.input_width, 3);
    const std::vector<float> one = run(model, Backend::Onednn, src, rows, 1, precision);
    for (int threads = 2; threads <= 4; ++threads) {
        const std::vector<float> many = run(model, Backend::Onednn, src, rows, threads, precision);
        ASSERT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0)
            << "rows " << rows << ", " << model.input_width << " -> " << model.output_width()
            << ": " << threads << " threads differ from 1";
    }
}

TEST(OnednnBackend, MatmulBitsDoNotDependOnThreadCount) {
    // Every rows x K x N up to 2^26 multiply-adds and 2^22 input plus output values (keeps the
    // test in seconds), plus large K with small M x N, where a K-splitting matmul would sum in
    // a thread-dependent order.
    constexpr std::int64_t max_multiply_adds = std::int64_t{1} << 26;
    constexpr std::int64_t max_values = std::int64_t{1} << 22;
    const std::array<std::int64_t, 7> row_counts = {1, 2, 7, 64, 333, 4096, 8192};
    const std::array<std::int64_t, 8> widths = {1, 3, 13, 64, 127, 257, 512, 2048};
    for (std::int64_t k : widths) {
        for (std::int64_t n : widths) {
            const Model model = ModelBuilder(k).dense(n).activation(Activation::GeluTanh).build();
            for (std::int64_t rows : row_counts) {
                if (rows * k * n > max_multiply_adds || rows * (k + n) > max_values) continue;
                expect_same_bits_for_one_to_four_threads(model, rows);
            }
        }
    }
    const std::array<std::array<std::int64_t, 3>, 5> large_k = {
        {{1, 2048, 1}, {7, 4096, 3}, {2, 8192, 2}, {64, 4096, 16}, {8192, 2048, 1}}};
    for (const auto& [rows, k, n] : large_k) {
        const Model model = ModelBuilder(k).dense(n).activation(Activation::GeluTanh).build();
        expect_same_bits_for_one_to_four_threads(model, rows);
    }
}

TEST(OnednnBackend, NormalizeBitsDoNotDependOnThreadCount) {
    const Model model = ModelBuilder(37)
                            .affine()
                            .dense(64)
                            .activation(Activation::Tanh)
                            .dense(7)
                            .activation(Activation::Sigmoid)
                            .activation(Activation::Normalize)
                            .build();
    const std::int64_t block = onednn_block_rows(model);
    for (std::int64_t rows : {std::int64_t{1}, std::int64_t{333}, 3 * block + 1}) {
        expect_same_bits_for_one_to_four_threads(model, rows);
    }
}

TEST(OnednnBackend, ChainBitsDoNotDependOnThreadCount) {
    for (Activation function : all_activations) {
        SCOPED_TRACE(name_of(function));
        const Model model = ModelBuilder(37)
                                .affine()
                                .dense(64)
                                .activation(function)
                                .affine()
                                .activation(function)
                                .dense(5)
                                .activation(Activation::Softmax)
                                .build();
        const std::int64_t block = onednn_block_rows(model);
        for (std::int64_t rows : {std::int64_t{1}, std::int64_t{333}, 3 * block + 1, 8 * block}) {
            expect_same_bits_for_one_to_four_threads(model, rows);
        }
    }
}

}  // namespace
}  // namespace h5infer::kernels

namespace h5infer::kernels {
namespace {

// Blocks run concurrently at different steps. A step's intermediate must not share memory with
// another block's step of a different width (regression: shared ping-pong buffers indexed by
// row offset overlapped and corrupted random rows under load).
TEST(OnednnBackend, ConcurrentBlocksAtStepsOfDifferentWidthsDoNotInterfere) {
    const Model model = ModelBuilder(16)
                            .dense(1024)
                            .activation(Activation::Relu)
                            .dense(1024)
                            .activation(Activation::Relu)
                            .dense(8)
                            .activation(Activation::Tanh)
                            .dense(1024)
                            .activation(Activation::Relu)
                            .dense(4)
                            .activation(Activation::Softmax)
                            .build();
    const std::int64_t rows = 16 * onednn_block_rows(model) + 5;
    const std::vector<float> src = random_input(rows, model.input_width, 4);
    const std::vector<float> one = run(model, Backend::Onednn, src, rows, 1);
    expect_close(one, run(model, Backend::Reference, src, rows, 1));
    for (int threads = 2; threads <= 4; ++threads) {
        auto network = make_network(model, Backend::Onednn, rows, threads);
        for (int repeat = 0; repeat < 5; ++repeat) {
            const std::vector<float> many = run(*network, src, rows, model.output_width());
            ASSERT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0)
                << threads << " threads, call " << repeat;
        }
    }
}

}  // namespace
}  // namespace h5infer::kernels

// bf16 (tolerance, ISA branch and the tests that run on both branches) and compare_outputs().
namespace h5infer::kernels {
namespace {

// bf16 against the double-precision reference, in compare_outputs()'s measure:
//     max |got - ref| / max(1, |ref|) <= 1/16.
// bf16 keeps 8 significant bits: rounding an input, weight or intermediate moves it by up to
// 2^-9 of itself, and f32 accumulation adds nothing comparable. A dense output is a sum of
// rounded products, so its error scales with the size of the terms, not of the result: where a
// few large terms cancel (inputs up to 3 into 3 -> 1 weights, a layer norm over 3 values) the
// worst output of these tests moves by 0.032; over wide layers the random-sign errors partly
// cancel (0.018 through a 2048-wide layer; 0.002-0.004 for the softmax and sigmoid outputs of
// W1-W3). 1/16 (16 bf16 epsilons at 1) is twice the worst measured. The f32 tests already pin
// formulas, alphas and folds at 1e-5; what these tests must catch is bf16 plumbing (a wrong
// type, buffer, conversion or block), which gives garbage, not a few percent.
constexpr double bf16_tolerance = 1.0 / 16.0;

// Where oneDNN's effective ISA has avx512_bf16 each bf16 test checks numbers; everywhere else
// (unit.kernels_avx2 runs this file under ONEDNN_MAX_CPU_ISA=AVX2) it checks instead that
// asking for bf16 fails with the clear error, and stops. Returns whether bf16 runs here.
bool bf16_runs_here() {
    const Model model = ModelBuilder(13).dense(3).build();
    if (onednn_supports_bf16()) {
        EXPECT_NO_THROW((void)make_network(model, Backend::Onednn, 7, 1, Precision::Bf16));
        return true;
    }
    try {
        (void)make_network(model, Backend::Onednn, 7, 1, Precision::Bf16);
        ADD_FAILURE() << "a bf16 network was built on oneDNN ISA " << onednn_isa_name();
    } catch (const ConfigError& error) {
        const std::string message = error.what();
        const std::string prefix =
            "--precision bf16 needs a CPU with avx512_bf16 (this CPU's best oneDNN ISA is " +
            std::string(onednn_isa_name());
        EXPECT_EQ(message.rfind(prefix, 0), 0U) << message;
        EXPECT_NE(message.find("); use --precision f32"), std::string::npos) << message;
        if (const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA")) {
            EXPECT_NE(message.find(std::string("ONEDNN_MAX_CPU_ISA=") + cap), std::string::npos)
                << message;
        }
        EXPECT_EQ(error.code(), ExitCode::Usage);
    }
    return false;
}

std::vector<float> run_bf16(const Model& model, const std::vector<float>& src, std::int64_t rows,
                            int threads = 2) {
    return run(model, Backend::Onednn, src, rows, threads, Precision::Bf16);
}

void expect_bf16_matches_reference(const Model& model, std::int64_t rows) {
    SCOPED_TRACE("rows " + std::to_string(rows));
    const std::vector<float> src = random_input(rows, model.input_width);
    const std::vector<float> got = run_bf16(model, src, rows);
    const std::vector<float> want = run(model, Backend::Reference, src, rows);
    ASSERT_EQ(got.size(), want.size());
    const Deviation deviation =
        compare_outputs(got.data(), want.data(), static_cast<std::int64_t>(got.size()));
    EXPECT_LE(deviation.relative, bf16_tolerance)
        << "largest absolute deviation " << deviation.absolute;
}

std::vector<std::pair<std::string, Model>> bf16_models() {
    return {
        {"W1 wide 512-2048-2048-1024-16", ModelBuilder(512)
                                              .dense(2048)
                                              .activation(Activation::Relu)
                                              .dense(2048)
                                              .activation(Activation::Relu)
                                              .dense(1024)
                                              .activation(Activation::Relu)
                                              .dense(16)
                                              .activation(Activation::Softmax)
                                              .build()},
        {"W2 narrow 64-64-64-1", ModelBuilder(64)
                                     .dense(64)
                                     .activation(Activation::Relu)
                                     .dense(64)
                                     .activation(Activation::Relu)
                                     .dense(1)
                                     .activation(Activation::Sigmoid)
                                     .build()},
        {"W3 scaler + mlp 40-128-64-3", ModelBuilder(40)
                                            .affine()
                                            .dense(128)
                                            .activation(Activation::Relu)
                                            .dense(64)
                                            .activation(Activation::Relu)
                                            .dense(3)
                                            .activation(Activation::Softmax)
                                            .build()},
        {"f32 steps between matmuls", ModelBuilder(127)
                                          .dense(64)
                                          .activation(Activation::GeluErf)
                                          .activation(Activation::Tanh)
                                          .dense(257, false)
                                          .activation(Activation::LayerNorm)
                                          .affine()
                                          .dense(13)
                                          .activation(Activation::Softmax)
                                          .activation(Activation::Sigmoid)
                                          .build()},
        {"wide and deep, linear output", ModelBuilder(257)
                                             .dense(2048)
                                             .activation(Activation::Elu)
                                             .dense(512)
                                             .dense(13)
                                             .activation(Activation::Tanh)
                                             .dense(3)
                                             .build()},
        {"activation first, dense last",
         ModelBuilder(13).activation(Activation::Swish).dense(5).build()},
        {"dense alone", ModelBuilder(3).dense(1).build()},
    };
}

TEST(OnednnBf16, MatchesReferenceForWorkloadsAndChains) {
    if (!bf16_runs_here()) return;
    for (const auto& [what, model] : bf16_models()) {
        const std::int64_t block = onednn_block_rows(model);
        SCOPED_TRACE(what + ", block rows " + std::to_string(block));
        for (std::int64_t rows : {std::int64_t{1}, std::int64_t{333}, 2 * block + 5}) {
            expect_bf16_matches_reference(model, rows);
        }
    }
}

TEST(OnednnBf16, MatchesReferenceForEveryActivationFusedAfterDense) {
    if (!bf16_runs_here()) return;
    for (Activation function : all_activations) {
        for (std::int64_t width : odd_widths) {
            SCOPED_TRACE(name_of(function) + ", dense 13 -> " + std::to_string(width));
            expect_bf16_matches_reference(
                ModelBuilder(13).dense(width).activation(function).build(), 333);
        }
    }
}

TEST(OnednnBf16, MatchesReferenceForDenseWithoutBias) {
    if (!bf16_runs_here()) return;
    for (std::int64_t inputs : odd_widths) {
        for (std::int64_t outputs : odd_widths) {
            SCOPED_TRACE(std::to_string(inputs) + " -> " + std::to_string(outputs));
            expect_bf16_matches_reference(ModelBuilder(inputs).dense(outputs, false).build(), 333);
        }
    }
}

// A bf16 network that quietly computed in f32 would pass every tolerance test above.
TEST(OnednnBf16, RoundsToBf16) {
    if (!bf16_runs_here()) return;
    const Model model = bf16_models().front().second;
    const std::int64_t rows = 64;
    const std::vector<float> src = random_input(rows, model.input_width);
    const std::vector<float> bf16 = run_bf16(model, src, rows);
    const std::vector<float> f32 = run(model, Backend::Onednn, src, rows);
    const Deviation deviation =
        compare_outputs(bf16.data(), f32.data(), static_cast<std::int64_t>(f32.size()));
    EXPECT_GT(deviation.absolute, 100 * tolerance);
}

TEST(OnednnBf16, BitsDoNotDependOnThreadCount) {
    if (!bf16_runs_here()) return;
    for (const auto& [rows, k, n] : std::vector<std::array<std::int64_t, 3>>{{1, 2048, 1},
                                                                             {7, 4096, 3},
                                                                             {64, 4096, 16},
                                                                             {333, 257, 127},
                                                                             {4096, 512, 512},
                                                                             {8192, 64, 64}}) {
        const Model model = ModelBuilder(k).dense(n).activation(Activation::GeluTanh).build();
        expect_same_bits_for_one_to_four_threads(model, rows, Precision::Bf16);
    }
    for (const auto& [what, model] : bf16_models()) {
        SCOPED_TRACE(what);
        const std::int64_t block = onednn_block_rows(model);
        for (std::int64_t rows : {std::int64_t{1}, 3 * block + 1}) {
            expect_same_bits_for_one_to_four_threads(model, rows, Precision::Bf16);
        }
    }
}

// One network serves chunks of every row count with the primitives built for them; the bits of
// a row count must be those of a network built for exactly that many rows.
TEST(OnednnBf16, ReusedNetworkGivesTheBitsOfAFreshOne) {
    if (!bf16_runs_here()) return;
    const Model model = bf16_models()[2].second;
    const std::int64_t block = onednn_block_rows(model);
    const std::int64_t max_rows = 3 * block + 37;
    const std::vector<float> src = random_input(max_rows, model.input_width);
    const auto reused = make_network(model, Backend::Onednn, max_rows, 2, Precision::Bf16);
    for (std::int64_t rows : {max_rows, std::int64_t{1}, block - 1, block, block + 1, max_rows}) {
        SCOPED_TRACE("rows " + std::to_string(rows));
        const std::vector<float> got = run(*reused, src, rows, model.output_width());
        const std::vector<float> fresh = run_bf16(model, src, rows);
        EXPECT_EQ(std::memcmp(got.data(), fresh.data(), got.size() * sizeof(float)), 0);
    }
}

// A run may cut a chunk between ranks at any multiple of split_rows() rows; each part is then
// its own forward() call, and together they must give the bits of the whole chunk.
void expect_cuts_keep_the_bits(const Model& model, std::int64_t rows, Precision precision) {
    const auto network = make_network(model, Backend::Onednn, rows, 2, precision);
    const std::int64_t split = network->split_rows();
    ASSERT_GE(split, 1);
    ASSERT_LT(split, rows);  // else nothing below is cut
    const std::int64_t width = model.output_width();
    const std::vector<float> src = random_input(rows, model.input_width, 5);
    const std::vector<float> whole = run(*network, src, rows, width);
    for (std::int64_t cut = split; cut < rows; cut += split) {
        std::vector<float> parts(whole.size(), -12345.0F);
        network->forward(src.data(), cut, parts.data());
        network->forward(src.data() + cut * model.input_width, rows - cut,
                         parts.data() + cut * width);
        ASSERT_EQ(std::memcmp(parts.data(), whole.data(), whole.size() * sizeof(float)), 0)
            << "cut after " << cut << " of " << rows << " rows";
    }
}

TEST(OnednnBackend, ChunksCutAtSplitRowsKeepTheirBits) {
    const Model wide = ModelBuilder(512)
                           .dense(2048)
                           .activation(Activation::Relu)
                           .dense(16)
                           .activation(Activation::Softmax)
                           .build();
    const Model narrow = ModelBuilder(64)
                             .affine()
                             .dense(64)
                             .activation(Activation::Relu)
                             .dense(1)
                             .activation(Activation::Sigmoid)
                             .build();
    for (const Model* model : {&wide, &narrow}) {
        const std::int64_t block = onednn_block_rows(*model);
        // Whole blocks only, and a short last block.
        expect_cuts_keep_the_bits(*model, 4 * block, Precision::F32);
        expect_cuts_keep_the_bits(*model, 3 * block + 77, Precision::F32);
        if (onednn_supports_bf16())
            expect_cuts_keep_the_bits(*model, 3 * block + 77, Precision::Bf16);
    }
}

TEST(ReferenceBackend, ChunksAreNeverCut) {
    const Model model = ModelBuilder(13).dense(3).build();
    const auto network = make_network(model, Backend::Reference, 700, 1);
    EXPECT_GE(network->split_rows(), network->max_rows());
}

// onednn_supports_bf16() picks the branch every bf16 test takes: check it against the CPU's
// feature bits and the ISA cap the tests run under.
// What another rank does with packed_weights(): copies the bytes into memory of its own and
// builds a network of the model without its dense arrays.
std::unique_ptr<Network> rebuilt_from_packed(const Network& source, const Model& model,
                                             std::int64_t max_rows, int threads,
                                             Precision precision) {
    std::vector<PackedWeights> packed = source.packed_weights();
    for (PackedWeights& weights : packed) {
        weights.storage = BulkBuffer(weights.bytes);
        std::memcpy(weights.storage.data(), weights.data, weights.bytes);
        weights.data = weights.storage.data();
    }
    Model bare = model;
    for (Layer& layer : bare.layers) {
        if (auto* dense = std::get_if<DenseLayer>(&layer)) {
            dense->weights = std::vector<float>();
            dense->bias = std::vector<float>();
        }
    }
    validate(bare, DenseArrays::Absent);
    return make_network(std::move(bare), std::move(packed), max_rows, threads, precision);
}

TEST(OnednnBackend, ANetworkOfPackedWeightsGivesTheBitsOfItsSource) {
    // An affine layer folded into the first dense one (only its source can fold it), a dense
    // layer without bias, an unfused row-wise activation last.
    const Model model = ModelBuilder(127)
                            .affine()
                            .dense(257)
                            .activation(Activation::Relu)
                            .dense(64, false)
                            .activation(Activation::Tanh)
                            .dense(13)
                            .activation(Activation::Softmax)
                            .build();
    const std::int64_t block = onednn_block_rows(model);
    std::vector<Precision> precisions{Precision::F32};
    if (onednn_supports_bf16()) precisions.push_back(Precision::Bf16);
    for (const Precision precision : precisions) {
        // The model's own layout for a few rows, oneDNN's blocked one beyond.
        for (const std::int64_t max_rows : {plain_weights_rows, 3 * block + 77}) {
            SCOPED_TRACE(std::string(precision_name(precision)) + ", " + std::to_string(max_rows) +
                         " rows");
            auto source = make_network(model, Backend::Onednn, max_rows, 2, precision);
            ASSERT_EQ(source->packed_weights().size(), 3U);
            const auto rebuilt = rebuilt_from_packed(*source, model, max_rows, 1, precision);
            // Fewer rows than max_rows: kernels the rebuilt network creates later, whose layout
            // it converts from the packed one if it differs.
            const std::vector<float> src = random_input(max_rows, model.input_width, 7);
            std::vector<std::vector<float>> want;
            for (const std::int64_t rows : {max_rows, max_rows - 5, std::int64_t{1}}) {
                want.push_back(run(*source, src, rows, model.output_width()));
            }
            source.reset();  // the rebuilt network must hold all it needs
            std::size_t i = 0;
            for (const std::int64_t rows : {max_rows, max_rows - 5, std::int64_t{1}}) {
                const std::vector<float> got = run(*rebuilt, src, rows, model.output_width());
                EXPECT_EQ(std::memcmp(got.data(), want[i].data(), got.size() * sizeof(float)), 0)
                    << rows << " rows";
                ++i;
            }
        }
    }
}

TEST(OnednnBackend, PackedWeightsInAnotherLayoutAreConverted) {
    // What a rank on a node whose oneDNN wants another layout gets: here the model's own
    // layout (a source of at most plain_weights_rows rows) for kernels that want the blocked
    // one. The conversion is exact, so the bits are those of a network built from the model.
    const Model model = scaled_mlp();
    const std::int64_t rows = 2 * onednn_block_rows(model) + 5;
    const auto plain = make_network(model, Backend::Onednn, plain_weights_rows, 1);
    const auto rebuilt = rebuilt_from_packed(*plain, model, rows, 2, Precision::F32);
    const std::vector<float> src = random_input(rows, model.input_width, 11);
    const std::vector<float> got = run(*rebuilt, src, rows, model.output_width());
    const std::vector<float> want = run(model, Backend::Onednn, src, rows);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
    const auto blocked = make_network(model, Backend::Onednn, rows, 1);
    if (blocked->packed_weights()[0].layout == plain->packed_weights()[0].layout) {
        GTEST_SKIP() << "oneDNN keeps the model's own layout for " << rows
                     << " rows on this ISA: nothing was converted";
    }
}

TEST(OnednnBackend, PackedWeightsOfAnotherModelAreRefused) {
    const Model model = ModelBuilder(16).dense(8).activation(Activation::Relu).dense(3).build();
    const auto expect_refused = [&](const Model& other, const std::string& message) {
        const auto source = make_network(other, Backend::Onednn, 64, 1);
        try {
            (void)rebuilt_from_packed(*source, model, 64, 1, Precision::F32);
            FAIL() << "accepted: " << message;
        } catch (const Error& error) {
            EXPECT_EQ(error.code(), ExitCode::Internal);
            EXPECT_NE(std::string(error.what()).find(message), std::string::npos) << error.what();
        }
    };
    expect_refused(ModelBuilder(16).dense(9).activation(Activation::Relu).dense(3).build(),
                   "layer 0 (dense + relu): the weights prepared by another rank have another "
                   "shape or number format than 16 x 8 f32");
    expect_refused(ModelBuilder(16).dense(8).activation(Activation::Relu).build(),
                   "layer 2 (dense): the weights prepared by another rank are missing: they "
                   "cover 1 dense layer");
    expect_refused(ModelBuilder(16).dense(8).activation(Activation::Relu).dense(3).dense(2).build(),
                   "the weights prepared by another rank cover 3 dense layers, the model has 2");
}

TEST(OnednnBf16, SupportFollowsCpuFeaturesAndIsaCap) {
    std::string cap = "ALL";
    if (const char* value = std::getenv("ONEDNN_MAX_CPU_ISA")) cap = value;
    std::transform(cap.begin(), cap.end(), cap.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const bool cap_allows = cap == "ALL" || cap == "AVX512_CORE_BF16" || cap == "AVX512_CORE_AMX";
    const bool cpu_has = __builtin_cpu_supports("avx512bf16") != 0;
    EXPECT_EQ(onednn_supports_bf16(), cpu_has && cap_allows)
        << "oneDNN ISA " << onednn_isa_name() << ", ONEDNN_MAX_CPU_ISA " << cap;
}

TEST(MakeNetwork, ReferenceBackendRefusesBf16) {
    const Model model = ModelBuilder(13).dense(3).build();
    try {
        (void)make_network(model, Backend::Reference, 7, 1, Precision::Bf16);
        FAIL() << "the reference backend accepted bf16";
    } catch (const ConfigError& error) {
        const std::string message = error.what();
        EXPECT_NE(message.find("--backend reference"), std::string::npos) << message;
        EXPECT_NE(message.find("--precision bf16"), std::string::npos) << message;
    }
}

TEST(CountNonfiniteRows, CountsRowsWithANanOrAnInfinityAnywhere) {
    constexpr float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> values{
        1, 2, 3, nan, 0, 0, -inf, 1, 1, 0, 0, inf, std::numeric_limits<float>::max(), 0, 0};
    EXPECT_EQ(count_nonfinite_rows(values.data(), 5, 3), 3);
    EXPECT_EQ(count_nonfinite_rows(values.data(), 1, 3), 0);
    EXPECT_EQ(count_nonfinite_rows(values.data(), 0, 3), 0);
}

TEST(CountNonfiniteRows, FindsOneNanOrInfinityAtAnyPositionOfALargeBlock) {
    // Large enough for the vector loops and their remainders; extreme finite values around.
    constexpr std::int64_t rows = 37;
    constexpr std::int64_t cols = 41;
    std::vector<float> values(static_cast<std::size_t>(rows * cols));
    for (std::size_t i = 0; i < values.size(); ++i) {
        const float extremes[] = {std::numeric_limits<float>::max(),
                                  -std::numeric_limits<float>::max(),
                                  std::numeric_limits<float>::denorm_min(), -0.0F, 1.0F};
        values[i] = extremes[i % 5];
    }
    EXPECT_EQ(count_nonfinite_rows(values.data(), rows, cols), 0);
    for (const float bad :
         {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
        for (std::size_t i = 0; i < values.size(); ++i) {
            const float kept = values[i];
            values[i] = bad;
            ASSERT_EQ(count_nonfinite_rows(values.data(), rows, cols), 1) << i;
            values[i] = kept;
        }
    }
}

TEST(Network, CountingNonfiniteRowsGivesTheSamePredictions) {
    const Model model = ModelBuilder(13).dense(31).activation(Activation::Relu).dense(5).build();
    for (const Backend backend : {Backend::Onednn, Backend::Reference}) {
        // Enough rows for several oneDNN blocks and a tail; NaN and Inf in scattered rows.
        const std::int64_t rows = 2 * onednn_block_rows(model) + 37;
        std::vector<float> src = random_input(rows, model.input_width);
        const std::vector<std::int64_t> bad_rows{0, 5, rows / 2, rows - 1};
        for (std::int64_t row : bad_rows) {
            src[row * model.input_width + row % model.input_width] =
                row % 2 == 0 ? std::numeric_limits<float>::quiet_NaN()
                             : -std::numeric_limits<float>::infinity();
        }
        const auto network = make_network(model, backend, rows, 2);
        const std::vector<float> plain = run(*network, src, rows, model.output_width());
        std::vector<float> counted(plain.size(), -1.0F);
        EXPECT_EQ(network->forward_counting_nonfinite(src.data(), rows, counted.data()),
                  static_cast<std::int64_t>(bad_rows.size()))
            << backend_name(backend);
        EXPECT_EQ(std::memcmp(plain.data(), counted.data(), plain.size() * sizeof(float)), 0)
            << backend_name(backend);
    }
}

TEST(Network, FetchingGivesTheRowsAndPredictionsOfAPlainForward) {
    const Model model = ModelBuilder(13).dense(31).activation(Activation::Relu).dense(5).build();
    for (const Backend backend : {Backend::Onednn, Backend::Reference}) {
        for (const int threads : {1, 2, 3}) {
            // Several oneDNN blocks and a tail, so the threads' shares of the rows are unequal
            // and do not fall on block boundaries; one NaN row to count.
            const std::int64_t rows = 2 * onednn_block_rows(model) + 37;
            std::vector<float> input = random_input(rows, model.input_width);
            input[7 * model.input_width] = std::numeric_limits<float>::quiet_NaN();
            const auto network = make_network(model, backend, rows, threads);
            const std::vector<float> plain = run(*network, input, rows, model.output_width());
            std::vector<char> fetched_rows(static_cast<std::size_t>(rows), 0);
            std::mutex mutex;
            const Network::RowSource source = [&](std::int64_t begin, std::int64_t count,
                                                  float* into) {
                const std::lock_guard<std::mutex> lock(mutex);
                for (std::int64_t row = begin; row < begin + count; ++row) {
                    ++fetched_rows[static_cast<std::size_t>(row)];
                }
                std::copy_n(input.data() + begin * model.input_width, count * model.input_width,
                            into);
            };
            std::vector<float> src(input.size(), -1.0F);
            std::vector<float> dst(plain.size(), -1.0F);
            const std::string where =
                std::string(backend_name(backend)) + ", " + std::to_string(threads) + " threads";
            EXPECT_EQ(network->forward_fetching(source, src.data(), rows, dst.data()), 1) << where;
            EXPECT_EQ(std::count(fetched_rows.begin(), fetched_rows.end(), 1), rows) << where;
            EXPECT_EQ(std::memcmp(src.data(), input.data(), input.size() * sizeof(float)), 0)
                << where;
            EXPECT_EQ(std::memcmp(plain.data(), dst.data(), plain.size() * sizeof(float)), 0)
                << where;
        }
    }
}

TEST(Network, FetchingFailureStopsTheForwardWithTheSourcesError) {
    const Model model = ModelBuilder(13).dense(31).activation(Activation::Relu).dense(5).build();
    for (const Backend backend : {Backend::Onednn, Backend::Reference}) {
        const std::int64_t rows = 2 * onednn_block_rows(model) + 37;
        const auto network = make_network(model, backend, rows, 2);
        std::vector<float> src(static_cast<std::size_t>(rows * model.input_width), 0.0F);
        std::vector<float> dst(static_cast<std::size_t>(rows * model.output_width()), -1.0F);
        const Network::RowSource source = [&](std::int64_t begin, std::int64_t, float*) {
            if (begin == 0) throw InputError("row 0 cannot be read");
        };
        try {
            (void)network->forward_fetching(source, src.data(), rows, dst.data());
            FAIL() << "no error from " << backend_name(backend);
        } catch (const InputError& error) {
            EXPECT_STREQ(error.what(), "row 0 cannot be read") << backend_name(backend);
            EXPECT_EQ(error.code(), ExitCode::Input);
        }
        EXPECT_TRUE(std::all_of(dst.begin(), dst.end(), [](float value) { return value == -1.0F; }))
            << backend_name(backend) << ": computed after the source failed";
    }
}

TEST(CompareOutputs, ReportsLargestAbsoluteAndFlooredRelativeDeviation) {
    // Absolute: 0.25, 2, 0.001. Relative: 0.25 / 1 (floor), 2 / 10, 0.001 / 1 (not / 0).
    const std::vector<float> got = {0.5F, 12.0F, 0.001F};
    const std::vector<float> want = {0.25F, 10.0F, 0.0F};
    const Deviation deviation = compare_outputs(got.data(), want.data(), 3);
    EXPECT_DOUBLE_EQ(deviation.absolute, 2.0);
    EXPECT_DOUBLE_EQ(deviation.relative, 0.25);
    EXPECT_DOUBLE_EQ(relative_deviation_floor, 1.0);
}

TEST(CompareOutputs, IsZeroForEqualOrNoValues) {
    const std::vector<float> values = {1.0F, -3.5F, 0.0F};
    const Deviation same = compare_outputs(values.data(), values.data(), 3);
    EXPECT_EQ(same.absolute, 0.0);
    EXPECT_EQ(same.relative, 0.0);
    const Deviation none = compare_outputs(nullptr, nullptr, 0);
    EXPECT_EQ(none.absolute, 0.0);
    EXPECT_EQ(none.relative, 0.0);
}

TEST(CompareOutputs, NonFiniteValuesCannotHide) {
    constexpr float nan = std::numeric_limits<float>::quiet_NaN();
    constexpr float inf = std::numeric_limits<float>::infinity();
    struct Case {
        float got;
        float want;
        bool infinite;
    };
    const std::vector<Case> cases = {{nan, 1.0F, true}, {1.0F, nan, true}, {nan, nan, false},
                                     {inf, inf, false}, {inf, -inf, true}, {inf, 1.0F, true},
                                     {1.0F, -inf, true}};
    for (const Case& c : cases) {
        // Between ordinary values, so that a NaN dropped by std::max would show.
        const std::vector<float> got = {0.5F, c.got, 0.5F};
        const std::vector<float> want = {0.25F, c.want, 0.5F};
        const Deviation deviation = compare_outputs(got.data(), want.data(), 3);
        const double expected = c.infinite ? std::numeric_limits<double>::infinity() : 0.25;
        EXPECT_EQ(deviation.absolute, expected) << c.got << " vs " << c.want;
        EXPECT_EQ(deviation.relative, expected) << c.got << " vs " << c.want;
    }
}

}  // namespace
}  // namespace h5infer::kernels
