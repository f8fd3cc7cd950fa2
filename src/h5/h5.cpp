#include "h5infer/h5/h5.hpp"

#include <H5FDmpio.h>

#include <algorithm>
#include <array>
#include <utility>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/error.hpp"

namespace h5infer::h5 {
namespace {

std::string last_not_collective_cause;  // NOLINT: per-rank diagnostic, single-threaded HDF5

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* error, void* data) {
    auto* lines = static_cast<std::vector<std::string>*>(data);
    std::string line = error->desc != nullptr ? error->desc : "";
    if (!line.empty() && std::find(lines->begin(), lines->end(), line) == lines->end()) {
        lines->push_back(std::move(line));
    }
    return 0;
}

hid_t check(hid_t id, const std::string& context) {
    if (id < 0) throw_error(context);
    return id;
}

void check_status(herr_t status, const std::string& context) {
    if (status < 0) throw_error(context);
}

Handle file_access(bool parallel, MPI_Comm comm) {
    Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file access list"));
    if (parallel) {
        check_status(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL),
                     "cannot select the MPI-IO driver");
        // Metadata reads and writes done collectively scale to many ranks.
        check_status(H5Pset_all_coll_metadata_ops(fapl.get(), true), "cannot set metadata ops");
        check_status(H5Pset_coll_metadata_write(fapl.get(), true), "cannot set metadata writes");
    }
    return fapl;
}

// A collective H5Dwrite of the selections; src is null on a rank that selects nothing, and
// whether HDF5 really did collective I/O is kept for last_write_not_collective_cause().
void write_collective(hid_t dataset, hid_t memory_type, const Handle& memory_space,
                      const Handle& file_space, const void* src, const std::string& context) {
    Handle dxpl(check(H5Pcreate(H5P_DATASET_XFER), "cannot create a transfer list"));
    check_status(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), "cannot set collective I/O");
    const std::int64_t placeholder = 0;  // HDF5 wants a buffer even when this rank selects nothing
    check_status(H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), dxpl.get(),
                          src != nullptr ? src : &placeholder),
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

// Calls visit(filter id, filter name) for each filter in the dataset's pipeline.
template <typename Visit>
void for_each_filter(hid_t dataset, Visit visit) {
    Handle dcpl(check(H5Dget_create_plist(dataset), "cannot get a dataset's creation list"));
    const int filters = H5Pget_nfilters(dcpl.get());
    for (int i = 0; i < filters; ++i) {
        std::array<char, 128> name{};
        unsigned flags = 0;
        std::size_t values = 0;
        const H5Z_filter_t filter =
            H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &values, nullptr,
                           name.size(), name.data(), nullptr);
        visit(filter, std::string(name.data()));
    }
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

herr_t collect_child(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* data) {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
}

void collect_datasets(hid_t file, const std::string& group_path, int depth,
                      std::vector<std::string>& paths) {
    constexpr int max_depth = 32;  // hard links can form cycles
    if (depth > max_depth) return;
    Handle group = open_group(file, group_path);
    for (const std::string& name : children(group.get())) {
        const std::string path = (group_path == "/" ? "/" : group_path + "/") + name;
        switch (object_type(file, path)) {
            case ObjectType::Dataset: paths.push_back(path); break;
            case ObjectType::Group: collect_datasets(file, path, depth + 1, paths); break;
            default: break;
        }
    }
}

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

}  // namespace

Handle::Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}

