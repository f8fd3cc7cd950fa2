#pragma once

// Byte images that ranks send each other: fields written in order, little-endian whatever the
// host, so an image stays valid across heterogeneous nodes, and read back with every read
// checked against the bytes that remain.

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/error.hpp"

namespace h5infer {

/// The most elements an image's float array may claim: at most what one MPI message carries.
inline constexpr std::uint64_t max_image_floats = std::uint64_t{1} << 29U;

namespace image_detail {
inline constexpr unsigned bits_per_byte = 8;
// On little-endian hosts float arrays are copied in bulk (models hold millions of weights, and a
// copy per value costs seconds of start-up on large models).
inline constexpr bool little_endian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
}  // namespace image_detail

/// Appends fields to an image; `values` false writes float arrays as their counts alone.
class ImageWriter {
public:
    explicit ImageWriter(bool values = true) : values_(values) {}

    void bytes(const char* data, std::size_t size) {
        bytes_.insert(bytes_.end(), data, data + size);
    }

    template <typename Unsigned>
    void unsigned_le(Unsigned value) {
        for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
            bytes_.push_back(
                static_cast<char>((value >> (image_detail::bits_per_byte * i)) & 0xFFU));
        }
    }

    void i64(std::int64_t value) { unsigned_le(static_cast<std::uint64_t>(value)); }

    void f32(float value) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, &value, sizeof(bits));
        unsigned_le(bits);
    }

    void string(const std::string& value) {
        unsigned_le(static_cast<std::uint64_t>(value.size()));
        bytes(value.data(), value.size());
    }

    void doubles(const std::vector<double>& values) {
        unsigned_le(static_cast<std::uint64_t>(values.size()));
        for (double v : values) {
            std::uint64_t bits = 0;
            std::memcpy(&bits, &v, sizeof(bits));
            unsigned_le(bits);
        }
    }

    /// An array of fixed-size values (integers, float32), count and values in every image.
    template <typename Value>
    void array(const std::vector<Value>& values) {
        static_assert(sizeof(Value) == 4 || sizeof(Value) == 8);
        using Bits = std::conditional_t<sizeof(Value) == 4, std::uint32_t, std::uint64_t>;
        unsigned_le(static_cast<std::uint64_t>(values.size()));
        for (const Value v : values) {
            Bits bits = 0;
            std::memcpy(&bits, &v, sizeof(bits));
            unsigned_le(bits);
        }
    }

    void i64s(const std::vector<std::int64_t>& values) {
        unsigned_le(static_cast<std::uint64_t>(values.size()));
        for (std::int64_t v : values) i64(v);
    }

    void floats(const std::vector<float>& values) {
        unsigned_le(static_cast<std::uint64_t>(values.size()));
        if (!values_) return;
        if constexpr (image_detail::little_endian) {
            bytes(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
        } else {
            for (float v : values) f32(v);
        }
    }

    void reserve(std::size_t size) {
        bytes_.reserve(size);
        advise_huge_pages(bytes_.data(), size);
    }

    std::vector<char> take() { return std::move(bytes_); }

private:
    bool values_ = true;
    std::vector<char> bytes_;
};

/// Reads fields in order; every read checks the remaining size first, so a truncated or
/// corrupted image throws Failure (naming the image `name`) instead of reading past the end or
/// allocating absurd sizes.
template <typename Failure>
class ImageReader {
public:
    ImageReader(const std::vector<char>& bytes, std::string name)
        : bytes_(bytes), name_(std::move(name)) {}

    /// Whether float arrays hold their values (read from the image's header).
    bool with_values = true;

    const char* take(std::size_t size, const char* what) {
        if (size > bytes_.size() - offset_) {
            fail(std::string(what) + " needs " + std::to_string(size) + " bytes but only " +
                 std::to_string(bytes_.size() - offset_) + " remain");
        }
        const char* data = bytes_.data() + offset_;
        offset_ += size;
        return data;
    }

