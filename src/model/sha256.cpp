// SHA-256 as specified in FIPS 180-4, written here so recording a model's checksum in the run
// report needs no crypto library. Checked against the NIST example vectors in sha256_test.cpp.

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer {
namespace {

constexpr std::size_t block_bytes = 64;
constexpr std::size_t read_bytes = std::size_t{1} << 20;  // stream files in 1 MiB reads

constexpr std::array<std::uint32_t, 64> round_constants{
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::array<std::uint32_t, 8> initial_state{
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr std::uint32_t rotr(std::uint32_t x, unsigned n) {
    return (x >> n) | (x << (32U - n));
}

/// Incremental SHA-256: update() with any number of bytes, then digest() once.
class Sha256 {
public:
    void update(const unsigned char* data, std::size_t size) {
        total_bytes_ += size;
        if (buffered_ > 0) {
            const std::size_t fill = std::min(block_bytes - buffered_, size);
            std::memcpy(buffer_.data() + buffered_, data, fill);
            buffered_ += fill;
            data += fill;
            size -= fill;
            if (buffered_ < block_bytes) return;
            compress(buffer_.data());
            buffered_ = 0;
        }
        for (; size >= block_bytes; data += block_bytes, size -= block_bytes) compress(data);
        std::memcpy(buffer_.data(), data, size);
        buffered_ = size;
    }

    std::string digest() {
        const std::uint64_t message_bits = total_bytes_ * 8;
        // Padding: one 1 bit, zeros up to 56 bytes mod 64, then the length as 64-bit big-endian.
        std::array<unsigned char, block_bytes + 8> padding{};
        padding[0] = 0x80;
        const std::size_t zeros = (buffered_ < 56 ? 56 : 120) - buffered_;
        update(padding.data(), zeros);
        std::array<unsigned char, 8> length{};
        for (std::size_t i = 0; i < length.size(); ++i) {
            length[i] = static_cast<unsigned char>(message_bits >> (56 - 8 * i));
        }
        update(length.data(), length.size());
        static constexpr char hex[] = "0123456789abcdef";
        std::string text;
        for (std::uint32_t word : state_) {
            for (int shift = 28; shift >= 0; shift -= 4) text += hex[(word >> shift) & 0xFU];
        }
        return text;
    }

private:
    void compress(const unsigned char* block) {
        std::array<std::uint32_t, 64> w{};
        for (std::size_t t = 0; t < 16; ++t) {
            w[t] = static_cast<std::uint32_t>(block[4 * t]) << 24U |
                   static_cast<std::uint32_t>(block[4 * t + 1]) << 16U |
                   static_cast<std::uint32_t>(block[4 * t + 2]) << 8U |
                   static_cast<std::uint32_t>(block[4 * t + 3]);
        }
        for (std::size_t t = 16; t < 64; ++t) {
            const std::uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3U);
            const std::uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10U);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        auto [a, b, c, d, e, f, g, h] = state_;
        for (std::size_t t = 0; t < 64; ++t) {
            const std::uint32_t sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            const std::uint32_t choose = (e & f) ^ (~e & g);
            const std::uint32_t t1 = h + sum1 + choose + round_constants[t] + w[t];
            const std::uint32_t sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            const std::uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
            const std::uint32_t t2 = sum0 + majority;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        const std::array<std::uint32_t, 8> working{a, b, c, d, e, f, g, h};
        for (std::size_t i = 0; i < state_.size(); ++i) state_[i] += working[i];
    }

    std::array<std::uint32_t, 8> state_ = initial_state;
    std::array<unsigned char, block_bytes> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_bytes_ = 0;
};

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

std::string file_sha256(const std::string& path) {
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        throw IoError("cannot open '" + path + "' to checksum it: " + std::strerror(errno));
    }
    Sha256 hash;
    std::vector<unsigned char> buffer(read_bytes);
    while (true) {
        const std::size_t got = std::fread(buffer.data(), 1, buffer.size(), file.get());
        hash.update(buffer.data(), got);
        if (got < buffer.size()) break;
    }
    if (std::ferror(file.get()) != 0) {
        throw IoError("cannot read '" + path + "' to checksum it: " + std::strerror(errno));
    }
    return hash.digest();
}

}  // namespace h5infer
