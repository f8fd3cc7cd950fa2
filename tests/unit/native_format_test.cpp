#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "unit/model_equal.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer {
namespace {

using testing::models_equal;

/// Every layer kind and every activation, with non-default alphas where an alpha is allowed.
Model every_layer_model() {
    Model model;
    model.input_width = 3;
    model.producer = "native_format_test";
    model.description = "every layer kind";
    model.layers.emplace_back(AffineLayer{{0.5F, 2.0F, -1.0F}, {0.25F, 0.0F, 3.0F}});
    model.layers.emplace_back(
        DenseLayer{3, 4, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {0.1F, 0.2F, 0.3F, 0.4F}});
    for (Activation function :
         {Activation::Identity, Activation::Relu, Activation::LeakyRelu, Activation::Elu,
          Activation::Sigmoid, Activation::Tanh, Activation::GeluErf, Activation::GeluTanh,
          Activation::Softplus, Activation::Swish, Activation::Softmax, Activation::Normalize,
          Activation::Clip, Activation::HardSwish, Activation::LogSoftmax, Activation::LayerNorm,
          Activation::Exp, Activation::Mish}) {
        model.layers.emplace_back(
            ActivationLayer{function, default_alpha(function), default_beta(function)});
    }
    std::get<ActivationLayer>(model.layers[4]).alpha = 0.2F;   // leaky_relu
    std::get<ActivationLayer>(model.layers[5]).alpha = 0.7F;   // elu
    std::get<ActivationLayer>(model.layers[11]).alpha = 1.5F;  // swish
    std::get<ActivationLayer>(model.layers[14]) = {Activation::Clip, -1.5F, 6.0F};
    std::get<ActivationLayer>(model.layers[17]).alpha = 1e-3F;  // layer_norm epsilon
    model.layers.emplace_back(DenseLayer{4, 2, {1, -1, 2, -2, 3, -3, 4, -4}, {}});
    model.layers.emplace_back(AffineLayer{{1.0, 1.0}, {0.0, 0.0}, {1.4e9 + 0.5, -2.5}});
    model.labels = {"setosa", "versicolor \xc3\xa9"};
    model.feature_names = {"sepal length (cm)", "b", "\xc3\xa9ta"};
    return model;
}

void write_floats(hid_t group, const std::string& name, const std::vector<std::int64_t>& dims,
                  const std::vector<float>& values, hid_t file_type = H5T_IEEE_F32LE) {
    h5::Handle dataset = h5::create_dataset(group, name, dims, file_type);
    if (!values.empty()) h5::write_all(dataset.get(), values.data());
}

class NativeFormat : public ::testing::Test {
protected:
    void SetUp() override { h5::silence_errors(); }

    /// A file with valid root attributes and an empty /layers group, for tests to fill.
    h5::Handle new_model_file(std::int64_t version = model_format_version) const {
        h5::Handle file = h5::create_file(path_);
        h5::write_attribute(file.get(), "format", std::string("h5infer-model"));
        h5::write_attribute(file.get(), "format_version", version);
        h5::write_attribute(file.get(), "input_width", std::int64_t{2});
        h5::Handle layers = h5::create_group(file.get(), "/layers");
        return file;
    }

    /// A layer group /layers/<name> with its kind attribute set.
    static h5::Handle new_layer(hid_t file, const std::string& name, const std::string& kind) {
        h5::Handle group = h5::create_group(file, "/layers/" + name);
        h5::write_attribute(group.get(), "kind", kind);
        return group;
    }

    /// A 2 -> 2 dense layer, valid on its own.
    static h5::Handle new_dense(hid_t file, const std::string& name) {
        h5::Handle group = new_layer(file, name, "dense");
        write_floats(group.get(), "weights", {2, 2}, {1, 2, 3, 4});
        return group;
    }

    /// The message of the ModelError load_model throws (other exceptions fail the test).
    [[nodiscard]] std::string load_error() const {
        try {
            (void)load_model(path_);
        } catch (const ModelError& error) {
            return error.what();
        }
        ADD_FAILURE() << "load_model accepted " << path_;
        return "";
    }