Handle& Handle::operator=(Handle&& other) noexcept {
    if (this != &other) {
        if (valid()) H5Idec_ref(id_);
        id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
}

Handle::~Handle() {
    if (valid()) H5Idec_ref(id_);
}

void Handle::close() {
    if (!valid()) return;
    const hid_t id = std::exchange(id_, H5I_INVALID_HID);
    if (H5Idec_ref(id) < 0) throw_error("cannot close HDF5 object");
}

void silence_errors() {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

std::string error_stack() {
    std::vector<std::string> lines;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &lines);
    H5Eclear2(H5E_DEFAULT);
    std::string text;
    for (const std::string& line : lines) {
        if (!text.empty()) text += " <- ";
        text += line;
    }
    return text.empty() ? "no HDF5 error details" : text;
}

void throw_error(const std::string& context) {
    std::string stack = error_stack();
    std::string message = context + " (HDF5: " + stack + ")";
    // Match HDF5's "unable to lock (the) file" only: "sblock" (superblock) errors are not.
    if (stack.find("lock file") != std::string::npos ||
        stack.find("lock the file") != std::string::npos) {
        message += " (hint: on Lustre, GPFS or NFS run with HDF5_USE_FILE_LOCKING=FALSE)";
    }
    throw IoError(message);
}

bool is_hdf5(const std::string& path) {
    return H5Fis_hdf5(path.c_str()) > 0;
}

Handle open_file(const std::string& path, bool writable) {
    return Handle(
        check(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT),
              "cannot open '" + path + "'"));
}

Handle create_file(const std::string& path) {
    return Handle(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create '" + path + "'"));
}

Handle create_file_parallel(const std::string& path, const mpi::Comm& comm) {
    Handle fapl = file_access(true, comm.native());
    return Handle(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                        "cannot create '" + path + "'"));
}

Handle open_file_parallel(const std::string& path, const mpi::Comm& comm) {
    Handle fapl = file_access(true, comm.native());
    return Handle(
        check(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), "cannot open '" + path + "'"));
}

void flush(hid_t file) {
    check_status(H5Fflush(file, H5F_SCOPE_GLOBAL), "cannot flush a file");
}

void delete_link(hid_t location, const std::string& path) {
    check_status(H5Ldelete(location, path.c_str(), H5P_DEFAULT), "cannot delete '" + path + "'");
}

ObjectType object_type(hid_t location, const std::string& path) {
    // H5Lexists fails (rather than answering no) when a parent is missing: check each prefix.
    std::string prefix = path.rfind('/', 0) == 0 ? "" : ".";
    std::size_t begin = 0;
    while (begin < path.size()) {
        std::size_t end = path.find('/', begin);
        if (end == std::string::npos) end = path.size();
        if (end > begin) {
            prefix += "/" + path.substr(begin, end - begin);
            if (H5Lexists(location, prefix.c_str(), H5P_DEFAULT) <= 0) {
                H5Eclear2(H5E_DEFAULT);
                return ObjectType::Missing;
            }
        }
        begin = end + 1;
    }
    const hid_t object = H5Oopen(location, prefix.empty() ? "/" : prefix.c_str(), H5P_DEFAULT);
    if (object < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ObjectType::Missing;  // a dangling soft or external link
    }
    const H5I_type_t type = H5Iget_type(object);
    H5Oclose(object);
    if (type == H5I_GROUP) return ObjectType::Group;
    if (type == H5I_DATASET) return ObjectType::Dataset;
    return ObjectType::Other;
}

Handle open_dataset(hid_t location, const std::string& path) {
    return Handle(
        check(H5Dopen2(location, path.c_str(), H5P_DEFAULT), "cannot open dataset '" + path + "'"));
}

Handle open_group(hid_t location, const std::string& path) {
    return Handle(
        check(H5Gopen2(location, path.c_str(), H5P_DEFAULT), "cannot open group '" + path + "'"));
}

Handle create_group(hid_t location, const std::string& path) {
    Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), "cannot create a link creation list"));
    check_status(H5Pset_create_intermediate_group(lcpl.get(), 1), "cannot set link creation");
    return Handle(check(H5Gcreate2(location, path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create group '" + path + "'"));
}

std::vector<std::string> children(hid_t group) {
    std::vector<std::string> names;
    hsize_t index = 0;
    check_status(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, collect_child, &names),
                 "cannot list a group");
    return names;
}

std::vector<std::string> dataset_paths(hid_t file) {
    std::vector<std::string> paths;
    collect_datasets(file, "/", 0, paths);
    return paths;
}

DatasetInfo dataset_info(hid_t dataset) {
    DatasetInfo info;
    Handle space(check(H5Dget_space(dataset), "cannot get a dataset's dataspace"));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) throw_error("cannot get a dataset's rank");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    info.dims.assign(dims.begin(), dims.end());
    Handle type(check(H5Dget_type(dataset), "cannot get a dataset's type"));
    info.type_class = H5Tget_class(type.get());
    info.type_description = describe_type(type.get());
    for_each_filter(dataset, [&](H5Z_filter_t filter, const std::string& name) {
        if (H5Zfilter_avail(filter) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            info.unavailable_filter = name + " (filter id " + std::to_string(filter) + ")";
        }
    });
    return info;
}

