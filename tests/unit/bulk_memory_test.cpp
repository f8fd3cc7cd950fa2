#include "h5infer/bulk_memory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace h5infer {
namespace {

bool aligned(const void* data, std::uintptr_t alignment) {
    return reinterpret_cast<std::uintptr_t>(data) % alignment == 0;
}

TEST(BulkBuffer, IsAlignedForHugePagesWhenLargeAndForVectorsOtherwise) {
    const BulkBuffer large(3 * huge_page_bytes + 5);
    EXPECT_EQ(large.size(), 3 * huge_page_bytes + 5);
    EXPECT_TRUE(aligned(large.data(), huge_page_bytes));
    const BulkBuffer small(100);
    EXPECT_TRUE(aligned(small.data(), 64));
    const BulkBuffer none(0);
    EXPECT_EQ(none.data(), nullptr);
    EXPECT_EQ(none.size(), 0U);
}

TEST(BulkArray, HoldsItsElementsWritably) {
    BulkArray<float> values(huge_page_bytes / sizeof(float) + 3);
    ASSERT_NE(values.data(), nullptr);
    std::fill_n(values.data(), values.size(), 1.5F);
    EXPECT_EQ(values.data()[values.size() - 1], 1.5F);
    const BulkArray<float> moved = std::move(values);
    EXPECT_EQ(moved.data()[0], 1.5F);
}

TEST(ResizeFresh, ValueInitializesLikeResize) {
    std::vector<float> large;
    resize_fresh(large, huge_page_bytes);  // 4x the threshold in bytes: advised
    EXPECT_EQ(large.size(), huge_page_bytes);
    EXPECT_TRUE(std::all_of(large.begin(), large.end(), [](float v) { return v == 0.0F; }));
    std::vector<int> small{7};
    resize_fresh(small, 3);  // not empty: a plain resize keeps what is there
    EXPECT_EQ(small, (std::vector<int>{7, 0, 0}));
}

}  // namespace
}  // namespace h5infer
