#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "h5infer/bulk_memory.hpp"

namespace h5infer {

void warm_heap(std::size_t bytes) {
#ifdef __GLIBC__
    // Blocks under the mmap threshold come from the heap, and freed they stay at its top while
    // it holds less than the trim threshold: the next allocations reuse the touched pages.
    (void)::mallopt(M_MMAP_THRESHOLD, static_cast<int>(heap_mmap_threshold));
    (void)::mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * bytes + heap_mmap_threshold));
    std::vector<void*> blocks;
    blocks.reserve(bytes / huge_page_bytes + 1);
    for (std::size_t held = 0; held < bytes; held += huge_page_bytes) {
        void* block = std::malloc(huge_page_bytes);  // NOLINT: the heap itself is the point
        if (block == nullptr) break;
        blocks.push_back(block);
    }
    constexpr std::uintptr_t page = 4096;
    for (void* block : blocks) {
        const auto begin = (reinterpret_cast<std::uintptr_t>(block) + page - 1) & ~(page - 1);
        const auto end = (reinterpret_cast<std::uintptr_t>(block) + huge_page_bytes) & ~(page - 1);
        // Adjacent blocks end up in one advised mapping, whose aligned 2 MiB stretches may get
        // huge pages; one madvise populates the pages without a trap each (Linux 5.14+), else
        // each page is touched.
        advise_huge_pages(block, huge_page_bytes);
        bool populated = false;
#ifdef MADV_POPULATE_WRITE
        populated =
            ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) == 0;
#endif
        if (!populated) {
            for (std::uintptr_t at = begin; at < end; at += page) {
                *reinterpret_cast<volatile char*>(at) = 0;
            }
        }
    }
    for (void* block : blocks) std::free(block);  // NOLINT
#else
    (void)bytes;
#endif
}

}  // namespace h5infer
