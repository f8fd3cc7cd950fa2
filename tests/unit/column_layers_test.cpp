// The layers that route, encode and combine columns (columns, per_column, row_norm, products):
// both backends against hand-computed values, validation, the native format and the image.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "kernels/network.hpp"
#include "model/describe.hpp"
#include "unit/model_equal.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer {
namespace {

constexpr float nan = std::numeric_limits<float>::quiet_NaN();
constexpr float inf = std::numeric_limits<float>::infinity();
constexpr double dnan = std::numeric_limits<double>::quiet_NaN();

Model chain(std::int64_t input_width, std::vector<Layer> layers) {
    Model model;
    model.input_width = input_width;
    model.layers = std::move(layers);
    return model;
}

// Equal values, NaN equal to NaN.
void expect_same(const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        const bool same = got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i])) ||
                          std::abs(got[i] - want[i]) <= 1e-6F * std::max(1.0F, std::abs(want[i]));
        EXPECT_TRUE(same) << "element " << i << ": got " << got[i] << ", want " << want[i];
    }
}

// `src` through `model` on both backends, each expected to give `want`.
void expect_both_backends(const Model& model, const std::vector<float>& src,
                          const std::vector<float>& want) {
    validate(model);
    const auto rows = static_cast<std::int64_t>(src.size()) / model.input_width;
    for (kernels::Backend backend : {kernels::Backend::Onednn, kernels::Backend::Reference}) {
        SCOPED_TRACE(std::string(kernels::backend_name(backend)));
        const auto network = kernels::make_network(model, backend, rows, 2);
        std::vector<float> dst(static_cast<std::size_t>(rows * model.output_width()), -7.0F);
        network->forward(src.data(), rows, dst.data());
        expect_same(dst, want);
    }
}

PerColumnLayer per_column(std::vector<ColumnOp> ops, std::vector<std::vector<double>> values,
                          std::vector<std::int64_t> drop, std::vector<double> unknown) {
    PerColumnLayer layer;
    layer.ops = std::move(ops);
    layer.offsets.push_back(0);
    for (const auto& column : values) {
        layer.values.insert(layer.values.end(), column.begin(), column.end());
        layer.offsets.push_back(static_cast<std::int64_t>(layer.values.size()));
    }
    layer.drop = std::move(drop);
    layer.unknown = std::move(unknown);
    return layer;
}

TEST(ColumnsLayer, SelectsReordersAndRepeatsColumns) {
    const Model model = chain(3, {ColumnsLayer{{2, 0, 0}}});
    expect_both_backends(model, {1, 2, 3, 4, nan, 6}, {3, 1, 1, 6, 4, 4});
}

// Categories {0, 1, 2} dropping the first, then {3, 5, NaN} ignoring unknowns: NaN is a
// category of its own, an unknown value gives zeros (ignore) or NaN (error).
TEST(PerColumnLayer, OneHotWithDropNanCategoryAndUnknowns) {
    const Model model = chain(2, {per_column({ColumnOp::OneHot, ColumnOp::OneHot},
                                             {{0, 1, 2}, {3, 5, dnan}}, {0, -1}, {dnan, 0})});
    expect_both_backends(model, {1, 5, 0, nan, 2, 4, 7, 3},
                         {1,   0,   0, 1, 0,    //
                          0,   0,   0, 0, 1,    //
                          0,   1,   0, 0, 0,    // 4 is unknown: zeros
                          nan, nan, 1, 0, 0});  // 7 is unknown, handle_unknown='error': NaN
}

// The NaN category encodes as NaN (scikit-learn's encoded_missing_value); an unknown value as
// `unknown`; other columns pass.
TEST(PerColumnLayer, OrdinalWithUnknownValueAndNanCategory) {
    const Model model = chain(2, {per_column({ColumnOp::Ordinal, ColumnOp::Pass},
                                             {{-1, 0.5, 10, dnan}, {}}, {-1, -1}, {-1, 0})});
    expect_both_backends(model, {10, 7, 0.5F, -2, nan, 1, 3, inf}, {2, 7, 1, -2, nan, 1, -1, inf});
}

