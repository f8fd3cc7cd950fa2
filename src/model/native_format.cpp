// The native model format, version 1: see docs/model-format.md. The loader is strict on
// purpose: a typo in an attribute name or a layer kind from a newer writer must stop the run
// with a message, not be skipped and silently change the predictions.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "file_kind.hpp"
#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "model/tree_format.hpp"

namespace h5infer {
namespace {

constexpr std::string_view format_marker = "h5infer-model";
constexpr std::string_view layers_group = "layers";
constexpr std::string_view format_doc = "docs/model-format.md";
constexpr std::size_t max_index_digits = 9;  // keeps the parsed index inside an int64

/// What one layer kind may contain. Everything else in its group is an error.
struct KindSpec {
    std::string_view kind;
    std::vector<std::string_view> attributes;
    std::vector<std::string_view> datasets;
};

const std::vector<KindSpec>& kind_specs() {
    static const std::vector<KindSpec> specs{
        {"dense", {"kind"}, {"weights", "bias"}},
        {"affine", {"kind"}, {"scale", "shift", "fill"}},
        {"activation", {"kind", "function", "alpha", "beta"}, {}},
        {tree_ensemble_kind, tree_ensemble_attributes(), tree_ensemble_datasets()},
        {"columns", {"kind"}, {"index"}},
        {"per_column", {"kind", "ops"}, {"offsets", "values", "drop", "unknown"}},
        {"row_norm", {"kind", "norm", "begin", "end"}, {}},
        {"products", {"kind"}, {"powers"}},
    };
    return specs;
}

std::vector<std::string_view> kind_names() {
    std::vector<std::string_view> names;
    for (const KindSpec& spec : kind_specs()) names.push_back(spec.kind);
    return names;
}

const std::vector<std::string_view> root_attributes{"format",       "format_version", "input_width",
                                                    "producer",     "description",    "labels",
                                                    "feature_names"};

std::string quoted_list(const std::vector<std::string_view>& names) {
    if (names.empty()) return "none";
    std::string text;
    for (std::string_view name : names) {
        if (!text.empty()) text += ", ";
        text += "'" + std::string(name) + "'";
    }
    return text;
}

bool contains(const std::vector<std::string_view>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string shape_text(const std::vector<std::int64_t>& dims) {
    std::string text = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) {
        text += (i > 0 ? ", " : "") + std::to_string(dims[i]);
    }
    return text + "]";
}

std::string layer_name(std::size_t index) {
    std::string name = std::to_string(index);
    constexpr std::size_t width = 4;
    return std::string(name.size() < width ? width - name.size() : 0, '0') + name;
}

bool uses_alpha(Activation function) {
    return function == Activation::LeakyRelu || function == Activation::Elu ||
           function == Activation::Swish || function == Activation::Clip ||
           function == Activation::LayerNorm;
}

bool uses_beta(Activation function) {
    return function == Activation::Clip;
}

std::string alpha_functions() {
    return quoted_list({activation_name(Activation::LeakyRelu), activation_name(Activation::Elu),
                        activation_name(Activation::Swish), activation_name(Activation::Clip),
                        activation_name(Activation::LayerNorm)});
}

// ---- loading --------------------------------------------------------------------------------

/// Throws ModelError for a file that is missing, unreadable or not HDF5 at all, before HDF5
/// gets a chance to report the same thing less clearly.
void check_model_file(const std::string& path) {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
        throw ModelError("model file '" + path + "' does not exist");
    }
    const std::string kind = special_file_kind(path);
    if (!kind.empty()) {
        throw ModelError("model file '" + path + "' is " + kind + "; pass the model's .h5 file");
    }
    if (!std::ifstream(path, std::ios::binary).good()) {
        throw ModelError("model file '" + path + "' cannot be read; check its permissions");
    }
    if (!h5::is_hdf5(path)) {
        throw ModelError("model file '" + path + "' is not an HDF5 file; see " +
                         std::string(format_doc) + " for the h5infer model format");
    }
}

void check_marker_and_version(hid_t file, const std::string& label) {
    if (!h5::has_attribute(file, "format")) {
        throw ModelError(label + " is not an h5infer model: it has no 'format' attribute (the '" +
                         std::string(format_marker) + "' marker); write or convert it as " +
                         std::string(format_doc) + " describes");
    }
    const std::string marker = h5::read_string_attribute(file, "format");
    if (marker != format_marker) {
        throw ModelError(label + " is not an h5infer model: its 'format' attribute is '" + marker +
                         "', expected '" + std::string(format_marker) + "'; see " +
                         std::string(format_doc));
    }
    if (!h5::has_attribute(file, "format_version")) {
        throw ModelError(label + " has no 'format_version' attribute; set it to " +
                         std::to_string(model_format_version) + " (see " + std::string(format_doc) +
                         ")");
    }
    const std::int64_t version = h5::read_int_attribute(file, "format_version");
    if (version > model_format_version) {
        throw ModelError(label + " was written by a newer h5infer (format version " +
                         std::to_string(version) + ", this build reads up to " +
                         std::to_string(model_format_version) + "); upgrade h5infer");
    }
    if (version < 1) {
        throw ModelError(label + " has an invalid format version " + std::to_string(version) +
                         "; versions start at 1");
    }
}

void check_root_members(hid_t file, const std::string& label) {
    for (const std::string& name : h5::attribute_names(file)) {
        if (!contains(root_attributes, name)) {
            throw ModelError(label + " has an unknown root attribute '" + name +
                             "'; the root allows " + quoted_list(root_attributes));
        }
    }
    for (const std::string& name : h5::children(file)) {
        if (name != layers_group) {
            throw ModelError(label + " has an unknown object '/" + name +
                             "' at the root; a model holds only the group '/" +
                             std::string(layers_group) + "'");
        }
    }
}

/// Layer group names in layer order. Any zero padding is accepted; gaps and duplicates are not.
std::vector<std::string> layer_group_names(hid_t layers, const std::string& label) {
    std::vector<std::pair<std::int64_t, std::string>> numbered;
    for (const std::string& name : h5::children(layers)) {
        const bool numeric =
            !name.empty() && name.size() <= max_index_digits &&
            std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!numeric) {
            throw ModelError(label + ": '/layers/" + name +
                             "' is not a layer number; name the layer groups 0000, 0001, ...");
        }
        if (h5::object_type(layers, name) != h5::ObjectType::Group) {
            throw ModelError(label + ": '/layers/" + name +
                             "' is not a group; each layer is a group of attributes and datasets");
        }
        numbered.emplace_back(std::stoll(name), name);
    }
    if (numbered.empty()) throw ModelError(label + ": the group '/layers' holds no layers");
    std::sort(numbered.begin(), numbered.end());
    std::vector<std::string> names;
    for (std::size_t i = 0; i < numbered.size(); ++i) {
        if (numbered[i].first != static_cast<std::int64_t>(i)) {
            const std::string found = i > 0 && numbered[i].first == numbered[i - 1].first
                                          ? "'" + numbered[i - 1].second + "' and '" +
                                                numbered[i].second + "' both name layer " +
                                                std::to_string(numbered[i].first)
                                          : "layer " + layer_name(i) + " is missing";
            throw ModelError(label + ": the layer groups must be numbered 0000, 0001, ... " +
                             "without gaps, but " + found);
        }
        names.push_back(numbered[i].second);
    }
    return names;
}