    template <typename Unsigned>
    Unsigned unsigned_le(const char* what) {
        const char* data = take(sizeof(Unsigned), what);
        Unsigned value = 0;
        for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
            const auto byte = static_cast<Unsigned>(static_cast<unsigned char>(data[i]));
            value = static_cast<Unsigned>(value | (byte << (image_detail::bits_per_byte * i)));
        }
        return value;
    }

    std::int64_t i64(const char* what) {
        return static_cast<std::int64_t>(unsigned_le<std::uint64_t>(what));
    }

    float f32(const char* what) {
        const auto bits = unsigned_le<std::uint32_t>(what);
        float value = 0;
        std::memcpy(&value, &bits, sizeof(value));
        return value;
    }

    std::vector<double> doubles(const char* what) {
        const auto count = unsigned_le<std::uint64_t>(what);
        checked_size(count, sizeof(double), what);
        std::vector<double> values(static_cast<std::size_t>(count));
        for (double& v : values) {
            const auto bits = unsigned_le<std::uint64_t>(what);
            std::memcpy(&v, &bits, sizeof(v));
        }
        return values;
    }

    /// The inverse of ImageWriter::array().
    template <typename Value>
    std::vector<Value> array(const char* what) {
        using Bits = std::conditional_t<sizeof(Value) == 4, std::uint32_t, std::uint64_t>;
        const auto count = unsigned_le<std::uint64_t>(what);
        checked_size(count, sizeof(Value), what);
        std::vector<Value> values(static_cast<std::size_t>(count));
        for (Value& v : values) {
            const auto bits = unsigned_le<Bits>(what);
            std::memcpy(&v, &bits, sizeof(v));
        }
        return values;
    }

    std::vector<std::int64_t> i64s(const char* what) {
        const auto count = unsigned_le<std::uint64_t>(what);
        checked_size(count, sizeof(std::int64_t), what);
        std::vector<std::int64_t> values(static_cast<std::size_t>(count));
        for (std::int64_t& v : values) v = i64(what);
        return values;
    }

    std::string string(const char* what) {
        const auto size = unsigned_le<std::uint64_t>(what);
        const char* data = take(checked_size(size, 1, what), what);
        return {data, data + size};
    }

    /// The element count of a float array of a structure image, which holds no values.
    std::uint64_t float_count(const char* what) {
        H5INFER_ASSERT(!with_values);
        const auto count = unsigned_le<std::uint64_t>(what);
        if (count > max_image_floats) {
            fail(std::string(what) + " claims " + std::to_string(count) + " elements");
        }
        return count;
    }

    std::vector<float> floats(const char* what) {
        const auto count = unsigned_le<std::uint64_t>(what);
        if (!with_values) {
            if (count > max_image_floats) {
                fail(std::string(what) + " claims " + std::to_string(count) + " elements");
            }
            std::vector<float> zeros;
            resize_fresh(zeros, static_cast<std::size_t>(count));
            return zeros;
        }
        checked_size(count, sizeof(float), what);
        std::vector<float> values;
        resize_fresh(values, static_cast<std::size_t>(count));
        if constexpr (image_detail::little_endian) {
            std::memcpy(values.data(), take(values.size() * sizeof(float), what),
                        values.size() * sizeof(float));
        } else {
            for (float& v : values) v = f32(what);
        }
        return values;
    }

    [[nodiscard]] bool at_end() const { return offset_ == bytes_.size(); }

    [[noreturn]] void fail(const std::string& problem) const {
        throw Failure("malformed " + name_ + " (" + std::to_string(bytes_.size()) +
                      " bytes) at byte " + std::to_string(offset_) + ": " + problem +
                      "; the image is truncated or was made by another h5infer build");
    }

private:
    std::size_t checked_size(std::uint64_t count, std::size_t element, const char* what) const {
        if (count > (bytes_.size() - offset_) / element) {
            fail(std::string(what) + " claims " + std::to_string(count) +
                 " elements, more than the image holds");
        }
        return static_cast<std::size_t>(count) * element;
    }

    const std::vector<char>& bytes_;
    std::string name_;
    std::size_t offset_ = 0;
};

}  // namespace h5infer