// Edges [0, 1, 2, 4]: a value on an inner edge goes to the bin above, values outside the range
// to the first or last bin (np.searchsorted(edges[1:-1], x, side="right")); NaN has no bin.
TEST(PerColumnLayer, BinsOrdinalAndOneHot) {
    const Model model = chain(2, {per_column({ColumnOp::BinOrdinal, ColumnOp::BinOneHot},
                                             {{0, 1, 2, 4}, {0, 1, 2, 4}}, {-1, -1}, {0, 0})});
    expect_both_backends(model, {1, 2, -5, 100, 0.999F, nan, nan, -inf},
                         {1, 0, 0, 1,        //
                          0, 0, 0, 1,        //
                          0, nan, nan, nan,  //
                          nan, 1, 0, 0});
}

TEST(PerColumnLayer, ElementWiseFunctions) {
    const Model model = chain(
        5, {per_column(
               {ColumnOp::Log, ColumnOp::Log1p, ColumnOp::Exp, ColumnOp::Expm1, ColumnOp::Sqrt},
               {{}, {}, {}, {}, {}}, {-1, -1, -1, -1, -1}, {0, 0, 0, 0, 0})});
    expect_both_backends(model, {1, 0, 0, 0, 4, 0, -1, 1, 1, -1, -2, nan, 0, 0, 9},
                         {0, 0, 1, 0, 2,                            //
                          -inf, -inf, 2.7182817F, 1.7182817F, nan,  //
                          nan, nan, 1, 0, 3});
}

// Columns 1 and 2 divided by their norm; column 0 passes; a zero norm divides by 1.
TEST(RowNormLayer, DividesItsColumnsByTheirNorm) {
    const std::vector<float> src = {7, 3, -4, 7, 0, 0, 1, nan, 1};
    expect_both_backends(chain(3, {RowNormLayer{RowNorm::L2, 1, 3}}), src,
                         {7, 0.6F, -0.8F, 7, 0, 0, 1, nan, nan});
    expect_both_backends(chain(3, {RowNormLayer{RowNorm::L1, 1, 3}}), src,
                         {7, 3.0F / 7, -4.0F / 7, 7, 0, 0, 1, nan, nan});
    expect_both_backends(chain(3, {RowNormLayer{RowNorm::Max, 1, 3}}), src,
                         {7, 0.75F, -1, 7, 0, 0, 1, nan, nan});
}

// PolynomialFeatures(degree=3) of two columns, in its powers_ order; NaN spoils only the terms
// it is in.
TEST(ProductsLayer, MultipliesPowersOfColumns) {
    const Model model = chain(2, {ProductsLayer{2, 6, {0, 0, 1, 0, 0, 1, 2, 0, 1, 1, 1, 2}}});
    expect_both_backends(model, {2, 3, nan, 5},
                         {1, 2, 3, 4, 6, 18,  //
                          1, nan, 5, nan, nan, nan});
}

// Routing, encoding, scaling and a dense layer after them, on more rows than one block, with
// and without NaN rows: the oneDNN steps hand each other the right buffers.
TEST(ColumnLayers, ChainBeforeDenseMatchesTheReference) {
    Model model =
        chain(3, {ColumnsLayer{{2, 1}},
                  per_column({ColumnOp::OneHot, ColumnOp::Pass}, {{0, 1, 2}, {}}, {-1, -1}, {0, 0}),
                  ProductsLayer{4, 2, {1, 0, 0, 0, 0, 0, 0, 2}},
                  DenseLayer{2, 1, {1.5F, -1.0F}, {0.25F}}});
    const std::int64_t rows = 1000;
    std::vector<float> src(static_cast<std::size_t>(rows * 3));
    std::vector<float> want(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) {
        const float x = static_cast<float>(r % 7) - 3.0F;
        src[r * 3] = 9;
        src[r * 3 + 1] = r % 11 == 0 ? nan : x;
        src[r * 3 + 2] = static_cast<float>(r % 4);
        const float one_hot0 = r % 4 == 0 ? 1.0F : 0.0F;  // category 3 is unknown: zeros
        want[r] = r % 11 == 0 ? nan : 1.5F * one_hot0 - x * x + 0.25F;
    }
    expect_both_backends(model, src, want);
}

