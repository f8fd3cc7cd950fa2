// Tests of the ONNX importer (src/model/onnx_*.cpp): each operator's mapping onto h5infer's
// layers, on graphs built here with ONNX's protobuf classes, and each way a file or a graph is
// refused. The PyTorch exports in tests/data/onnx are checked end to end in tests/e2e.

#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "unit/model_equal.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer {
namespace {

using Dims = std::vector<std::int64_t>;
using NodeSetup = std::function<void(onnx::NodeProto&)>;

void set_dims(onnx::ValueInfoProto& info, const Dims& dims, int elem_type) {
    auto* tensor = info.mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(elem_type);
    auto* shape = tensor->mutable_shape();
    for (std::int64_t dim : dims) {
        auto* entry = shape->add_dim();
        if (dim < 0) {
            entry->set_dim_param("batch");
        } else {
            entry->set_dim_value(dim);
        }
    }
}

NodeSetup float_attribute(const std::string& name, float value) {
    return [=](onnx::NodeProto& node) {
        auto* attribute = node.add_attribute();
        attribute->set_name(name);
        attribute->set_type(onnx::AttributeProto_AttributeType_FLOAT);
        attribute->set_f(value);
    };
}

NodeSetup int_attribute(const std::string& name, std::int64_t value) {
    return [=](onnx::NodeProto& node) {
        auto* attribute = node.add_attribute();
        attribute->set_name(name);
        attribute->set_type(onnx::AttributeProto_AttributeType_INT);
        attribute->set_i(value);
    };
}

NodeSetup string_attribute(const std::string& name, const std::string& value) {
    return [=](onnx::NodeProto& node) {
        auto* attribute = node.add_attribute();
        attribute->set_name(name);
        attribute->set_type(onnx::AttributeProto_AttributeType_STRING);
        attribute->set_s(value);
    };
}

/// Builds a one-input graph "x" [batch, width] -> ... -> "y", node by node.
class GraphBuilder {
public:
    explicit GraphBuilder(Dims input_dims, std::int64_t opset = 17) {
        model_.set_ir_version(8);
        model_.set_producer_name("onnx_import_test");
        auto* opset_id = model_.add_opset_import();
        opset_id->set_domain("");
        opset_id->set_version(opset);
        graph_ = model_.mutable_graph();
        graph_->set_name("test");
        auto* input = graph_->add_input();
        input->set_name("x");
        set_dims(*input, input_dims, onnx::TensorProto_DataType_FLOAT);
        graph_->add_output()->set_name("y");
    }

    GraphBuilder& node(const std::string& op, std::vector<std::string> inputs,
                       std::vector<std::string> outputs, std::vector<NodeSetup> setups = {},
                       const std::string& name = "") {
        auto* node = graph_->add_node();
        node->set_op_type(op);
        node->set_name(name.empty() ? op + std::to_string(graph_->node_size()) : name);
        for (const std::string& input : inputs) node->add_input(input);
        for (const std::string& output : outputs) node->add_output(output);
        for (const NodeSetup& setup : setups) setup(*node);
        return *this;
    }

    /// A float initializer stored as raw little-endian bytes.
    onnx::TensorProto& initializer(const std::string& name, const Dims& dims,
                                   const std::vector<float>& values) {
        auto* tensor = graph_->add_initializer();
        tensor->set_name(name);
        tensor->set_data_type(onnx::TensorProto_DataType_FLOAT);
        for (std::int64_t dim : dims) tensor->add_dims(dim);
        tensor->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()),
                                         values.size() * sizeof(float)));
        return *tensor;
    }

    onnx::TensorProto& int64_initializer(const std::string& name,
                                         const std::vector<std::int64_t>& values) {
        auto* tensor = graph_->add_initializer();
        tensor->set_name(name);
        tensor->set_data_type(onnx::TensorProto_DataType_INT64);
        tensor->add_dims(static_cast<std::int64_t>(values.size()));
        for (std::int64_t value : values) tensor->add_int64_data(value);
        return *tensor;
    }

    onnx::ModelProto& proto() { return model_; }
    onnx::GraphProto& graph() { return *graph_; }

    std::string save(const testing::TempDir& dir, const std::string& name = "m.onnx") const {
        const std::string path = dir.file(name);
        std::ofstream out(path, std::ios::binary);
        model_.SerializeToOstream(&out);
        return path;
    }

private:
    onnx::ModelProto model_;
    onnx::GraphProto* graph_ = nullptr;
};

/// The message of the ModelError import_onnx throws (other exceptions fail the test).
std::string import_error(const std::string& path) {
    try {
        (void)import_onnx(path);
    } catch (const ModelError& error) {
        return error.what();
    }
    ADD_FAILURE() << "import_onnx accepted " << path;
    return "";
}

::testing::AssertionResult contains_all(const std::string& message,
                                        std::initializer_list<std::string> parts) {
    for (const std::string& part : parts) {
        if (message.find(part) == std::string::npos) {
            return ::testing::AssertionFailure() << "no '" << part << "' in: " << message;
        }
    }
    return ::testing::AssertionSuccess();
}

const ActivationLayer& activation_at(const Model& model, std::size_t index) {
    return std::get<ActivationLayer>(model.layers.at(index));
}

const AffineLayer& affine_at(const Model& model, std::size_t index) {
    return std::get<AffineLayer>(model.layers.at(index));
}

const DenseLayer& dense_at(const Model& model, std::size_t index) {
    return std::get<DenseLayer>(model.layers.at(index));
}

class OnnxImport : public ::testing::Test {
protected:
    void SetUp() override { h5::silence_errors(); }
    testing::TempDir dir_;
};

// ---- operators ---------------------------------------------------------------------------------

TEST_F(OnnxImport, GemmFoldsAlphaBetaAndTransB) {
    GraphBuilder graph({-1, 3});
    graph.initializer("W", {2, 3}, {1, 2, 3, 4, 5, 6});  // [outputs, inputs]: transB
    graph.initializer("C", {2}, {0.5F, -1.0F});
    graph.node("Gemm", {"x", "W", "C"}, {"y"},
               {float_attribute("alpha", 2.0F), float_attribute("beta", 3.0F),
                int_attribute("transB", 1)});
    const Model model = import_onnx(graph.save(dir_));
    ASSERT_EQ(model.layers.size(), 1U);
    const DenseLayer& dense = dense_at(model, 0);
    EXPECT_EQ(dense.inputs, 3);
    EXPECT_EQ(dense.outputs, 2);
    EXPECT_EQ(dense.weights, (std::vector<float>{2, 8, 4, 10, 6, 12}));
    EXPECT_EQ(dense.bias, (std::vector<float>{1.5F, -3.0F}));
    EXPECT_EQ(model.input_width, 3);
    EXPECT_TRUE(contains_all(model.producer, {"onnx_import_test", "ONNX, opset 17"}));
}

