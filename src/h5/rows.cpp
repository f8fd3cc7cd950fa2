#include "h5infer/h5/rows.hpp"

#include <H5FDmpio.h>

#include <algorithm>
#include <array>
#include <utility>

#include "h5/check.hpp"
#include "h5infer/bulk_memory.hpp"
#include "h5infer/error.hpp"
#include "h5infer/h5/dataset.hpp"

namespace h5infer::h5 {
namespace {

std::string last_not_collective_cause;  // NOLINT: per-rank diagnostic, single-threaded HDF5

// A collective H5Dwrite of the selections; src is null on a rank that selects nothing, and
// whether HDF5 really did collective I/O is kept for last_write_not_collective_cause().
// Whether `dataset` is in a file opened through MPI-IO (HDF5 refuses collective transfers on
// any other driver).
bool in_parallel_file(hid_t dataset) {
    const Handle file(check(H5Iget_file_id(dataset), "cannot get a dataset's file"));
    const Handle access(check(H5Fget_access_plist(file.get()), "cannot get a file's access list"));
    return H5Pget_driver(access.get()) == H5FD_MPIO;
}

void write_collective(hid_t dataset, hid_t memory_type, const Handle& memory_space,
                      const Handle& file_space, const void* src, const std::string& context) {
    const std::int64_t placeholder = 0;  // HDF5 wants a buffer even when this rank selects nothing
    const void* buffer = src != nullptr ? src : &placeholder;
    if (!in_parallel_file(dataset)) {
        check_status(H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(),
                              H5P_DEFAULT, buffer),
                     context);
        last_not_collective_cause.clear();
        return;
    }
    Handle dxpl(check(H5Pcreate(H5P_DATASET_XFER), "cannot create a transfer list"));
    check_status(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), "cannot set collective I/O");
    check_status(
        H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), dxpl.get(), buffer),
        context);
    std::uint32_t local = 0;
    std::uint32_t global = 0;
    check_status(H5Pget_mpio_no_collective_cause(dxpl.get(), &local, &global),
                 "cannot query collective I/O");
    last_not_collective_cause =
        (local | global) == H5D_MPIO_COLLECTIVE
            ? ""
            : "H5D_mpio_no_collective_cause local=" + std::to_string(local) +
                  " global=" + std::to_string(global);
}

Handle select_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
                   Handle& memory_space) {
    Handle file_space(check(H5Dget_space(dataset), "cannot get the dataset's dataspace"));
    if (rows == 0) {
        check_status(H5Sselect_none(file_space.get()), "cannot select no rows");
        memory_space = Handle(check(H5Scopy(file_space.get()), "cannot copy a dataspace"));
        check_status(H5Sselect_none(memory_space.get()), "cannot select no rows");
        return file_space;
    }
    const std::array<hsize_t, 2> start{static_cast<hsize_t>(row_begin), 0};
    const std::array<hsize_t, 2> count{static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
    check_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                     count.data(), nullptr),
                 "cannot select rows " + std::to_string(row_begin) + ".." +
                     std::to_string(row_begin + rows));
    memory_space = Handle(
        check(H5Screate_simple(2, count.data(), nullptr), "cannot create a memory dataspace"));
    return file_space;
}

// Rows [row_begin, row_begin + rows) and every column of a 1-D or 2-D dataset.
Handle select_all_columns(hid_t dataset, std::int64_t row_begin, std::int64_t rows,
                          Handle& memory_space) {
    Handle space(check(H5Dget_space(dataset), "cannot get the dataset's dataspace"));
    std::array<hsize_t, 2> dims{};
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 1 || rank > 2) throw IoError("expected a 1-D or 2-D dataset");
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    if (rank == 2)
        return select_rows(dataset, row_begin, rows, static_cast<std::int64_t>(dims[1]),
                           memory_space);
    if (rows == 0) {
        check_status(H5Sselect_none(space.get()), "cannot select no rows");
        memory_space = Handle(check(H5Scopy(space.get()), "cannot copy a dataspace"));
        check_status(H5Sselect_none(memory_space.get()), "cannot select no rows");
        return space;
    }
    const std::array<hsize_t, 1> start{static_cast<hsize_t>(row_begin)};
    const std::array<hsize_t, 1> count{static_cast<hsize_t>(rows)};
    check_status(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                     count.data(), nullptr),
                 "cannot select rows " + std::to_string(row_begin) + ".." +
                     std::to_string(row_begin + rows));
    memory_space = Handle(
        check(H5Screate_simple(1, count.data(), nullptr), "cannot create a memory dataspace"));
    return space;
}