    /// Checks that loading fails with a message naming the file and containing every part.
    void expect_load_error(const std::vector<std::string>& parts) const {
        const std::string message = load_error();
        EXPECT_NE(message.find("'" + path_ + "'"), std::string::npos) << message;
        for (const std::string& part : parts) {
            EXPECT_NE(message.find(part), std::string::npos)
                << "no '" << part << "' in: " << message;
        }
    }

    void write_text(const std::string& text) const { std::ofstream(path_) << text; }

    testing::TempDir dir_;
    std::string path_ = dir_.file("model.h5");
};

TEST_F(NativeFormat, RoundTripsEveryLayerKindAndActivation) {
    const Model model = every_layer_model();
    save_model(model, path_);
    EXPECT_TRUE(models_equal(load_model(path_), model));
}

TEST_F(NativeFormat, SavesFloat32DatasetsAndRootAttributes) {
    save_model(every_layer_model(), path_);
    h5::Handle file = h5::open_file(path_);
    EXPECT_EQ(h5::read_string_attribute(file.get(), "format"), "h5infer-model");
    EXPECT_EQ(h5::read_int_attribute(file.get(), "format_version"), 1);
    EXPECT_EQ(h5::read_int_attribute(file.get(), "input_width"), 3);
    EXPECT_EQ(h5::read_string_attribute(file.get(), "producer"), "native_format_test");
    h5::Handle weights = h5::open_dataset(file.get(), "/layers/0001/weights");
    const h5::DatasetInfo info = h5::dataset_info(weights.get());
    EXPECT_EQ(info.type_description, "float32");
    EXPECT_EQ(info.dims, (std::vector<std::int64_t>{3, 4}));
    h5::Handle relu = h5::open_group(file.get(), "/layers/0003");
    EXPECT_FALSE(h5::has_attribute(relu.get(), "alpha"));
}

TEST_F(NativeFormat, ReadsFloat64Weights) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "dense");
        write_floats(layer.get(), "weights", {2, 3}, {1, 2, 3, 4, 5, 6.5F}, H5T_IEEE_F64LE);
        write_floats(layer.get(), "bias", {3}, {0.5F, 0, -0.5F}, H5T_IEEE_F64LE);
    }
    const Model model = load_model(path_);
    ASSERT_EQ(model.layers.size(), 1U);
    const auto& dense = std::get<DenseLayer>(model.layers[0]);
    EXPECT_EQ(dense.inputs, 2);
    EXPECT_EQ(dense.outputs, 3);
    EXPECT_EQ(dense.weights, (std::vector<float>{1, 2, 3, 4, 5, 6.5F}));
    EXPECT_EQ(dense.bias, (std::vector<float>{0.5F, 0, -0.5F}));
}

TEST_F(NativeFormat, ReadsUnpaddedLayerNamesInNumericOrder) {
    {
        h5::Handle file = new_model_file();
        for (int i = 0; i < 11; ++i) {
            h5::Handle layer = new_layer(file.get(), std::to_string(i), "activation");
            h5::write_attribute(layer.get(), "function", std::string(i == 10 ? "tanh" : "relu"));
        }
    }
    const Model model = load_model(path_);
    ASSERT_EQ(model.layers.size(), 11U);
    EXPECT_EQ(std::get<ActivationLayer>(model.layers[10]).function, Activation::Tanh);
}

TEST_F(NativeFormat, AbsentAlphaMeansTheDefault) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "activation");
        h5::write_attribute(layer.get(), "function", std::string("leaky_relu"));
    }
    EXPECT_FLOAT_EQ(std::get<ActivationLayer>(load_model(path_).layers[0]).alpha, 0.01F);
}

TEST_F(NativeFormat, MissingFileIsReported) {
    expect_load_error({"model file", "does not exist"});
}