TEST_F(OnnxImport, GemmWithoutTransposeBroadcastsAScalarC) {
    GraphBuilder graph({-1, 2});
    graph.initializer("W", {2, 3}, {1, 2, 3, 4, 5, 6});
    graph.initializer("C", {}, {0.25F});
    graph.node("Gemm", {"x", "W", "C"}, {"y"});
    const DenseLayer dense = dense_at(import_onnx(graph.save(dir_)), 0);
    EXPECT_EQ(dense.weights, (std::vector<float>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(dense.bias, (std::vector<float>{0.25F, 0.25F, 0.25F}));
}

TEST_F(OnnxImport, GemmTransposesOnlyTheGraphInput) {
    GraphBuilder graph({3, -1});  // [features, batch]
    graph.initializer("W", {3, 2}, {1, 2, 3, 4, 5, 6});
    graph.node("Gemm", {"x", "W"}, {"y"}, {int_attribute("transA", 1)});
    const Model model = import_onnx(graph.save(dir_));
    EXPECT_EQ(model.input_width, 3);
    EXPECT_EQ(dense_at(model, 0).outputs, 2);

    GraphBuilder later({-1, 3});
    later.initializer("W", {3, 2}, {1, 2, 3, 4, 5, 6});
    later.node("Relu", {"x"}, {"r"})
        .node("Gemm", {"r", "W"}, {"y"}, {int_attribute("transA", 1)}, "fc");
    EXPECT_TRUE(contains_all(import_error(later.save(dir_)),
                             {"node 'fc' (Gemm)", "transA=1", "graph input itself"}));
}

TEST_F(OnnxImport, GemmWithDataAsSecondInputIsRejected) {
    GraphBuilder graph({-1, 2});
    graph.initializer("W", {2, 2}, {1, 2, 3, 4});
    graph.node("Gemm", {"W", "x"}, {"y"}, {}, "fc");
    EXPECT_TRUE(contains_all(import_error(graph.save(dir_)),
                             {"node 'fc' (Gemm)", "needs it as the first input"}));
}

TEST_F(OnnxImport, MatMulThenAddBecomesOneDenseWithBias) {
    GraphBuilder graph({-1, 2});
    graph.initializer("W", {2, 3}, {1, 2, 3, 4, 5, 6});
    graph.initializer("b", {3}, {0.1F, 0.2F, 0.3F});
    graph.node("MatMul", {"x", "W"}, {"h"}).node("Add", {"b", "h"}, {"y"});
    const Model model = import_onnx(graph.save(dir_));
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(dense_at(model, 0).weights, (std::vector<float>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(dense_at(model, 0).bias, (std::vector<float>{0.1F, 0.2F, 0.3F}));
}

TEST_F(OnnxImport, ArithmeticWithConstantsBecomesAffine) {
    GraphBuilder graph({-1, 2});
    graph.initializer("v", {1, 2}, {2.0F, 4.0F});
    graph.initializer("s", {1}, {0.5F});
    graph.node("Sub", {"x", "v"}, {"a"})
        .node("Sub", {"s", "a"}, {"b"})
        .node("Mul", {"b", "v"}, {"c"})
        .node("Div", {"c", "v"}, {"d"})
        .node("Add", {"d", "s"}, {"y"});
    const Model model = import_onnx(graph.save(dir_));
    ASSERT_EQ(model.layers.size(), 5U);
    EXPECT_EQ(affine_at(model, 0).scale, (std::vector<double>{1, 1}));
    EXPECT_EQ(affine_at(model, 0).shift, (std::vector<double>{-2, -4}));
    EXPECT_EQ(affine_at(model, 1).scale, (std::vector<double>{-1, -1}));
    EXPECT_EQ(affine_at(model, 1).shift, (std::vector<double>{0.5F, 0.5F}));
    EXPECT_EQ(affine_at(model, 2).scale, (std::vector<double>{2, 4}));
    EXPECT_EQ(affine_at(model, 3).scale, (std::vector<double>{0.5F, 0.25F}));
    EXPECT_EQ(affine_at(model, 4).shift, (std::vector<double>{0.5F, 0.5F}));
}

TEST_F(OnnxImport, ArithmeticThatIsNotAnAffineMapIsRejected) {
    GraphBuilder divide({-1, 2});
    divide.initializer("v", {2}, {2.0F, 4.0F});
    divide.node("Div", {"v", "x"}, {"y"}, {}, "inverse");
    EXPECT_TRUE(contains_all(import_error(divide.save(dir_)),
                             {"node 'inverse' (Div)", "divides a constant by the data"}));

    GraphBuilder zero({-1, 2});
    zero.initializer("v", {2}, {2.0F, 0.0F});
    zero.node("Div", {"x", "v"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(zero.save(dir_)), {"feature 1 by zero"}));

    GraphBuilder square({-1, 2});
    square.node("Mul", {"x", "x"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(square.save(dir_)), {"with itself"}));

    GraphBuilder wrong({-1, 2});
    wrong.initializer("v", {3}, {1, 2, 3});
    wrong.node("Add", {"x", "v"}, {"y"});
    EXPECT_TRUE(
        contains_all(import_error(wrong.save(dir_)), {"shape [3]", "one value per feature (2)"}));
}

TEST_F(OnnxImport, BatchNormalizationFoldsIntoAffine) {
    GraphBuilder graph({-1, 2});
    graph.initializer("gamma", {2}, {2.0F, 1.0F});
    graph.initializer("beta", {2}, {0.5F, -1.0F});
    graph.initializer("mean", {2}, {1.0F, 3.0F});
    graph.initializer("var", {2}, {4.0F, 0.25F});
    graph.node("BatchNormalization", {"x", "gamma", "beta", "mean", "var"}, {"y"},
               {float_attribute("epsilon", 0.0F)});
    const AffineLayer affine = affine_at(import_onnx(graph.save(dir_)), 0);
    EXPECT_EQ(affine.scale, (std::vector<double>{1.0F, 2.0F}));    // gamma / sqrt(var)
    EXPECT_EQ(affine.shift, (std::vector<double>{-0.5F, -7.0F}));  // beta - mean * scale
}

TEST_F(OnnxImport, TrainingModeIsRejected) {
    GraphBuilder graph({-1, 1});
    for (const char* name : {"g", "b", "m", "v"}) graph.initializer(name, {1}, {1.0F});
    graph.node("BatchNormalization", {"x", "g", "b", "m", "v"}, {"y"},
               {int_attribute("training_mode", 1)}, "bn");
    EXPECT_TRUE(contains_all(import_error(graph.save(dir_)),
                             {"node 'bn' (BatchNormalization)", "training mode"}));

    GraphBuilder dropout({-1, 1});
    auto& training = dropout.initializer("t", {}, {});
    training.set_data_type(onnx::TensorProto_DataType_BOOL);
    training.set_raw_data(std::string(1, '\1'));
    dropout.node("Dropout", {"x", "", "t"}, {"y"}, {}, "drop");
    EXPECT_TRUE(contains_all(import_error(dropout.save(dir_)), {"node 'drop'", "training mode"}));

    GraphBuilder mask({-1, 1});
    mask.node("Dropout", {"x"}, {"d", "mask"}, {}, "drop").node("Add", {"d", "mask"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(mask.save(dir_)), {"output 2 'mask' is used"}));
}

TEST_F(OnnxImport, LayerNormalizationBecomesLayerNormAndAffine) {
    GraphBuilder graph({-1, 3});
    graph.initializer("scale", {3}, {1, 2, 3});
    graph.initializer("bias", {3}, {0, 0.5F, 1});
    graph.node("LayerNormalization", {"x", "scale", "bias"}, {"y"},
               {float_attribute("epsilon", 1e-3F), int_attribute("axis", -1)});
    const Model model = import_onnx(graph.save(dir_));
    ASSERT_EQ(model.layers.size(), 2U);
    EXPECT_EQ(activation_at(model, 0).function, Activation::LayerNorm);
    EXPECT_FLOAT_EQ(activation_at(model, 0).alpha, 1e-3F);
    EXPECT_EQ(affine_at(model, 1).scale, (std::vector<double>{1, 2, 3}));
    EXPECT_EQ(affine_at(model, 1).shift, (std::vector<double>{0, 0.5F, 1}));

    GraphBuilder axis0({-1, 3});
    axis0.initializer("scale", {3}, {1, 2, 3});
    axis0.node("LayerNormalization", {"x", "scale"}, {"y"}, {int_attribute("axis", 0)});
    EXPECT_TRUE(contains_all(import_error(axis0.save(dir_)), {"from axis 0"}));
}

TEST_F(OnnxImport, ElementwiseAndRowActivationsMap) {
    struct Case {
        std::string op;
        std::vector<NodeSetup> setups;
        Activation function;
        float alpha;
    };
    const std::vector<Case> cases = {
        {"Relu", {}, Activation::Relu, 0.0F},
        {"LeakyRelu", {}, Activation::LeakyRelu, 0.01F},
        {"LeakyRelu", {float_attribute("alpha", 0.3F)}, Activation::LeakyRelu, 0.3F},
        {"Elu", {float_attribute("alpha", 0.7F)}, Activation::Elu, 0.7F},
        {"Sigmoid", {}, Activation::Sigmoid, 0.0F},
        {"Tanh", {}, Activation::Tanh, 0.0F},
        {"HardSwish", {}, Activation::HardSwish, 0.0F},
        {"Softplus", {}, Activation::Softplus, 0.0F},
        {"Exp", {}, Activation::Exp, 0.0F},
        {"Mish", {}, Activation::Mish, 0.0F},
        {"Gelu", {}, Activation::GeluErf, 0.0F},
        {"Gelu", {string_attribute("approximate", "tanh")}, Activation::GeluTanh, 0.0F},
        {"Softmax", {}, Activation::Softmax, 0.0F},
        {"LogSoftmax", {int_attribute("axis", 1)}, Activation::LogSoftmax, 0.0F},
    };
    for (const Case& c : cases) {
        GraphBuilder graph({-1, 4});
        graph.node(c.op, {"x"}, {"y"}, c.setups);
        const Model model = import_onnx(graph.save(dir_));
        ASSERT_EQ(model.layers.size(), 1U) << c.op;
        EXPECT_EQ(activation_at(model, 0).function, c.function) << c.op;
        EXPECT_FLOAT_EQ(activation_at(model, 0).alpha, c.alpha) << c.op;
    }
}

TEST_F(OnnxImport, SeluHardSigmoidAndClipMapExactly) {
    GraphBuilder selu({-1, 2});
    selu.node("Selu", {"x"}, {"y"});
    const Model selu_model = import_onnx(selu.save(dir_));
    EXPECT_EQ(activation_at(selu_model, 0).function, Activation::Elu);
    EXPECT_FLOAT_EQ(activation_at(selu_model, 0).alpha, 1.67326319F);
    EXPECT_EQ(affine_at(selu_model, 1).scale, (std::vector<double>(2, 1.05070102F)));

    GraphBuilder hard({-1, 2});
    hard.node("HardSigmoid", {"x"}, {"y"}, {float_attribute("alpha", 0.25F)});
    const Model hard_model = import_onnx(hard.save(dir_));
    EXPECT_EQ(affine_at(hard_model, 0).scale, (std::vector<double>(2, 0.25F)));
    EXPECT_EQ(affine_at(hard_model, 0).shift, (std::vector<double>(2, 0.5F)));
    EXPECT_EQ(activation_at(hard_model, 1).function, Activation::Clip);
    EXPECT_EQ(activation_at(hard_model, 1).alpha, 0.0F);
    EXPECT_EQ(activation_at(hard_model, 1).beta, 1.0F);

    GraphBuilder relu6({-1, 2});
    relu6.initializer("low", {}, {0.0F});
    relu6.initializer("high", {}, {6.0F});
    relu6.node("Clip", {"x", "low", "high"}, {"y"});
    const ActivationLayer clip = activation_at(import_onnx(relu6.save(dir_)), 0);
    EXPECT_EQ(clip.alpha, 0.0F);
    EXPECT_EQ(clip.beta, 6.0F);

    GraphBuilder upper_only({-1, 2});
    upper_only.initializer("high", {}, {6.0F});
    upper_only.node("Clip", {"x", "", "high"}, {"y"});
    EXPECT_EQ(activation_at(import_onnx(upper_only.save(dir_)), 0).alpha,
              std::numeric_limits<float>::lowest());

    GraphBuilder opset6({-1, 2}, 6);
    opset6.node("Clip", {"x"}, {"y"}, {float_attribute("min", -1.0F)});
    const ActivationLayer old = activation_at(import_onnx(opset6.save(dir_)), 0);
    EXPECT_EQ(old.alpha, -1.0F);
    EXPECT_EQ(old.beta, std::numeric_limits<float>::max());
}

TEST_F(OnnxImport, GeluChainsBecomeOneGelu) {
    // PyTorch 1.13: ((x * (erf(x / sqrt2) + 1)) * 0.5).
    GraphBuilder pytorch({-1, 3});
    pytorch.initializer("sqrt2", {}, {1.41421354F});
    pytorch.initializer("one", {}, {1.0F});
    pytorch.initializer("half", {}, {0.5F});
    pytorch.node("Div", {"x", "sqrt2"}, {"d"})
        .node("Erf", {"d"}, {"e"})
        .node("Add", {"e", "one"}, {"a"})
        .node("Mul", {"x", "a"}, {"m"})
        .node("Mul", {"m", "half"}, {"y"});
    Model model = import_onnx(pytorch.save(dir_));
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(activation_at(model, 0).function, Activation::GeluErf);

    // The 0.5 applied to x first, and x * (1 / sqrt2) instead of the division.
    GraphBuilder variant({-1, 3});
    variant.initializer("rsqrt2", {1}, {0.707106769F});
    variant.initializer("one", {}, {1.0F});
    variant.initializer("half", {}, {0.5F});
    variant.node("Mul", {"x", "half"}, {"h"})
        .node("Mul", {"rsqrt2", "x"}, {"d"})
        .node("Erf", {"d"}, {"e"})
        .node("Add", {"one", "e"}, {"a"})
        .node("Mul", {"a", "h"}, {"y"});
    model = import_onnx(variant.save(dir_));
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(activation_at(model, 0).function, Activation::GeluErf);

    // A wrong constant is not GELU: the branch is refused.
    GraphBuilder wrong({-1, 3});
    wrong.initializer("two", {}, {2.0F});
    wrong.initializer("one", {}, {1.0F});
    wrong.initializer("half", {}, {0.5F});
    wrong.node("Div", {"x", "two"}, {"d"})
        .node("Erf", {"d"}, {"e"})
        .node("Add", {"e", "one"}, {"a"})
        .node("Mul", {"x", "a"}, {"m"})
        .node("Mul", {"m", "half"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(wrong.save(dir_)), {"feeds 2 nodes"}));

    GraphBuilder erf({-1, 3});
    erf.node("Erf", {"x"}, {"y"}, {}, "alone");
    EXPECT_TRUE(contains_all(import_error(erf.save(dir_)), {"node 'alone' (Erf)", "GELU"}));
}

NodeSetup ints_attribute(const std::string& name, const std::vector<std::int64_t>& values) {
    return [=](onnx::NodeProto& node) {
        auto* attribute = node.add_attribute();
        attribute->set_name(name);
        attribute->set_type(onnx::AttributeProto_AttributeType_INTS);
        for (std::int64_t value : values) attribute->add_ints(value);
    };
}

TEST_F(OnnxImport, SiluAndHardswishDecompositionsBecomeOneActivation) {
    GraphBuilder silu({-1, 3});
    silu.node("Sigmoid", {"x"}, {"s"}).node("Mul", {"s", "x"}, {"y"});
    Model model = import_onnx(silu.save(dir_));
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(activation_at(model, 0).function, Activation::Swish);
    EXPECT_EQ(activation_at(model, 0).alpha, 1.0F);

    GraphBuilder mish({-1, 3});
    mish.node("Softplus", {"x"}, {"p"}).node("Tanh", {"p"}, {"t"}).node("Mul", {"t", "x"}, {"y"});
    model = import_onnx(mish.save(dir_));
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(activation_at(model, 0).function, Activation::Mish);

    GraphBuilder hard_sigmoid({-1, 3});
    hard_sigmoid.node("HardSigmoid", {"x"}, {"h"}, {float_attribute("alpha", 1.0F / 6.0F)})
        .node("Mul", {"x", "h"}, {"y"});
    model = import_onnx(hard_sigmoid.save(dir_));
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(activation_at(model, 0).function, Activation::HardSwish);

    // x * Clip(x + 3, 0, 6) / 6, the division before or after the product.
    for (bool divide_first : {true, false}) {
        GraphBuilder chain({-1, 3});
        chain.initializer("three", {}, {3.0F});
        chain.initializer("zero", {}, {0.0F});
        chain.initializer("six", {}, {6.0F});
        chain.node("Add", {"three", "x"}, {"a"}).node("Clip", {"a", "zero", "six"}, {"c"});
        if (divide_first) {
            chain.node("Div", {"c", "six"}, {"d"}).node("Mul", {"x", "d"}, {"y"});
        } else {
            chain.node("Mul", {"x", "c"}, {"m"}).node("Div", {"m", "six"}, {"y"});
        }
        model = import_onnx(chain.save(dir_));
        ASSERT_EQ(model.layers.size(), 1U) << divide_first;
        EXPECT_EQ(activation_at(model, 0).function, Activation::HardSwish) << divide_first;
    }
}

TEST_F(OnnxImport, NearMissesOfSiluAndHardswishAreRefusedNamingTheNode) {
    GraphBuilder minus({-1, 3});
    minus.node("Sigmoid", {"x"}, {"s"}).node("Sub", {"x", "s"}, {"y"}, {}, "join");
    EXPECT_TRUE(contains_all(import_error(minus.save(dir_)),
                             {"node 'join' (Sub)", "by Sub, not Mul", "SiLU (torch.nn.SiLU)"}));

    GraphBuilder default_alpha({-1, 3});
    default_alpha.node("HardSigmoid", {"x"}, {"h"}, {}, "hs").node("Mul", {"x", "h"}, {"y"});
    EXPECT_TRUE(
        contains_all(import_error(default_alpha.save(dir_)),
                     {"node 'hs' (HardSigmoid)", "alpha 0.2 and beta 0.5", "torch.nn.Hardswish"}));

    struct Case {
        float shift, high, divisor;
        std::string message;
    };
    for (const Case& c : {Case{2.0F, 6.0F, 6.0F, "node 'add' (Add) does not add 3"},
                          Case{3.0F, 5.0F, 6.0F, "node 'clip' (Clip) clips to [0, 5]"},
                          Case{3.0F, 6.0F, 5.0F, "node 'div' (Div) does not divide by 6"}}) {
        GraphBuilder chain({-1, 3});
        chain.initializer("shift", {}, {c.shift});
        chain.initializer("zero", {}, {0.0F});
        chain.initializer("high", {}, {c.high});
        chain.initializer("divisor", {}, {c.divisor});
        chain.node("Add", {"x", "shift"}, {"a"}, {}, "add")
            .node("Clip", {"a", "zero", "high"}, {"c"}, {}, "clip")
            .node("Div", {"c", "divisor"}, {"d"}, {}, "div")
            .node("Mul", {"x", "d"}, {"y"});
        EXPECT_TRUE(contains_all(import_error(chain.save(dir_)), {c.message, "Hardswish"}));
    }

    GraphBuilder mish({-1, 3});
    mish.node("Softplus", {"x"}, {"p"}).node("Tanh", {"p"}, {"t"});
    mish.node("Add", {"x", "t"}, {"y"}, {}, "join");
    EXPECT_TRUE(contains_all(import_error(mish.save(dir_)),
                             {"node 'join' (Add)", "by Add, not Mul", "Mish (torch.nn.Mish)"}));
}

struct LayerNormChain {
    float exponent = 2.0F;
    float epsilon = 1e-5F;
    std::int64_t axis = -1;
    bool scale_shift = true;
    std::int64_t opset = 14;
};

// PyTorch's export of nn.LayerNorm(3) below opset 17, with its parameters varied.
GraphBuilder layer_norm_chain(const LayerNormChain& chain) {
    GraphBuilder graph({-1, 3}, chain.opset);
    graph.initializer("two", {}, {chain.exponent});
    graph.initializer("eps", {}, {chain.epsilon});
    std::vector<NodeSetup> axes;
    std::vector<std::string> mean_inputs{"x"};
    std::vector<std::string> variance_inputs{"p"};
    if (chain.opset >= 18) {
        graph.int64_initializer("axes", {chain.axis});
        mean_inputs.push_back("axes");
        variance_inputs.push_back("axes");
    } else {
        axes.push_back(ints_attribute("axes", {chain.axis}));
    }
    const std::string normalized = chain.scale_shift ? "n" : "y";
    graph.node("ReduceMean", mean_inputs, {"m"}, axes, "mean")
        .node("Sub", {"x", "m"}, {"c"}, {}, "sub")
        .node("Pow", {"c", "two"}, {"p"}, {}, "pow")
        .node("ReduceMean", variance_inputs, {"v"}, axes, "variance")
        .node("Add", {"v", "eps"}, {"e"}, {}, "add")
        .node("Sqrt", {"e"}, {"r"}, {}, "sqrt")
        .node("Div", {"c", "r"}, {normalized}, {}, "div");
    if (chain.scale_shift) {
        graph.initializer("weight", {3}, {0.5F, 1.0F, 2.0F});
        graph.initializer("bias", {3}, {-1.0F, 0.0F, 1.0F});
        graph.node("Mul", {"n", "weight"}, {"s"}).node("Add", {"s", "bias"}, {"y"});
    }
    return graph;
}

TEST_F(OnnxImport, LayerNormDecompositionBecomesLayerNormAndAffine) {
    Model model = import_onnx(layer_norm_chain({}).save(dir_));
    ASSERT_EQ(model.layers.size(), 2U);
    EXPECT_EQ(activation_at(model, 0).function, Activation::LayerNorm);
    EXPECT_EQ(activation_at(model, 0).alpha, 1e-5F);
    EXPECT_EQ(affine_at(model, 1).scale, (std::vector<double>{0.5, 1.0, 2.0}));
    EXPECT_EQ(affine_at(model, 1).shift, (std::vector<double>{-1.0, 0.0, 1.0}));

    LayerNormChain plain;
    plain.scale_shift = false;
    plain.epsilon = 1e-3F;
    plain.axis = 1;
    plain.opset = 18;  // axes as an input
    model = import_onnx(layer_norm_chain(plain).save(dir_));
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(activation_at(model, 0).alpha, 1e-3F);
}

TEST_F(OnnxImport, NearMissesOfLayerNormAreRefusedNamingTheNode) {
    LayerNormChain cube;
    cube.exponent = 3.0F;
    EXPECT_TRUE(contains_all(import_error(layer_norm_chain(cube).save(dir_)),
                             {"node 'pow' (Pow)", "square", "torch.nn.LayerNorm"}));
    LayerNormChain batch_axis;
    batch_axis.axis = 0;
    EXPECT_TRUE(contains_all(import_error(layer_norm_chain(batch_axis).save(dir_)),
                             {"node 'mean' (ReduceMean)", "last axis", "LayerNorm"}));
    LayerNormChain no_epsilon;
    no_epsilon.epsilon = 0.0F;
    EXPECT_TRUE(contains_all(import_error(layer_norm_chain(no_epsilon).save(dir_)),
                             {"node 'variance' (ReduceMean)", "positive epsilon"}));

    GraphBuilder mean({-1, 3});
    mean.node("ReduceMean", {"x"}, {"y"}, {}, "alone");
    EXPECT_TRUE(contains_all(import_error(mean.save(dir_)),
                             {"node 'alone' (ReduceMean)", "only inside LayerNorm's"}));
}

// Outside LayerNorm's decomposition, Sqrt and Log are per_column layers of that function.
TEST_F(OnnxImport, SqrtAndLogAloneBecomePerColumnLayers) {
    for (const auto& [op, function] :
         {std::pair{"Sqrt", ColumnOp::Sqrt}, std::pair{"Log", ColumnOp::Log}}) {
        GraphBuilder graph({-1, 3});
        graph.node(op, {"x"}, {"y"}, {}, "alone");
        const Model model = import_onnx(graph.save(dir_));
        ASSERT_EQ(model.layers.size(), 1U) << op;
        const auto& layer = std::get<PerColumnLayer>(model.layers[0]);
        EXPECT_EQ(layer.ops, std::vector<ColumnOp>(3, function)) << op;
        EXPECT_EQ(model.output_width(), 3) << op;
    }
}

TEST_F(OnnxImport, NegAndWhereIsNanBecomeAffineLayers) {
    GraphBuilder neg({-1, 2});
    neg.node("Neg", {"x"}, {"y"});
    Model model = import_onnx(neg.save(dir_));
    EXPECT_EQ(affine_at(model, 0).scale, (std::vector<double>{-1.0, -1.0}));
    EXPECT_EQ(affine_at(model, 0).shift, (std::vector<double>{0.0, 0.0}));

    for (const std::vector<float>& c : {std::vector<float>{0.5F}, {0.5F, -2.0F}}) {
        GraphBuilder fill({-1, 2});
        fill.initializer("c", {static_cast<std::int64_t>(c.size())}, c);
        fill.node("IsNaN", {"x"}, {"n"}).node("Where", {"n", "c", "x"}, {"y"});
        model = import_onnx(fill.save(dir_));
        ASSERT_EQ(model.layers.size(), 1U);
        const AffineLayer& affine = affine_at(model, 0);
        EXPECT_EQ(affine.scale, (std::vector<double>{1.0, 1.0}));
        EXPECT_EQ(affine.shift, (std::vector<double>{0.0, 0.0}));
        EXPECT_EQ(affine.fill, (std::vector<double>{0.5, c.back()}));
    }

    GraphBuilder swapped({-1, 2});
    swapped.initializer("c", {}, {0.5F});
    swapped.node("IsNaN", {"x"}, {"n"}).node("Where", {"n", "x", "c"}, {"y"}, {}, "where");
    EXPECT_TRUE(contains_all(
        import_error(swapped.save(dir_)),
        {"node 'where' (Where)", "does not take c where x is NaN", "torch.nan_to_num"}));

    GraphBuilder computed({-1, 2});
    computed.node("IsNaN", {"x"}, {"n"}).node("Neg", {"x"}, {"m"});
    computed.node("Where", {"n", "m", "x"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(computed.save(dir_)), {"feeds 3 nodes"}));

    GraphBuilder alone({-1, 2});
    alone.node("IsNaN", {"x"}, {"y"}, {}, "test");
    EXPECT_TRUE(contains_all(import_error(alone.save(dir_)),
                             {"node 'test' (IsNaN)", "only as Where(IsNaN(x), c, x)"}));
}

// PyTorch 1.13's export of nn.GELU(approximate="tanh"), x^3 as x * (x * x) or as Pow(x, 3).
GraphBuilder gelu_tanh_chain(bool pow, float cube_factor) {
    GraphBuilder graph({-1, 3});
    graph.initializer("three", {}, {3.0F});
    graph.initializer("factor", {}, {cube_factor});
    graph.initializer("root", {}, {0.797884583F});
    graph.initializer("one", {}, {1.0F});
    graph.initializer("half", {}, {0.5F});
    if (pow) {
        graph.node("Pow", {"x", "three"}, {"cube"});
    } else {
        graph.node("Mul", {"x", "x"}, {"square"}).node("Mul", {"x", "square"}, {"cube"});
    }
    graph.node("Mul", {"factor", "cube"}, {"s"}, {}, "scale")
        .node("Add", {"x", "s"}, {"i"})
        .node("Mul", {"root", "i"}, {"a"})
        .node("Tanh", {"a"}, {"t"})
        .node("Add", {"one", "t"}, {"p"})
        .node("Mul", {"x", "p"}, {"m"})
        .node("Mul", {"half", "m"}, {"y"});
    return graph;
}

TEST_F(OnnxImport, GeluTanhChainBecomesOneGeluTanh) {
    for (bool pow : {false, true}) {
        const Model model = import_onnx(gelu_tanh_chain(pow, 0.044715F).save(dir_));
        ASSERT_EQ(model.layers.size(), 1U) << pow;
        EXPECT_EQ(activation_at(model, 0).function, Activation::GeluTanh) << pow;
    }
    EXPECT_TRUE(contains_all(
        import_error(gelu_tanh_chain(false, 0.04F).save(dir_)),
        {"node 'scale' (Mul)", "does not multiply x^3 by 0.044715", "approximate=\"tanh\""}));
}

TEST_F(OnnxImport, ShapeOperationsVanishAndRankThreeInputsFlatten) {
    GraphBuilder graph({-1, 2, 3});
    graph.initializer("W", {6, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    graph.int64_initializer("shape", {0, -1});
    graph.node("Flatten", {"x"}, {"f"}, {int_attribute("axis", 1)})
        .node("Identity", {"f"}, {"i"})
        .node("Reshape", {"i", "shape"}, {"r"})
        .node("Dropout", {"r"}, {"d"}, {float_attribute("ratio", 0.5F)})
        .node("MatMul", {"d", "W"}, {"y"});
    const Model model = import_onnx(graph.save(dir_));
    EXPECT_EQ(model.input_width, 6);
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(dense_at(model, 0).inputs, 6);

    GraphBuilder unflattened({-1, 2, 3});
    unflattened.node("Relu", {"x"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(unflattened.save(dir_)), {"[batch, 2, 3]", "flatten"}));
}

TEST_F(OnnxImport, ReshapesThatMixSamplesAreRejected) {
    for (const std::vector<std::int64_t>& shape :
         std::vector<std::vector<std::int64_t>>{{-1, 2}, {0, 2, 2}, {2, -1}, {-1}}) {
        GraphBuilder graph({-1, 4});
        graph.int64_initializer("shape", shape);
        graph.node("Reshape", {"x", "shape"}, {"y"}, {}, "reshape");
        EXPECT_TRUE(contains_all(import_error(graph.save(dir_)),
                                 {"node 'reshape' (Reshape)", "supports only [batch, -1]"}));
    }
    GraphBuilder fixed({1, 4});
    fixed.int64_initializer("shape", {1, -1});
    fixed.node("Reshape", {"x", "shape"}, {"y"});
    EXPECT_EQ(import_onnx(fixed.save(dir_)).input_width, 4);
}

TEST_F(OnnxImport, FixedBatchIsTreatedAsFreeAndSaid) {
    GraphBuilder graph({1, 4});
    graph.node("Relu", {"x"}, {"y"});
    const Model model = import_onnx(graph.save(dir_));
    EXPECT_EQ(model.input_width, 4);
    EXPECT_TRUE(contains_all(model.description,
                             {"fixes the batch size to 1", "treats the batch dimension as free"}));
}

TEST_F(OnnxImport, GraphWithoutNodesIsIdentity) {
    GraphBuilder graph({-1, 4});
    graph.graph().mutable_output(0)->set_name("x");
    const Model model = import_onnx(graph.save(dir_));
    ASSERT_EQ(model.layers.size(), 1U);
    EXPECT_EQ(activation_at(model, 0).function, Activation::Identity);
}

// ---- tensors -----------------------------------------------------------------------------------

TEST_F(OnnxImport, TensorsFromTypedFieldsDoublesConstantsAndExternalFiles) {
    GraphBuilder graph({-1, 2});
    auto* typed = graph.graph().add_initializer();
    typed->set_name("W1");
    typed->set_data_type(onnx::TensorProto_DataType_FLOAT);
    typed->add_dims(2);
    typed->add_dims(2);
    for (float v : {1.0F, 2.0F, 3.0F, 4.0F}) typed->add_float_data(v);
    auto* doubles = graph.graph().add_initializer();
    doubles->set_name("W2");
    doubles->set_data_type(onnx::TensorProto_DataType_DOUBLE);
    doubles->add_dims(2);
    doubles->add_dims(2);
    for (double v : {0.5, 0.25, 0.125, 1e-40}) doubles->add_double_data(v);
    auto& external = graph.initializer("W3", {2, 1}, {});
    external.clear_raw_data();
    external.set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"location", "weights/w3.bin"}, {"offset", "4"}, {"length", "8"}}) {
        auto* entry = external.add_external_data();
        entry->set_key(key);
        entry->set_value(value);
    }
    std::filesystem::create_directory(dir_.file("weights"));
    const std::vector<float> stored = {99.0F, 7.0F, -7.0F};
    std::ofstream(dir_.file("weights/w3.bin"), std::ios::binary)
        .write(reinterpret_cast<const char*>(stored.data()), 12);
    graph.node("Constant", {}, {"W4"}, {[](onnx::NodeProto& node) {
                   auto* attribute = node.add_attribute();
                   attribute->set_name("value_floats");
                   attribute->set_type(onnx::AttributeProto_AttributeType_FLOATS);
                   attribute->add_floats(3.0F);
               }});
    graph.node("MatMul", {"x", "W1"}, {"a"})
        .node("MatMul", {"a", "W2"}, {"b"})
        .node("MatMul", {"b", "W3"}, {"c"})
        .node("Mul", {"c", "W4"}, {"y"});
    const Model model = import_onnx(graph.save(dir_));
    ASSERT_EQ(model.layers.size(), 4U);
    EXPECT_EQ(dense_at(model, 0).weights, (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(dense_at(model, 1).weights, (std::vector<float>{0.5F, 0.25F, 0.125F, 1e-40F}));
    EXPECT_EQ(dense_at(model, 2).weights, (std::vector<float>{7.0F, -7.0F}));
    EXPECT_EQ(affine_at(model, 3).scale, (std::vector<double>{3.0F}));
}

TEST_F(OnnxImport, MalformedTensorsAreRejected) {
    const auto with_weight = [&](const std::function<void(onnx::TensorProto&)>& damage) {
        GraphBuilder graph({-1, 2});
        damage(graph.initializer("W", {2, 2}, {1, 2, 3, 4}));
        graph.node("MatMul", {"x", "W"}, {"y"});
        return import_error(graph.save(dir_));
    };
    EXPECT_TRUE(
        contains_all(with_weight([](onnx::TensorProto& t) { t.mutable_raw_data()->pop_back(); }),
                     {"initializer 'W'", "raw_data holds 15"}));
    EXPECT_TRUE(contains_all(with_weight([](onnx::TensorProto& t) { t.set_dims(0, -2); }),
                             {"negative dimension -2"}));
    EXPECT_TRUE(contains_all(with_weight([](onnx::TensorProto& t) { t.set_dims(0, 1LL << 40); }),
                             {"more than"}));
    EXPECT_TRUE(contains_all(with_weight([](onnx::TensorProto& t) {
                                 t.set_data_type(onnx::TensorProto_DataType_FLOAT16);
                             }),
                             {"data type FLOAT16", "float32"}));
    const auto external = [](const std::string& location) {
        return [location](onnx::TensorProto& t) {
            t.clear_raw_data();
            t.set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
            auto* entry = t.add_external_data();
            entry->set_key("location");
            entry->set_value(location);
        };
    };
    EXPECT_TRUE(
        contains_all(with_weight(external("../secret.bin")), {"outside the model's directory"}));
    EXPECT_TRUE(
        contains_all(with_weight(external("/etc/passwd")), {"outside the model's directory"}));
    EXPECT_TRUE(contains_all(with_weight(external("absent.bin")),
                             {"external file 'absent.bin'", "missing", dir_.path()}));
    std::ofstream(dir_.file("short.bin"), std::ios::binary) << "12345678";
    EXPECT_TRUE(
        contains_all(with_weight(external("short.bin")), {"needs 16 bytes", "holds only 8"}));
}

TEST_F(OnnxImport, ExternalDataLinkedFromOutsideIsRefused) {
    const testing::TempDir elsewhere;
    const std::vector<float> secret = {1, 2, 3, 4};
    std::ofstream(elsewhere.file("secret.bin"), std::ios::binary)
        .write(reinterpret_cast<const char*>(secret.data()), 16);
    std::filesystem::create_symlink(elsewhere.file("secret.bin"), dir_.file("weights.bin"));
    std::filesystem::create_directory_symlink(elsewhere.path(), dir_.file("linked"));
    std::filesystem::create_directory(dir_.file("inside"));
    std::filesystem::create_directory_symlink("inside", dir_.file("inside-link"));
    std::ofstream(dir_.file("inside/w.bin"), std::ios::binary)
        .write(reinterpret_cast<const char*>(secret.data()), 16);
    const auto import_with = [&](const std::string& location) {
        GraphBuilder graph({-1, 2});
        auto& weight = graph.initializer("W", {2, 2}, {});
        weight.clear_raw_data();
        weight.set_data_location(onnx::TensorProto_DataLocation_EXTERNAL);
        auto* entry = weight.add_external_data();
        entry->set_key("location");
        entry->set_value(location);
        graph.node("MatMul", {"x", "W"}, {"y"});
        return graph.save(dir_);
    };
    for (const std::string location : {"weights.bin", "linked/secret.bin"}) {
        EXPECT_TRUE(contains_all(
            import_error(import_with(location)),
            {"'" + location + "'", "symbolic link", "outside the model's", "copy the file itself"}))
            << location;
    }
    EXPECT_NO_THROW((void)import_onnx(import_with("inside-link/w.bin")));
}

// ---- graphs h5infer refuses --------------------------------------------------------------------

TEST_F(OnnxImport, UnsupportedOperatorIsNamedWithTheSupportedList) {
    GraphBuilder graph({-1, 4});
    graph.node("Relu", {"x"}, {"r"}).node("Conv", {"r"}, {"y"}, {}, "conv1");
    EXPECT_TRUE(contains_all(import_error(graph.save(dir_)),
                             {"node 'conv1' (Conv)", "does not import the operator Conv",
                              "Gemm, MatMul", "LayerNormalization", "docs/model-format.md"}));

    GraphBuilder domain({-1, 4});
    domain.node("Gelu", {"x"}, {"y"}, {}, "fused");
    domain.graph().mutable_node(0)->set_domain("com.microsoft");
    EXPECT_TRUE(contains_all(import_error(domain.save(dir_)), {"com.microsoft.Gelu"}));
}

TEST_F(OnnxImport, DuplicateInitializerNamesAreRejected) {
    GraphBuilder graph({-1, 2});
    graph.initializer("W", {2, 2}, {1, 2, 3, 4});
    graph.initializer("W", {2, 2}, {5, 6, 7, 8});
    graph.node("MatMul", {"x", "W"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(graph.save(dir_)),
                             {"m.onnx'", "two initializers named 'W'", "export the model again"}));
}

TEST_F(OnnxImport, OpsetsItDoesNotKnowAreRejected) {
    GraphBuilder newer({-1, 2}, 23);
    newer.node("Relu", {"x"}, {"y"});
    EXPECT_TRUE(contains_all(
        import_error(newer.save(dir_)),
        {"m.onnx'", "uses ONNX opset 23", "newest this h5infer knows (22)", "opset_version=22"}));

    GraphBuilder known({-1, 2}, 22);
    known.node("Relu", {"x"}, {"y"});
    EXPECT_NO_THROW((void)import_onnx(known.save(dir_)));

    GraphBuilder custom({-1, 2});
    auto* domain = custom.proto().add_opset_import();
    domain->set_domain("com.example.fused");
    domain->set_version(3);
    custom.node("Relu", {"x"}, {"y"});
    EXPECT_TRUE(contains_all(
        import_error(custom.save(dir_)),
        {"m.onnx'", "domain 'com.example.fused' (version 3)", "only the default ONNX domain"}));

    GraphBuilder twice({-1, 2}, 13);
    auto* again = twice.proto().add_opset_import();
    again->set_domain("ai.onnx");
    again->set_version(17);
    twice.node("Relu", {"x"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(twice.save(dir_)), {"opset twice"}));
}

TEST_F(OnnxImport, GraphsThatAreNotOneChainAreRejected) {
    GraphBuilder two_inputs({-1, 4});
    set_dims(*two_inputs.graph().add_input(), {-1, 4}, onnx::TensorProto_DataType_FLOAT);
    two_inputs.graph().mutable_input(1)->set_name("z");
    two_inputs.node("Add", {"x", "z"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(two_inputs.save(dir_)), {"2 graph inputs ('x', 'z')"}));

    GraphBuilder two_outputs({-1, 4});
    two_outputs.node("Relu", {"x"}, {"y"}).graph().add_output()->set_name("x");
    EXPECT_TRUE(contains_all(import_error(two_outputs.save(dir_)), {"2 graph outputs"}));

    GraphBuilder branches({-1, 4});
    branches.node("Sigmoid", {"x"}, {"s"}, {}, "sig").node("Tanh", {"x"}, {"t"}, {}, "tanh");
    branches.node("Mul", {"s", "t"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(branches.save(dir_)),
                             {"tensor 'x' feeds 2 nodes", "node 'sig' (Sigmoid)"}));

    GraphBuilder computed({-1, 2});
    computed.initializer("W", {2, 2}, {1, 2, 3, 4});
    computed.node("Relu", {"W"}, {"W2"}).node("MatMul", {"x", "W2"}, {"y"}, {}, "fc");
    EXPECT_TRUE(contains_all(import_error(computed.save(dir_)),
                             {"node 'fc' (MatMul)", "'W2' must be a constant"}));

    GraphBuilder stray({-1, 2});
    stray.initializer("W", {2, 2}, {1, 2, 3, 4});
    stray.node("Relu", {"x"}, {"y"}).node("Tanh", {"W"}, {"unused"}, {}, "stray");
    EXPECT_TRUE(
        contains_all(import_error(stray.save(dir_)), {"node 'stray' (Tanh)", "not on the chain"}));

    GraphBuilder dead_end({-1, 2});
    dead_end.node("Relu", {"x"}, {"r"});
    EXPECT_TRUE(contains_all(import_error(dead_end.save(dir_)),
                             {"stops at tensor 'r'", "not the graph output 'y'"}));

    GraphBuilder int_input({-1, 2});
    int_input.graph().mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
        onnx::TensorProto_DataType_INT64);
    int_input.node("Relu", {"x"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(int_input.save(dir_)), {"element type INT64"}));
}

TEST_F(OnnxImport, BadAttributesAndAxesAreRejected) {
    GraphBuilder unknown({-1, 4});
    unknown.node("Relu", {"x"}, {"y"}, {int_attribute("fast", 1)}, "r");
    EXPECT_TRUE(contains_all(import_error(unknown.save(dir_)),
                             {"node 'r' (Relu)", "attribute 'fast'", "no attributes"}));

    GraphBuilder softmax({-1, 4});
    softmax.node("Softmax", {"x"}, {"y"}, {int_attribute("axis", 0)});
    EXPECT_TRUE(contains_all(import_error(softmax.save(dir_)), {"over axis 0"}));

    GraphBuilder typed({-1, 4});
    typed.node("LeakyRelu", {"x"}, {"y"}, {int_attribute("alpha", 1)});
    EXPECT_TRUE(contains_all(import_error(typed.save(dir_)), {"'alpha' has type INT"}));

    GraphBuilder declared({-1, 4});
    set_dims(*declared.graph().mutable_output(0), {-1, 5}, onnx::TensorProto_DataType_FLOAT);
    declared.node("Relu", {"x"}, {"y"});
    EXPECT_TRUE(contains_all(import_error(declared.save(dir_)), {"[batch, 4]"}));
}

// ---- files -------------------------------------------------------------------------------------

TEST_F(OnnxImport, BrokenFilesGetTheirOwnMessages) {
    GraphBuilder graph({-1, 4});
    graph.initializer("W", {4, 4}, std::vector<float>(16, 1.0F));
    graph.node("MatMul", {"x", "W"}, {"y"});
    std::string bytes;
    graph.proto().SerializeToString(&bytes);
    const auto write = [&](const std::string& name, const std::string& content) {
        std::ofstream(dir_.file(name), std::ios::binary) << content;
        return dir_.file(name);
    };
    for (std::size_t size : {std::size_t{1}, bytes.size() / 2, bytes.size() - 1}) {
        EXPECT_TRUE(contains_all(import_error(write("cut.onnx", bytes.substr(0, size))),
                                 {"'" + dir_.file("cut.onnx") + "'", "truncated"}))
            << size;
    }
    EXPECT_TRUE(contains_all(import_error(write("text.onnx", "hello, world\n")),
                             {"neither an h5infer model", "nor an ONNX model"}));
    EXPECT_TRUE(contains_all(import_error(write("empty.onnx", "")), {"is empty"}));
    EXPECT_TRUE(contains_all(import_error(dir_.file("absent.onnx")), {"does not exist"}));
    EXPECT_TRUE(contains_all(import_error(dir_.path()), {"is a directory"}));
}

TEST_F(OnnxImport, ReadModelChoosesTheFormatByContent) {
    GraphBuilder graph({-1, 3});
    graph.node("Tanh", {"x"}, {"y"});
    const std::string onnx_named_h5 = graph.save(dir_, "really-onnx.h5");
    EXPECT_EQ(activation_at(read_model(onnx_named_h5), 0).function, Activation::Tanh);

    Model native;
    native.input_width = 2;
    native.layers.emplace_back(ActivationLayer{Activation::Clip, -1.0F, 1.0F});
    save_model(native, dir_.file("really-native.onnx"));
    EXPECT_TRUE(testing::models_equal(read_model(dir_.file("really-native.onnx")), native));

    try {
        (void)read_model(dir_.file("absent"));
        ADD_FAILURE() << "read_model accepted a missing file";
    } catch (const ModelError& error) {
        EXPECT_TRUE(contains_all(error.what(), {"does not exist"}));
    }
}

TEST_F(OnnxImport, CommittedFixturesImport) {
    const std::string fixtures = H5INFER_ONNX_FIXTURES;
    const Model gelu = import_onnx(fixtures + "/gelu.onnx");
    ASSERT_EQ(gelu.layers.size(), 3U);
    EXPECT_EQ(activation_at(gelu, 1).function, Activation::GeluErf);
    const Model batchnorm = import_onnx(fixtures + "/batchnorm.onnx");
    EXPECT_TRUE(std::holds_alternative<AffineLayer>(batchnorm.layers.at(1)));
    EXPECT_NO_THROW((void)import_onnx(fixtures + "/external_data.onnx"));
    // torch.onnx.export's default opset (14 in torch 1.13) writes LayerNorm decomposed.
    const Model layernorm = import_onnx(fixtures + "/layernorm_default.onnx");
    ASSERT_EQ(layernorm.layers.size(), 5U);
    EXPECT_EQ(activation_at(layernorm, 1).function, Activation::LayerNorm);
    EXPECT_TRUE(std::holds_alternative<AffineLayer>(layernorm.layers.at(2)));
    EXPECT_EQ(activation_at(import_onnx(fixtures + "/silu.onnx"), 1).function, Activation::Swish);
}

}  // namespace
}  // namespace h5infer