void check_layer_members(hid_t group, const KindSpec& spec, const std::string& label) {
    const std::string allowed = "; kind '" + std::string(spec.kind) + "' allows attributes " +
                                quoted_list(spec.attributes) + " and datasets " +
                                quoted_list(spec.datasets);
    for (const std::string& name : h5::attribute_names(group)) {
        if (!contains(spec.attributes, name)) {
            throw ModelError(label + ": unknown attribute '" + name + "'" + allowed);
        }
    }
    for (const std::string& name : h5::children(group)) {
        const bool dataset = h5::object_type(group, name) == h5::ObjectType::Dataset;
        if (!dataset || !contains(spec.datasets, name)) {
            throw ModelError(label + ": unknown " + (dataset ? "dataset" : "object") + " '" + name +
                             "'" + allowed);
        }
    }
}

/// A floating-point dataset of the given rank (or, with `integers`, an integer one too),
/// checked and opened.
h5::Handle open_parameters(hid_t group, const std::string& name, std::size_t rank,
                           const std::string& label, bool integers = false) {
    if (h5::object_type(group, name) == h5::ObjectType::Missing) {
        throw ModelError(label + ": the dataset '" + name + "' is missing");
    }
    h5::Handle dataset = h5::open_dataset(group, name);
    const h5::DatasetInfo info = h5::dataset_info(dataset.get());
    if (info.type_class != H5T_FLOAT && !(integers && info.type_class == H5T_INTEGER)) {
        throw ModelError(
            label + ": dataset '" + name + "' has type " + info.type_description +
            (integers ? "; store it as integers" : "; store it as float32 or float64"));
    }
    if (info.dims.size() != rank) {
        throw ModelError(label + ": dataset '" + name + "' has shape " + shape_text(info.dims) +
                         " but must be " +
                         (rank == 1 ? "1-D" : (integers ? "2-D" : "2-D [inputs, outputs]")));
    }
    if (!info.unavailable_filter.empty()) {
        throw ModelError(label + ": dataset '" + name + "' uses the filter " +
                         info.unavailable_filter + ", which this HDF5 cannot decode");
    }
    return dataset;
}

