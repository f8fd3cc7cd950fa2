// The `tree_ensemble` layer kind of the native format: see docs/model-format.md. Shapes are
// checked as declared before anything is read; what the arrays hold (links, features, depth)
// is checked by validate_tree_ensemble() once they are in memory.

#include "model/tree_format.hpp"

#include <cmath>
#include <limits>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"

namespace h5infer {
namespace {

// Per node, 1-D: what every tree_ensemble group holds.
constexpr std::string_view node_arrays[] = {"feature", "threshold", "left", "right"};

std::string shape_text(const std::vector<std::int64_t>& dims) {
    std::string text = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) {
        text += (i > 0 ? ", " : "") + std::to_string(dims[i]);
    }
    return text + "]";
}

bool exists(hid_t group, std::string_view name) {
    return h5::object_type(group, std::string(name)) != h5::ObjectType::Missing;
}

// A dataset of `rank` dimensions and of the integer (or else floating-point) class, opened.
h5::Handle open_array(hid_t group, std::string_view name, std::size_t rank, bool integer,
                      const std::string& label) {
    const std::string key(name);
    if (!exists(group, name)) throw ModelError(label + ": the dataset '" + key + "' is missing");
    h5::Handle dataset = h5::open_dataset(group, key);
    const h5::DatasetInfo info = h5::dataset_info(dataset.get());
    if (info.type_class != (integer ? H5T_INTEGER : H5T_FLOAT)) {
        throw ModelError(label + ": dataset '" + key + "' has type " + info.type_description +
                         (integer ? "; store it as int32 or int64"
                                  : "; store it as float32 or "
                                    "float64"));
    }
    if (info.dims.size() != rank) {
        throw ModelError(label + ": dataset '" + key + "' has shape " + shape_text(info.dims) +
                         " but must be " + (rank == 1 ? "1-D" : "2-D [nodes, values]"));
    }
    if (!info.unavailable_filter.empty()) {
        throw ModelError(label + ": dataset '" + key + "' uses the filter " +
                         info.unavailable_filter + ", which this HDF5 cannot decode");
    }
    return dataset;
}

std::vector<std::int64_t> dims_of(hid_t group, std::string_view name, std::size_t rank,
                                  bool integer, const std::string& label) {
    return h5::dataset_info(open_array(group, name, rank, integer, label).get()).dims;
}

std::vector<std::int32_t> read_int32s(hid_t group, std::string_view name,
                                      const std::string& label) {
    std::vector<std::int64_t> dims;
    const std::vector<std::int64_t> wide =
        h5::read_all_int64s(open_array(group, name, 1, true, label).get(), dims);
    std::vector<std::int32_t> values(wide.size());
    for (std::size_t i = 0; i < wide.size(); ++i) {
        if (wide[i] < INT32_MIN || wide[i] > INT32_MAX) {
            throw ModelError(label + ": dataset '" + std::string(name) + "' holds " +
                             std::to_string(wide[i]) + " at index " + std::to_string(i) +
                             ", beyond int32");
        }
        values[i] = static_cast<std::int32_t>(wide[i]);
    }
    return values;
}

// The largest float32 not above `threshold`: for every float32 x, x <= it exactly when
// x <= threshold, so a float64 threshold (scikit-learn's) splits float32 features as it did.
float threshold_below(double threshold) {
    auto rounded = static_cast<float>(threshold);
    if (static_cast<double>(rounded) > threshold) {
        rounded = std::nextafter(rounded, -std::numeric_limits<float>::infinity());
    }
    return rounded;
}

std::string read_choice(hid_t group, const std::string& name, const std::string& choices,
                        const std::string& label) {
    if (!h5::has_attribute(group, name)) {
        throw ModelError(label + ": the attribute '" + name + "' is missing; set it to " + choices);
    }
    return h5::read_string_attribute(group, name);
}

void read_attributes(hid_t group, TreeEnsembleLayer& trees, const std::string& label) {
    const std::string aggregation = read_choice(group, "aggregation", "'sum' or 'mean'", label);
    if (aggregation != "sum" && aggregation != "mean") {
        throw ModelError(label + ": unknown aggregation '" + aggregation +
                         "'; supported are 'sum' and 'mean'");
    }
    trees.aggregation = aggregation == "sum" ? TreeAggregation::Sum : TreeAggregation::Mean;
    const std::string comparison = read_choice(group, "comparison", "'<='", label);
    if (comparison != "<=") {
        throw ModelError(label + ": unknown comparison '" + comparison +
                         "'; supported is '<=' (left when x <= threshold)");
    }
    if (!h5::has_attribute(group, "base_score")) {
        throw ModelError(label +
                         ": the attribute 'base_score' is missing; give one float64 "
                         "per output");
    }
    trees.base_score = h5::read_double_list_attribute(group, "base_score");
}

}  // namespace

std::vector<std::string_view> tree_ensemble_attributes() {
    return {"kind", "aggregation", "comparison", "base_score"};
}

std::vector<std::string_view> tree_ensemble_datasets() {
    return {"feature", "threshold", "left", "right", "values", "tree_offsets", "tree_targets"};
}

