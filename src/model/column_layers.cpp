#include "model/column_layers.hpp"

#include <array>
#include <cmath>
#include <string>
#include <utility>
#include <variant>

#include "h5infer/error.hpp"

namespace h5infer {
namespace {

constexpr std::array<std::pair<ColumnOp, std::string_view>, 10> column_op_table{{
    {ColumnOp::Pass, "pass"},
    {ColumnOp::OneHot, "one_hot"},
    {ColumnOp::Ordinal, "ordinal"},
    {ColumnOp::BinOrdinal, "bin_ordinal"},
    {ColumnOp::BinOneHot, "bin_one_hot"},
    {ColumnOp::Log, "log"},
    {ColumnOp::Log1p, "log1p"},
    {ColumnOp::Exp, "exp"},
    {ColumnOp::Expm1, "expm1"},
    {ColumnOp::Sqrt, "sqrt"},
}};

constexpr std::int64_t max_power = 3;  // the highest degree of a product, and of each power

bool is_category(ColumnOp op) {
    return op == ColumnOp::OneHot || op == ColumnOp::Ordinal;
}

bool is_bins(ColumnOp op) {
    return op == ColumnOp::BinOrdinal || op == ColumnOp::BinOneHot;
}

std::string label_of(std::size_t index, const char* kind) {
    return "layer " + std::to_string(index) + " (" + kind + ")";
}

void validate_columns(const ColumnsLayer& layer, std::int64_t width, const std::string& label) {
    if (layer.index.empty()) throw ModelError(label + " selects no column");
    for (std::size_t j = 0; j < layer.index.size(); ++j) {
        if (layer.index[j] < 0 || layer.index[j] >= width) {
            throw ModelError(label + " index[" + std::to_string(j) + "] is " +
                             std::to_string(layer.index[j]) + " but the previous layer has " +
                             std::to_string(width) + " columns (0 to " + std::to_string(width - 1) +
                             ")");
        }
    }
}

// Categories strictly increase, with NaN (a category of its own) only last; bin edges do not
// decrease and may be infinite (scikit-learn's edges of a constant feature), never NaN.
void validate_values(const PerColumnLayer& layer, std::size_t c, const std::string& label) {
    const std::string where = label + " column " + std::to_string(c) + " (" +
                              std::string(column_op_name(layer.ops[c])) + ")";
    const auto begin = static_cast<std::size_t>(layer.offsets[c]);
    const auto end = static_cast<std::size_t>(layer.offsets[c + 1]);
    const ColumnOp op = layer.ops[c];
    if (!is_category(op) && !is_bins(op) && end != begin) {
        throw ModelError(where + " takes no values but has " + std::to_string(end - begin));
    }
    if (is_category(op) && end == begin) throw ModelError(where + " has no categories");
    if (is_bins(op) && end - begin < 2) throw ModelError(where + " needs at least two edges");
    for (std::size_t i = begin; i < end; ++i) {
        const double value = layer.values[i];
        const bool nan_last = is_category(op) && std::isnan(value) && i + 1 == end;
        if (std::isnan(value) && !nan_last) {
            throw ModelError(where + " has NaN at value " + std::to_string(i - begin) +
                             (is_category(op) ? "; NaN may only be the last category" : ""));
        }
        if (is_category(op) && !std::isnan(value) && !std::isfinite(value)) {
            throw ModelError(where + " has an infinite category");
        }
        if (i == begin || std::isnan(value)) continue;
        const double before = layer.values[i - 1];
        if (is_category(op) ? !(before < value) : !(before <= value)) {
            throw ModelError(where +
                             (is_category(op) ? " categories must strictly increase"
                                              : " bin edges must not decrease") +
                             ", but value " + std::to_string(i - begin) + " follows " +
                             std::to_string(before));
        }
    }
}

void validate_encoding(const PerColumnLayer& layer, std::size_t c, const std::string& label) {
    const std::string where = label + " column " + std::to_string(c) + " (" +
                              std::string(column_op_name(layer.ops[c])) + ")";
    const std::int64_t count = layer.offsets[c + 1] - layer.offsets[c];
    const std::int64_t drop = layer.drop[c];
    const double unknown = layer.unknown[c];
    if (layer.ops[c] == ColumnOp::OneHot) {
        if (drop < -1 || drop >= count) {
            throw ModelError(where + " drops category " + std::to_string(drop) + " of " +
                             std::to_string(count) + "; give -1 or 0 to " +
                             std::to_string(count - 1));
        }
        if (!std::isnan(unknown) && unknown != 0.0) {
            throw ModelError(where + " unknown must be 0 (all zeros) or NaN (all NaN)");
        }
        return;
    }
    if (drop != -1) throw ModelError(where + " drop must be -1: only one_hot drops a category");
    if (layer.ops[c] == ColumnOp::Ordinal) {
        if (std::isinf(unknown)) throw ModelError(where + " unknown is infinite");
        return;
    }
    if (unknown != 0.0) throw ModelError(where + " unknown must be 0: only categories are known");
}

void validate_per_column(const PerColumnLayer& layer, std::int64_t width,
                         const std::string& label) {
    const auto columns = static_cast<std::size_t>(width);
    if (layer.ops.size() != columns || layer.drop.size() != columns ||
        layer.unknown.size() != columns || layer.offsets.size() != columns + 1) {
        throw ModelError(label + " has " + std::to_string(layer.ops.size()) + " ops, " +
                         std::to_string(layer.offsets.size()) + " offsets, " +
                         std::to_string(layer.drop.size()) + " drops and " +
                         std::to_string(layer.unknown.size()) +
                         " unknowns but the previous layer has " + std::to_string(width) +
                         " columns: expected one each per column, and one more offset");
    }
    if (layer.offsets.front() != 0 ||
        layer.offsets.back() != static_cast<std::int64_t>(layer.values.size())) {
        throw ModelError(label + " offsets must run from 0 to the " +
                         std::to_string(layer.values.size()) + " values");
    }
    for (std::size_t c = 0; c < columns; ++c) {
        if (layer.offsets[c + 1] < layer.offsets[c]) {
            throw ModelError(label + " offsets decrease at column " + std::to_string(c));
        }
    }
    for (std::size_t c = 0; c < columns; ++c) {
        validate_values(layer, c, label);
        validate_encoding(layer, c, label);
    }
    if (column_layer_output_width(layer, width) == 0) {
        throw ModelError(label + " has no outputs: every category is dropped");
    }
}

void validate_row_norm(const RowNormLayer& layer, std::int64_t width, const std::string& label) {
    if (layer.begin < 0 || layer.begin >= layer.end || layer.end > width) {
        throw ModelError(label + " columns [" + std::to_string(layer.begin) + ", " +
                         std::to_string(layer.end) + ") are not a non-empty range of the " +
                         std::to_string(width) + " columns");
    }
}

void validate_products(const ProductsLayer& layer, std::int64_t width, const std::string& label) {
    if (layer.inputs != width) {
        throw ModelError(label + " powers take " + std::to_string(layer.inputs) +
                         " inputs but the previous layer produces " + std::to_string(width) +
                         ": the layer widths do not chain");
    }
    if (layer.outputs <= 0 ||
        static_cast<std::int64_t>(layer.powers.size()) != layer.inputs * layer.outputs) {
        throw ModelError(label + " has " + std::to_string(layer.powers.size()) +
                         " powers, expected outputs x inputs = " + std::to_string(layer.outputs) +
                         " x " + std::to_string(layer.inputs) + " (and at least one output)");
    }
    for (std::int64_t j = 0; j < layer.outputs; ++j) {
        std::int64_t degree = 0;
        for (std::int64_t k = 0; k < layer.inputs; ++k) {
            const std::int64_t power = layer.powers[j * layer.inputs + k];
            if (power < 0 || power > max_power) {
                throw ModelError(label + " power " + std::to_string(power) + " of output " +
                                 std::to_string(j) + " is outside 0 to " +
                                 std::to_string(max_power));
            }
            degree += power;
        }
        if (degree > max_power) {
            throw ModelError(label + " output " + std::to_string(j) + " has degree " +
                             std::to_string(degree) + ", more than " + std::to_string(max_power));
        }
    }
}

}  // namespace

std::string_view column_op_name(ColumnOp op) {
    for (const auto& [value, name] : column_op_table) {
        if (value == op) return name;
    }
    return "unknown";
}

std::optional<ColumnOp> parse_column_op(std::string_view name) {
    for (const auto& [value, known] : column_op_table) {
        if (known == name) return value;
    }
    return std::nullopt;
}

std::string column_op_names() {
    std::string names;
    for (const auto& entry : column_op_table) {
        if (!names.empty()) names += ", ";
        names += entry.second;
    }
    return names;
}

std::int64_t column_op_outputs(const PerColumnLayer& layer, std::size_t column) {
    const std::int64_t count = layer.offsets[column + 1] - layer.offsets[column];
    switch (layer.ops[column]) {
        case ColumnOp::OneHot: return count - (layer.drop[column] >= 0 ? 1 : 0);
        case ColumnOp::BinOneHot: return count - 1;
        default: return 1;
    }
}

std::string_view row_norm_name(RowNorm norm) {
    switch (norm) {
        case RowNorm::L1: return "l1";
        case RowNorm::L2: return "l2";
        case RowNorm::Max: return "max";
    }
    return "unknown";
}

std::optional<RowNorm> parse_row_norm(std::string_view name) {
    for (const RowNorm norm : {RowNorm::L1, RowNorm::L2, RowNorm::Max}) {
        if (row_norm_name(norm) == name) return norm;
    }
    return std::nullopt;
}

std::optional<std::int64_t> column_layer_output_width(const Layer& layer,
                                                      std::int64_t input_width) {
    if (const auto* columns = std::get_if<ColumnsLayer>(&layer)) {
        return static_cast<std::int64_t>(columns->index.size());
    }
    if (const auto* per_column = std::get_if<PerColumnLayer>(&layer)) {
        // Sizes as validation checks them: an unvalidated layer has no meaningful width.
        if (per_column->offsets.size() != per_column->ops.size() + 1 ||
            per_column->drop.size() != per_column->ops.size()) {
            return 0;
        }
        std::int64_t width = 0;
        for (std::size_t c = 0; c < per_column->ops.size(); ++c) {
            width += column_op_outputs(*per_column, c);
        }
        return width;
    }
    if (std::holds_alternative<RowNormLayer>(layer)) return input_width;
    if (const auto* products = std::get_if<ProductsLayer>(&layer)) return products->outputs;
    return std::nullopt;
}

void validate_column_layer(const Layer& layer, std::int64_t width, std::size_t index) {
    if (const auto* columns = std::get_if<ColumnsLayer>(&layer)) {
        validate_columns(*columns, width, label_of(index, "columns"));
    } else if (const auto* per_column = std::get_if<PerColumnLayer>(&layer)) {
        validate_per_column(*per_column, width, label_of(index, "per_column"));
    } else if (const auto* row_norm = std::get_if<RowNormLayer>(&layer)) {
        validate_row_norm(*row_norm, width, label_of(index, "row_norm"));
    } else if (const auto* products = std::get_if<ProductsLayer>(&layer)) {
        validate_products(*products, width, label_of(index, "products"));
    }
}

std::int64_t column_layer_parameters(const Layer& layer) {
    if (const auto* columns = std::get_if<ColumnsLayer>(&layer)) {
        return static_cast<std::int64_t>(columns->index.size());
    }
    if (const auto* per_column = std::get_if<PerColumnLayer>(&layer)) {
        return static_cast<std::int64_t>(per_column->values.size() + per_column->drop.size() +
                                         per_column->unknown.size());
    }
    if (const auto* products = std::get_if<ProductsLayer>(&layer)) {
        return static_cast<std::int64_t>(products->powers.size());
    }
    return 0;
}

}  // namespace h5infer