/// A floating-point dataset of the given rank, read as float32; dims receives its shape.
std::vector<float> read_parameters(hid_t group, const std::string& name, std::size_t rank,
                                   std::vector<std::int64_t>& dims, const std::string& label) {
    return h5::read_all(open_parameters(group, name, rank, label).get(), dims);
}

/// A 1-D floating-point dataset read as float64 (an affine layer's, kept exact).
std::vector<double> read_exact_parameters(hid_t group, const std::string& name,
                                          std::vector<std::int64_t>& dims,
                                          const std::string& label) {
    return h5::read_all_doubles(open_parameters(group, name, 1, label).get(), dims);
}

DenseLayer read_dense(hid_t group, const std::string& label) {
    DenseLayer dense;
    std::vector<std::int64_t> dims;
    dense.weights = read_parameters(group, "weights", 2, dims, label);
    dense.inputs = dims[0];
    dense.outputs = dims[1];
    if (h5::object_type(group, "bias") != h5::ObjectType::Missing) {
        // Checked as declared, before reading: a bias declaring 2^31 values would be read first.
        h5::Handle bias = open_parameters(group, "bias", 1, label);
        dims = h5::dataset_info(bias.get()).dims;
        if (dims[0] != dense.outputs) {
            throw ModelError(label + ": dataset 'bias' has shape " + shape_text(dims) +
                             " but the weights have " + std::to_string(dense.outputs) +
                             " outputs: expected [" + std::to_string(dense.outputs) + "]");
        }
        dense.bias = h5::read_all(bias.get(), dims);
    }
    return dense;
}

AffineLayer read_affine(hid_t group, const std::string& label) {
    AffineLayer affine;
    std::vector<std::int64_t> scale_dims;
    std::vector<std::int64_t> shift_dims;
    affine.scale = read_exact_parameters(group, "scale", scale_dims, label);
    affine.shift = read_exact_parameters(group, "shift", shift_dims, label);
    if (scale_dims != shift_dims) {
        throw ModelError(label + ": dataset 'scale' has shape " + shape_text(scale_dims) +
                         " but 'shift' has shape " + shape_text(shift_dims) +
                         "; both need one value per feature");
    }
    if (h5::object_type(group, "fill") != h5::ObjectType::Missing) {
        std::vector<std::int64_t> fill_dims;
        affine.fill = read_exact_parameters(group, "fill", fill_dims, label);
        if (fill_dims != scale_dims) {
            throw ModelError(label + ": dataset 'fill' has shape " + shape_text(fill_dims) +
                             " but 'scale' has shape " + shape_text(scale_dims) +
                             "; it needs one value per feature");
        }
    }
    return affine;
}

float read_float_attribute(hid_t group, const std::string& name, const std::string& label) {
    const double value = h5::read_double_attribute(group, name);
    if (!std::isfinite(value) || !std::isfinite(static_cast<float>(value))) {
        throw ModelError(label + ": attribute '" + name + "' is not a finite float32 value");
    }
    return static_cast<float>(value);
}

ActivationLayer read_activation(hid_t group, const std::string& label) {
    if (!h5::has_attribute(group, "function")) {
        throw ModelError(label + ": the attribute 'function' is missing; set it to one of " +
                         activation_names());
    }
    const std::string name = h5::read_string_attribute(group, "function");
    const std::optional<Activation> function = parse_activation(name);
    if (!function) {
        throw ModelError(label + ": unknown activation function '" + name +
                         "'; supported functions are " + activation_names());
    }
    ActivationLayer activation{*function, default_alpha(*function), default_beta(*function)};
    if (h5::has_attribute(group, "alpha")) {
        if (!uses_alpha(*function)) {
            throw ModelError(label + ": attribute 'alpha' is not used by " + name +
                             "; remove it (only " + alpha_functions() + " take an alpha)");
        }
        activation.alpha = read_float_attribute(group, "alpha", label);
    }
    if (h5::has_attribute(group, "beta")) {
        if (!uses_beta(*function)) {
            throw ModelError(label + ": attribute 'beta' is not used by " + name +
                             "; remove it (only '" +
                             std::string(activation_name(Activation::Clip)) + "' takes a beta)");
        }
        activation.beta = read_float_attribute(group, "beta", label);
    }
    return activation;
}

