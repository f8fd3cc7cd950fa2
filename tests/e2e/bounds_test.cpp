// Inputs whose layout or declared size would make a run unbounded: a dataset decoded whole by
// HDF5 on every read (one huge gzip chunk), and a dataset declaring more rows than the output's
// file system can hold. Each is refused before any work with the figures and the fix, and
// leaves nothing in the output directory.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"

namespace h5infer::testing {
namespace {

constexpr std::int64_t features = 16;

class Bounds : public ::testing::Test {
protected:
    void SetUp() override {
        GenerateConfig config;
        config.model_path = model();
        config.features = features;
        config.hidden = {8};
        config.outputs = 2;
        generate(config);
        std::filesystem::create_directory(out_dir());
    }

    std::string model() const { return dir_ / "model.h5"; }
    std::string out_dir() const { return dir_ / "out"; }

    // A file holding the dataset `path` of `dims` float32 values, zeros written through
    // `layout` in chunks of `chunk_rows` rows (nothing written when `write` is false).
    std::string data_file(const std::string& name, const std::string& path,
                          const std::vector<std::int64_t>& dims, h5::Layout layout,
                          std::int64_t chunk_rows, bool write = true) const {
        const std::string file_path = dir_ / name;
        h5::Handle file = h5::create_file(file_path);
        h5::Handle data =
            h5::create_dataset(file.get(), path, dims, H5T_IEEE_F32LE, layout, chunk_rows);
        if (write) {
            std::vector<float> zeros(static_cast<std::size_t>(dims[0] * dims[1]), 0.0F);
            h5::write_all(data.get(), zeros.data());
        }
        return file_path;
    }

    // Runs h5infer on one rank and checks the refusal: its code, each of `messages`, printed
    // once, and nothing left in the output directory (no output, partial or lock file).
    void expect_refusal(const std::vector<std::string>& args, ExitCode code,
                        const std::vector<std::string>& messages) const {
        const CommandResult result = run_h5infer(args, {1});
        EXPECT_EQ(result.exit_code, static_cast<int>(code)) << result.err;
        for (const std::string& message : messages) {
            EXPECT_NE(result.err.find(message), std::string::npos)
                << "expected '" << message << "' in: " << result.err;
        }
        EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
        EXPECT_TRUE(list_dir(out_dir()).empty()) << "left in the output directory";
    }

    TempDir dir_;
};

// 1,200,000 x 16 float32 zeros in one gzip chunk: a file of well under a megabyte that HDF5
// would inflate whole (73 MiB) for every chunk of rows a rank reads.
TEST_F(Bounds, InputInOneHugeCompressedChunkIsRefusedWithTheRepackLine) {
    constexpr std::int64_t rows = 1200000;
    const std::string input =
        data_file("one-chunk.h5", "/x", {rows, features}, h5::Layout::ChunkedGzip, rows);
    expect_refusal(
        {"run", "--model", model(), "--input", input + ":/x", "--output", out_dir() + "/preds.h5"},
        ExitCode::Input,
        {"dataset '/x' in '" + input + "' is stored in filtered (compressed) chunks of " +
             std::to_string(rows) + " x 16 values, 74 MiB each once decompressed",
         "more than the 64 MiB per chunk h5infer allows",
         "h5repack -l /x:CHUNK=65536x16 " + input + " NEW.h5"});
}

TEST_F(Bounds, CopyDatasetInOneHugeCompressedChunkIsRefused) {
    constexpr std::int64_t rows = 300;
    constexpr std::int64_t wide = 70000;  // 300 x 70000 float32: 80 MiB in one chunk
    const std::string input =
        data_file("copy.h5", "/x", {rows, features}, h5::Layout::Contiguous, 0);
    {
        h5::Handle file = h5::open_file(input, true);
        h5::Handle ids = h5::create_dataset(file.get(), "/ids", {rows, wide}, H5T_IEEE_F32LE,
                                            h5::Layout::ChunkedGzip, rows);
        std::vector<float> zeros(static_cast<std::size_t>(rows * wide), 0.0F);
        h5::write_all(ids.get(), zeros.data());
    }
    expect_refusal({"run", "--model", model(), "--input", input + ":/x", "--output",
                    out_dir() + "/preds.h5", "--copy", "/ids"},
                   ExitCode::Input,
                   {"dataset '/ids' in '" + input + "' is stored in filtered (compressed) chunks",
                    "h5repack -l /ids:CHUNK=14x70000 " + input + " NEW.h5"});
}

// 2^40 rows declared, chunked, nothing written: a file of a few kilobytes whose predictions
// (2^40 x 2 x 4 bytes) no disk holds.
TEST_F(Bounds, OutputLargerThanTheFreeSpaceIsRefusedWithTheFigures) {
    constexpr std::int64_t rows = std::int64_t{1} << 40;
    const std::string input =
        data_file("huge.h5", "/x", {rows, features}, h5::Layout::Chunked, 1024, false);
    // Nothing of it is written: --unwritten-rows nan lets it past that refusal to this one.
    expect_refusal({"run", "--model", model(), "--input", input + ":/x", "--output-dir", out_dir(),
                    "--unwritten-rows", "nan"},
                   ExitCode::Io,
                   {"the predictions of 1 input(s) need 8796093022208 bytes (8.0 TiB) in output "
                    "directory '" +
                        out_dir() + "', which has ",
                    "the largest is '" + input + ":/x'"});
}

}  // namespace
}  // namespace h5infer::testing
