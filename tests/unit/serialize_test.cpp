#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/model_file.hpp"
#include "unit/model_equal.hpp"

namespace h5infer {
namespace {

Model sample_model() {
    Model model;
    model.input_width = 2;
    model.producer = "serialize_test";
    model.description = "a model with \0 inside and unicode \xc3\xa9";
    model.layers.emplace_back(AffineLayer{{2.0F, -0.5F}, {1.0F, 0.0F}, {1.4e9 + 0.5, -3.0}});
    model.layers.emplace_back(DenseLayer{2, 3, {1, 2, 3, 4, 5, 6}, {0.5F, -0.5F, 1e-30F}});
    model.layers.emplace_back(ActivationLayer{Activation::Elu, 0.3F});
    model.layers.emplace_back(DenseLayer{3, 1, {-1, 0, 1}, {}});
    model.layers.emplace_back(ActivationLayer{Activation::Softmax, 0.0F});
    model.layers.emplace_back(ActivationLayer{Activation::Clip, -0.25F, 4.0F});
    model.labels = {"the only class \xc3\xa9"};
    return model;
}

/// The message of the ModelError deserialize throws, or "" if it accepts the image.
std::string deserialize_error(const std::vector<char>& bytes) {
    try {
        (void)deserialize(bytes);
    } catch (const ModelError& error) {
        return error.what();
    }
    return "";
}

TEST(Serialize, RoundTripEqualsTheModel) {
    const Model model = sample_model();
    EXPECT_TRUE(testing::models_equal(deserialize(serialize(model)), model));
}

TEST(Serialize, RoundTripKeepsLabelsAndNormalize) {
    Model model;
    model.input_width = 2;
    model.layers.emplace_back(DenseLayer{2, 3, {1, 2, 3, 4, 5, 6}, {}});
    model.layers.emplace_back(ActivationLayer{Activation::Sigmoid, 0.0F});
    model.layers.emplace_back(ActivationLayer{Activation::Normalize, 0.0F});
    model.labels = {"setosa", "", "17"};
    const Model copy = deserialize(serialize(model));
    EXPECT_TRUE(testing::models_equal(copy, model));
    EXPECT_EQ(copy.labels, model.labels);
}

TEST(Serialize, RoundTripKeepsFeatureNames) {
    Model model = sample_model();
    model.feature_names.clear();
    for (std::int64_t j = 0; j < model.input_width; ++j) {
        model.feature_names.push_back("f" + std::to_string(j) + (j == 0 ? " \xc3\xa9" : ""));
    }
    for (const ImageContent content : {ImageContent::Everything, ImageContent::Structure}) {
        EXPECT_EQ(deserialize(serialize(model, content)).feature_names, model.feature_names);
    }
}

TEST(Serialize, HugeLabelCountIsRejected) {
    Model model;
    model.input_width = 1;
    model.layers.emplace_back(AffineLayer{{1.0F}, {0.0F}});
    std::vector<char> bytes = serialize(model);
    const std::size_t count_offset = 4 + 4 + 8 + 8 + 8;  // after the two empty strings
    for (std::size_t i = 0; i < 8; ++i) bytes[count_offset + i] = static_cast<char>(0x7F);
    EXPECT_NE(deserialize_error(bytes).find("malformed model image"), std::string::npos);
}

TEST(Serialize, HugeFeatureNameCountIsRejected) {
    Model model;
    model.input_width = 1;
    model.layers.emplace_back(AffineLayer{{1.0F}, {0.0F}});
    std::vector<char> bytes = serialize(model);
    // After magic, version, content flag, width, two empty strings and no labels.
    const std::size_t count_offset = 4 + 4 + 1 + 8 + 8 + 8 + 8;
    for (std::size_t i = 0; i < 8; ++i) bytes[count_offset + i] = static_cast<char>(0x7F);
    EXPECT_NE(deserialize_error(bytes).find("feature name count"), std::string::npos)
        << deserialize_error(bytes);
}

TEST(Serialize, ImageIsLittleEndianWithMagicAndVersion) {
    const std::vector<char> bytes = serialize(sample_model());
    ASSERT_GE(bytes.size(), 17U);
    EXPECT_EQ(std::string(bytes.data(), 4), "H5IM");
    EXPECT_EQ(std::vector<char>(bytes.begin() + 4, bytes.begin() + 8),
              (std::vector<char>{6, 0, 0, 0}));
    EXPECT_EQ(bytes[8], 1) << "the content flag of an image with values";
    EXPECT_EQ(serialize(sample_model(), ImageContent::Structure)[8], 0);
    EXPECT_EQ(std::vector<char>(bytes.begin() + 9, bytes.begin() + 17),
              (std::vector<char>{2, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(Serialize, EveryTruncationIsRejected) {
    const std::vector<char> bytes = serialize(sample_model());
    for (std::size_t size = 0; size < bytes.size(); ++size) {
        const std::string message =
            deserialize_error(std::vector<char>(bytes.begin(), bytes.begin() + size));
        EXPECT_NE(message.find("malformed model image"), std::string::npos)
            << "size " << size << ": " << message;
    }
}

TEST(Serialize, TrailingBytesAreRejected) {
    std::vector<char> bytes = serialize(sample_model());
    bytes.push_back(0);
    EXPECT_NE(deserialize_error(bytes).find("unexpected bytes after the last layer"),
              std::string::npos);
}

TEST(Serialize, BadMagicIsRejected) {
    std::vector<char> bytes = serialize(sample_model());
    bytes[0] = 'X';
    EXPECT_NE(deserialize_error(bytes).find("bad magic"), std::string::npos);
}

TEST(Serialize, HugeCountIsRejectedWithoutAllocating) {
    Model model;
    model.input_width = 1;
    model.layers.emplace_back(AffineLayer{{1.0F}, {0.0F}});
    std::vector<char> bytes = serialize(model);
    // The affine scale count follows magic, version, content flag, width, two empty strings,
    // no labels, no feature names, layer count and tag.
    const std::size_t count_offset = 4 + 4 + 1 + 8 + 8 + 8 + 8 + 8 + 8 + 1;
    const std::uint64_t huge = std::numeric_limits<std::uint64_t>::max() / 2;
    for (std::size_t i = 0; i < sizeof(huge); ++i) {
        bytes[count_offset + i] = static_cast<char>((huge >> (8 * i)) & 0xFFU);
    }
    EXPECT_NE(deserialize_error(bytes).find("more than the image holds"), std::string::npos);
}

TEST(Serialize, StructureImageCarriesSizesAndFloatArraysCarryTheValues) {
    Model model = sample_model();
    const std::vector<char> structure = serialize(model, ImageContent::Structure);
    EXPECT_LT(structure.size(), serialize(model).size());
    Model received = deserialize(structure);
    std::vector<std::vector<float>*> want = float_arrays(model);
    std::vector<std::vector<float>*> got = float_arrays(received);
    // Weights and bias of both dense layers (one bias is empty); the affine layer's values
    // travel in the structure image itself.
    ASSERT_EQ(got.size(), 4U);
    EXPECT_TRUE(testing::layers_equal(received.layers[0], model.layers[0], 0));
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i]->size(), want[i]->size()) << i;
        for (float value : *got[i]) EXPECT_EQ(value, 0.0F);
        *got[i] = *want[i];  // what the broadcast does, in place
    }
    EXPECT_TRUE(testing::models_equal(received, model));
}

TEST(Serialize, StructureImageWithoutDenseArraysKeepsTheShapesAndTheOtherArrays) {
    Model model = sample_model();
    const std::vector<char> structure = serialize(model, ImageContent::Structure);
    Model received = deserialize(structure, DenseArrays::Absent);
    for (std::size_t i : {1U, 3U}) {
        const auto& got = std::get<DenseLayer>(received.layers[i]);
        const auto& want = std::get<DenseLayer>(model.layers[i]);
        EXPECT_EQ(got.inputs, want.inputs) << i;
        EXPECT_EQ(got.outputs, want.outputs) << i;
        EXPECT_TRUE(got.weights.empty()) << i;
        EXPECT_TRUE(got.bias.empty()) << i;
    }
    EXPECT_EQ(received.output_width(), 1);
    EXPECT_EQ(received.labels, model.labels);
    // Nothing is left to receive: the affine layer's values came with the image, also on a
    // rank holding the whole model.
    EXPECT_TRUE(float_arrays(received, DenseArrays::Absent).empty());
    EXPECT_TRUE(float_arrays(model, DenseArrays::Absent).empty());
    EXPECT_TRUE(testing::layers_equal(received.layers[0], model.layers[0], 0));
    EXPECT_NO_THROW(validate(received, DenseArrays::Absent));
    EXPECT_THROW(validate(received), ModelError);
    EXPECT_THROW(validate(model, DenseArrays::Absent), ModelError);
}

TEST(Serialize, DenseArraysAreLeftOutOfStructureImagesOnly) {
    Model model = sample_model();
    try {
        (void)deserialize(serialize(model), DenseArrays::Absent);
        FAIL() << "a whole image was read without its dense arrays";
    } catch (const ModelError& error) {
        EXPECT_NE(std::string(error.what()).find("a whole image where a structure image"),
                  std::string::npos)
            << error.what();
    }
    // A dense weight count that does not fit the layer's shape.
    std::get<DenseLayer>(model.layers[3]).weights.push_back(2.0F);
    try {
        (void)deserialize(serialize(model, ImageContent::Structure), DenseArrays::Absent);
        FAIL() << "4 weights for a 3 x 1 layer were accepted";
    } catch (const ModelError& error) {
        EXPECT_NE(std::string(error.what()).find("dense weights of 4 values for 3 x 1"),
                  std::string::npos)
            << error.what();
    }
}

TEST(Serialize, InvalidModelIsRejectedByValidate) {
    Model model = sample_model();
    std::get<DenseLayer>(model.layers[3]).weights[0] = std::numeric_limits<float>::infinity();
    const std::string message = deserialize_error(serialize(model));
    EXPECT_NE(message.find("model image: layer 3 (dense) weights contain NaN or Inf"),
              std::string::npos)
        << message;
}

}  // namespace
}  // namespace h5infer
