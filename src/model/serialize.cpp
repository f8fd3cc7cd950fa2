// The byte image rank 0 broadcasts after loading a model. Layout (all little-endian):
//   "H5IM" magic, u32 image version, u8 1 if float arrays hold values (else only their counts),
//   i64 input_width, string producer, string description,
//   u64 label count and that many strings, u64 feature name count and that many strings,
//   u64 layer count, then per layer a u8 tag and its
//   fields:
//     dense:      i64 inputs, i64 outputs, floats weights, floats bias
//     affine:     doubles scale, doubles shift, doubles fill (empty for none)
//     activation: string function name, f32 alpha, f32 beta
//     tree_ensemble: string aggregation, string comparison, doubles base_score,
//                 i64s tree_offsets, i32s feature, f32s threshold, i32s left, i32s right,
//                 doubles values, i32s tree_targets (in every image, like affine layers')
//     columns:    i64s index
//     per_column: strings ops, i64s offsets, doubles values, i64s drop, doubles unknown
//     row_norm:   string norm, i64 begin, i64 end
//     products:   i64 inputs, i64 outputs, i64s powers
//   string = u64 byte count + bytes; floats = u64 count + count IEEE-754 binary32 values (or
//   the count alone in a structure image); doubles = u64 count + count IEEE-754 binary64
//   values, in every image (an affine layer has one per feature: small); i64s = u64 count +
//   count i64 values, strings = u64 count + count strings, in every image.
// Byte order is fixed rather than native so an image stays valid across heterogeneous nodes.

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "byte_image.hpp"
#include "h5infer/bulk_memory.hpp"
#include "h5infer/error.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer {
namespace {

constexpr std::array<char, 4> image_magic{'H', '5', 'I', 'M'};
// 2: class labels, activation beta; 3: structure images; 4: affine layers in double, feature
// names; 5: affine fill values; 6: tree ensembles, columns, per_column, row_norm and products
// layers
constexpr std::uint32_t image_version = 6;

enum class LayerTag : std::uint8_t {
    Dense = 1,
    Affine = 2,
    Activation = 3,
    TreeEnsemble = 4,
    Columns = 5,
    PerColumn = 6,
    RowNorm = 7,
    Products = 8
};

using Writer = ImageWriter;
using Reader = ImageReader<ModelError>;

void write_trees(Writer& out, const TreeEnsembleLayer& trees) {
    out.unsigned_le(static_cast<std::uint8_t>(LayerTag::TreeEnsemble));
    out.string(aggregation_name(trees.aggregation));
    out.string(comparison_name(trees.comparison));
    out.doubles(trees.base_score);
    out.array(trees.tree_offsets);
    out.array(trees.feature);
    out.array(trees.threshold);
    out.array(trees.left);
    out.array(trees.right);
    out.doubles(trees.values);
    out.array(trees.tree_targets);
}

TreeEnsembleLayer read_trees(Reader& in) {
    TreeEnsembleLayer trees;
    const std::string aggregation = in.string("tree aggregation");
    if (aggregation != "sum" && aggregation != "mean") {
        in.fail("unknown tree aggregation '" + aggregation + "'");
    }
    trees.aggregation = aggregation == "sum" ? TreeAggregation::Sum : TreeAggregation::Mean;
    const std::string comparison = in.string("tree comparison");
    if (comparison != comparison_name(TreeComparison::LessOrEqual)) {
        in.fail("unknown tree comparison '" + comparison + "'");
    }
    trees.base_score = in.doubles("tree base_score");
    trees.tree_offsets = in.array<std::int64_t>("tree offsets");
    trees.feature = in.array<std::int32_t>("tree features");
    trees.threshold = in.array<float>("tree thresholds");
    trees.left = in.array<std::int32_t>("tree left children");
    trees.right = in.array<std::int32_t>("tree right children");
    trees.values = in.doubles("tree values");
    trees.tree_targets = in.array<std::int32_t>("tree targets");
    return trees;
}

void write_column_layer(Writer& out, const Layer& layer) {
    if (const auto* columns = std::get_if<ColumnsLayer>(&layer)) {
        out.unsigned_le(static_cast<std::uint8_t>(LayerTag::Columns));
        out.i64s(columns->index);
    } else if (const auto* per_column = std::get_if<PerColumnLayer>(&layer)) {
        out.unsigned_le(static_cast<std::uint8_t>(LayerTag::PerColumn));
        out.unsigned_le(static_cast<std::uint64_t>(per_column->ops.size()));
        for (ColumnOp op : per_column->ops) out.string(std::string(column_op_name(op)));
        out.i64s(per_column->offsets);
        out.doubles(per_column->values);
        out.i64s(per_column->drop);
        out.doubles(per_column->unknown);
    } else if (const auto* row_norm = std::get_if<RowNormLayer>(&layer)) {
        out.unsigned_le(static_cast<std::uint8_t>(LayerTag::RowNorm));
        out.string(std::string(row_norm_name(row_norm->norm)));
        out.i64(row_norm->begin);
        out.i64(row_norm->end);
    } else if (const auto* products = std::get_if<ProductsLayer>(&layer)) {
        out.unsigned_le(static_cast<std::uint8_t>(LayerTag::Products));
        out.i64(products->inputs);
        out.i64(products->outputs);
        out.i64s(products->powers);
    }
}

PerColumnLayer read_per_column(Reader& in) {
    PerColumnLayer layer;
    const auto count = in.unsigned_le<std::uint64_t>("per_column op count");
    // No reservation: each op takes at least eight bytes, so a false count runs out of image.
    for (std::uint64_t c = 0; c < count; ++c) {
        const std::string name = in.string("per_column op");
        const std::optional<ColumnOp> op = parse_column_op(name);
        if (!op) in.fail("unknown per_column op '" + name + "'");
        layer.ops.push_back(*op);
    }
    layer.offsets = in.i64s("per_column offsets");
    layer.values = in.doubles("per_column values");
    layer.drop = in.i64s("per_column drop");
    layer.unknown = in.doubles("per_column unknown");
    return layer;
}

// The layers of column_layers.cpp; nullopt for another tag.
std::optional<Layer> read_column_layer(Reader& in, std::uint8_t tag) {
    switch (static_cast<LayerTag>(tag)) {
        case LayerTag::Columns: return ColumnsLayer{in.i64s("columns index")};
        case LayerTag::PerColumn: return read_per_column(in);
        case LayerTag::RowNorm: {
            const std::string name = in.string("row_norm norm");
            const std::optional<RowNorm> norm = parse_row_norm(name);
            if (!norm) in.fail("unknown row norm '" + name + "'");
            const std::int64_t begin = in.i64("row_norm begin");
            return RowNormLayer{*norm, begin, in.i64("row_norm end")};
        }
        case LayerTag::Products: {
            ProductsLayer products;
            products.inputs = in.i64("products inputs");
            products.outputs = in.i64("products outputs");
            products.powers = in.i64s("products powers");
            return products;
        }
        default: return std::nullopt;
    }
}

void write_layer(Writer& out, const Layer& layer) {
    if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
        out.unsigned_le(static_cast<std::uint8_t>(LayerTag::Dense));
        out.i64(dense->inputs);
        out.i64(dense->outputs);
        out.floats(dense->weights);
        out.floats(dense->bias);
    } else if (const auto* affine = std::get_if<AffineLayer>(&layer)) {
        out.unsigned_le(static_cast<std::uint8_t>(LayerTag::Affine));
        out.doubles(affine->scale);
        out.doubles(affine->shift);
        out.doubles(affine->fill);
    } else if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
        write_trees(out, *trees);
    } else if (const auto* activation = std::get_if<ActivationLayer>(&layer)) {
        out.unsigned_le(static_cast<std::uint8_t>(LayerTag::Activation));
        out.string(std::string(activation_name(activation->function)));
        out.f32(activation->alpha);
        out.f32(activation->beta);
    } else {
        write_column_layer(out, layer);
    }
}

