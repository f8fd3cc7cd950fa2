#include "h5infer/h5/datatype.hpp"

#include <algorithm>

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

Handle fixed_string_type(std::size_t size) {
    Handle type(check(H5Tcopy(H5T_C_S1), "cannot copy a string type"));
    check_status(H5Tset_size(type.get(), std::max<std::size_t>(size, 1)),
                 "cannot size a string type");
    check_status(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "cannot pad a string type");
    check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot set a string charset");
    return type;
}

}  // namespace h5infer::h5
