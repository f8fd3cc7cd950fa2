#include "h5infer/model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "h5infer/error.hpp"

namespace h5infer {
namespace {

DenseLayer dense(std::int64_t inputs, std::int64_t outputs) {
    return DenseLayer{inputs, outputs,
                      std::vector<float>(static_cast<std::size_t>(inputs * outputs), 0.5F),
                      std::vector<float>(static_cast<std::size_t>(outputs), 0.1F)};
}

Model valid_model() {
    Model model;
    model.input_width = 3;
    model.layers.emplace_back(AffineLayer{{1, 2, 3}, {0, 0, 0}});
    model.layers.emplace_back(dense(3, 4));
    model.layers.emplace_back(ActivationLayer{Activation::LeakyRelu, 0.2F});
    model.layers.emplace_back(dense(4, 2));
    return model;
}

/// The message of the ModelError validate() throws, or "" when it throws nothing.
std::string validate_error(const Model& model) {
    try {
        validate(model);
    } catch (const ModelError& error) {
        return error.what();
    }
    return "";
}

TEST(Validate, AcceptsChainedLayers) {
    EXPECT_NO_THROW(validate(valid_model()));
    EXPECT_EQ(valid_model().output_width(), 2);
}

TEST(Validate, RejectsWidthsThatDoNotChain) {
    Model model = valid_model();
    model.layers[3] = dense(5, 2);
    const std::string message = validate_error(model);
    EXPECT_NE(message.find("layer 3 (dense)"), std::string::npos) << message;
    EXPECT_NE(message.find("do not chain"), std::string::npos) << message;
}

TEST(Validate, RejectsAffineOfWrongWidth) {
    Model model = valid_model();
    model.layers[0] = AffineLayer{{1, 2}, {0, 0}};
    EXPECT_NE(validate_error(model).find("layer 0 (affine)"), std::string::npos);
}

TEST(Validate, RejectsWeightsOfWrongSize) {
    Model model = valid_model();
    std::get<DenseLayer>(model.layers[1]).weights.pop_back();
    EXPECT_NE(validate_error(model).find("weights hold 11 values"), std::string::npos);
}

TEST(Validate, RejectsBiasOfWrongSize) {
    Model model = valid_model();
    std::get<DenseLayer>(model.layers[1]).bias.push_back(1);
    EXPECT_NE(validate_error(model).find("bias has 5 values"), std::string::npos);
}

TEST(Validate, RejectsNanWeights) {
    Model model = valid_model();
    std::get<DenseLayer>(model.layers[3]).weights[1] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_NE(validate_error(model).find("layer 3 (dense) weights contain NaN"), std::string::npos);
}

TEST(Validate, RejectsInfiniteShift) {
    Model model = valid_model();
    std::get<AffineLayer>(model.layers[0]).shift[2] = std::numeric_limits<float>::infinity();
    EXPECT_NE(validate_error(model).find("shift contains NaN or Inf"), std::string::npos);
}

TEST(Validate, RejectsNonFiniteAlpha) {
    Model model = valid_model();
    std::get<ActivationLayer>(model.layers[2]).alpha = std::numeric_limits<float>::infinity();
    EXPECT_NE(validate_error(model).find("alpha is not finite"), std::string::npos);
}

TEST(Validate, RejectsEmptyModel) {
    Model model;
    model.input_width = 3;
    EXPECT_NE(validate_error(model).find("no layers"), std::string::npos);
}

TEST(Validate, RejectsNonPositiveInputWidth) {
    Model model = valid_model();
    model.input_width = 0;
    EXPECT_NE(validate_error(model).find("input width must be positive"), std::string::npos);
}

TEST(Validate, AcceptsOneLabelPerOutputColumn) {
    Model model = valid_model();
    model.labels = {"cat", "dog"};
    EXPECT_EQ(validate_error(model), "");
}

TEST(Validate, RejectsLabelsThatDoNotMatchTheOutputs) {
    Model model = valid_model();
    model.labels = {"cat", "dog", "bird"};
    EXPECT_NE(validate_error(model).find("3 class labels but 2 output columns"), std::string::npos)
        << validate_error(model);
}

TEST(Validate, AcceptsOneFeatureNamePerInputColumn) {
    Model model = valid_model();
    model.feature_names = {"pt", "eta", "phi"};
    EXPECT_EQ(validate_error(model), "");
}

TEST(Validate, RejectsFeatureNamesThatDoNotMatchTheInputs) {
    Model model = valid_model();
    model.feature_names = {"pt", "eta"};
    EXPECT_NE(validate_error(model).find("2 feature names but 3 input columns"), std::string::npos)
        << validate_error(model);
}

TEST(Validate, RejectsAFeatureNameGivenTwice) {
    Model model = valid_model();
    model.feature_names = {"pt", "eta", "pt"};
    EXPECT_NE(validate_error(model).find("feature name 'pt' names two input columns"),
              std::string::npos)
        << validate_error(model);
}

TEST(Activation, RowWiseActivations) {
    EXPECT_TRUE(is_row_wise(Activation::Softmax));
    EXPECT_TRUE(is_row_wise(Activation::Normalize));
    EXPECT_TRUE(is_row_wise(Activation::LogSoftmax));
    EXPECT_TRUE(is_row_wise(Activation::LayerNorm));
    EXPECT_FALSE(is_row_wise(Activation::Sigmoid));
    EXPECT_FALSE(is_row_wise(Activation::Clip));
}

TEST(Activation, NamesRoundTrip) {
    const std::string names = activation_names();
    std::size_t begin = 0;
    int count = 0;
    while (begin < names.size()) {
        std::size_t end = names.find(", ", begin);
        if (end == std::string::npos) end = names.size();
        const std::string name = names.substr(begin, end - begin);
        const auto parsed = parse_activation(name);
        ASSERT_TRUE(parsed.has_value()) << name;
        EXPECT_EQ(activation_name(*parsed), name);
        ++count;
        begin = end + 2;
    }
    EXPECT_EQ(count, 18);
}

TEST(Activation, UnknownNameIsRejected) {
    EXPECT_FALSE(parse_activation("relu6").has_value());
    EXPECT_FALSE(parse_activation("").has_value());
    EXPECT_EQ(parse_activation("silu"), Activation::Swish);
}

TEST(Activation, DefaultAlphas) {
    EXPECT_FLOAT_EQ(default_alpha(Activation::LeakyRelu), 0.01F);
    EXPECT_FLOAT_EQ(default_alpha(Activation::Elu), 1.0F);
    EXPECT_FLOAT_EQ(default_alpha(Activation::Swish), 1.0F);
    EXPECT_FLOAT_EQ(default_alpha(Activation::Relu), 0.0F);
    EXPECT_FLOAT_EQ(default_alpha(Activation::LayerNorm), 1e-5F);
    EXPECT_EQ(default_alpha(Activation::Clip), std::numeric_limits<float>::lowest());
    EXPECT_EQ(default_beta(Activation::Clip), std::numeric_limits<float>::max());
    EXPECT_EQ(default_beta(Activation::Relu), 0.0F);
}

TEST(Validate, RejectsClipBoundsOutOfOrderAndNonFiniteBeta) {
    Model model = valid_model();
    model.layers[2] = ActivationLayer{Activation::Clip, 1.0F, 0.5F};
    EXPECT_NE(validate_error(model).find("above the upper bound"), std::string::npos);
    model.layers[2] = ActivationLayer{Activation::Clip, 0.0F, std::nanf("")};
    EXPECT_NE(validate_error(model).find("beta is not finite"), std::string::npos);
    model.layers[2] = ActivationLayer{Activation::Clip, 0.5F, 0.5F};
    EXPECT_EQ(validate_error(model), "");
}

TEST(Validate, RejectsNegativeLayerNormEpsilon) {
    Model model = valid_model();
    model.layers[2] = ActivationLayer{Activation::LayerNorm, -1.0F, 0.0F};
    EXPECT_NE(validate_error(model).find("must not be negative"), std::string::npos);
}

TEST(ParameterCount, CountsEveryParameter) {
    EXPECT_EQ(parameter_count(valid_model()), 6 + 12 + 4 + 8 + 2);
}

}  // namespace
}  // namespace h5infer