TEST_F(NativeFormat, DirectoryIsReported) {
    std::filesystem::create_directory(path_);
    expect_load_error({"is a directory"});
}

TEST_F(NativeFormat, TextFileIsNotHdf5) {
    write_text("layers: [dense, relu]\n");
    expect_load_error({"is not an HDF5 file", "docs/model-format.md"});
}

TEST_F(NativeFormat, EmptyFileIsNotHdf5) {
    write_text("");
    expect_load_error({"is not an HDF5 file"});
}

TEST_F(NativeFormat, RandomBytesAreNotHdf5) {
    std::mt19937 engine(7);
    std::ofstream out(path_, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(engine() & 0xFFU));
    out.close();
    expect_load_error({"is not an HDF5 file"});
}

TEST_F(NativeFormat, TruncatedModelIsReported) {
    save_model(every_layer_model(), path_);
    std::filesystem::resize_file(path_, std::filesystem::file_size(path_) / 2);
    expect_load_error({"HDF5:", "truncated"});
}

TEST_F(NativeFormat, Hdf5WithoutMarkerIsNotAModel) {
    {
        h5::Handle file = h5::create_file(path_);
        write_floats(file.get(), "weights", {2, 2}, {1, 2, 3, 4});
    }
    expect_load_error({"is not an h5infer model", "no 'format' attribute", "docs/model-format.md"});
}

TEST_F(NativeFormat, WrongMarkerIsRejected) {
    {
        h5::Handle file = new_model_file();
        h5::write_attribute(file.get(), "format", std::string("keras"));
    }
    expect_load_error({"is not an h5infer model", "'keras'"});
}

TEST_F(NativeFormat, NewerFormatVersionIsRejected) {
    new_model_file(2);
    expect_load_error({"newer h5infer", "format version 2, this build reads up to 1"});
}

TEST_F(NativeFormat, MissingInputWidthIsRejected) {
    {
        h5::Handle file = h5::create_file(path_);
        h5::write_attribute(file.get(), "format", std::string("h5infer-model"));
        h5::write_attribute(file.get(), "format_version", std::int64_t{1});
    }
    expect_load_error({"no 'input_width' attribute"});
}

TEST_F(NativeFormat, IntegerAttributesMustBeIntegers) {
    {
        h5::Handle file = new_model_file();
        h5::write_attribute(file.get(), "format_version", 1.9);
    }
    expect_load_error({"attribute 'format_version' is 1.9, not an integer"});
    {
        h5::Handle file = new_model_file();
        h5::write_attribute(file.get(), "input_width", 4.7);
    }
    expect_load_error({"attribute 'input_width' is 4.7, not an integer"});
    {
        h5::Handle file = new_model_file();
        h5::write_attribute(file.get(), "format_version", 1e30);
    }
    expect_load_error({"attribute 'format_version' is 1e+30, not an integer"});
    {
        h5::Handle file = new_model_file();
        h5::write_attribute(file.get(), "input_width", std::numeric_limits<double>::quiet_NaN());
    }
    expect_load_error({"attribute 'input_width' is nan, not an integer"});
}

TEST_F(NativeFormat, IntegerAttributesBeyondInt64AreRejected) {
    {
        h5::Handle file = new_model_file();
        ASSERT_GE(H5Adelete(file.get(), "input_width"), 0);
        h5::Handle space(H5Screate(H5S_SCALAR));
        h5::Handle attribute(H5Acreate2(file.get(), "input_width", H5T_STD_U64LE, space.get(),
                                        H5P_DEFAULT, H5P_DEFAULT));
        const std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
        ASSERT_GE(H5Awrite(attribute.get(), H5T_NATIVE_UINT64, &huge), 0);
    }
    expect_load_error({"attribute 'input_width' is 18446744073709551615, beyond the int64 range"});
}

TEST_F(NativeFormat, IntegralFloatAttributesAreAccepted) {
    {
        h5::Handle file = new_model_file();
        h5::write_attribute(file.get(), "format_version", 1.0);
        h5::write_attribute(file.get(), "input_width", 2.0);
        (void)new_dense(file.get(), "0");
    }
    EXPECT_EQ(load_model(path_).input_width, 2);
}

