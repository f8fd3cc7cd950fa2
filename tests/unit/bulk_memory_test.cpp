#include "h5infer/bulk_memory.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace h5infer {
namespace {

long minor_faults() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

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

TEST(WarmHeap, LaterAllocationsUnderTheThresholdTouchNoNewPages) {
    warm_heap(std::size_t{8} << 20U);
    // What HDF5 allocates and zeroes for each file it opens, four times over.
    constexpr std::size_t block_bytes = std::size_t{600} << 10U;
    const long before = minor_faults();
    std::vector<unsigned char*> blocks;
    for (int i = 0; i < 4; ++i) {
        auto* block = static_cast<unsigned char*>(std::malloc(block_bytes));  // NOLINT
        ASSERT_NE(block, nullptr);
        std::memset(block, i + 1, block_bytes);
        blocks.push_back(block);
    }
    const long faults = minor_faults() - before;
    long sum = 0;
    for (unsigned char* block : blocks) {
        sum += block[block_bytes - 1];
        std::free(block);  // NOLINT
    }
    EXPECT_EQ(sum, 1 + 2 + 3 + 4);
    // Each block a fresh mapping, as without warm_heap(): 150 faults each.
    EXPECT_LT(faults, 16);
}

}  // namespace
}  // namespace h5infer