/// An integer dataset (or a floating-point one holding whole numbers) of the given rank.
std::vector<std::int64_t> read_whole_numbers(hid_t group, const std::string& name, std::size_t rank,
                                             std::vector<std::int64_t>& dims,
                                             const std::string& label) {
    const std::vector<double> values =
        h5::read_all_doubles(open_parameters(group, name, rank, label, true).get(), dims);
    std::vector<std::int64_t> numbers;
    numbers.reserve(values.size());
    constexpr double limit = 9.0e18;  // inside the int64 range
    for (double value : values) {
        if (!(std::abs(value) < limit) || std::trunc(value) != value) {
            throw ModelError(label + ": dataset '" + name + "' holds " + std::to_string(value) +
                             ", which is not a whole number; store integers");
        }
        numbers.push_back(static_cast<std::int64_t>(value));
    }
    return numbers;
}

std::int64_t read_int(hid_t group, const std::string& name, const std::string& label) {
    if (!h5::has_attribute(group, name)) {
        throw ModelError(label + ": the attribute '" + name + "' is missing");
    }
    return h5::read_int_attribute(group, name);
}

PerColumnLayer read_per_column(hid_t group, const std::string& label) {
    if (!h5::has_attribute(group, "ops")) {
        throw ModelError(label + ": the attribute 'ops' is missing; give one of " +
                         column_op_names() + " per input column");
    }
    PerColumnLayer layer;
    for (const std::string& name : h5::read_string_list_attribute(group, "ops")) {
        const std::optional<ColumnOp> op = parse_column_op(name);
        if (!op) {
            throw ModelError(label + ": unknown op '" + name + "'; supported ops are " +
                             column_op_names());
        }
        layer.ops.push_back(*op);
    }
    std::vector<std::int64_t> dims;
    layer.offsets = read_whole_numbers(group, "offsets", 1, dims, label);
    layer.drop = read_whole_numbers(group, "drop", 1, dims, label);
    layer.values = read_exact_parameters(group, "values", dims, label);
    layer.unknown = read_exact_parameters(group, "unknown", dims, label);
    return layer;
}

RowNormLayer read_row_norm(hid_t group, const std::string& label) {
    if (!h5::has_attribute(group, "norm")) {
        throw ModelError(label +
                         ": the attribute 'norm' is missing; set it to 'l1', 'l2' or 'max'");
    }
    const std::string name = h5::read_string_attribute(group, "norm");
    const std::optional<RowNorm> norm = parse_row_norm(name);
    if (!norm) {
        throw ModelError(label + ": unknown norm '" + name + "'; use 'l1', 'l2' or 'max'");
    }
    return RowNormLayer{*norm, read_int(group, "begin", label), read_int(group, "end", label)};
}

ProductsLayer read_products(hid_t group, const std::string& label) {
    ProductsLayer layer;
    std::vector<std::int64_t> dims;
    layer.powers = read_whole_numbers(group, "powers", 2, dims, label);
    layer.outputs = dims[0];
    layer.inputs = dims[1];
    return layer;
}

// The layers of column_layers.cpp, by kind.
Layer read_column_layer(hid_t group, const std::string& kind, const std::string& label) {
    if (kind == "columns") {
        std::vector<std::int64_t> dims;
        return ColumnsLayer{read_whole_numbers(group, "index", 1, dims, label)};
    }
    if (kind == "per_column") return read_per_column(group, label);
    if (kind == "row_norm") return read_row_norm(group, label);
    return read_products(group, label);
}

