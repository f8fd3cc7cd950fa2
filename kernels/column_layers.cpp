#include "kernels/column_layers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <variant>
#include <vector>

#include "h5infer/error.hpp"

namespace h5infer::kernels {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t unknown_category = -1;

template <typename Value>
void apply_columns(const ColumnsLayer& layer, std::int64_t width, std::int64_t rows,
                   const Value* src, Value* dst) {
    const auto outputs = static_cast<std::int64_t>(layer.index.size());
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t j = 0; j < outputs; ++j)
            dst[r * outputs + j] = src[r * width + layer.index[j]];
    }
}

// The index of x among column c's categories, or unknown_category. NaN matches a NaN category
// (scikit-learn's encoders keep NaN as the last category when they saw it in training).
std::int64_t category_of(const PerColumnLayer& layer, std::size_t c, double x) {
    const std::int64_t begin = layer.offsets[c];
    const std::int64_t end = layer.offsets[c + 1];
    if (std::isnan(x)) {
        return std::isnan(layer.values[end - 1]) ? end - 1 - begin : unknown_category;
    }
    const auto value = static_cast<float>(x);
    for (std::int64_t i = begin; i < end; ++i) {
        if (static_cast<float>(layer.values[i]) == value) return i - begin;
    }
    return unknown_category;
}

// scikit-learn's KBinsDiscretizer: the number of inner edges at or below x (np.searchsorted(
// edges[1:-1], x, side="right")), so a value on an edge goes to the bin above it and values
// outside the range to the first or last bin. NaN has no bin.
double bin_of(const PerColumnLayer& layer, std::size_t c, double x) {
    if (std::isnan(x)) return nan;
    const double* inner_begin = layer.values.data() + layer.offsets[c] + 1;
    const double* inner_end = layer.values.data() + layer.offsets[c + 1] - 1;
    return static_cast<double>(std::upper_bound(inner_begin, inner_end, x) - inner_begin);
}

// One-hot outputs of category `category` (or unknown_category) over `outputs` columns, without
// the dropped one.
template <typename Value>
void one_hot(std::int64_t category, std::int64_t drop, double unknown, std::int64_t outputs,
             Value* out) {
    const double fill = category == unknown_category ? unknown : 0.0;
    std::fill(out, out + outputs, static_cast<Value>(fill));
    if (category == unknown_category || category == drop) return;
    out[drop >= 0 && category > drop ? category - 1 : category] = Value{1};
}

double mapped(ColumnOp op, double x) {
    switch (op) {
        case ColumnOp::Log: return std::log(x);
        case ColumnOp::Log1p: return std::log1p(x);
        case ColumnOp::Exp: return std::exp(x);
        case ColumnOp::Expm1: return std::expm1(x);
        case ColumnOp::Sqrt: return std::sqrt(x);
        default: return x;
    }
}

// Column c of one row into `out`; returns the outputs written.
template <typename Value>
std::int64_t encode_column(const PerColumnLayer& layer, std::size_t c, double x, Value* out) {
    const std::int64_t outputs = column_op_outputs(layer, c);
    switch (layer.ops[c]) {
        case ColumnOp::OneHot:
            one_hot(category_of(layer, c, x), layer.drop[c], layer.unknown[c], outputs, out);
            break;
        case ColumnOp::Ordinal: {
            const std::int64_t category = category_of(layer, c, x);
            // The NaN category encodes as NaN: scikit-learn's default encoded_missing_value.
            out[0] = static_cast<Value>(category == unknown_category ? layer.unknown[c]
                                        : std::isnan(x)              ? nan
                                                        : static_cast<double>(category));
            break;
        }
        case ColumnOp::BinOrdinal: out[0] = static_cast<Value>(bin_of(layer, c, x)); break;
        case ColumnOp::BinOneHot: {
            const double bin = bin_of(layer, c, x);
            const auto category = static_cast<std::int64_t>(std::isnan(bin) ? -1.0 : bin);
            one_hot(category, -1, nan, outputs, out);
            break;
        }
        default: out[0] = static_cast<Value>(mapped(layer.ops[c], x)); break;
    }
    return outputs;
}