Layer read_layer(Reader& in, DenseArrays dense_arrays) {
    const auto tag = in.unsigned_le<std::uint8_t>("layer tag");
    switch (static_cast<LayerTag>(tag)) {
        case LayerTag::Dense: {
            DenseLayer dense;
            dense.inputs = in.i64("dense inputs");
            dense.outputs = in.i64("dense outputs");
            if (dense_arrays == DenseArrays::Present) {
                dense.weights = in.floats("dense weights");
                dense.bias = in.floats("dense bias");
                return dense;
            }
            const std::uint64_t weights = in.float_count("dense weights");
            if (dense.inputs <= 0 || dense.outputs <= 0 ||
                weights != static_cast<std::uint64_t>(dense.inputs * dense.outputs)) {
                in.fail("dense weights of " + std::to_string(weights) + " values for " +
                        std::to_string(dense.inputs) + " x " + std::to_string(dense.outputs));
            }
            const std::uint64_t bias = in.float_count("dense bias");
            if (bias != 0 && bias != static_cast<std::uint64_t>(dense.outputs)) {
                in.fail("dense bias of " + std::to_string(bias) + " values for " +
                        std::to_string(dense.outputs) + " outputs");
            }
            return dense;
        }
        case LayerTag::Affine: {
            AffineLayer affine;
            affine.scale = in.doubles("affine scale");
            affine.shift = in.doubles("affine shift");
            affine.fill = in.doubles("affine fill");
            return affine;
        }
        case LayerTag::TreeEnsemble: return read_trees(in);
        case LayerTag::Activation: {
            const std::string name = in.string("activation function");
            const std::optional<Activation> function = parse_activation(name);
            if (!function) in.fail("unknown activation function '" + name + "'");
            const float alpha = in.f32("activation alpha");
            return ActivationLayer{*function, alpha, in.f32("activation beta")};
        }
        default: break;
    }
    if (std::optional<Layer> layer = read_column_layer(in, tag)) return std::move(*layer);
    in.fail("unknown layer tag " + std::to_string(tag));
}

}  // namespace

