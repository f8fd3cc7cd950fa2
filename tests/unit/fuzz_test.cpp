// Mutation fuzzing of the readers of untrusted files: the native model reader, the ONNX
// importer and the CSV reader. Each mutated input runs in a child process of its own under a
// 2 GiB address-space limit and a 20 s alarm, and must end in success or an h5infer error
// (what the CLI turns into a documented exit code): never a signal, another exception, a
// hang or more memory. Seeds are fixed, so a failure names a case that fails again.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "io/csv.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer::testing {
namespace {

constexpr rlim_t child_address_space = rlim_t{2} << 30;
constexpr unsigned child_seconds = 20;
constexpr int exit_clean = 0;
constexpr int exit_other_exception = 90;

// Runs `work` in a child under the limits; "" when it ended cleanly, else how it ended.
std::string run_isolated(const std::function<void()>& work) {
    const pid_t child = ::fork();
    if (child == 0) {
        const rlimit limit{child_address_space, child_address_space};
        ::setrlimit(RLIMIT_AS, &limit);
        ::alarm(child_seconds);
        try {
            work();
        } catch (const Error&) {
            ::_exit(exit_clean);
        } catch (const std::exception& error) {
            std::fprintf(stderr, "not an h5infer error: %s\n", error.what());
            ::_exit(exit_other_exception);
        } catch (...) {
            ::_exit(exit_other_exception);
        }
        ::_exit(exit_clean);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    if (WEXITSTATUS(status) == exit_other_exception) return "threw a non-h5infer exception";
    return WEXITSTATUS(status) == exit_clean ? "" : "exit " + std::to_string(WEXITSTATUS(status));
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// One deterministic mutation of `bytes`: flips, a truncation, an insertion of `extras` (the
// format's own troublemakers), a duplicated span, or a mix.
std::string mutate(std::string bytes, std::mt19937_64& random,
                   const std::vector<std::string>& extras) {
    auto at = [&](std::size_t size) {
        return size == 0 ? std::size_t{0} : static_cast<std::size_t>(random() % size);
    };
    const int kind = static_cast<int>(random() % 5);
    if (kind == 0 || kind == 4) {
        const int flips = 1 + static_cast<int>(random() % 8);
        for (int i = 0; i < flips && !bytes.empty(); ++i) {
            bytes[at(bytes.size())] ^= static_cast<char>(1U << (random() % 8));
        }
    }
    if (kind == 1) bytes.resize(at(bytes.size()));
    if (kind == 2 || kind == 4) bytes.insert(at(bytes.size() + 1), extras[at(extras.size())]);
    if (kind == 3 && !bytes.empty()) {
        const std::size_t begin = at(bytes.size());
        const std::size_t length = 1 + at(std::min<std::size_t>(bytes.size() - begin, 64));
        bytes.insert(at(bytes.size() + 1), bytes.substr(begin, length));
    }
    return bytes;
}

// Mutates `original` `cases` times from `seed`, writes each mutation that is `allowed` to `path`
// and runs `read` on it.
void fuzz_file(const std::string& original, const std::string& path, std::uint64_t seed, int cases,
               const std::vector<std::string>& extras,
               const std::function<void(const std::string&)>& read,
               const std::function<bool(const std::string&)>& allowed) {
    std::mt19937_64 random(seed);
    for (int i = 0; i < cases; ++i) {
        const std::string mutated = mutate(original, random, extras);
        if (!allowed(mutated)) continue;
        write_bytes(path, mutated);
        const std::string outcome = run_isolated([&] { read(path); });
        EXPECT_EQ(outcome, "") << "case " << i << " of seed " << seed << " (kept in " << path << "."
                               << i << ".failed)";
        if (!outcome.empty()) {
            std::filesystem::copy_file(path, path + "." + std::to_string(i) + ".failed");
        }
    }
}

// One mutation of a native model through the HDF5 API: an attribute replaced by another type
// or an odd value, or a layer's member removed or replaced by a dataset of another shape
// (declared, never written). Byte flips of the file itself are not used: HDF5 1.10.8 crashes
// inside the library on some (SIGSEGV in H5HG_read for a flipped global heap, where the
// variable-length string attributes live, and in H5A__close for a flipped attribute message),
// which no caller can avoid; this test found both.
void mutate_model(const std::string& path, std::mt19937_64& random) {
    h5::Handle file = h5::open_file(path, true);
    const std::vector<std::string> layers =
        h5::children(h5::open_group(file.get(), "/layers").get());
    const std::string layer = "/layers/" + layers[random() % layers.size()];
    const std::vector<std::string> members = h5::children(h5::open_group(file.get(), layer).get());
    const std::vector<std::string> attributes{"kind",        "function", "format", "format_version",
                                              "input_width", "alpha",    "beta",   "axis"};
    const std::string attribute = attributes[random() % attributes.size()];
    h5::Handle location =
        random() % 2 == 0 ? h5::open_group(file.get(), "/") : h5::open_group(file.get(), layer);
    const std::vector<std::int64_t> odd_ints{-1, 0, 2, std::int64_t{1} << 40,
                                             std::numeric_limits<std::int64_t>::max()};
    const std::vector<std::int64_t> odd_dims{0, 1, 3, std::int64_t{1} << 31};
    switch (random() % 5) {
        case 0:
            h5::write_attribute(location.get(), attribute, std::string(random() % 300, 'x'));
            return;
        case 1:
            h5::write_attribute(location.get(), attribute, odd_ints[random() % odd_ints.size()]);
            return;
        case 2: h5::write_attribute(location.get(), attribute, std::nan("")); return;
        default: break;
    }
    if (members.empty()) return;
    const std::string member = layer + "/" + members[random() % members.size()];
    h5::delete_link(file.get(), member);
    if (random() % 4 == 0) return;
    std::vector<std::int64_t> dims(1 + random() % 3);
    for (std::int64_t& dim : dims) dim = odd_dims[random() % odd_dims.size()];
    try {
        h5::Handle replaced =
            h5::create_dataset(file.get(), member, dims, H5T_IEEE_F32LE, h5::Layout::Chunked, 1);
    } catch (const IoError&) {
        // A shape HDF5 itself refuses (a chunk of 4 GiB or more): the member stays deleted.
    }
}

TEST(Fuzz, NativeModelReaderEndsCleanlyOnMutatedFiles) {
    TempDir dir;
    GenerateConfig config;
    config.model_path = dir.file("model.h5");
    config.features = 5;
    config.hidden = {7, 3};
    generate(config);
    const std::string mutated = dir.file("mutated.h5");
    std::mt19937_64 random(1);
    for (int i = 0; i < 300; ++i) {
        std::filesystem::copy_file(config.model_path, mutated,
                                   std::filesystem::copy_options::overwrite_existing);
        for (int edits = 1 + static_cast<int>(random() % 3); edits > 0; --edits) {
            mutate_model(mutated, random);
        }
        const std::string outcome = run_isolated([&] { (void)read_model(mutated); });
        EXPECT_EQ(outcome, "") << "case " << i;
        if (!outcome.empty()) {
            std::filesystem::copy_file(mutated, mutated + "." + std::to_string(i) + ".failed");
        }
    }
}

// Found by the test above: the bias was read before its length was compared with the weights',
// so a bias declaring 2^31 values (never written) cost 8 GiB, or std::bad_alloc under a limit.
TEST(Fuzz, BiasDeclaringTwoToThe31ValuesIsRefusedBeforeItIsRead) {
    TempDir dir;
    GenerateConfig config;
    config.model_path = dir.file("model.h5");
    config.features = 5;
    config.hidden = {7};
    generate(config);
    {
        h5::Handle file = h5::open_file(config.model_path, true);
        h5::delete_link(file.get(), "/layers/0001/bias");
        h5::Handle bias =
            h5::create_dataset(file.get(), "/layers/0001/bias", {std::int64_t{1} << 31},
                               H5T_IEEE_F32LE, h5::Layout::Chunked, 1);
    }
    const std::string outcome = run_isolated([&] {
        try {
            (void)read_model(config.model_path);
        } catch (const ModelError& error) {
            const std::string message = error.what();
            if (message.find("dataset 'bias' has shape [2147483648]") != std::string::npos) throw;
        }
        ::_exit(1);
    });
    EXPECT_EQ(outcome, "");
}

TEST(Fuzz, OnnxImporterEndsCleanlyOnMutatedFiles) {
    TempDir dir;
    const std::string original = read_bytes(std::string(H5INFER_ONNX_FIXTURES) + "/batchnorm.onnx");
    ASSERT_FALSE(original.empty());
    // Varints that claim huge lengths or never end, and a field key repeated.
    const std::vector<std::string> extras{std::string(9, '\xff') + "\x01", "\x0a\xff\xff\xff\x0f",
                                          std::string(11, '\x80'),
                                          std::string("\x3a\x00\x3a\x00", 4)};
    fuzz_file(
        original, dir.file("mutated.onnx"), 2, 300, extras,
        [](const std::string& path) { (void)import_onnx(path); },
        [](const std::string&) { return true; });
}

TEST(Fuzz, CsvReaderEndsCleanlyOnMutatedFiles) {
    std::string original = "a,b,\"c d\"\n";
    for (int row = 0; row < 40; ++row) {
        original += std::to_string(row) + ",-1.5e3,\"" + std::to_string(row * 7) + "\"\r\n";
    }
    const std::vector<std::string> extras{"\"",
                                          "\"\"",
                                          ",,,",
                                          "\xef\xbb\xbf",
                                          "\n\n",
                                          "\r",
                                          std::string(1, '\0'),
                                          "nan",
                                          std::string(1 << 20, '9'),
                                          "1e999",
                                          "\"\n\""};
    std::mt19937_64 random(3);
    for (int i = 0; i < 400; ++i) {
        const std::string text = mutate(original, random, extras);
        const std::string outcome = run_isolated([&] {
            std::istringstream in(text);
            io::CsvReader reader(in, "fuzz.csv", {});
            std::vector<double> rows;
            constexpr std::int64_t block_rows = 16;
            while (reader.read(block_rows, rows) == block_rows) {
            }
        });
        EXPECT_EQ(outcome, "") << "case " << i << ": " << text.substr(0, 200);
    }
}

}  // namespace
}  // namespace h5infer::testing
