// Tests of io::InputReader: read() through HDF5 and fetch() straight from the file agree on
// every layout fetch() accepts, fetch() is refused where the bytes in the file are not this
// machine's floats or doubles, read_ahead() brings rows into the page cache, and a file cut
// short under a running reader is an InputError.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "io/input.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer::io {
namespace {

constexpr std::int64_t rows = 1000;
constexpr std::int64_t cols = 7;

// Whole numbers, so that every stored type in the tests holds them exactly.
std::vector<float> values(std::int64_t count_rows = rows) {
    std::vector<float> all(static_cast<std::size_t>(count_rows * cols));
    for (std::size_t i = 0; i < all.size(); ++i) {
        all[i] = static_cast<float>(static_cast<std::int64_t>(i % 4001) - 2000);
    }
    return all;
}

/// How the test dataset is stored.
struct Storage {
    hid_t file_type = H5T_IEEE_F32LE;
    H5D_layout_t layout = H5D_CONTIGUOUS;
    hsize_t user_block = 0;
    bool write = true;  ///< false: created but never written (no storage allocated)
    std::int64_t rows = h5infer::io::rows;
    float shift = 0.0F;  ///< added to every value written
};

// Writes `values()` as /x with `storage`, with the C API: the wrappers only make what h5infer
// itself writes.
void write_file(const std::string& path, const Storage& storage) {
    const hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (storage.user_block > 0) H5Pset_userblock(fcpl, storage.user_block);
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    const hsize_t dims[2] = {static_cast<hsize_t>(storage.rows), static_cast<hsize_t>(cols)};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (storage.layout == H5D_CHUNKED) {
        const hsize_t chunk[2] = {64, static_cast<hsize_t>(cols)};
        H5Pset_chunk(dcpl, 2, chunk);
    } else {
        H5Pset_layout(dcpl, storage.layout);
    }
    const hid_t dataset =
        H5Dcreate2(file, "x", storage.file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(dataset, 0);
    if (storage.write) {
        std::vector<float> all = values(storage.rows);
        for (float& value : all) value += storage.shift;
        ASSERT_GE(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, all.data()),
                  0);
    }
    H5Dclose(dataset);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(file);
    H5Pclose(fcpl);
}

InputInfo info_of(const std::string& path) {
    return inspect_input({path, "/x"}, cols);
}

// Where /x's values start in the file.
std::int64_t data_offset(const std::string& path, hid_t memory_type) {
    const h5::Handle file = h5::open_file(path);
    const h5::Handle dataset = h5::open_dataset(file.get(), "/x");
    const std::optional<h5::ContiguousData> data = h5::contiguous_data(dataset.get(), memory_type);
    return data ? data->offset : -1;
}

// How many of the pages holding bytes [begin, end) of the file are in the page cache, and how
// many pages that is (mincore of a mapping, which itself reads nothing).
std::pair<std::int64_t, std::int64_t> cached_pages(const std::string& path, std::int64_t begin,
                                                   std::int64_t end) {
    const std::int64_t page = ::sysconf(_SC_PAGESIZE);
    const std::int64_t first = begin / page * page;
    const auto bytes = static_cast<std::size_t>(end - first);
    const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    void* mapping = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, descriptor, first);
    ::close(descriptor);
    if (mapping == MAP_FAILED) return {-1, -1};
    std::vector<unsigned char> pages((bytes + page - 1) / page);
    const int status = ::mincore(mapping, bytes, pages.data());
    ::munmap(mapping, bytes);
    if (status != 0) return {-1, -1};
    const auto cached = std::count_if(pages.begin(), pages.end(),
                                      [](unsigned char flags) { return (flags & 1U) != 0; });
    return {static_cast<std::int64_t>(cached), static_cast<std::int64_t>(pages.size())};
}

// Drops the file's pages from the page cache, as if it had not been read since boot (or lived
// on another machine's disks).
void evict(const std::string& path) {
    const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(descriptor, 0);
    ::fdatasync(descriptor);  // dirty pages cannot be dropped
    ::posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED);
    ::close(descriptor);
}

