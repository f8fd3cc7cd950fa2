// Tests of io::InputReader: read() through HDF5 and fetch() straight from the file agree on
// every layout fetch() accepts, fetch() is refused where the bytes in the file are not this
// machine's floats or doubles, and a file cut short under a running reader is an InputError.

#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
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
        // read() still gives the values (or the fill value, 0, where nothing was written).
        std::vector<float> read(static_cast<std::size_t>(3 * cols), -1.0F);
        reader.read(10, 3, read.data());
        const std::vector<float> all = values();
        for (std::size_t i = 0; i < read.size(); ++i) {
            const float want = storage.write ? all[10 * cols + i] : 0.0F;
            ASSERT_EQ(read[i], want) << name << " value " << i;
        }
    }
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
