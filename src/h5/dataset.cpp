#include "h5infer/h5/dataset.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "h5/check.hpp"
#include "h5infer/error.hpp"
#include "h5infer/h5/datatype.hpp"
#include "h5infer/h5/file.hpp"

namespace h5infer::h5 {
namespace {

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

}  // namespace

Handle open_dataset(hid_t location, const std::string& path) {
    return Handle(
        check(H5Dopen2(location, path.c_str(), H5P_DEFAULT), "cannot open dataset '" + path + "'"));
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

Handle create_dataset(hid_t location, const std::string& path,
                      const std::vector<std::int64_t>& dims, hid_t file_type, Layout layout,
                      std::int64_t chunk_rows, std::optional<std::int64_t> fill) {
    std::vector<hsize_t> extent(dims.begin(), dims.end());
    Handle space(check(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr),
                       "cannot create a dataspace"));
    Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "cannot create a dataset creation list"));
    // Predictions overwrite every element: writing a fill value first would double the I/O.
    check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "cannot set fill time");
    if (fill) {
        const std::int64_t value = *fill;
        check_status(H5Pset_fill_value(dcpl.get(), H5T_NATIVE_INT64, &value),
                     "cannot set the fill value");
    }
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
    // An attribute in the object header holds at most 64 KiB: about 4,000 column names. Dense
    // storage (in an HDF5 1.8 file) has no such limit, and readers open attributes the same way.
    check_status(H5Pset_attr_phase_change(dcpl.get(), 0, 0), "cannot set dense attributes");
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
    // A dataset reached through an external link lives in the link's target, not in the file
    // the path started from.
    const std::string name = file_name(dataset);
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

std::int64_t filtered_chunk_bytes(hid_t dataset) {
    Handle dcpl(check(H5Dget_create_plist(dataset), "cannot get a dataset's creation list"));
    if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED || H5Pget_nfilters(dcpl.get()) <= 0) return 0;
    auto bytes = static_cast<std::int64_t>(type_size(file_type(dataset).get()));
    for (const std::int64_t dim : chunk_dims(dataset)) {
        if (__builtin_mul_overflow(bytes, dim, &bytes)) {
            return std::numeric_limits<std::int64_t>::max();
        }
    }
    return bytes;
}

}  // namespace h5infer::h5