class InputReaderTest : public ::testing::Test {
protected:
    testing::TempDir dir_;
};

TEST_F(InputReaderTest, FetchGivesWhatReadGivesForContiguousFloatsAndDoubles) {
    // float64 with more rows than fetch() narrows in one piece (2^17 values).
    const std::vector<std::pair<std::string, Storage>> cases{
        {"float32", {H5T_IEEE_F32LE, H5D_CONTIGUOUS, 0, true, rows}},
        {"float32 after a user block", {H5T_IEEE_F32LE, H5D_CONTIGUOUS, 1024, true, rows}},
        {"float64", {H5T_IEEE_F64LE, H5D_CONTIGUOUS, 0, true, 40000}},
        {"float64 after a user block", {H5T_IEEE_F64LE, H5D_CONTIGUOUS, 512, true, 40000}},
    };
    for (const auto& [name, storage] : cases) {
        const std::string path = dir_.file("in.h5");
        write_file(path, storage);
        InputReader reader(inspect_input({path, "/x"}, cols));
        ASSERT_TRUE(reader.can_fetch()) << name;
        const std::vector<float> all = values(storage.rows);
        const std::int64_t n = storage.rows;
        // Odd rows and lengths, all rows, the last row.
        for (const auto& [begin, count] :
             {std::pair<std::int64_t, std::int64_t>{0, n}, {1, 1}, {333, 222}, {n - 5, 5}}) {
            std::vector<float> read(static_cast<std::size_t>(count * cols), -1.0F);
            std::vector<float> fetched(read.size(), -2.0F);
            reader.read(begin, count, read.data());
            reader.fetch(begin, count, fetched.data());
            EXPECT_EQ(std::memcmp(read.data(), all.data() + begin * cols, read.size() * 4), 0)
                << name;
            EXPECT_EQ(std::memcmp(fetched.data(), read.data(), read.size() * 4), 0)
                << name << ": rows " << begin << " + " << count;
        }
        EXPECT_GT(reader.fetch_seconds(), 0.0) << name;
    }
}

// h5infer narrows float64 itself; HDF5's conversion is the reference, also where a value is
// above the largest float but would round down to it (HDF5 makes it infinite).
TEST_F(InputReaderTest, NarrowsDoublesAsHdf5Does) {
    const double largest = std::numeric_limits<float>::max();
    const std::vector<double> edges = {3.4028235e38,
                                       -3.4028235e38,
                                       largest,
                                       -largest,
                                       1e39,
                                       -1e39,
                                       1e-46,
                                       -1e-40,
                                       0.1,
                                       1.0 / 3.0,
                                       std::numeric_limits<double>::quiet_NaN(),
                                       std::numeric_limits<double>::infinity(),
                                       -std::numeric_limits<double>::infinity(),
                                       0.0};
    const std::string path = dir_.file("edges.h5");
    {
        const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        const hsize_t dims[2] = {2, 7};
        const hid_t space = H5Screate_simple(2, dims, nullptr);
        const hid_t dataset =
            H5Dcreate2(file, "x", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, edges.data());
        H5Dclose(dataset);
        H5Sclose(space);
        H5Fclose(file);
    }
    std::vector<float> converted(edges.size());
    {
        const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        const hid_t dataset = H5Dopen2(file, "x", H5P_DEFAULT);
        H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, converted.data());
        H5Dclose(dataset);
        H5Fclose(file);
    }
    EXPECT_TRUE(std::isinf(converted[0])) << "HDF5 made " << converted[0];
    InputReader reader(inspect_input({path, "/x"}, 7));
    ASSERT_TRUE(reader.can_fetch());
    std::vector<float> read(edges.size(), -1.0F);
    std::vector<float> fetched(edges.size(), -2.0F);
    reader.read(0, 2, read.data());
    reader.fetch(0, 2, fetched.data());
    for (std::size_t i = 0; i < edges.size(); ++i) {
        EXPECT_EQ(std::memcmp(&read[i], &converted[i], 4), 0) << edges[i] << ": " << read[i];
        EXPECT_EQ(std::memcmp(&fetched[i], &converted[i], 4), 0) << edges[i] << ": " << fetched[i];
    }
}

