#include "h5infer/h5/attribute.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "h5/check.hpp"
#include "h5infer/error.hpp"

namespace h5infer::h5 {
namespace {

Handle open_attribute(hid_t location, const std::string& name) {
    return Handle(check(H5Aopen(location, name.c_str(), H5P_DEFAULT),
                        "cannot open attribute '" + name + "'"));
}

Handle utf8_string_type() {
    Handle type(check(H5Tcopy(H5T_C_S1), "cannot copy a string type"));
    check_status(H5Tset_size(type.get(), H5T_VARIABLE), "cannot size a string type");
    check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot set a string charset");
    return type;
}

void write_scalar_attribute(hid_t location, const std::string& name, hid_t type,
                            const void* value) {
    if (H5Aexists(location, name.c_str()) > 0) {
        check_status(H5Adelete(location, name.c_str()), "cannot replace attribute '" + name + "'");
    }
    Handle space(check(H5Screate(H5S_SCALAR), "cannot create a scalar dataspace"));
    Handle attribute(
        check(H5Acreate2(location, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
              "cannot create attribute '" + name + "'"));
    check_status(H5Awrite(attribute.get(), type, value), "cannot write attribute '" + name + "'");
}

template <typename T>
T read_number_attribute(hid_t location, const std::string& name, hid_t memory_type) {
    Handle attribute = open_attribute(location, name);
    Handle type(check(H5Aget_type(attribute.get()), "cannot get the type of '" + name + "'"));
    const H5T_class_t type_class = H5Tget_class(type.get());
    if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
        throw IoError("attribute '" + name + "' is not a number");
    }
    Handle space(check(H5Aget_space(attribute.get()), "cannot get the space of '" + name + "'"));
    if (H5Sget_simple_extent_npoints(space.get()) != 1) {
        throw IoError("attribute '" + name + "' is not a single number");
    }
    T value{};
    check_status(H5Aread(attribute.get(), memory_type, &value),
                 "cannot read attribute '" + name + "'");
    return value;
}

}  // namespace

void write_attribute(hid_t location, const std::string& name, const std::string& value) {
    Handle type = utf8_string_type();
    const char* text = value.c_str();
    write_scalar_attribute(location, name, type.get(), static_cast<const void*>(&text));
}

void write_attribute(hid_t location, const std::string& name, std::int64_t value) {
    write_scalar_attribute(location, name, H5T_NATIVE_INT64, &value);
}

void write_attribute(hid_t location, const std::string& name, double value) {
    write_scalar_attribute(location, name, H5T_NATIVE_DOUBLE, &value);
}

void write_attribute(hid_t location, const std::string& name,
                     const std::vector<std::string>& values) {
    Handle type = utf8_string_type();
    if (H5Aexists(location, name.c_str()) > 0) {
        check_status(H5Adelete(location, name.c_str()), "cannot replace attribute '" + name + "'");
    }
    const std::array<hsize_t, 1> extent{values.size()};
    Handle space(check(H5Screate_simple(1, extent.data(), nullptr), "cannot create a dataspace"));
    Handle attribute(
        check(H5Acreate2(location, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
              "cannot create attribute '" + name + "'"));
    std::vector<const char*> texts;
    texts.reserve(values.size());
    for (const std::string& value : values) texts.push_back(value.c_str());
    const char* placeholder = "";  // HDF5 wants a buffer even for an empty list
    check_status(H5Awrite(attribute.get(), type.get(),
                          texts.empty() ? static_cast<const void*>(&placeholder)
                                        : static_cast<const void*>(texts.data())),
                 "cannot write attribute '" + name + "'");
}

bool has_attribute(hid_t location, const std::string& name) {
    const htri_t exists = H5Aexists(location, name.c_str());
    if (exists < 0) throw_error("cannot look up attribute '" + name + "'");
    return exists > 0;
}

std::vector<std::string> attribute_names(hid_t location) {
    std::vector<std::string> names;
    hsize_t index = 0;
    auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
    };
    check_status(H5Aiterate2(location, H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names),
                 "cannot list attributes");
    return names;
}

std::string read_string_attribute(hid_t location, const std::string& name) {
    Handle attribute = open_attribute(location, name);
    Handle type(check(H5Aget_type(attribute.get()), "cannot get the type of '" + name + "'"));
    if (H5Tget_class(type.get()) != H5T_STRING) {
        throw IoError("attribute '" + name + "' is not a string");
    }
    Handle space(check(H5Aget_space(attribute.get()), "cannot get the space of '" + name + "'"));
    if (H5Sget_simple_extent_npoints(space.get()) != 1) {
        throw IoError("attribute '" + name + "' is not a single string");
    }
    if (H5Tis_variable_str(type.get()) > 0) {
        Handle memory_type(check(H5Tcopy(H5T_C_S1), "cannot copy a string type"));
        check_status(H5Tset_size(memory_type.get(), H5T_VARIABLE), "cannot size a string type");
        // HDF5 does not convert between ASCII and UTF-8: read in the attribute's own charset.
        check_status(H5Tset_cset(memory_type.get(), H5Tget_cset(type.get())),
                     "cannot set a string charset");
        char* text = nullptr;
        check_status(H5Aread(attribute.get(), memory_type.get(), static_cast<void*>(&text)),
                     "cannot read attribute '" + name + "'");
        std::string value = text != nullptr ? text : "";
        H5free_memory(text);
        return value;
    }
    const std::size_t size = H5Tget_size(type.get());
    std::string value(size, '\0');
    check_status(H5Aread(attribute.get(), type.get(), value.data()),
                 "cannot read attribute '" + name + "'");
    value.resize(value.find('\0') == std::string::npos ? size : value.find('\0'));
    return value;
}

std::int64_t read_int_attribute(hid_t location, const std::string& name) {
    // HDF5's own conversion would turn 1.9 into 1 and clamp what int64 cannot hold.
    Handle attribute = open_attribute(location, name);
    Handle type(check(H5Aget_type(attribute.get()), "cannot get the type of '" + name + "'"));
    if (H5Tget_class(type.get()) == H5T_FLOAT) {
        const auto value = read_number_attribute<double>(location, name, H5T_NATIVE_DOUBLE);
        constexpr double int64_end = 0x1p63;  // exact in a double, unlike INT64_MAX
        if (!(std::trunc(value) == value && value >= -int64_end && value < int64_end)) {
            std::array<char, 32> text{};
            const auto end = std::to_chars(text.data(), text.data() + text.size(), value).ptr;
            throw IoError("attribute '" + name + "' is " + std::string(text.data(), end) +
                          ", not an integer; store it as an integer");
        }
        return static_cast<std::int64_t>(value);
    }
    if (H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_sign(type.get()) == H5T_SGN_NONE) {
        const auto value = read_number_attribute<std::uint64_t>(location, name, H5T_NATIVE_UINT64);
        if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            throw IoError("attribute '" + name + "' is " + std::to_string(value) +
                          ", beyond the int64 range");
        }
        return static_cast<std::int64_t>(value);
    }
    return read_number_attribute<std::int64_t>(location, name, H5T_NATIVE_INT64);
}

