#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>

#include "h5infer/error.hpp"
#include "h5infer/model_file.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer {
namespace {

/// SHA-256 of `content` written to a fresh file.
std::string sha256_of(const std::string& content) {
    const testing::TempDir dir;
    const std::string path = dir.file("data.bin");
    std::ofstream(path, std::ios::binary) << content;
    return file_sha256(path);
}

// Vectors from NIST's "Cryptographic Standards and Guidelines: Examples with Intermediate
// Values" for SHA-256 (FIPS 180-4).
TEST(FileSha256, EmptyMessage) {
    EXPECT_EQ(sha256_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(FileSha256, Abc) {
    EXPECT_EQ(sha256_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(FileSha256, TwoBlockMessage) {
    EXPECT_EQ(sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(FileSha256, OneMillionA) {
    EXPECT_EQ(sha256_of(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(FileSha256, PaddingBoundaries) {
    // Lengths around the 56-byte padding limit; digests from Python's hashlib.sha256.
    const std::pair<std::size_t, const char*> cases[] = {
        {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
        {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
    };
    for (const auto& [size, digest] : cases) {
        EXPECT_EQ(sha256_of(std::string(size, 'x')), digest) << size << " bytes";
    }
}

TEST(FileSha256, StreamsAcrossReadBlocks) {
    std::string content;
    for (std::size_t i = 0; i < 3 * 1048576 + 123; ++i) content += static_cast<char>(i % 251);
    EXPECT_EQ(sha256_of(content),
              "a9cdd46fa6f30331f1872b73511bba6fc8221737478e9f522dcae7e4b3474e24");
}

TEST(FileSha256, MissingFileIsAnIoError) {
    const testing::TempDir dir;
    EXPECT_THROW((void)file_sha256(dir.file("missing.bin")), IoError);
}

}  // namespace
}  // namespace h5infer
