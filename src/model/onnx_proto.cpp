// The protobuf side of the ONNX importer. The file is untrusted: its top-level fields are
// scanned before protobuf sees it (so a truncated file and a file that is not ONNX at all get
// different messages), and every tensor's shape is checked against the bytes that back it
// before a value is read.

#include "model/onnx_proto.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

#include "file_kind.hpp"
#include "h5infer/error.hpp"

namespace h5infer::onnx_import {
namespace {

namespace fs = std::filesystem;

// protobuf parses at most INT_MAX bytes; bigger models keep their weights in external files.
constexpr std::uint64_t max_file_bytes = INT_MAX;
// Bounds every tensor: larger is no dense model h5infer could hold, only a corrupt header.
constexpr std::int64_t max_tensor_values = std::int64_t{1} << 31;
constexpr unsigned bits_per_byte = 8;
constexpr std::uint64_t varint_payload = 0x7F;
constexpr unsigned varint_more = 0x80;
constexpr unsigned wire_type_bits = 3;
constexpr std::uint64_t wire_type_mask = 0x7;

enum class WireType : std::uint64_t { Varint = 0, Fixed64 = 1, Length = 2, Fixed32 = 5 };

/// The wire type of each field of onnx.ModelProto (onnx.proto), or nullopt for an unknown one.
std::optional<WireType> model_field_wire_type(std::uint64_t field) {
    switch (field) {
        case 1:  // ir_version
        case 5:  // model_version
            return WireType::Varint;
        case 2:   // producer_name
        case 3:   // producer_version
        case 4:   // domain
        case 6:   // doc_string
        case 7:   // graph
        case 8:   // opset_import
        case 14:  // metadata_props
        case 20:  // training_info
        case 25:  // functions
            return WireType::Length;
        default: return std::nullopt;
    }
}

enum class Read { Ok, End, Bad };

Read read_varint(const std::string& bytes, std::size_t& pos, std::uint64_t& value) {
    value = 0;
    constexpr unsigned max_shift = 63;
    for (unsigned shift = 0; shift <= max_shift; shift += 7) {
        if (pos >= bytes.size()) return Read::End;
        const auto byte = static_cast<unsigned char>(bytes[pos++]);
        value |= (byte & varint_payload) << shift;
        if ((byte & varint_more) == 0) return Read::Ok;
    }
    return Read::Bad;
}

/// Walks the top-level fields of a serialized ModelProto without decoding them. Returns "" when
/// the structure is sound, else why not; `truncated` tells a file that ends inside a field from
/// one that is not a ModelProto at all.
std::string scan_top_level(const std::string& bytes, bool& truncated) {
    truncated = false;
    std::size_t pos = 0;
    bool first = true;
    const auto ran_out = [&](const std::string& where) {
        truncated = true;
        return "the file ends inside " + where + " at byte " + std::to_string(pos) + " of " +
               std::to_string(bytes.size());
    };
    while (pos < bytes.size()) {
        const std::size_t field_start = pos;
        std::uint64_t tag = 0;
        const Read tag_read = read_varint(bytes, pos, tag);
        if (tag_read == Read::End) return ran_out("a field tag");
        const std::uint64_t field = tag >> wire_type_bits;
        const auto wire = static_cast<WireType>(tag & wire_type_mask);
        const std::optional<WireType> expected = model_field_wire_type(field);
        const bool known_wire = wire == WireType::Varint || wire == WireType::Fixed64 ||
                                wire == WireType::Length || wire == WireType::Fixed32;
        if (tag_read == Read::Bad || (expected && *expected != wire) || !known_wire ||
            (!expected && first)) {
            return "byte " + std::to_string(field_start) + " is not a field of an ONNX ModelProto";
        }
        first = false;
        std::uint64_t value = 0;
        if (wire == WireType::Varint) {
            const Read read = read_varint(bytes, pos, value);
            if (read == Read::End) return ran_out("field " + std::to_string(field));
            if (read == Read::Bad) return "field " + std::to_string(field) + " is malformed";
            continue;
        }
        if (wire == WireType::Length) {
            const Read read = read_varint(bytes, pos, value);
            if (read == Read::End) return ran_out("the length of field " + std::to_string(field));
            if (read == Read::Bad) return "field " + std::to_string(field) + " is malformed";
        } else {
            value = wire == WireType::Fixed64 ? sizeof(std::uint64_t) : sizeof(std::uint32_t);
        }
        if (value > bytes.size() - pos) {
            truncated = true;
            return "field " + std::to_string(field) + " at byte " + std::to_string(field_start) +
                   " needs " + std::to_string(value) + " bytes but the file has only " +
                   std::to_string(bytes.size() - pos) + " left";
        }
        pos += static_cast<std::size_t>(value);
    }
    return "";
}

std::size_t element_size(int data_type) {
    switch (data_type) {
        case onnx::TensorProto_DataType_FLOAT:
        case onnx::TensorProto_DataType_INT32: return sizeof(std::uint32_t);
        case onnx::TensorProto_DataType_DOUBLE:
        case onnx::TensorProto_DataType_INT64: return sizeof(std::uint64_t);
        case onnx::TensorProto_DataType_BOOL: return 1;
        default: return 0;
    }
}

template <typename Unsigned>
Unsigned load_le(const char* data) {
    Unsigned value = 0;
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
        const auto byte = static_cast<Unsigned>(static_cast<unsigned char>(data[i]));
        value = static_cast<Unsigned>(value | (byte << (bits_per_byte * i)));
    }
    return value;
}

template <typename Value, typename Unsigned>
double load_value(const char* data) {
    const auto bits = load_le<Unsigned>(data);
    Value value{};
    std::memcpy(&value, &bits, sizeof(value));
    return static_cast<double>(value);
}

/// Little-endian bytes (ONNX's raw_data and external data) to values, whatever the host order.
std::vector<double> decode_bytes(const std::string& bytes, int data_type) {
    const std::size_t size = element_size(data_type);
    std::vector<double> values(bytes.size() / size);
    for (std::size_t i = 0; i < values.size(); ++i) {
        const char* data = bytes.data() + i * size;
        switch (data_type) {
            case onnx::TensorProto_DataType_FLOAT:
                values[i] = load_value<float, std::uint32_t>(data);
                break;
            case onnx::TensorProto_DataType_DOUBLE:
                values[i] = load_value<double, std::uint64_t>(data);
                break;
            case onnx::TensorProto_DataType_INT32:
                values[i] = load_value<std::int32_t, std::uint32_t>(data);
                break;
            case onnx::TensorProto_DataType_BOOL:
                values[i] = static_cast<unsigned char>(data[0]) != 0 ? 1.0 : 0.0;
                break;
            default: values[i] = load_value<std::int64_t, std::uint64_t>(data); break;
        }
    }
    return values;
}

std::uint64_t parse_offset(const std::string& text, const std::string& key,
                           const std::string& label) {
    const bool digits =
        !text.empty() && text.size() <= 18 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
        throw ModelError(label + " has an invalid external data " + key + " '" + text + "'");
    }
    return std::stoull(text);
}