Layer read_layer(hid_t layers, const std::string& group_name, std::size_t index,
                 const std::string& file_label) {
    std::string label = file_label + " layer " + std::to_string(index);
    try {
        h5::Handle group = h5::open_group(layers, group_name);
        if (!h5::has_attribute(group.get(), "kind")) {
            throw ModelError(label + ": the attribute 'kind' is missing; set it to one of " +
                             quoted_list(kind_names()));
        }
        const std::string kind = h5::read_string_attribute(group.get(), "kind");
        const auto& specs = kind_specs();
        const auto spec = std::find_if(specs.begin(), specs.end(),
                                       [&](const KindSpec& s) { return s.kind == kind; });
        if (spec == specs.end()) {
            throw ModelError(label + ": unknown kind '" + kind + "'; supported kinds are " +
                             quoted_list(kind_names()));
        }
        label += " (" + kind + ")";
        check_layer_members(group.get(), *spec, label);
        if (kind == "dense") return read_dense(group.get(), label);
        if (kind == "affine") return read_affine(group.get(), label);
        if (kind == tree_ensemble_kind) return read_tree_ensemble(group.get(), label);
        if (kind == "activation") return read_activation(group.get(), label);
        return read_column_layer(group.get(), kind, label);
    } catch (const IoError& error) {
        throw ModelError(label + ": " + error.what());
    }
}

// The dimensions of dataset `name` of `group`, or none when it is missing or not a dataset.
std::vector<std::int64_t> declared_dims(hid_t group, const std::string& name) {
    if (h5::object_type(group, name) != h5::ObjectType::Dataset) return {};
    return h5::dataset_info(h5::open_dataset(group, name).get()).dims;
}

// The values a dense layer's weights declare, from their shape alone; throws ModelError when
// the product overflows or the widths do not chain.
std::uint64_t check_dense_shape(const std::vector<std::int64_t>& dims, std::int64_t& width,
                                const std::string& label) {
    if (dims.size() != 2) return 0;  // read_dense() says what is wrong with them
    if (dims[0] != width) {
        throw ModelError(label + ": weights of shape " + shape_text(dims) + " take " +
                         std::to_string(dims[0]) + " inputs but the previous layer produces " +
                         std::to_string(width) + ": the layer widths do not chain");
    }
    std::uint64_t values = 0;
    if (dims[1] <= 0 || __builtin_mul_overflow(static_cast<std::uint64_t>(dims[0]),
                                               static_cast<std::uint64_t>(dims[1]), &values)) {
        throw ModelError(label + ": weights of shape " + shape_text(dims) +
                         " are not a usable size");
    }
    width = dims[1];
    return values;
}

// Every layer's shape from its datasets' dimensions, before any value is read: a file of a
// few bytes can declare datasets of any size, which must not be read (or allocated) when the
// widths do not chain or the model cannot fit in this machine's memory. What else is wrong with
// a layer, read_layer() reports.
void check_declared_shapes(hid_t layers, const std::vector<std::string>& names,
                           const std::string& file_label, std::int64_t input_width) {
    std::int64_t width = input_width;
    std::uint64_t values = 0;
    for (std::size_t i = 0; i < names.size() && width > 0; ++i) {
        const std::string label = file_label + " layer " + std::to_string(i);
        if (h5::object_type(layers, names[i]) != h5::ObjectType::Group) return;
        h5::Handle group = h5::open_group(layers, names[i]);
        if (!h5::has_attribute(group.get(), "kind")) return;
        const std::string kind = h5::read_string_attribute(group.get(), "kind");
        std::uint64_t layer_values = 0;
        if (kind == "dense") {
            layer_values =
                check_dense_shape(declared_dims(group.get(), "weights"), width, label + " (dense)");
        } else if (kind == "affine") {
            const std::vector<std::int64_t> dims = declared_dims(group.get(), "scale");
            if (dims.size() == 1 && dims[0] != width) {
                throw ModelError(label + " (affine): scale of shape " + shape_text(dims) +
                                 " but the previous layer produces " + std::to_string(width) +
                                 " features: the layer widths do not chain");
            }
            layer_values = 2 * static_cast<std::uint64_t>(width);
        } else if (kind == tree_ensemble_kind) {
            layer_values = check_tree_ensemble_shape(group.get(), width, label + " (" + kind + ")");
        } else if (kind == "columns") {
            const std::vector<std::int64_t> dims = declared_dims(group.get(), "index");
            if (dims.size() != 1) return;  // read_layer() says what is wrong
            width = dims[0];
            layer_values = static_cast<std::uint64_t>(width);
        } else if (kind == "products") {
            const std::vector<std::int64_t> dims = declared_dims(group.get(), "powers");
            if (dims.size() != 2) return;  // read_layer() says what is wrong
            layer_values = check_dense_shape({dims[1], dims[0]}, width, label + " (products)");
        } else if (kind == "per_column") {
            return;  // its width depends on its values: validate() checks what follows
        } else if (kind != "activation" && kind != "row_norm") {
            return;  // an unknown kind: read_layer() names it
        }
        if (__builtin_add_overflow(values, layer_values, &values)) values = UINT64_MAX;
    }
    const auto memory = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                        static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    if (values > memory / sizeof(float)) {
        throw ModelError(file_label + " declares " + std::to_string(values) +
                         " parameters, more than this machine's memory (" +
                         std::to_string(memory >> 30U) + " GiB) holds");
    }
}