TEST_F(NativeFormat, UnknownRootAttributeIsRejected) {
    {
        h5::Handle file = new_model_file();
        h5::write_attribute(file.get(), "framework", std::string("torch"));
    }
    expect_load_error({"unknown root attribute 'framework'", "'input_width'"});
}

TEST_F(NativeFormat, LabelsAreARootListOfStrings) {
    save_model(every_layer_model(), path_);
    h5::Handle file = h5::open_file(path_);
    EXPECT_EQ(h5::read_string_list_attribute(file.get(), "labels"), every_layer_model().labels);
}

TEST_F(NativeFormat, ModelWithoutLabelsHasNoLabelsAttribute) {
    Model model = every_layer_model();
    model.labels.clear();
    save_model(model, path_);
    EXPECT_TRUE(load_model(path_).labels.empty());
    h5::Handle file = h5::open_file(path_);
    EXPECT_FALSE(h5::has_attribute(file.get(), "labels"));
}

TEST_F(NativeFormat, LabelsMustNameEveryOutputColumn) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_dense(file.get(), "0000");
        h5::write_attribute(file.get(), "labels", std::vector<std::string>{"a", "b", "c"});
    }
    expect_load_error({"3 class labels but 2 output columns"});
}

TEST_F(NativeFormat, NumericLabelsAreRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_dense(file.get(), "0000");
        h5::write_attribute(file.get(), "labels", std::vector<std::int64_t>{0, 1});
    }
    expect_load_error({"'labels' cannot be read as a list of strings"});
}

TEST_F(NativeFormat, FeatureNamesAreARootListOfStrings) {
    save_model(every_layer_model(), path_);
    EXPECT_EQ(load_model(path_).feature_names, every_layer_model().feature_names);
    h5::Handle file = h5::open_file(path_);
    EXPECT_EQ(h5::read_string_list_attribute(file.get(), "feature_names"),
              every_layer_model().feature_names);
}

TEST_F(NativeFormat, ModelWithoutFeatureNamesHasNoFeatureNamesAttribute) {
    Model model = every_layer_model();
    model.feature_names.clear();
    save_model(model, path_);
    EXPECT_TRUE(load_model(path_).feature_names.empty());
    h5::Handle file = h5::open_file(path_);
    EXPECT_FALSE(h5::has_attribute(file.get(), "feature_names"));
}

TEST_F(NativeFormat, FeatureNamesMustNameEveryInputColumnOnce) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_dense(file.get(), "0000");
        h5::write_attribute(file.get(), "feature_names", std::vector<std::string>{"a"});
    }
    expect_load_error({"1 feature names but 2 input columns"});
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_dense(file.get(), "0000");
        h5::write_attribute(file.get(), "feature_names", std::vector<std::string>{"a", "a"});
    }
    expect_load_error({"feature name 'a' names two input columns"});
}

TEST_F(NativeFormat, NumericFeatureNamesAreRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_dense(file.get(), "0000");
        h5::write_attribute(file.get(), "feature_names", std::vector<std::int64_t>{0, 1});
    }
    expect_load_error({"'feature_names' cannot be read as a list of strings"});
}

TEST_F(NativeFormat, MissingLayersGroupIsRejected) {
    {
        h5::Handle file = h5::create_file(path_);
        h5::write_attribute(file.get(), "format", std::string("h5infer-model"));
        h5::write_attribute(file.get(), "format_version", std::int64_t{1});
        h5::write_attribute(file.get(), "input_width", std::int64_t{2});
    }
    expect_load_error({"no group '/layers'"});
}

TEST_F(NativeFormat, EmptyLayersGroupIsRejected) {
    new_model_file();
    expect_load_error({"holds no layers"});
}