void read_rows_as(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
                  hid_t memory_type, void* dst) {
    Handle memory_space;
    Handle file_space = select_rows(dataset, row_begin, rows, cols, memory_space);
    check_status(
        H5Dread(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, dst),
        "cannot read rows " + std::to_string(row_begin) + ".." + std::to_string(row_begin + rows));
}

}  // namespace

void read_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
               float* dst) {
    read_rows_as(dataset, row_begin, rows, cols, H5T_NATIVE_FLOAT, dst);
}

void read_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
               double* dst) {
    read_rows_as(dataset, row_begin, rows, cols, H5T_NATIVE_DOUBLE, dst);
}

void read_members(hid_t dataset, std::int64_t row_begin, std::int64_t rows,
                  const std::vector<MemberColumn>& members, std::int64_t dst_cols, float* dst) {
    H5INFER_ASSERT(static_cast<std::int64_t>(members.size()) == dst_cols);
    if (rows == 0) return;
    // A memory type of one float per column, each named after the member it receives: HDF5
    // matches members by name and converts each, so a read fills the block row by row.
    Handle type(check(H5Tcreate(H5T_COMPOUND, static_cast<std::size_t>(dst_cols) * sizeof(float)),
                      "cannot create a compound type"));
    for (const MemberColumn& member : members) {
        check_status(
            H5Tinsert(type.get(), member.member.c_str(),
                      static_cast<std::size_t>(member.column) * sizeof(float), H5T_NATIVE_FLOAT),
            "cannot add member '" + member.member + "' to a compound type");
    }
    Handle memory_space;
    Handle file_space = select_all_columns(dataset, row_begin, rows, memory_space);
    check_status(
        H5Dread(dataset, type.get(), memory_space.get(), file_space.get(), H5P_DEFAULT, dst),
        "cannot read rows " + std::to_string(row_begin) + ".." + std::to_string(row_begin + rows));
}

std::vector<std::string> read_strings(hid_t dataset) {
    Handle type(check(H5Dget_type(dataset), "cannot get a dataset's type"));
    if (H5Tget_class(type.get()) != H5T_STRING) throw IoError("the dataset does not hold strings");
    Handle space(check(H5Dget_space(dataset), "cannot get the dataset's dataspace"));
    const hssize_t points = H5Sget_simple_extent_npoints(space.get());
    if (points < 0) throw_error("cannot size a dataset");
    const auto count = static_cast<std::size_t>(points);
    std::vector<std::string> values;
    if (count == 0) return values;
    if (H5Tis_variable_str(type.get()) > 0) {
        Handle memory_type(check(H5Tcopy(H5T_C_S1), "cannot copy a string type"));
        check_status(H5Tset_size(memory_type.get(), H5T_VARIABLE), "cannot size a string type");
        check_status(H5Tset_cset(memory_type.get(), H5Tget_cset(type.get())),
                     "cannot set a string charset");
        std::vector<char*> texts(count, nullptr);
        check_status(H5Dread(dataset, memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                             static_cast<void*>(texts.data())),
                     "cannot read strings");
        for (char* text : texts) values.emplace_back(text != nullptr ? text : "");
        (void)H5Dvlen_reclaim(memory_type.get(), space.get(), H5P_DEFAULT, texts.data());
        return values;
    }
    const std::size_t size = H5Tget_size(type.get());
    std::string buffer(size * count, '\0');
    check_status(H5Dread(dataset, type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()),
                 "cannot read strings");
    const bool space_padded = H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD;
    for (std::size_t i = 0; i < count; ++i) {
        std::string value = buffer.substr(i * size, size);
        value.resize(std::min(value.find('\0'), size));
        if (space_padded) value.erase(value.find_last_not_of(' ') + 1);
        values.push_back(std::move(value));
    }
    return values;
}