double read_double_attribute(hid_t location, const std::string& name) {
    return read_number_attribute<double>(location, name, H5T_NATIVE_DOUBLE);
}

std::vector<std::string> read_string_list_attribute(hid_t location, const std::string& name) {
    Handle attribute = open_attribute(location, name);
    Handle type(check(H5Aget_type(attribute.get()), "cannot get the type of '" + name + "'"));
    if (H5Tget_class(type.get()) != H5T_STRING) {
        throw IoError("attribute '" + name + "' is not a string list");
    }
    Handle space(check(H5Aget_space(attribute.get()), "cannot get the space of '" + name + "'"));
    const hssize_t points = H5Sget_simple_extent_npoints(space.get());
    if (points < 0) throw_error("cannot size attribute '" + name + "'");
    const auto count = static_cast<std::size_t>(points);
    std::vector<std::string> values;
    if (H5Tis_variable_str(type.get()) > 0) {
        Handle memory_type(check(H5Tcopy(H5T_C_S1), "cannot copy a string type"));
        check_status(H5Tset_size(memory_type.get(), H5T_VARIABLE), "cannot size a string type");
        check_status(H5Tset_cset(memory_type.get(), H5Tget_cset(type.get())),
                     "cannot set a string charset");
        std::vector<char*> texts(std::max<std::size_t>(count, 1), nullptr);
        check_status(H5Aread(attribute.get(), memory_type.get(), texts.data()),
                     "cannot read attribute '" + name + "'");
        for (std::size_t i = 0; i < count; ++i) {
            values.emplace_back(texts[i] != nullptr ? texts[i] : "");
            H5free_memory(texts[i]);
        }
        return values;
    }
    const std::size_t size = H5Tget_size(type.get());
    std::string buffer(size * count, '\0');
    if (count > 0) {
        check_status(H5Aread(attribute.get(), type.get(), buffer.data()),
                     "cannot read attribute '" + name + "'");
    }
    for (std::size_t i = 0; i < count; ++i) {
        std::string value = buffer.substr(i * size, size);
        value.resize(std::min(value.find('\0'), size));
        values.push_back(std::move(value));
    }
    return values;
}