std::string validation_error(const Model& model) {
    try {
        validate(model);
    } catch (const ModelError& error) {
        return error.what();
    }
    return "accepted";
}

TEST(ColumnLayers, ValidationRefusesInconsistentLayers) {
    const auto expect = [](const Model& model, const std::string& part) {
        const std::string message = validation_error(model);
        EXPECT_NE(message.find(part), std::string::npos) << message;
    };
    expect(chain(2, {ColumnsLayer{{0, 2}}}), "layer 0 (columns) index[1] is 2");
    expect(chain(2, {ColumnsLayer{{}}}), "layer 0 (columns) selects no column");
    const auto one = [](ColumnOp op, std::vector<double> values, std::int64_t drop,
                        double unknown) {
        return chain(1, {per_column({op}, {std::move(values)}, {drop}, {unknown})});
    };
    expect(one(ColumnOp::OneHot, {0, 2, 1}, -1, 0), "categories must strictly increase");
    expect(one(ColumnOp::OneHot, {dnan, 1}, -1, 0), "NaN may only be the last category");
    expect(one(ColumnOp::OneHot, {0, 1}, 2, 0), "drops category 2 of 2");
    expect(one(ColumnOp::OneHot, {0, 1}, -1, 1), "unknown must be 0 (all zeros) or NaN");
    expect(one(ColumnOp::OneHot, {}, -1, 0), "has no categories");
    expect(one(ColumnOp::OneHot, {0}, 0, 0), "has no outputs");
    expect(one(ColumnOp::Ordinal, {0, 1}, 0, 0), "drop must be -1");
    expect(one(ColumnOp::BinOrdinal, {1}, -1, 0), "needs at least two edges");
    expect(one(ColumnOp::BinOneHot, {0, 2, 1}, -1, 0), "bin edges must not decrease");
    expect(one(ColumnOp::BinOneHot, {0, dnan}, -1, 0), "has NaN at value 1");
    expect(one(ColumnOp::Log, {1}, -1, 0), "takes no values");
    expect(one(ColumnOp::Sqrt, {}, -1, 5), "unknown must be 0");
    expect(chain(2, {per_column({ColumnOp::Pass}, {{}}, {-1}, {0})}),
           "layer 0 (per_column) has 1 ops");
    expect(chain(2, {RowNormLayer{RowNorm::L2, 1, 3}}), "layer 0 (row_norm) columns [1, 3)");
    expect(chain(2, {RowNormLayer{RowNorm::L2, 1, 1}}), "not a non-empty range");
    expect(chain(2, {ProductsLayer{2, 1, {4, 0}}}), "power 4 of output 0 is outside 0 to 3");
    expect(chain(2, {ProductsLayer{2, 1, {2, 2}}}), "output 0 has degree 4, more than 3");
    expect(chain(3, {ProductsLayer{2, 1, {1, 0}}}), "powers take 2 inputs");
    expect(chain(2, {ProductsLayer{2, 2, {1, 0}}}), "has 2 powers, expected outputs x inputs");
}

Model every_column_layer_model() {
    return chain(
        3, {ColumnsLayer{{2, 0, 1, 1}},
            per_column({ColumnOp::OneHot, ColumnOp::Ordinal, ColumnOp::BinOneHot, ColumnOp::Log1p},
                       {{0, 1, dnan}, {2, 3}, {-1, 0, 1}, {}}, {1, -1, -1, -1}, {dnan, -1, 0, 0}),
            RowNormLayer{RowNorm::Max, 1, 3},
            ProductsLayer{6, 2, {1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1}}});
}