std::vector<char> serialize(const Model& model, ImageContent content) {
    const bool values = content == ImageContent::Everything;
    Writer out(values);
    std::size_t weights = 0;
    for (const Layer& layer : model.layers) {
        if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
            weights += dense->weights.size() + dense->bias.size();
        }
    }
    out.reserve((values ? weights * sizeof(float) : 0) + 4096);  // grown once, not by doubling
    out.bytes(image_magic.data(), image_magic.size());
    out.unsigned_le(image_version);
    out.unsigned_le(static_cast<std::uint8_t>(values ? 1 : 0));
    out.i64(model.input_width);
    out.string(model.producer);
    out.string(model.description);
    out.unsigned_le(static_cast<std::uint64_t>(model.labels.size()));
    for (const std::string& label : model.labels) out.string(label);
    out.unsigned_le(static_cast<std::uint64_t>(model.feature_names.size()));
    for (const std::string& name : model.feature_names) out.string(name);
    out.unsigned_le(static_cast<std::uint64_t>(model.layers.size()));
    for (const Layer& layer : model.layers) write_layer(out, layer);
    return out.take();
}

Model deserialize(const std::vector<char>& bytes, DenseArrays dense_arrays) {
    Reader in(bytes, "model image");
    if (std::memcmp(in.take(image_magic.size(), "magic"), image_magic.data(), image_magic.size()) !=
        0) {
        in.fail("not a model image (bad magic)");
    }
    const auto version = in.unsigned_le<std::uint32_t>("image version");
    if (version != image_version) {
        in.fail("image version " + std::to_string(version) + ", this build reads " +
                std::to_string(image_version));
    }
    const auto values = in.unsigned_le<std::uint8_t>("content");
    if (values > 1) in.fail("content flag " + std::to_string(values));
    in.with_values = values == 1;
    if (in.with_values && dense_arrays == DenseArrays::Absent) {
        in.fail("a whole image where a structure image is expected");
    }
    Model model;
    model.input_width = in.i64("input width");
    model.producer = in.string("producer");
    model.description = in.string("description");
    const auto label_count = in.unsigned_le<std::uint64_t>("label count");
    // Each label takes at least eight bytes, which bounds the reservation by the image size.
    if (label_count > bytes.size()) in.fail("label count " + std::to_string(label_count));
    model.labels.reserve(static_cast<std::size_t>(label_count));
    for (std::uint64_t i = 0; i < label_count; ++i) model.labels.push_back(in.string("label"));
    const auto name_count = in.unsigned_le<std::uint64_t>("feature name count");
    // Each name takes at least eight bytes, which bounds the reservation by the image size.
    if (name_count > bytes.size()) in.fail("feature name count " + std::to_string(name_count));
    model.feature_names.reserve(static_cast<std::size_t>(name_count));
    for (std::uint64_t i = 0; i < name_count; ++i) {
        model.feature_names.push_back(in.string("feature name"));
    }
    const auto layer_count = in.unsigned_le<std::uint64_t>("layer count");
    // Each layer takes at least one byte, which bounds the reservation by the image size.
    if (layer_count > bytes.size()) in.fail("layer count " + std::to_string(layer_count));
    model.layers.reserve(static_cast<std::size_t>(layer_count));
    for (std::uint64_t i = 0; i < layer_count; ++i)
        model.layers.push_back(read_layer(in, dense_arrays));
    if (!in.at_end()) in.fail("unexpected bytes after the last layer");
    try {
        validate(model, dense_arrays);
    } catch (const Error& error) {
        rethrow_with_context(error, "model image");
    }
    return model;
}

std::vector<std::vector<float>*> float_arrays(Model& model, DenseArrays dense_arrays) {
    std::vector<std::vector<float>*> arrays;
    for (Layer& layer : model.layers) {
        if (auto* dense = std::get_if<DenseLayer>(&layer)) {
            if (dense_arrays == DenseArrays::Absent) continue;
            arrays.push_back(&dense->weights);
            arrays.push_back(&dense->bias);
        }
    }
    return arrays;
}

}  // namespace h5infer
