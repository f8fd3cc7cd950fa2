#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

namespace h5infer {

/// Bytes from which a buffer is worth 2 MiB pages.
inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20U;

/// Asks Linux to back the whole pages of [data, data + bytes) with 2 MiB pages where it can
/// (madvise MADV_HUGEPAGE; transparent huge pages in "madvise" mode, Debian's default, only
/// serve memory advised so). Call it before the first write: the pages are chosen when they
/// are first touched. Does nothing for ranges under huge_page_bytes; the advice is a hint, so
/// its failure changes nothing but speed.
///
/// Why: the first touch of each 4 KiB page is a page fault, so a fresh array of a wide model's
/// weights costs a visible part of the start-up, several times per run, before any work; one
/// fault of a 2 MiB page covers 512 such pages (docs/performance.md, "2 MiB pages").
inline void advise_huge_pages(void* data, std::size_t bytes) {
    if (data == nullptr || bytes < huge_page_bytes) return;
    constexpr std::uintptr_t page = 4096;
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(page - 1);
    if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

/// Resizes an empty vector to `count` value-initialized elements, advising huge pages for its
/// storage before the elements are written.
template <typename T>
void resize_fresh(std::vector<T>& values, std::size_t count) {
    if (values.empty() && values.capacity() < count) {
        values.reserve(count);
        advise_huge_pages(values.data(), count * sizeof(T));
    }
    values.resize(count);
}

/// An uninitialized, 64-byte aligned block of bytes advised for huge pages (2 MiB aligned when
/// it is that large, so that all of it can be), for buffers handed to libraries as raw memory.
class BulkBuffer {
public:
    BulkBuffer() = default;
    explicit BulkBuffer(std::size_t bytes) {
        if (bytes == 0) return;
        const std::size_t alignment = bytes >= huge_page_bytes ? huge_page_bytes : 64;
        const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
        data_.reset(std::aligned_alloc(alignment, rounded));
        if (!data_) throw std::bad_alloc();
        advise_huge_pages(data_.get(), rounded);
        bytes_ = bytes;
    }

    [[nodiscard]] void* data() const { return data_.get(); }
    [[nodiscard]] std::size_t size() const { return bytes_; }

private:
    struct Free {
        void operator()(void* data) const { std::free(data); }  // NOLINT: aligned_alloc's pair
    };
    std::unique_ptr<void, Free> data_;
    std::size_t bytes_ = 0;
};

/// `count` uninitialized elements of a trivial type in a BulkBuffer: for buffers that are
/// always written before they are read (a chunk's rows, its predictions). Unlike a vector's
/// storage, a buffer of 2 MiB or more is 2 MiB aligned, so all of it can get huge pages (a
/// vector's storage of that size, not so aligned, got 4 KiB pages and their page faults).
template <typename T>
class BulkArray {
    static_assert(std::is_trivial_v<T>);

public:
    BulkArray() = default;
    explicit BulkArray(std::size_t count) : buffer_(count * sizeof(T)), count_(count) {}

    [[nodiscard]] T* data() const { return static_cast<T*>(buffer_.data()); }
    [[nodiscard]] std::size_t size() const { return count_; }

private:
    BulkBuffer buffer_;
    std::size_t count_ = 0;
};

/// Start-up, before anything else allocates: `bytes` of the C heap faulted in and handed back
/// to malloc, which keeps them for the allocations under heap_mmap_threshold that follow:
/// HDF5's metadata cache of every file it opens (half a MiB, zeroed), MPI's and oneDNN's
/// bookkeeping, the model's small arrays. Without it each of those pages costs a first-touch
/// fault during the run, where one madvise populates them all at start-up for much less per
/// page (docs/performance.md, "Warming the heap"). Larger buffers are BulkBuffers of their own.
inline constexpr std::size_t warm_heap_bytes = std::size_t{8} << 20U;
inline constexpr std::size_t heap_mmap_threshold = std::size_t{4} << 20U;
void warm_heap(std::size_t bytes = warm_heap_bytes);

}  // namespace h5infer