void write_attribute(hid_t location, const std::string& name,
                     const std::vector<std::int64_t>& values) {
    if (H5Aexists(location, name.c_str()) > 0) {
        check_status(H5Adelete(location, name.c_str()), "cannot replace attribute '" + name + "'");
    }
    const std::array<hsize_t, 1> extent{values.size()};
    Handle space(check(H5Screate_simple(1, extent.data(), nullptr), "cannot create a dataspace"));
    Handle attribute(check(
        H5Acreate2(location, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
        "cannot create attribute '" + name + "'"));
    const std::int64_t placeholder = 0;  // HDF5 wants a buffer even for an empty list
    check_status(
        H5Awrite(attribute.get(), H5T_NATIVE_INT64, values.empty() ? &placeholder : values.data()),
        "cannot write attribute '" + name + "'");
}

std::vector<double> read_double_list_attribute(hid_t location, const std::string& name) {
    Handle attribute = open_attribute(location, name);
    Handle type(check(H5Aget_type(attribute.get()), "cannot get the type of '" + name + "'"));
    const H5T_class_t type_class = H5Tget_class(type.get());
    if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
        throw IoError("attribute '" + name + "' is not a list of numbers");
    }
    Handle space(check(H5Aget_space(attribute.get()), "cannot get the space of '" + name + "'"));
    const hssize_t points = H5Sget_simple_extent_npoints(space.get());
    if (points < 0) throw_error("cannot size attribute '" + name + "'");
    std::vector<double> values(static_cast<std::size_t>(points));
    if (points > 0) {
        check_status(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, values.data()),
                     "cannot read attribute '" + name + "'");
    }
    return values;
}

void write_attribute(hid_t location, const std::string& name, const std::vector<double>& values) {
    if (H5Aexists(location, name.c_str()) > 0) {
        check_status(H5Adelete(location, name.c_str()), "cannot replace attribute '" + name + "'");
    }
    const std::array<hsize_t, 1> extent{values.size()};
    Handle space(check(H5Screate_simple(1, extent.data(), nullptr), "cannot create a dataspace"));
    Handle attribute(check(
        H5Acreate2(location, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
        "cannot create attribute '" + name + "'"));
    const double placeholder = 0;  // HDF5 wants a buffer even for an empty list
    check_status(
        H5Awrite(attribute.get(), H5T_NATIVE_DOUBLE, values.empty() ? &placeholder : values.data()),
        "cannot write attribute '" + name + "'");
}

}  // namespace h5infer::h5