void read_rows_raw(hid_t dataset, std::int64_t row_begin, std::int64_t rows, hid_t memory_type,
                   void* dst) {
    Handle memory_space;
    Handle file_space = select_all_columns(dataset, row_begin, rows, memory_space);
    check_status(
        H5Dread(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, dst),
        "cannot read rows " + std::to_string(row_begin) + ".." + std::to_string(row_begin + rows));
}

void write_rows_raw_collective(hid_t dataset, std::int64_t row_begin, std::int64_t rows,
                               hid_t memory_type, const void* src) {
    Handle memory_space;
    Handle file_space = select_all_columns(dataset, row_begin, rows, memory_space);
    write_collective(
        dataset, memory_type, memory_space, file_space, rows > 0 ? src : nullptr,
        "cannot write rows " + std::to_string(row_begin) + ".." + std::to_string(row_begin + rows));
}

namespace {

template <typename Value>
std::vector<Value> read_all_as(hid_t dataset, std::vector<std::int64_t>& dims, hid_t memory_type) {
    dims = dataset_info(dataset).dims;
    std::size_t count = 1;
    for (std::int64_t d : dims) {
        if (__builtin_mul_overflow(count, static_cast<std::size_t>(d), &count)) {
            throw IoError("a dataset of " + std::to_string(dims.size()) +
                          " dimensions holds more values than can be addressed");
        }
    }
    std::vector<Value> values;
    resize_fresh(values, count);
    if (count > 0) {
        check_status(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                     "cannot read a dataset");
    }
    return values;
}

}  // namespace

std::vector<float> read_all(hid_t dataset, std::vector<std::int64_t>& dims) {
    return read_all_as<float>(dataset, dims, H5T_NATIVE_FLOAT);
}

std::vector<double> read_all_doubles(hid_t dataset, std::vector<std::int64_t>& dims) {
    return read_all_as<double>(dataset, dims, H5T_NATIVE_DOUBLE);
}

std::vector<std::int64_t> read_all_int64s(hid_t dataset, std::vector<std::int64_t>& dims) {
    return read_all_as<std::int64_t>(dataset, dims, H5T_NATIVE_INT64);
}

void write_all(hid_t dataset, const std::int32_t* src) {
    check_status(H5Dwrite(dataset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, src),
                 "cannot write a dataset");
}

void write_all(hid_t dataset, const std::int64_t* src) {
    check_status(H5Dwrite(dataset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, src),
                 "cannot write a dataset");
}

void write_all(hid_t dataset, const float* src) {
    check_status(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, src),
                 "cannot write a dataset");
}

void write_all(hid_t dataset, const double* src) {
    check_status(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, src),
                 "cannot write a dataset");
}

void write_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
                const float* src) {
    Handle memory_space;
    Handle file_space = select_rows(dataset, row_begin, rows, cols, memory_space);
    check_status(
        H5Dwrite(dataset, H5T_NATIVE_FLOAT, memory_space.get(), file_space.get(), H5P_DEFAULT, src),
        "cannot write rows " + std::to_string(row_begin) + ".." + std::to_string(row_begin + rows));
}

void write_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
                const double* src) {
    Handle memory_space;
    Handle file_space = select_rows(dataset, row_begin, rows, cols, memory_space);
    check_status(
        H5Dwrite(dataset, H5T_NATIVE_DOUBLE, memory_space.get(), file_space.get(), H5P_DEFAULT,
                 src),
        "cannot write rows " + std::to_string(row_begin) + ".." + std::to_string(row_begin + rows));
}

void write_rows_collective(hid_t dataset, std::int64_t row_begin, std::int64_t rows,
                           std::int64_t cols, const float* src) {
    Handle memory_space;
    Handle file_space = select_rows(dataset, row_begin, rows, cols, memory_space);
    write_collective(
        dataset, H5T_NATIVE_FLOAT, memory_space, file_space, rows > 0 ? src : nullptr,
        "cannot write rows " + std::to_string(row_begin) + ".." + std::to_string(row_begin + rows));
}

std::string last_write_not_collective_cause() {
    return last_not_collective_cause;
}

}  // namespace h5infer::h5