TEST_F(InputReaderTest, FetchReadsTheTargetOfAnExternalLink) {
    // in.h5:/x is an external link to target.h5:/x; in.h5 has data of its own at the offset
    // where target.h5 keeps /x, so reading the wrong file gives other values.
    const std::string target = dir_.file("target.h5");
    write_file(target, {});
    const std::string path = dir_.file("in.h5");
    write_file(path, {H5T_IEEE_F32LE, H5D_CONTIGUOUS, 0, true, 2 * rows, 0.5F});
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(H5Lmove(file, "x", file, "own", H5P_DEFAULT, H5P_DEFAULT), 0);
    // A name relative to in.h5's directory (not the working directory), as links usually are.
    ASSERT_GE(H5Lcreate_external("target.h5", "/x", file, "x", H5P_DEFAULT, H5P_DEFAULT), 0);
    H5Fclose(file);
    InputReader reader(info_of(path));
    ASSERT_TRUE(reader.can_fetch());
    std::vector<float> read(static_cast<std::size_t>(rows * cols), -1.0F);
    std::vector<float> fetched(read.size(), -2.0F);
    reader.read(0, rows, read.data());
    reader.fetch(0, rows, fetched.data());
    const std::vector<float> all = values();
    EXPECT_EQ(std::memcmp(read.data(), all.data(), all.size() * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(fetched.data(), all.data(), all.size() * sizeof(float)), 0);
}

TEST_F(InputReaderTest, ThreadsFetchAtOnce) {
    for (const hid_t type : {H5T_IEEE_F32LE, H5T_IEEE_F64LE}) {
        const std::string path = dir_.file("in.h5");
        write_file(path, {type, H5D_CONTIGUOUS, 0, true, rows});
        InputReader reader(info_of(path));
        ASSERT_TRUE(reader.can_fetch());
        std::vector<float> fetched(static_cast<std::size_t>(rows * cols), -1.0F);
        std::vector<std::thread> threads;
        constexpr int count = 4;
        for (int t = 0; t < count; ++t) {
            threads.emplace_back([&, t] {
                const std::int64_t begin = rows * t / count;
                const std::int64_t end = rows * (t + 1) / count;
                for (std::int64_t row = begin; row < end; row += 10) {
                    const std::int64_t n = std::min<std::int64_t>(10, end - row);
                    reader.fetch(row, n, fetched.data() + row * cols);
                }
            });
        }
        for (std::thread& thread : threads) thread.join();
        const std::vector<float> all = values();
        EXPECT_EQ(std::memcmp(fetched.data(), all.data(), all.size() * sizeof(float)), 0);
    }
}

TEST_F(InputReaderTest, NoFetchWhereTheFileDoesNotHoldTheFloatsAsOneRun) {
    const std::vector<std::pair<std::string, Storage>> cases{
        {"big-endian float32", {H5T_IEEE_F32BE, H5D_CONTIGUOUS, 0, true}},
        {"big-endian float64", {H5T_IEEE_F64BE, H5D_CONTIGUOUS, 0, true}},
        {"int32", {H5T_STD_I32LE, H5D_CONTIGUOUS, 0, true}},
        {"chunked", {H5T_IEEE_F32LE, H5D_CHUNKED, 0, true}},
        {"never written", {H5T_IEEE_F32LE, H5D_CONTIGUOUS, 0, false}},
    };
    for (const auto& [name, storage] : cases) {
        const std::string path = dir_.file(name + ".h5");
        write_file(path, storage);
        InputReader reader(info_of(path));
        EXPECT_FALSE(reader.can_fetch()) << name;
        // read() still gives the values, or NaN where nothing was written (never the fill
        // value, which is no value of the data).
        std::vector<float> read(static_cast<std::size_t>(3 * cols), -1.0F);
        reader.read(10, 3, read.data());
        const std::vector<float> all = values();
        for (std::size_t i = 0; i < read.size(); ++i) {
            if (storage.write) {
                ASSERT_EQ(read[i], all[10 * cols + i]) << name << " value " << i;
            } else {
                ASSERT_TRUE(std::isnan(read[i])) << name << " value " << i;
            }
        }
    }
}

TEST_F(InputReaderTest, ReadAheadBringsTheRowsIntoThePageCache) {
    constexpr std::int64_t many = 50000;  // 1.4 MB of floats, 2.8 MB of doubles
    for (const auto& [type, memory_type, row_bytes] :
         {std::tuple{H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, cols * 4},
          std::tuple{H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, cols * 8}}) {
        const std::string path = dir_.file("in.h5");
        write_file(path, {type, H5D_CONTIGUOUS, 0, true, many});
        const InputReader reader(info_of(path));
        ASSERT_TRUE(reader.can_fetch());
        EXPECT_EQ(reader.row_bytes(), row_bytes);
        // The second half of the rows, which nothing has read since they were evicted.
        const std::int64_t offset = data_offset(path, memory_type);
        ASSERT_GE(offset, 0);
        const std::int64_t begin = offset + many / 2 * row_bytes;
        const std::int64_t end = offset + many * row_bytes;
        evict(path);
        if (cached_pages(path, begin, end).first != 0) {
            GTEST_SKIP() << "the file system of " << path << " keeps files in memory";
        }
        reader.read_ahead(many / 2, many / 2);
        // The reads run in the background: wait for them, up to a time no disk needs for 3 MB.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        std::pair<std::int64_t, std::int64_t> cached = cached_pages(path, begin, end);
        while (cached.first < cached.second && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            cached = cached_pages(path, begin, end);
        }
        EXPECT_EQ(cached.first, cached.second) << "pages of rows " << many / 2 << ".." << many;
        EXPECT_GT(cached.second, 150);
    }
}

TEST_F(InputReaderTest, ReadAheadOfAChunkedDatasetChangesNothing) {
    const std::string path = dir_.file("in.h5");
    write_file(path, {H5T_IEEE_F32LE, H5D_CHUNKED, 0, true});
    InputReader reader(info_of(path));
    ASSERT_FALSE(reader.can_fetch());
    reader.read_ahead(0, rows);
    std::vector<float> read(static_cast<std::size_t>(rows * cols), -1.0F);
    reader.read(0, rows, read.data());
    const std::vector<float> all = values();
    EXPECT_EQ(std::memcmp(read.data(), all.data(), all.size() * sizeof(float)), 0);
}

TEST_F(InputReaderTest, FileCutShortWhileReadingIsAnInputError) {
    const std::string path = dir_.file("in.h5");
    write_file(path, {});
    InputReader reader(info_of(path));
    ASSERT_TRUE(reader.can_fetch());
    std::optional<h5::ContiguousData> data;
    {
        const h5::Handle file = h5::open_file(path);
        const h5::Handle dataset = h5::open_dataset(file.get(), "/x");
        data = h5::contiguous_data(dataset.get(), H5T_NATIVE_FLOAT);
    }
    ASSERT_TRUE(data);
    // Another process truncating the file under the job: the last 100 rows are gone.
    const auto kept = static_cast<std::int64_t>((rows - 100) * cols * sizeof(float));
    ASSERT_EQ(::truncate(path.c_str(), static_cast<::off_t>(data->offset + kept)), 0);
    std::vector<float> fetched(static_cast<std::size_t>(rows * cols));
    reader.fetch(0, 10, fetched.data());  // still there
    try {
        reader.fetch(rows - 50, 50, fetched.data());
        FAIL() << "no error for rows past the end of the file";
    } catch (const InputError& error) {
        const std::string message = error.what();
        EXPECT_NE(message.find("rows 950..1000"), std::string::npos) << message;
        EXPECT_NE(message.find(path + "':/x"), std::string::npos) << message;
        EXPECT_NE(message.find("truncated"), std::string::npos) << message;
    }
}

}  // namespace
}  // namespace h5infer::io

