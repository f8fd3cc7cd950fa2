#pragma once

// Internal to src/model/: the widths and checks of the layers that route, encode and combine
// columns (columns, per_column, row_norm, products), apart from the dense, affine and
// activation layers of model.cpp.

#include <cstdint>
#include <optional>

#include "h5infer/model.hpp"

namespace h5infer {

/// Output width of a columns, per_column, row_norm or products layer receiving `input_width`
/// columns; nullopt for the other kinds.
[[nodiscard]] std::optional<std::int64_t> column_layer_output_width(const Layer& layer,
                                                                    std::int64_t input_width);

/// Checks a columns, per_column, row_norm or products layer receiving `width` columns (indices
/// in range, sizes consistent, no NaN where none is allowed); throws ModelError naming layer
/// `index`. Does nothing for the other kinds.
void validate_column_layer(const Layer& layer, std::int64_t width, std::size_t index);

/// The values a columns, per_column, row_norm or products layer holds (0 for the other kinds).
[[nodiscard]] std::int64_t column_layer_parameters(const Layer& layer);

}  // namespace h5infer