/// Where `named` really is: a symbolic link (of the file or of a directory on the way) must
/// not lead outside `model_dir`, or a model could read any file its user may read.
fs::path resolved_below(const fs::path& named, const std::string& model_dir,
                        const std::string& location, const std::string& label) {
    std::error_code error;
    const fs::path real = fs::canonical(named, error);
    const fs::path real_dir = fs::canonical(model_dir.empty() ? "." : model_dir, error);
    const auto [inside, rest] =
        std::mismatch(real_dir.begin(), real_dir.end(), real.begin(), real.end());
    if (error || inside != real_dir.end()) {
        throw ModelError(label + " points at the external data file '" + location +
                         "', a symbolic link to '" + real.string() +
                         "', outside the model's directory; copy the file itself next to the "
                         ".onnx file");
    }
    return real;
}

/// The `bytes` bytes of an externally stored tensor, read from a file below `model_dir`.
std::string read_external(const onnx::TensorProto& tensor, const std::string& model_dir,
                          std::uint64_t bytes, const std::string& label) {
    std::string location;
    std::uint64_t offset = 0;
    std::optional<std::uint64_t> length;
    for (const auto& entry : tensor.external_data()) {
        if (entry.key() == "location") location = entry.value();
        if (entry.key() == "offset") offset = parse_offset(entry.value(), "offset", label);
        if (entry.key() == "length") length = parse_offset(entry.value(), "length", label);
    }
    if (location.empty()) {
        throw ModelError(label + " is stored as external data but names no file ('location')");
    }
    const fs::path relative(location);
    const bool escapes = std::any_of(relative.begin(), relative.end(),
                                     [](const fs::path& part) { return part == ".."; });
    if (relative.is_absolute() || escapes) {
        throw ModelError(label + " points at the external data file '" + location +
                         "', outside the model's directory; external data must be a relative "
                         "path below the directory of the .onnx file");
    }
    const fs::path named = fs::path(model_dir) / relative;
    std::error_code error;
    if (!fs::is_regular_file(named, error)) {
        throw ModelError(label + " keeps its data in the external file '" + location +
                         "', which is missing (looked for '" + named.string() +
                         "'); copy it next to the .onnx file");
    }
    const fs::path path = resolved_below(named, model_dir, location, label);
    const std::uint64_t size = fs::file_size(path, error);
    if (length && *length != bytes) {
        throw ModelError(label + " declares " + std::to_string(*length) +
                         " bytes of external data, but its shape and type need " +
                         std::to_string(bytes));
    }
    if (error || offset > size || bytes > size - offset) {
        throw ModelError(label + " needs " + std::to_string(bytes) + " bytes at offset " +
                         std::to_string(offset) + " of the external file '" + path.string() +
                         "', which holds only " + std::to_string(size) +
                         " bytes (truncated, or from another export?)");
    }
    std::ifstream in(path, std::ios::binary);
    std::string data(static_cast<std::size_t>(bytes), '\0');
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(data.data(), static_cast<std::streamsize>(bytes));
    if (!in) throw ModelError(label + ": cannot read the external file '" + path.string() + "'");
    return data;
}

