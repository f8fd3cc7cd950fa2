#include "io/labels.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace h5infer::io {
namespace {

std::optional<std::int64_t> canonical_integer(const std::string& text) {
    const bool negative = !text.empty() && text[0] == '-';
    const std::string digits = negative ? text.substr(1) : text;
    constexpr std::size_t max_digits = std::numeric_limits<std::int64_t>::digits10;
    if (digits.empty() || digits.size() > max_digits || (digits[0] == '0' && digits.size() > 1) ||
        (negative && digits == "0")) {
        return std::nullopt;
    }
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    const std::int64_t magnitude = std::stoll(digits);
    return negative ? -magnitude : magnitude;
}

}  // namespace

void argmax_rows(const float* values, std::int64_t rows, std::int64_t cols, std::int64_t* dst) {
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* row = values + r * cols;
        std::int64_t best = 0;
        for (std::int64_t c = 0; c < cols; ++c) {
            if (std::isnan(row[c])) {
                best = no_class;
                break;
            }
            if (row[c] > row[best]) best = c;
        }
        dst[r] = best;
    }
}

std::optional<std::vector<std::int64_t>> integer_labels(const std::vector<std::string>& labels) {
    std::vector<std::int64_t> numbers;
    numbers.reserve(labels.size());
    for (const std::string& label : labels) {
        const std::optional<std::int64_t> number = canonical_integer(label);
        if (!number) return std::nullopt;
        numbers.push_back(*number);
    }
    return numbers;
}

std::size_t longest_label(const std::vector<std::string>& labels) {
    std::size_t longest = 1;
    for (const std::string& label : labels) longest = std::max(longest, label.size());
    return longest;
}

}  // namespace h5infer::io