Model read_model(hid_t file, const std::string& label) {
    check_marker_and_version(file, label);
    check_root_members(file, label);
    Model model;
    if (!h5::has_attribute(file, "input_width")) {
        throw ModelError(label +
                         " has no 'input_width' attribute; set it to the number of "
                         "features the first layer takes");
    }
    model.input_width = h5::read_int_attribute(file, "input_width");
    if (h5::has_attribute(file, "producer")) {
        model.producer = h5::read_string_attribute(file, "producer");
    }
    if (h5::has_attribute(file, "description")) {
        model.description = h5::read_string_attribute(file, "description");
    }
    if (h5::has_attribute(file, "labels")) {
        try {
            model.labels = h5::read_string_list_attribute(file, "labels");
        } catch (const IoError& error) {
            throw ModelError(label + ": the attribute 'labels' cannot be read as a list of " +
                             "strings (store one string per output column): " + error.what());
        }
    }
    if (h5::has_attribute(file, "feature_names")) {
        try {
            model.feature_names = h5::read_string_list_attribute(file, "feature_names");
        } catch (const IoError& error) {
            throw ModelError(label + ": the attribute 'feature_names' cannot be read as a list " +
                             "of strings (store one string per input column): " + error.what());
        }
    }
    if (h5::object_type(file, "/" + std::string(layers_group)) != h5::ObjectType::Group) {
        throw ModelError(label + " has no group '/" + std::string(layers_group) + "'; see " +
                         std::string(format_doc));
    }
    h5::Handle layers = h5::open_group(file, std::string(layers_group));
    const std::vector<std::string> names = layer_group_names(layers.get(), label);
    check_declared_shapes(layers.get(), names, label, model.input_width);
    for (std::size_t i = 0; i < names.size(); ++i) {
        model.layers.push_back(read_layer(layers.get(), names[i], i, label));
    }
    return model;
}

// ---- saving ---------------------------------------------------------------------------------

void write_parameters(hid_t group, const std::string& name, const std::vector<float>& values,
                      const std::vector<std::int64_t>& dims) {
    h5::Handle dataset = h5::create_dataset(group, name, dims, H5T_IEEE_F32LE);
    if (!values.empty()) h5::write_all(dataset.get(), values.data());
}

void write_parameters(hid_t group, const std::string& name, const std::vector<double>& values,
                      const std::vector<std::int64_t>& dims) {
    h5::Handle dataset = h5::create_dataset(group, name, dims, H5T_IEEE_F64LE);
    if (!values.empty()) h5::write_all(dataset.get(), values.data());
}

// Whole numbers as int64 (HDF5 converts the doubles of memory).
void write_whole_numbers(hid_t group, const std::string& name,
                         const std::vector<std::int64_t>& numbers,
                         const std::vector<std::int64_t>& dims) {
    const std::vector<double> values(numbers.begin(), numbers.end());
    h5::Handle dataset = h5::create_dataset(group, name, dims, H5T_STD_I64LE);
    if (!values.empty()) h5::write_all(dataset.get(), values.data());
}

std::vector<std::int64_t> size_of(std::size_t size) {
    return {static_cast<std::int64_t>(size)};
}