TEST_F(NativeFormat, GapInLayerNumbersIsRejected) {
    {
        h5::Handle file = new_model_file();
        new_dense(file.get(), "0000");
        new_dense(file.get(), "0002");
    }
    expect_load_error({"without gaps", "layer 0001 is missing"});
}

TEST_F(NativeFormat, DuplicateLayerNumberIsRejected) {
    {
        h5::Handle file = new_model_file();
        new_dense(file.get(), "0000");
        new_dense(file.get(), "0");
    }
    expect_load_error({"without gaps", "'0' and '0000' both name layer 0"});
}

TEST_F(NativeFormat, NonNumericLayerNameIsRejected) {
    {
        h5::Handle file = new_model_file();
        new_dense(file.get(), "first");
    }
    expect_load_error({"'/layers/first' is not a layer number"});
}

TEST_F(NativeFormat, LayerThatIsNotAGroupIsRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layers = h5::open_group(file.get(), "/layers");
        write_floats(layers.get(), "0000", {2}, {1, 2});
    }
    expect_load_error({"'/layers/0000' is not a group"});
}

TEST_F(NativeFormat, MissingKindIsRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = h5::create_group(file.get(), "/layers/0000");
    }
    expect_load_error({"layer 0:", "'kind' is missing", "'dense', 'affine', 'activation'"});
}

TEST_F(NativeFormat, UnknownKindListsSupportedKinds) {
    {
        h5::Handle file = new_model_file();
        new_dense(file.get(), "0000");
        new_layer(file.get(), "0001", "conv2d");
    }
    expect_load_error({"layer 1:", "unknown kind 'conv2d'", "'dense', 'affine', 'activation'"});
}

TEST_F(NativeFormat, UnknownAttributeListsWhatTheKindAllows) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_dense(file.get(), "0000");
        h5::write_attribute(layer.get(), "momentum", 0.9);
    }
    expect_load_error({"layer 0 (dense)", "unknown attribute 'momentum'", "'weights', 'bias'"});
}

TEST_F(NativeFormat, UnknownDatasetListsWhatTheKindAllows) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "affine");
        write_floats(layer.get(), "scale", {2}, {1, 1});
        write_floats(layer.get(), "shift", {2}, {0, 0});
        write_floats(layer.get(), "running_mean", {2}, {0, 0});
    }
    expect_load_error({"layer 0 (affine)", "unknown dataset 'running_mean'", "'scale', 'shift'"});
}

TEST_F(NativeFormat, UnknownActivationListsTheSupportedOnes) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "activation");
        h5::write_attribute(layer.get(), "function", std::string("relu6"));
    }
    expect_load_error(
        {"layer 0 (activation)", "unknown activation function 'relu6'", activation_names()});
}

TEST_F(NativeFormat, AlphaOnFunctionWithoutAlphaIsRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "activation");
        h5::write_attribute(layer.get(), "function", std::string("relu"));
        h5::write_attribute(layer.get(), "alpha", 0.5);
    }
    expect_load_error({"layer 0 (activation)", "'alpha' is not used by relu"});
}

TEST_F(NativeFormat, BetaOnFunctionOtherThanClipIsRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "activation");
        h5::write_attribute(layer.get(), "function", std::string("elu"));
        h5::write_attribute(layer.get(), "beta", 0.5);
    }
    expect_load_error({"layer 0 (activation)", "'beta' is not used by elu", "'clip'"});
}

TEST_F(NativeFormat, ClipWithoutBoundsDefaultsToTheFloatRange) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "activation");
        h5::write_attribute(layer.get(), "function", std::string("clip"));
        h5::write_attribute(layer.get(), "beta", 6.0);
    }
    const auto clip = std::get<ActivationLayer>(load_model(path_).layers[0]);
    EXPECT_EQ(clip.alpha, std::numeric_limits<float>::lowest());
    EXPECT_EQ(clip.beta, 6.0F);
}