namespace {

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

std::vector<float> read_all(hid_t dataset, std::vector<std::int64_t>& dims) {
    dims = dataset_info(dataset).dims;
    std::size_t count = 1;
    for (std::int64_t d : dims) count *= static_cast<std::size_t>(d);
    std::vector<float> values;
    resize_fresh(values, count);
    if (count > 0) {
        check_status(
            H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
            "cannot read a dataset");
    }
    return values;
}

Handle create_dataset(hid_t location, const std::string& path,
                      const std::vector<std::int64_t>& dims, hid_t file_type, Layout layout,
                      std::int64_t chunk_rows) {
    std::vector<hsize_t> extent(dims.begin(), dims.end());
    Handle space(check(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr),
                       "cannot create a dataspace"));
    Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "cannot create a dataset creation list"));
    // Predictions overwrite every element: writing a fill value first would double the I/O.
    check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "cannot set fill time");
    const bool empty = std::find(dims.begin(), dims.end(), 0) != dims.end();
    if (layout != Layout::Contiguous && !empty) {
        std::vector<hsize_t> chunk = extent;
        chunk[0] = static_cast<hsize_t>(std::clamp<std::int64_t>(chunk_rows, 1, dims[0]));
        check_status(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()),
                     "cannot set chunking");
        if (layout == Layout::ChunkedGzip) {
            check_status(H5Pset_shuffle(dcpl.get()), "cannot set the shuffle filter");
            check_status(H5Pset_deflate(dcpl.get(), 4), "cannot set gzip compression");
        }
    } else {
        // Space now, not at the first write: a file made by one process is then written by
        // several through parallel HDF5, which can only write into allocated space.
        check_status(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY),
                     "cannot set allocation time");
    }
    Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), "cannot create a link creation list"));
    check_status(H5Pset_create_intermediate_group(lcpl.get(), 1), "cannot set link creation");
    return Handle(check(H5Dcreate2(location, path.c_str(), file_type, space.get(), lcpl.get(),
                                   dcpl.get(), H5P_DEFAULT),
                        "cannot create dataset '" + path + "'"));
}

Handle create_extensible_dataset(hid_t location, const std::string& path, std::int64_t cols,
                                 hid_t file_type, std::int64_t chunk_rows) {
    const std::array<hsize_t, 2> extent{0, static_cast<hsize_t>(cols)};
    const std::array<hsize_t, 2> max_extent{H5S_UNLIMITED, static_cast<hsize_t>(cols)};
    Handle space(check(H5Screate_simple(2, extent.data(), max_extent.data()),
                       "cannot create an extensible dataspace"));
    Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "cannot create a dataset creation list"));
    const std::array<hsize_t, 2> chunk{static_cast<hsize_t>(std::max<std::int64_t>(chunk_rows, 1)),
                                       static_cast<hsize_t>(std::max<std::int64_t>(cols, 1))};
    check_status(H5Pset_chunk(dcpl.get(), 2, chunk.data()), "cannot set chunking");
    Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), "cannot create a link creation list"));
    check_status(H5Pset_create_intermediate_group(lcpl.get(), 1), "cannot set link creation");
    return Handle(check(H5Dcreate2(location, path.c_str(), file_type, space.get(), lcpl.get(),
                                   dcpl.get(), H5P_DEFAULT),
                        "cannot create dataset '" + path + "'"));
}