template <typename Field>
std::vector<double> typed_values(const Field& field) {
    return std::vector<double>(field.begin(), field.end());
}

}  // namespace

onnx::ModelProto parse_model_file(const std::string& path) {
    const std::string label = "model '" + path + "'";
    std::error_code error;
    if (!fs::exists(path, error)) throw ModelError("model file '" + path + "' does not exist");
    const std::string kind = special_file_kind(path);
    if (!kind.empty()) {
        throw ModelError("model file '" + path + "' is " + kind + "; pass the model file");
    }
    const std::uint64_t size = fs::file_size(path, error);
    if (!error && size > max_file_bytes) {
        throw ModelError(label + " is " + std::to_string(size) +
                         " bytes, more than protobuf can parse (2 GiB); save it with its "
                         "weights as external data (onnx.save_model(..., "
                         "save_as_external_data=True))");
    }
    std::ifstream in(path, std::ios::binary);
    std::string bytes(error ? 0 : static_cast<std::size_t>(size), '\0');
    if (error || !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
        throw ModelError("model file '" + path + "' cannot be read; check its permissions");
    }
    if (bytes.empty()) throw ModelError(label + " is empty");
    bool truncated = false;
    const std::string problem = scan_top_level(bytes, truncated);
    if (truncated) {
        throw ModelError(label + " is a truncated ONNX file: " + problem +
                         "; copy or export it again");
    }
    if (!problem.empty()) {
        throw ModelError("model file '" + path +
                         "' is neither an h5infer model (HDF5, docs/model-format.md) nor an "
                         "ONNX model: " +
                         problem);
    }
    onnx::ModelProto model;
    if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        throw ModelError(label +
                         " is a damaged ONNX file: protobuf cannot parse it (corrupted inside "
                         "a field); copy or export it again");
    }
    if (!model.has_graph()) {
        throw ModelError(label + " holds no graph (a truncated file?); export it again");
    }
    return model;
}

std::vector<std::string> external_data_files(const onnx::ModelProto& model,
                                             const std::string& model_dir) {
    std::vector<std::string> files;
    const auto add = [&](const onnx::TensorProto& tensor) {
        if (tensor.data_location() != onnx::TensorProto_DataLocation_EXTERNAL) return;
        for (const auto& entry : tensor.external_data()) {
            if (entry.key() != "location") continue;
            const std::string path = (fs::path(model_dir) / entry.value()).string();
            if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
        }
    };
    for (const onnx::TensorProto& tensor : model.graph().initializer()) add(tensor);
    for (const onnx::NodeProto& node : model.graph().node()) {
        for (const onnx::AttributeProto& attribute : node.attribute()) {
            if (attribute.has_t()) add(attribute.t());
        }
    }
    return files;
}