TEST_F(NativeFormat, ClipBoundsOutOfOrderAreRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "activation");
        h5::write_attribute(layer.get(), "function", std::string("clip"));
        h5::write_attribute(layer.get(), "alpha", 2.0);
        h5::write_attribute(layer.get(), "beta", 1.0);
    }
    expect_load_error({"layer 0 (clip)", "above the upper bound"});
}

TEST_F(NativeFormat, NegativeLayerNormEpsilonIsRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "activation");
        h5::write_attribute(layer.get(), "function", std::string("layer_norm"));
        h5::write_attribute(layer.get(), "alpha", -1e-5);
    }
    expect_load_error({"layer 0 (layer_norm)", "must not be negative"});
}

TEST_F(NativeFormat, NonFiniteAlphaIsRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "activation");
        h5::write_attribute(layer.get(), "function", std::string("elu"));
        h5::write_attribute(layer.get(), "alpha", std::numeric_limits<double>::quiet_NaN());
    }
    expect_load_error({"layer 0 (activation)", "'alpha' is not a finite"});
}

TEST_F(NativeFormat, StringAlphaIsAModelError) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "activation");
        h5::write_attribute(layer.get(), "function", std::string("swish"));
        h5::write_attribute(layer.get(), "alpha", std::string("one"));
    }
    expect_load_error({"layer 0 (activation)", "'alpha' is not a number"});
}

TEST_F(NativeFormat, MissingWeightsAreRejected) {
    {
        h5::Handle file = new_model_file();
        new_layer(file.get(), "0000", "dense");
    }
    expect_load_error({"layer 0 (dense)", "'weights' is missing"});
}

// A file of a few kilobytes declaring weights of any size (chunked, never written): refused
// from the declared shapes, before anything is read or allocated.
class DeclaredShapes : public NativeFormat {
protected:
    void write_declared(std::int64_t input_width, hsize_t inputs, hsize_t outputs) const {
        h5::Handle file = new_model_file();
        h5::write_attribute(file.get(), "input_width", input_width);
        h5::Handle layer = new_layer(file.get(), "0000", "dense");
        const hsize_t dims[2] = {inputs, outputs};
        const hsize_t chunk[2] = {64, 64};
        h5::Handle space(H5Screate_simple(2, dims, nullptr));
        h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
        H5Pset_chunk(dcpl.get(), 2, chunk);
        h5::Handle weights(H5Dcreate2(layer.get(), "weights", H5T_IEEE_F32LE, space.get(),
                                      H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
        ASSERT_TRUE(weights.valid());
    }
};

TEST_F(DeclaredShapes, WeightsThatDoNotChainAreRefusedBeforeTheyAreRead) {
    write_declared(2, 16384, 16384);
    EXPECT_LT(std::filesystem::file_size(path_), 100000U);
    expect_load_error({"layer 0 (dense)",
                       "weights of shape [16384, 16384] take 16384 inputs but the "
                       "previous layer produces 2: the layer widths do not chain"});
}

TEST_F(DeclaredShapes, WeightsWhoseSizeOverflowsAreRefused) {
    write_declared(std::int64_t{1} << 32, hsize_t{1} << 32, hsize_t{1} << 32);
    expect_load_error({"layer 0 (dense)", "are not a usable size"});
}

TEST_F(DeclaredShapes, WeightsBeyondThisMachinesMemoryAreRefused) {
    write_declared(std::int64_t{1} << 20, hsize_t{1} << 20, hsize_t{1} << 20);
    expect_load_error({"declares 1099511627776 parameters, more than this machine's memory"});
}

TEST(ValidateDense, ShapesWhoseProductOverflowsAreRefused) {
    Model model;
    model.input_width = std::int64_t{1} << 32;
    model.layers.emplace_back(DenseLayer{std::int64_t{1} << 32, std::int64_t{1} << 32, {}, {}});
    try {
        validate(model);
        ADD_FAILURE() << "validated";
    } catch (const ModelError& error) {
        EXPECT_NE(std::string(error.what()).find("more than can be addressed"), std::string::npos)
            << error.what();
    }
}

TEST_F(NativeFormat, WeightsOfWrongRankAreRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "dense");
        write_floats(layer.get(), "weights", {4}, {1, 2, 3, 4});
    }
    expect_load_error({"layer 0 (dense)", "'weights' has shape [4] but must be 2-D"});
}