void set_rows(hid_t dataset, std::int64_t rows) {
    const DatasetInfo info = dataset_info(dataset);
    std::vector<hsize_t> extent(info.dims.begin(), info.dims.end());
    if (extent.empty()) throw IoError("cannot resize a scalar dataset");
    extent[0] = static_cast<hsize_t>(rows);
    check_status(H5Dset_extent(dataset, extent.data()),
                 "cannot grow a dataset to " + std::to_string(rows) + " rows");
}

std::vector<std::string> dataset_filters(hid_t dataset) {
    std::vector<std::string> names;
    for_each_filter(dataset, [&](H5Z_filter_t filter, const std::string& name) {
        names.push_back(!name.empty() ? name : "filter " + std::to_string(filter));
    });
    return names;
}

Layout dataset_layout(hid_t dataset) {
    Handle dcpl(check(H5Dget_create_plist(dataset), "cannot get a dataset's creation list"));
    if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return Layout::Contiguous;
    const int filters = H5Pget_nfilters(dcpl.get());
    for (int i = 0; i < filters; ++i) {
        unsigned flags = 0;
        std::size_t values = 0;
        const H5Z_filter_t filter = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags,
                                                   &values, nullptr, 0, nullptr, nullptr);
        if (filter == H5Z_FILTER_DEFLATE) return Layout::ChunkedGzip;
    }
    return Layout::Chunked;
}

std::optional<ContiguousData> contiguous_data(hid_t dataset, hid_t memory_type) {
    Handle dcpl(check(H5Dget_create_plist(dataset), "cannot get a dataset's creation list"));
    if (H5Pget_layout(dcpl.get()) != H5D_CONTIGUOUS) return std::nullopt;
    if (H5Pget_external_count(dcpl.get()) != 0) return std::nullopt;
    // The offset is into the one file of the sec2 driver, not of a family or split driver.
    Handle file(check(H5Iget_file_id(dataset), "cannot get a dataset's file"));
    Handle fapl(check(H5Fget_access_plist(file.get()), "cannot get a file's access list"));
    if (H5Pget_driver(fapl.get()) != H5FD_SEC2) return std::nullopt;
    Handle type = file_type(dataset);
    if (H5Tequal(type.get(), memory_type) <= 0) return std::nullopt;
    const haddr_t offset = H5Dget_offset(dataset);  // HADDR_UNDEF while unallocated
    if (offset == HADDR_UNDEF) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    // The name HDF5 opened the file by: a dataset reached through an external link lives in
    // the link's target, not in the file the path started from.
    const ssize_t length = H5Fget_name(file.get(), nullptr, 0);
    if (length <= 0) throw_error("cannot get a file's name");
    std::string name(static_cast<std::size_t>(length), '\0');
    if (H5Fget_name(file.get(), name.data(), name.size() + 1) != length) {
        throw_error("cannot get a file's name");
    }
    return ContiguousData{name, static_cast<std::int64_t>(offset)};
}

std::vector<std::int64_t> chunk_dims(hid_t dataset) {
    Handle dcpl(check(H5Dget_create_plist(dataset), "cannot get a dataset's creation list"));
    if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return {};
    std::array<hsize_t, H5S_MAX_RANK> dims{};
    const int rank = H5Pget_chunk(dcpl.get(), static_cast<int>(dims.size()), dims.data());
    if (rank < 0) throw_error("cannot get a dataset's chunk shape");
    return {dims.begin(), dims.begin() + rank};
}

void write_all(hid_t dataset, const float* src) {
    check_status(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, src),
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

namespace {

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

std::int64_t read_int_attribute(hid_t location, const std::string& name) {
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

Handle fixed_string_type(std::size_t size) {
    Handle type(check(H5Tcopy(H5T_C_S1), "cannot copy a string type"));
    check_status(H5Tset_size(type.get(), std::max<std::size_t>(size, 1)),
                 "cannot size a string type");
    check_status(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "cannot pad a string type");
    check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot set a string charset");
    return type;
}

}  // namespace h5infer::h5
