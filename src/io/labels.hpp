#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace h5infer::io {

/// Writes the index of the largest value of each of `rows` rows of `cols` values to `dst`, as
/// numpy.argmax does: the first index on ties, and the first NaN if a row holds one.
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
