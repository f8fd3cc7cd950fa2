// Tests of src/io/labels: the argmax behind `run --labels` and the choice of the label type.
#include "io/labels.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace h5infer::io {
namespace {

TEST(ArgmaxRows, PicksTheLargestFirstOnTiesAndNoClassForARowWithNan) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> values = {0.1F, 0.7F, 0.2F,   // 1
                                       0.4F, 0.2F, 0.4F,   // tie: 0
                                       0.5F, nan,  nan,    // no class
                                       nan,  0.9F, 0.1F,   // no class
                                       0.2F, 0.3F, nan,    // no class
                                       -3.F, -1.F, -2.F,   // 1
                                       0.0F, inf,  0.0F,   // 1
                                       0.0F, 0.0F, 0.0F};  // 0
    std::vector<std::int64_t> got(8, 7);
    argmax_rows(values.data(), 8, 3, got.data());
    EXPECT_EQ(got, (std::vector<std::int64_t>{1, 0, no_class, no_class, no_class, 1, 1, 0}));
}

TEST(ArgmaxRows, OneColumnIsAlwaysZero) {
    const std::vector<float> values = {3.0F, -1.0F};
    std::vector<std::int64_t> got(2, -1);
    argmax_rows(values.data(), 2, 1, got.data());
    EXPECT_EQ(got, (std::vector<std::int64_t>{0, 0}));
}

TEST(IntegerLabels, DecimalIntegersAsPythonWritesThem) {
    EXPECT_EQ(integer_labels({"0", "1", "-3", "17"}), (std::vector<std::int64_t>{0, 1, -3, 17}));
    EXPECT_EQ(integer_labels({"123456789012345678"}),
              (std::vector<std::int64_t>{123456789012345678}));
}

TEST(IntegerLabels, AnythingElseStaysAString) {
    for (const std::vector<std::string>& labels :
         std::vector<std::vector<std::string>>{{"0", "cat"},
                                               {"1.0"},
                                               {"+1"},
                                               {"007"},
                                               {"-0"},
                                               {""},
                                               {"-"},
                                               {" 1"},
                                               {"True"},
                                               {"1234567890123456789"}}) {
        EXPECT_FALSE(integer_labels(labels).has_value()) << labels.back();
    }
}

TEST(LongestLabel, CountsBytesAndIsAtLeastOne) {
    EXPECT_EQ(longest_label({"", ""}), 1U);
    EXPECT_EQ(longest_label({"a", "\xc3\xa9t\xc3\xa9"}), 5U);
}

}  // namespace
}  // namespace h5infer::io