TEST(ColumnLayers, RoundTripThroughTheNativeFormatAndTheImage) {
    h5::silence_errors();
    const Model model = every_column_layer_model();
    validate(model);
    testing::TempDir dir;
    save_model(model, dir.file("model.h5"));
    EXPECT_TRUE(testing::models_equal(load_model(dir.file("model.h5")), model));
    EXPECT_TRUE(testing::models_equal(deserialize(serialize(model)), model));
}

TEST(ColumnLayers, InspectDescribesEachLayer) {
    const std::string text = describe_layers(every_column_layer_model());
    for (const char* part : {"columns", "[2, 0, 1, 1]", "per_column",
                             "one_hot x1, ordinal x1, bin_one_hot x1, log1p x1", "row_norm",
                             "max of columns 1..2", "products", "degree 3"}) {
        EXPECT_NE(text.find(part), std::string::npos) << part << " not in:\n" << text;
    }
}

class ColumnLayerFiles : public ::testing::Test {
protected:
    void SetUp() override { h5::silence_errors(); }

    // A model file of one layer of `kind`, which `fill` completes.
    template <typename Fill>
    void write(const std::string& kind, const Fill& fill) const {
        h5::Handle file = h5::create_file(path_);
        h5::write_attribute(file.get(), "format", std::string("h5infer-model"));
        h5::write_attribute(file.get(), "format_version", std::int64_t{1});
        h5::write_attribute(file.get(), "input_width", std::int64_t{2});
        h5::Handle layers = h5::create_group(file.get(), "/layers");
        h5::Handle group = h5::create_group(layers.get(), "0000");
        h5::write_attribute(group.get(), "kind", kind);
        fill(group.get());
    }

    void expect_load_error(const std::vector<std::string>& parts) const {
        std::string message = "accepted";
        try {
            (void)load_model(path_);
        } catch (const ModelError& error) {
            message = error.what();
        }
        for (const std::string& part : parts) {
            EXPECT_NE(message.find(part), std::string::npos) << message;
        }
    }

    static void doubles(hid_t group, const std::string& name, const std::vector<double>& values,
                        hid_t type = H5T_IEEE_F64LE) {
        h5::Handle dataset =
            h5::create_dataset(group, name, {static_cast<std::int64_t>(values.size())}, type);
        h5::write_all(dataset.get(), values.data());
    }

    testing::TempDir dir_;
    std::string path_ = dir_.file("model.h5");
};

TEST_F(ColumnLayerFiles, IndexMustHoldWholeNumbers) {
    write("columns", [](hid_t group) { doubles(group, "index", {0, 1.5}); });
    expect_load_error({"layer 0 (columns)", "'index' holds 1.5", "not a whole number"});
}

TEST_F(ColumnLayerFiles, IndexOutOfRangeIsRefused) {
    write("columns", [](hid_t group) { doubles(group, "index", {0, 2}, H5T_STD_I32LE); });
    expect_load_error({"model '" + path_ + "'", "layer 0 (columns) index[1] is 2"});
}

TEST_F(ColumnLayerFiles, UnknownOpIsRefused) {
    write("per_column", [](hid_t group) {
        h5::write_attribute(group, "ops", std::vector<std::string>{"pass", "square"});
        doubles(group, "offsets", {0, 0, 0});
        doubles(group, "values", {});
        doubles(group, "drop", {-1, -1});
        doubles(group, "unknown", {0, 0});
    });
    expect_load_error({"layer 0 (per_column)", "unknown op 'square'", "log1p"});
}

TEST_F(ColumnLayerFiles, MissingNormIsRefused) {
    write("row_norm", [](hid_t group) {
        h5::write_attribute(group, "begin", std::int64_t{0});
        h5::write_attribute(group, "end", std::int64_t{2});
    });
    expect_load_error({"layer 0 (row_norm)", "'norm' is missing"});
}

TEST_F(ColumnLayerFiles, PowersOfAnotherWidthAreRefusedBeforeReading) {
    write("products", [](hid_t group) {
        h5::Handle dataset = h5::create_dataset(group, "powers", {2, 3}, H5T_STD_I64LE);
    });
    expect_load_error({"layer 0 (products)", "the layer widths do not chain"});
}

}  // namespace
}  // namespace h5infer
