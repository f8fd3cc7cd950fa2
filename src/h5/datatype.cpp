#include "h5infer/h5/datatype.hpp"

#include <algorithm>
#include <utility>

#include "h5/check.hpp"

namespace h5infer::h5 {

Handle native_type(hid_t dataset) {
    Handle type(check(H5Dget_type(dataset), "cannot get a dataset's type"));
    return Handle(check(H5Tget_native_type(type.get(), H5T_DIR_ASCEND),
                        "cannot get a dataset's memory type"));
}

Handle file_type(hid_t dataset) {
    return Handle(check(H5Dget_type(dataset), "cannot get a dataset's type"));
}

std::size_t type_size(hid_t type) {
    const std::size_t size = H5Tget_size(type);
    if (size == 0) throw_error("cannot get a type's size");
    return size;
}

bool is_variable_length(hid_t type) {
    return H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tis_variable_str(type) > 0;
}

bool has_references(hid_t type) {
    return H5Tdetect_class(type, H5T_REFERENCE) > 0;
}

std::string describe_type(hid_t type) {
    const H5T_class_t type_class = H5Tget_class(type);
    const std::size_t bits = H5Tget_size(type) * 8;
    switch (type_class) {
        case H5T_INTEGER:
            return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
        case H5T_FLOAT: return "float" + std::to_string(bits);
        case H5T_STRING: return "string";
        case H5T_COMPOUND: return "compound";
        case H5T_ENUM: return "enum";
        case H5T_ARRAY: return "array";
        case H5T_VLEN: return "variable-length";
        case H5T_REFERENCE: return "reference";
        case H5T_BITFIELD: return "bitfield";
        case H5T_OPAQUE: return "opaque";
        default: return "unknown";
    }
}

std::vector<Member> compound_members(hid_t type) {
    const int count = H5Tget_nmembers(type);
    if (count < 0) throw_error("cannot count a compound type's members");
    std::vector<Member> members;
    for (int i = 0; i < count; ++i) {
        char* name = H5Tget_member_name(type, static_cast<unsigned>(i));
        if (name == nullptr) throw_error("cannot get a compound member's name");
        Member member;
        member.name = name;
        H5free_memory(name);
        Handle member_type(check(H5Tget_member_type(type, static_cast<unsigned>(i)),
                                 "cannot get the type of member '" + member.name + "'"));
        member.type_class = H5Tget_class(member_type.get());
        member.type_description = describe_type(member_type.get());
        members.push_back(std::move(member));
    }
    return members;
}

Handle fixed_string_type(std::size_t size) {
    Handle type(check(H5Tcopy(H5T_C_S1), "cannot copy a string type"));
    check_status(H5Tset_size(type.get(), std::max<std::size_t>(size, 1)),
                 "cannot size a string type");
    check_status(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "cannot pad a string type");
    check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot set a string charset");
    return type;
}

}  // namespace h5infer::h5
