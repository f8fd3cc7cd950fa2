// The text of `h5infer inspect MODEL`: the layer table, its totals and the FLOPs convention.
#include "model/describe.hpp"

#include <gtest/gtest.h>

namespace h5infer {
namespace {

// 3 -> affine -> dense 3x4 with bias -> leaky_relu(0.1) -> dense 4x2 without bias -> softmax
Model small_model() {
    Model model;
    model.input_width = 3;
    model.producer = "unit test";
    model.layers.emplace_back(AffineLayer{{1, 2, 3}, {0, 0, 0}});
    model.layers.emplace_back(
        DenseLayer{3, 4, std::vector<float>(12, 0.5F), std::vector<float>(4, 0.1F)});
    ActivationLayer leaky;
    leaky.function = Activation::LeakyRelu;
    leaky.alpha = 0.1F;
    model.layers.emplace_back(leaky);
    model.layers.emplace_back(DenseLayer{4, 2, std::vector<float>(8, 1.0F), {}});
    ActivationLayer softmax;
    softmax.function = Activation::Softmax;
    model.layers.emplace_back(softmax);
    return model;
}

TEST(LayerFlops, FollowTheStatedConvention) {
    const Model model = small_model();
    EXPECT_EQ(layer_flops(model.layers[0], 3), 6);   // affine: 2 per feature
    EXPECT_EQ(layer_flops(model.layers[1], 3), 28);  // 2 x 3 x 4 + 4 for the bias
    EXPECT_EQ(layer_flops(model.layers[2], 4), 8);   // leaky_relu: 2 per feature
    EXPECT_EQ(layer_flops(model.layers[3], 4), 16);  // 2 x 4 x 2, no bias
    EXPECT_EQ(layer_flops(model.layers[4], 2), 10);  // softmax: 5 per feature
    EXPECT_EQ(flops_per_row(model), 68);
    EXPECT_EQ(activation_flops(Activation::Identity), 0);
    EXPECT_EQ(activation_flops(Activation::GeluTanh), 9);
}

TEST(DescribeLayers, PrintsTheExactTableAndTotals) {
    const std::string expected =
        "layer  kind        inputs  outputs  activation             parameters  FLOPs/row\n"
        "    0  affine           3        3  -                               6          6\n"
        "    1  dense            3        4  -                              16         28\n"
        "    2  activation       4        4  leaky_relu(alpha=0.1)           0          8\n"
        "    3  dense            4        2  -                               8         16\n"
        "    4  activation       2        2  softmax                         0         10\n"
        "total: 5 layers, 3 inputs -> 2 outputs, 30 parameters, 68 FLOPs per row\n"
        "FLOPs per row: dense 2 x inputs x outputs (+ outputs with a bias), affine 2 per feature,\n"
        "activations a fixed cost per feature; multiply, add, compare, exp, log, tanh and erf "
        "count 1.\n";
    EXPECT_EQ(describe_layers(small_model()), expected);
}

TEST(DescribeModel, StartsWithWhereTheModelCameFrom) {
    Model model = small_model();
    model.labels = {"cat", "dog"};
    model.feature_names = {"pt", "eta", "phi"};
    const std::string text =
        describe_model(model, {"m.h5", "h5infer-model version 1", std::string(64, 'a')});
    const std::string expected =
        "model:       m.h5\n"
        "format:      h5infer-model version 1\n"
        "sha256:      " +
        std::string(64, 'a') +
        "\n"
        "producer:    unit test\n"
        "description: (none)\n"
        "features:    pt, eta, phi\n"
        "labels:      cat, dog\n"
        "\n"
        "layer  kind";
    EXPECT_EQ(text.substr(0, expected.size()), expected);
}

}  // namespace
}  // namespace h5infer