std::uint64_t check_tree_ensemble_shape(hid_t group, std::int64_t& width,
                                        const std::string& label) {
    std::int64_t nodes = -1;
    for (const std::string_view name : node_arrays) {
        const std::vector<std::int64_t> dims = dims_of(group, name, 1, name != "threshold", label);
        if (nodes >= 0 && dims[0] != nodes) {
            throw ModelError(label + ": dataset '" + std::string(name) + "' has shape " +
                             shape_text(dims) + " but 'feature' has [" + std::to_string(nodes) +
                             "]; each needs one value per node");
        }
        nodes = dims[0];
    }
    const std::vector<std::int64_t> values = dims_of(group, "values", 2, false, label);
    const std::vector<std::int64_t> offsets = dims_of(group, "tree_offsets", 1, true, label);
    if (values[0] != nodes || values[1] <= 0 || offsets[0] < 2 || offsets[0] > nodes + 1) {
        throw ModelError(label + ": datasets 'values' of shape " + shape_text(values) +
                         " and 'tree_offsets' of shape " + shape_text(offsets) + " do not fit " +
                         std::to_string(nodes) + " nodes (values [nodes, outputs or 1], " +
                         "tree_offsets [trees + 1])");
    }
    if (exists(group, "tree_targets") &&
        dims_of(group, "tree_targets", 1, true, label)[0] != offsets[0] - 1) {
        throw ModelError(label + ": dataset 'tree_targets' needs one value per tree (" +
                         std::to_string(offsets[0] - 1) + ")");
    }
    if (h5::has_attribute(group, "base_score")) {
        width =
            static_cast<std::int64_t>(h5::read_double_list_attribute(group, "base_score").size());
    }
    std::uint64_t total = 0;
    if (__builtin_mul_overflow(static_cast<std::uint64_t>(nodes),
                               static_cast<std::uint64_t>(values[1]) + 4U, &total)) {
        total = UINT64_MAX;
    }
    return total;
}

TreeEnsembleLayer read_tree_ensemble(hid_t group, const std::string& label) {
    TreeEnsembleLayer trees;
    read_attributes(group, trees, label);
    std::int64_t width = 0;
    (void)check_tree_ensemble_shape(group, width, label);
    trees.feature = read_int32s(group, "feature", label);
    trees.left = read_int32s(group, "left", label);
    trees.right = read_int32s(group, "right", label);
    std::vector<std::int64_t> dims;
    const std::vector<double> thresholds =
        h5::read_all_doubles(open_array(group, "threshold", 1, false, label).get(), dims);
    trees.threshold.resize(thresholds.size());
    for (std::size_t i = 0; i < thresholds.size(); ++i) {
        trees.threshold[i] = threshold_below(thresholds[i]);
    }
    trees.values = h5::read_all_doubles(open_array(group, "values", 2, false, label).get(), dims);
    const std::int64_t value_width = dims[1];
    trees.tree_offsets =
        h5::read_all_int64s(open_array(group, "tree_offsets", 1, true, label).get(), dims);
    if (exists(group, "tree_targets"))
        trees.tree_targets = read_int32s(group, "tree_targets", label);
    if (value_width != trees.value_width()) {
        throw ModelError(label + ": dataset 'values' has " + std::to_string(value_width) +
                         " columns; expected " + std::to_string(trees.value_width()) +
                         (trees.tree_targets.empty() ? " (one per output, as base_score)"
                                                     : " (1 with tree_targets)"));
    }
    return trees;
}

void write_tree_ensemble(hid_t group, const TreeEnsembleLayer& trees) {
    h5::write_attribute(group, "kind", std::string(tree_ensemble_kind));
    h5::write_attribute(group, "aggregation", aggregation_name(trees.aggregation));
    h5::write_attribute(group, "comparison", comparison_name(trees.comparison));
    h5::write_attribute(group, "base_score", trees.base_score);
    const std::int64_t nodes = trees.nodes();
    const auto write_int32s = [&](const char* name, const std::vector<std::int32_t>& values) {
        h5::Handle dataset = h5::create_dataset(
            group, name, {static_cast<std::int64_t>(values.size())}, H5T_STD_I32LE);
        if (!values.empty()) h5::write_all(dataset.get(), values.data());
    };
    write_int32s("feature", trees.feature);
    write_int32s("left", trees.left);
    write_int32s("right", trees.right);
    h5::Handle threshold = h5::create_dataset(group, "threshold", {nodes}, H5T_IEEE_F32LE);
    if (nodes > 0) h5::write_all(threshold.get(), trees.threshold.data());
    h5::Handle values =
        h5::create_dataset(group, "values", {nodes, trees.value_width()}, H5T_IEEE_F64LE);
    if (nodes > 0) h5::write_all(values.get(), trees.values.data());
    h5::Handle offsets =
        h5::create_dataset(group, "tree_offsets",
                           {static_cast<std::int64_t>(trees.tree_offsets.size())}, H5T_STD_I64LE);
    h5::write_all(offsets.get(), trees.tree_offsets.data());
    if (!trees.tree_targets.empty()) write_int32s("tree_targets", trees.tree_targets);
}

}  // namespace h5infer