template <typename Value>
void apply_per_column(const PerColumnLayer& layer, std::int64_t width, std::int64_t rows,
                      const Value* src, Value* dst) {
    const std::int64_t outputs = layer_output_width(layer, width);
    for (std::int64_t r = 0; r < rows; ++r) {
        Value* out = dst + r * outputs;
        for (std::size_t c = 0; c < layer.ops.size(); ++c) {
            out += encode_column(layer, c, static_cast<double>(src[r * width + c]), out);
        }
    }
}

// In double, in column order: the same bits on any thread count. A NaN makes the norm NaN (a
// max that skipped it would depend on its position); a zero norm divides by 1, as
// scikit-learn's normalize().
double row_norm(RowNorm norm, const double* begin, const double* end) {
    double result = 0.0;
    for (const double* x = begin; x != end; ++x) {
        if (std::isnan(*x)) return nan;
        if (norm == RowNorm::L1) result += std::abs(*x);
        if (norm == RowNorm::L2) result += *x * *x;
        if (norm == RowNorm::Max) result = std::max(result, std::abs(*x));
    }
    if (norm == RowNorm::L2) result = std::sqrt(result);
    return result == 0.0 ? 1.0 : result;
}

template <typename Value>
void apply_row_norm(const RowNormLayer& layer, std::int64_t width, std::int64_t rows,
                    const Value* src, Value* dst) {
    std::vector<double> row(static_cast<std::size_t>(width));
    for (std::int64_t r = 0; r < rows; ++r) {
        std::copy(src + r * width, src + (r + 1) * width, row.begin());
        const double norm = row_norm(layer.norm, row.data() + layer.begin, row.data() + layer.end);
        for (std::int64_t c = layer.begin; c < layer.end; ++c) row[c] /= norm;
        std::transform(row.begin(), row.end(), dst + r * width,
                       [](double x) { return static_cast<Value>(x); });
    }
}

// Each product multiplied up in input column order, in double: scikit-learn's order for the
// terms of PolynomialFeatures ((x0 * x1) * x2), whose float64 it then matches.
template <typename Value>
void apply_products(const ProductsLayer& layer, std::int64_t rows, const Value* src, Value* dst) {
    for (std::int64_t r = 0; r < rows; ++r) {
        const Value* row = src + r * layer.inputs;
        for (std::int64_t j = 0; j < layer.outputs; ++j) {
            const std::int64_t* powers = layer.powers.data() + j * layer.inputs;
            double product = 1.0;
            for (std::int64_t k = 0; k < layer.inputs; ++k) {
                for (std::int64_t p = 0; p < powers[k]; ++p) product *= static_cast<double>(row[k]);
            }
            dst[r * layer.outputs + j] = static_cast<Value>(product);
        }
    }
}

}  // namespace

bool is_column_layer(const Layer& layer) {
    return std::holds_alternative<ColumnsLayer>(layer) ||
           std::holds_alternative<PerColumnLayer>(layer) ||
           std::holds_alternative<RowNormLayer>(layer) ||
           std::holds_alternative<ProductsLayer>(layer);
}

template <typename Value>
void apply_column_layer(const Layer& layer, std::int64_t input_width, std::int64_t rows,
                        const Value* src, Value* dst) {
    if (const auto* columns = std::get_if<ColumnsLayer>(&layer)) {
        apply_columns(*columns, input_width, rows, src, dst);
    } else if (const auto* per_column = std::get_if<PerColumnLayer>(&layer)) {
        apply_per_column(*per_column, input_width, rows, src, dst);
    } else if (const auto* row_norm = std::get_if<RowNormLayer>(&layer)) {
        apply_row_norm(*row_norm, input_width, rows, src, dst);
    } else if (const auto* products = std::get_if<ProductsLayer>(&layer)) {
        apply_products(*products, rows, src, dst);
    } else {
        H5INFER_ASSERT(false && "not a column layer");
    }
}

template void apply_column_layer<float>(const Layer&, std::int64_t, std::int64_t, const float*,
                                        float*);
template void apply_column_layer<double>(const Layer&, std::int64_t, std::int64_t, const double*,
                                         double*);

}  // namespace h5infer::kernels
