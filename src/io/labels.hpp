#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace h5infer::io {

/// What argmax_rows() writes for a row that has no class: one whose predictions hold a NaN
/// (its input held a NaN or an infinity), where numpy.argmax would name the first NaN's class.
inline constexpr std::int64_t no_class = -1;

/// What `run --labels` writes for a row without a class when the labels are integers (the
/// smallest int64: -1 is a common class label); string labels get the empty string. Each is
/// also the fill value of the labels dataset.
inline constexpr std::int64_t no_integer_label = std::numeric_limits<std::int64_t>::min();

/// Writes the index of the largest value of each of `rows` rows of `cols` values to `dst`: the
/// first index on ties, as numpy.argmax, and no_class for a row holding a NaN.
void argmax_rows(const float* values, std::int64_t rows, std::int64_t cols, std::int64_t* dst);

/// The labels as integers when every label is a decimal integer written as Python's str()
/// writes one ("0", "-3", "17": no sign on positives, no leading zeros, at most 18 digits);
/// nullopt otherwise. Integer class labels are then stored as int64, all others as strings.
[[nodiscard]] std::optional<std::vector<std::int64_t>> integer_labels(
    const std::vector<std::string>& labels);

/// Largest label length in bytes, at least 1: the size of a fixed-length string type that
/// holds every label.
[[nodiscard]] std::size_t longest_label(const std::vector<std::string>& labels);

}  // namespace h5infer::io