namespace h5infer::io {
namespace {

// The same rows stored four ways: /x (the model's order), /p (columns reversed, named), /g (one
// 1-D dataset per column, of alternating types) and /t (a compound of reversed fields).
void write_named_layouts(const std::string& path, const std::vector<std::string>& names) {
    const std::vector<float> all = values();
    h5::Handle file = h5::create_file(path);
    h5::Handle x = h5::create_dataset(file.get(), "/x", {rows, cols}, H5T_IEEE_F32LE);
    h5::write_all(x.get(), all.data());
    std::vector<float> reversed;
    for (std::int64_t i = 0; i < rows; ++i) {
        for (std::int64_t j = cols - 1; j >= 0; --j) reversed.push_back(all[i * cols + j]);
    }
    h5::Handle p = h5::create_dataset(file.get(), "/p", {rows, cols}, H5T_IEEE_F64LE,
                                      h5::Layout::Chunked, 100);
    h5::write_all(p.get(), reversed.data());
    h5::write_attribute(p.get(), "columns", std::vector<std::string>(names.rbegin(), names.rend()));
    for (std::int64_t j = 0; j < cols; ++j) {
        std::vector<float> column;
        for (std::int64_t i = 0; i < rows; ++i) column.push_back(all[i * cols + j]);
        h5::Handle dataset =
            h5::create_dataset(file.get(), "/g/" + names[static_cast<std::size_t>(j)], {rows},
                               j % 2 == 0 ? H5T_STD_I16LE : H5T_IEEE_F64BE);
        h5::write_all(dataset.get(), column.data());
    }
    h5::Handle type(H5Tcreate(H5T_COMPOUND, cols * sizeof(double)));
    for (std::int64_t j = 0; j < cols; ++j) {
        H5Tinsert(type.get(), names[static_cast<std::size_t>(cols - 1 - j)].c_str(),
                  static_cast<std::size_t>(j) * sizeof(double), H5T_NATIVE_DOUBLE);
    }
    std::vector<double> records(reversed.begin(), reversed.end());
    h5::Handle t =
        h5::create_dataset(file.get(), "/t", {rows}, type.get(), h5::Layout::Chunked, 64);
    ASSERT_GE(H5Dwrite(t.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, records.data()), 0);
}

TEST_F(InputReaderTest, ColumnsByNameReadLikeTheOrderedMatrixAtAnyRows) {
    std::vector<std::string> names;
    for (std::int64_t j = 0; j < cols; ++j) names.push_back("c" + std::to_string(j));
    const std::string path = dir_.file("named.h5");
    write_named_layouts(path, names);
    const ColumnRequest request{cols, names, ColumnNames::Reorder};
    InputReader matrix(inspect_input({path, "/x"}, request));
    for (const std::string dataset : {"/p", "/g", "/t"}) {
        const InputInfo info = inspect_input({path, dataset}, request);
        EXPECT_EQ(info.sources.size(), static_cast<std::size_t>(cols)) << dataset;
        EXPECT_EQ(info.rows, rows);
        InputReader reader(info);
        EXPECT_FALSE(reader.can_fetch());
        for (const auto& [begin, count] : std::vector<std::pair<std::int64_t, std::int64_t>>{
                 {0, rows}, {0, 1}, {999, 1}, {63, 130}, {500, 0}}) {
            std::vector<float> want(static_cast<std::size_t>(count * cols), -1.0F);
            std::vector<float> got(want.size(), -2.0F);
            matrix.read(begin, count, want.data());
            reader.read(begin, count, got.data());
            EXPECT_EQ(got, want) << dataset << " rows " << begin << " + " << count;
        }
    }
}

}  // namespace
}  // namespace h5infer::io