TEST_F(NativeFormat, BiasOfWrongShapeIsRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_dense(file.get(), "0000");
        write_floats(layer.get(), "bias", {3}, {1, 2, 3});
    }
    expect_load_error({"layer 0 (dense)", "'bias' has shape [3]", "expected [2]"});
}

TEST_F(NativeFormat, AffineShapesMustMatch) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "affine");
        write_floats(layer.get(), "scale", {2}, {1, 1});
        write_floats(layer.get(), "shift", {1, 2}, {0, 0});
    }
    expect_load_error({"layer 0 (affine)", "'shift' has shape [1, 2] but must be 1-D"});
}

TEST_F(NativeFormat, AffineFillNeedsOneFiniteValuePerFeature) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "affine");
        write_floats(layer.get(), "scale", {2}, {1, 1});
        write_floats(layer.get(), "shift", {2}, {0, 0});
        write_floats(layer.get(), "fill", {3}, {0, 0, 0});
    }
    expect_load_error({"layer 0 (affine)", "'fill' has shape [3] but 'scale' has shape [2]"});
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "affine");
        write_floats(layer.get(), "scale", {2}, {1, 1});
        write_floats(layer.get(), "shift", {2}, {0, 0});
        write_floats(layer.get(), "fill", {2}, {0, std::numeric_limits<float>::infinity()});
    }
    expect_load_error({"layer 0 (affine) fill contains Inf"});
}

// A NaN fill leaves that feature's NaN alone: an imputer of some columns of a ColumnTransformer.
TEST_F(NativeFormat, AffineFillMayBeNanForFeaturesNotImputed) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "affine");
        write_floats(layer.get(), "scale", {2}, {1, 1});
        write_floats(layer.get(), "shift", {2}, {0, 0});
        write_floats(layer.get(), "fill", {2}, {5, std::numeric_limits<float>::quiet_NaN()});
    }
    const Model model = load_model(path_);
    EXPECT_TRUE(std::isnan(std::get<AffineLayer>(model.layers[0]).fill[1]));
}

TEST_F(NativeFormat, IntegerWeightsAreRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "dense");
        write_floats(layer.get(), "weights", {2, 2}, {1, 2, 3, 4}, H5T_STD_I32LE);
    }
    expect_load_error({"layer 0 (dense)", "'weights' has type int32", "float32 or float64"});
}

TEST_F(NativeFormat, StringWeightsAreRejected) {
    {
        h5::Handle file = new_model_file();
        h5::Handle layer = new_layer(file.get(), "0000", "dense");
        h5::Handle weights = h5::create_dataset(layer.get(), "weights", {2, 2}, H5T_C_S1);
    }
    expect_load_error({"layer 0 (dense)", "'weights' has type string"});
}

TEST_F(NativeFormat, WidthsThatDoNotChainAreRejected) {
    Model model = every_layer_model();
    model.layers.emplace_back(DenseLayer{3, 1, {1, 2, 3}, {}});
    save_model(model, path_);
    const std::string last = "layer " + std::to_string(model.layers.size() - 1) + " (dense)";
    expect_load_error({last, "do not chain"});
}

TEST_F(NativeFormat, NanWeightsAreRejected) {
    Model model = every_layer_model();
    std::get<DenseLayer>(model.layers[1]).weights[5] = std::numeric_limits<float>::quiet_NaN();
    save_model(model, path_);
    expect_load_error({"layer 1 (dense) weights contain NaN or Inf"});
}

TEST_F(NativeFormat, SaveToMissingDirectoryIsAnIoError) {
    EXPECT_THROW(save_model(every_layer_model(), dir_.file("missing/model.h5")), IoError);
}

}  // namespace
}  // namespace h5infer