Tensor decode_tensor(const onnx::TensorProto& tensor, const std::string& model_dir,
                     const std::string& label) {
    Tensor result;
    std::int64_t count = 1;
    for (const std::int64_t dim : tensor.dims()) {
        if (dim < 0) {
            throw ModelError(label + " has a negative dimension " + std::to_string(dim));
        }
        if (dim > 0 && count > max_tensor_values / dim) {
            throw ModelError(label + " has more than " + std::to_string(max_tensor_values) +
                             " values; a corrupt shape?");
        }
        count *= dim;
        result.dims.push_back(dim);
    }
    const int type = tensor.data_type();
    const std::size_t size = element_size(type);
    if (size == 0) {
        throw ModelError(label + " has data type " + data_type_name(type) +
                         "; h5infer reads FLOAT and DOUBLE weights (and INT32, INT64 or BOOL "
                         "for shapes and flags); export the model in float32");
    }
    if (tensor.has_segment()) {
        throw ModelError(label + " is split into segments, which h5infer does not read");
    }
    const auto expected = static_cast<std::uint64_t>(count) * size;
    if (tensor.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
        result.values = decode_bytes(read_external(tensor, model_dir, expected, label), type);
    } else if (tensor.has_raw_data()) {
        if (tensor.raw_data().size() != expected) {
            throw ModelError(label + " has shape-implied " + std::to_string(expected) +
                             " bytes but its raw_data holds " +
                             std::to_string(tensor.raw_data().size()));
        }
        result.values = decode_bytes(tensor.raw_data(), type);
    } else {
        switch (type) {
            case onnx::TensorProto_DataType_FLOAT:
                result.values = typed_values(tensor.float_data());
                break;
            case onnx::TensorProto_DataType_DOUBLE:
                result.values = typed_values(tensor.double_data());
                break;
            case onnx::TensorProto_DataType_INT32:
            case onnx::TensorProto_DataType_BOOL:
                result.values = typed_values(tensor.int32_data());
                break;
            default: result.values = typed_values(tensor.int64_data()); break;
        }
        if (static_cast<std::int64_t>(result.values.size()) != count) {
            throw ModelError(label + " has " + std::to_string(count) + " elements by its shape " +
                             "but holds " + std::to_string(result.values.size()) + " values");
        }
    }
    return result;
}

std::string data_type_name(int data_type) {
    if (onnx::TensorProto_DataType_IsValid(data_type)) {
        return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(data_type));
    }
    return "unknown type " + std::to_string(data_type);
}

// ---- attributes ------------------------------------------------------------------------------

Attributes::Attributes(const onnx::NodeProto& node, std::initializer_list<std::string_view> allowed,
                       std::string label)
    : node_(&node), label_(std::move(label)) {
    for (const auto& attribute : node.attribute()) {
        if (std::find(allowed.begin(), allowed.end(), attribute.name()) == allowed.end()) {
            std::string names;
            for (std::string_view name : allowed) {
                names += (names.empty() ? "'" : ", '") + std::string(name) + "'";
            }
            throw ModelError(label_ + " has the attribute '" + attribute.name() +
                             "', which h5infer does not support (it reads " +
                             (names.empty() ? std::string("no attributes") : names) +
                             " for this operator)");
        }
        if (!attribute.ref_attr_name().empty()) {
            throw ModelError(label_ + ": attribute '" + attribute.name() +
                             "' refers to a function attribute, which h5infer does not support");
        }
    }
}

const onnx::AttributeProto* Attributes::find(std::string_view name, int type) const {
    for (const auto& attribute : node_->attribute()) {
        if (attribute.name() != name) continue;
        if (attribute.type() != type) {
            throw ModelError(label_ + ": attribute '" + attribute.name() + "' has type " +
                             onnx::AttributeProto_AttributeType_Name(attribute.type()) +
                             ", expected " +
                             onnx::AttributeProto_AttributeType_Name(
                                 static_cast<onnx::AttributeProto_AttributeType>(type)));
        }
        return &attribute;
    }
    return nullptr;
}

bool Attributes::has(std::string_view name) const {
    return std::any_of(node_->attribute().begin(), node_->attribute().end(),
                       [&](const onnx::AttributeProto& a) { return a.name() == name; });
}

double Attributes::real(std::string_view name, double fallback) const {
    const auto* attribute = find(name, onnx::AttributeProto_AttributeType_FLOAT);
    return attribute != nullptr ? attribute->f() : fallback;
}

std::int64_t Attributes::integer(std::string_view name, std::int64_t fallback) const {
    const auto* attribute = find(name, onnx::AttributeProto_AttributeType_INT);
    return attribute != nullptr ? attribute->i() : fallback;
}

std::string Attributes::text(std::string_view name, const std::string& fallback) const {
    const auto* attribute = find(name, onnx::AttributeProto_AttributeType_STRING);
    return attribute != nullptr ? attribute->s() : fallback;
}

const onnx::TensorProto* Attributes::tensor(std::string_view name) const {
    const auto* attribute = find(name, onnx::AttributeProto_AttributeType_TENSOR);
    return attribute != nullptr ? &attribute->t() : nullptr;
}

std::vector<double> Attributes::list(std::string_view name) const {
    for (const auto& attribute : node_->attribute()) {
        if (attribute.name() != name) continue;
        if (attribute.type() == onnx::AttributeProto_AttributeType_INTS) {
            return typed_values(attribute.ints());
        }
        return typed_values(find(name, onnx::AttributeProto_AttributeType_FLOATS)->floats());
    }
    return {};
}

}  // namespace h5infer::onnx_import
