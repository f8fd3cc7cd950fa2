#pragma once

// The layers that route, encode and combine columns (columns, per_column, row_norm, products),
// one plain C++ implementation that both backends run: a loop over values with a few compares
// each, with nothing for oneDNN or Eigen to speed up. The reference backend runs it in double,
// the oneDNN backend in float (arithmetic in double within a value, as its affine steps).

#include <cstdint>

#include "h5infer/model.hpp"

namespace h5infer::kernels {

/// Whether `layer` is a columns, per_column, row_norm or products layer.
[[nodiscard]] bool is_column_layer(const Layer& layer);

/// Computes a column layer (is_column_layer()) that receives `input_width` columns on `rows`
/// rows: `src` is rows x input_width, `dst` rows x layer_output_width(), both row-major and not
/// aliased. The layer must have passed validate(). Categories are compared as float32, the
/// precision h5infer reads inputs in, so a category matches its value read from any file.
template <typename Value>
void apply_column_layer(const Layer& layer, std::int64_t input_width, std::int64_t rows,
                        const Value* src, Value* dst);

}  // namespace h5infer::kernels