void write_column_layer(hid_t group, const Layer& layer) {
    if (const auto* columns = std::get_if<ColumnsLayer>(&layer)) {
        h5::write_attribute(group, "kind", std::string("columns"));
        write_whole_numbers(group, "index", columns->index, size_of(columns->index.size()));
    } else if (const auto* per_column = std::get_if<PerColumnLayer>(&layer)) {
        h5::write_attribute(group, "kind", std::string("per_column"));
        std::vector<std::string> ops;
        for (ColumnOp op : per_column->ops) ops.emplace_back(column_op_name(op));
        h5::write_attribute(group, "ops", ops);
        write_whole_numbers(group, "offsets", per_column->offsets,
                            size_of(per_column->offsets.size()));
        write_parameters(group, "values", per_column->values, size_of(per_column->values.size()));
        write_whole_numbers(group, "drop", per_column->drop, size_of(per_column->drop.size()));
        write_parameters(group, "unknown", per_column->unknown,
                         size_of(per_column->unknown.size()));
    } else if (const auto* row_norm = std::get_if<RowNormLayer>(&layer)) {
        h5::write_attribute(group, "kind", std::string("row_norm"));
        h5::write_attribute(group, "norm", std::string(row_norm_name(row_norm->norm)));
        h5::write_attribute(group, "begin", row_norm->begin);
        h5::write_attribute(group, "end", row_norm->end);
    } else if (const auto* products = std::get_if<ProductsLayer>(&layer)) {
        h5::write_attribute(group, "kind", std::string("products"));
        write_whole_numbers(group, "powers", products->powers,
                            {products->outputs, products->inputs});
    }
}

void write_layer(hid_t group, const Layer& layer) {
    if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
        h5::write_attribute(group, "kind", std::string("dense"));
        write_parameters(group, "weights", dense->weights, {dense->inputs, dense->outputs});
        if (!dense->bias.empty()) {
            write_parameters(group, "bias", dense->bias,
                             {static_cast<std::int64_t>(dense->bias.size())});
        }
    } else if (const auto* affine = std::get_if<AffineLayer>(&layer)) {
        h5::write_attribute(group, "kind", std::string("affine"));
        write_parameters(group, "scale", affine->scale,
                         {static_cast<std::int64_t>(affine->scale.size())});
        write_parameters(group, "shift", affine->shift,
                         {static_cast<std::int64_t>(affine->shift.size())});
        if (!affine->fill.empty()) {
            write_parameters(group, "fill", affine->fill,
                             {static_cast<std::int64_t>(affine->fill.size())});
        }
    } else if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
        write_tree_ensemble(group, *trees);
    } else if (const auto* activation = std::get_if<ActivationLayer>(&layer)) {
        h5::write_attribute(group, "kind", std::string("activation"));
        h5::write_attribute(group, "function", std::string(activation_name(activation->function)));
        if (uses_alpha(activation->function)) {
            h5::write_attribute(group, "alpha", static_cast<double>(activation->alpha));
        }
        if (uses_beta(activation->function)) {
            h5::write_attribute(group, "beta", static_cast<double>(activation->beta));
        }
    } else {
        write_column_layer(group, layer);
    }
}

void write_model(hid_t file, const Model& model) {
    h5::write_attribute(file, "format", std::string(format_marker));
    h5::write_attribute(file, "format_version", model_format_version);
    h5::write_attribute(file, "input_width", model.input_width);
    if (!model.producer.empty()) h5::write_attribute(file, "producer", model.producer);
    if (!model.description.empty()) h5::write_attribute(file, "description", model.description);
    if (!model.labels.empty()) h5::write_attribute(file, "labels", model.labels);
    if (!model.feature_names.empty()) {
        h5::write_attribute(file, "feature_names", model.feature_names);
    }
    h5::Handle layers = h5::create_group(file, "/" + std::string(layers_group));
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
        h5::Handle group = h5::create_group(layers.get(), layer_name(i));
        write_layer(group.get(), model.layers[i]);
    }
}

}  // namespace

Model load_model(const std::string& path) {
    check_model_file(path);
    const std::string label = "model '" + path + "'";
    Model model;
    try {
        h5::Handle file = h5::open_file(path);
        model = read_model(file.get(), label);
        file.close();
    } catch (const IoError& error) {
        throw ModelError(label + ": " + error.what());
    }
    try {
        validate(model);
    } catch (const Error& error) {
        rethrow_with_context(error, label);
    }
    return model;
}

void save_model(const Model& model, const std::string& path) {
    try {
        h5::Handle file = h5::create_file(path);
        try {
            write_model(file.get(), model);
            // A full disk shows here, while the file can still be closed without writing.
            h5::flush(file.get());
        } catch (...) {
            h5::discard_pending_writes(file.get());
            throw;
        }
        file.close();
    } catch (const Error& error) {
        rethrow_with_context(error, "cannot save model '" + path + "'");
    }
}

}  // namespace h5infer
