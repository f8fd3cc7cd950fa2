#include "h5infer/h5/storage.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "h5/check.hpp"
#include "h5infer/h5/dataset.hpp"
#include "h5infer/h5/datatype.hpp"
#include "h5infer/h5/file.hpp"
#include "h5infer/h5/group.hpp"

namespace h5infer::h5 {
namespace {

namespace fs = std::filesystem;

// A file's size, or -1 when it is missing or not a regular file.
std::int64_t file_bytes(const std::string& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0 || !S_ISREG(status.st_mode)) return -1;
    return status.st_size;
}

// Appends rows to `rows`, joined with the previous entry when they follow it for the same cause.
void add_rows(std::vector<UnwrittenRows>& rows, std::int64_t begin, std::int64_t end,
              const std::string& cause) {
    if (begin >= end) return;
    if (!rows.empty() && rows.back().row_end == begin && rows.back().cause == cause) {
        rows.back().row_end = end;
        return;
    }
    rows.push_back({begin, end, cause});
}

// A string property read by a (plist, index, buffer, size) getter such as H5Pget_external's
// name or H5Pget_virtual_filename.
template <typename Get>
std::string property_text(Get get, const std::string& what) {
    const ssize_t length = get(nullptr, 0);
    if (length < 0) throw_error("cannot get " + what);
    std::string text(static_cast<std::size_t>(length), '\0');
    if (get(text.data(), text.size() + 1) < 0) throw_error("cannot get " + what);
    return text;
}

// The prefix HDF5 puts before a relative external or source file name: the environment
// variable wins over the access property, and "${ORIGIN}" is the directory of `own_file`.
std::string name_prefix(const char* variable, const std::string& property,
                        const std::string& own_file) {
    const char* from_environment = std::getenv(variable);
    std::string prefix = from_environment != nullptr ? from_environment : property;
    const std::string origin = "${ORIGIN}";
    if (prefix.rfind(origin, 0) == 0) {
        prefix = fs::path(own_file).parent_path().string() + prefix.substr(origin.size());
    }
    return prefix;
}

// Where HDF5 looks for a file named `name` by a dataset in `own_file`: the name itself when
// absolute, else below `prefix`, else relative to the working directory, else (source files of
// virtual datasets) relative to `own_file`'s directory. The first that exists, or the last
// tried when none does.
std::string find_file(const std::string& name, const std::string& prefix,
                      const std::string& own_file, bool beside_own_file) {
    if (fs::path(name).is_absolute()) return name;
    std::vector<std::string> candidates;
    if (!prefix.empty()) candidates.push_back((fs::path(prefix) / name).string());
    candidates.push_back(name);
    if (beside_own_file) {
        candidates.push_back((fs::path(own_file).parent_path() / name).string());
    }
    for (const std::string& candidate : candidates) {
        if (file_bytes(candidate) >= 0) return candidate;
    }
    return candidates.back();
}

std::string rows_text(std::int64_t count, const std::string& unit) {
    return std::to_string(count) + " " + unit + (count == 1 ? "" : "s");
}

// Chunks are allocated when first written: rows in a chunk never allocated read as the fill
// value. A row counts as unwritten when any chunk across it is missing.
void find_unwritten_chunks(hid_t dataset, const std::vector<std::int64_t>& dims, Storage& storage) {
    H5D_space_status_t status{};
    check_status(H5Dget_space_status(dataset, &status), "cannot get a dataset's allocation");
    if (status == H5D_SPACE_STATUS_ALLOCATED) return;
    const std::vector<std::int64_t> chunk = chunk_dims(dataset);
    std::vector<std::int64_t> grid(dims.size());
    std::int64_t total = 1;
    for (std::size_t d = 0; d < dims.size(); ++d) {
        grid[d] = (dims[d] + chunk[d] - 1) / chunk[d];
        total *= grid[d];
    }
    Handle space(check(H5Dget_space(dataset), "cannot get a dataset's dataspace"));
    hsize_t allocated = 0;
    check_status(H5Dget_num_chunks(dataset, space.get(), &allocated), "cannot count chunks");
    if (static_cast<std::int64_t>(allocated) >= total) return;
    const std::string cause = rows_text(total - static_cast<std::int64_t>(allocated), "chunk") +
                              " of its " + std::to_string(total) + " were never written";
    const std::int64_t across = total / grid[0];  // chunks across one row of chunks
    std::vector<hsize_t> offset(dims.size());
    for (std::int64_t r = 0; r < grid[0]; ++r) {
        bool written = true;
        for (std::int64_t cell = 0; cell < across && written; ++cell) {
            offset[0] = static_cast<hsize_t>(r * chunk[0]);
            for (std::int64_t d = static_cast<std::int64_t>(dims.size()) - 1, rest = cell; d > 0;
                 --d) {
                offset[d] = static_cast<hsize_t>(rest % grid[d] * chunk[d]);
                rest /= grid[d];
            }
            unsigned filter_mask = 0;
            haddr_t address = HADDR_UNDEF;
            hsize_t bytes = 0;
            check_status(
                H5Dget_chunk_info_by_coord(dataset, offset.data(), &filter_mask, &address, &bytes),
                "cannot look up a chunk");
            written = address != HADDR_UNDEF;
        }
        if (!written) {
            add_rows(storage.unwritten, r * chunk[0], std::min(dims[0], (r + 1) * chunk[0]), cause);
        }
    }
}

// External files hold the values one after another; HDF5 reads a file that ends early as
// zeros, and cannot read a missing one.
void find_external_files(hid_t dataset, hid_t dcpl, const std::vector<std::int64_t>& dims,
                         Storage& storage) {
    Handle dapl(check(H5Dget_access_plist(dataset), "cannot get a dataset's access list"));
    const std::string prefix = name_prefix(
        "HDF5_EXTFILE_PREFIX",
        property_text([&](char* text,
                          std::size_t size) { return H5Pget_efile_prefix(dapl.get(), text, size); },
                      "the external file prefix"),
        storage.file);
    Handle type = native_type(dataset);
    std::int64_t row_bytes = static_cast<std::int64_t>(type_size(type.get()));
    for (std::size_t d = 1; d < dims.size(); ++d) row_bytes *= dims[d];
    const std::int64_t total = dims[0] * row_bytes;
    std::int64_t position = 0;  // of the file's first byte in the dataset's bytes
    const int count = H5Pget_external_count(dcpl);
    for (int i = 0; i < count && position < total; ++i) {
        std::array<char, 4096> name{};
        off_t offset = 0;
        hsize_t size = 0;
        check_status(H5Pget_external(dcpl, static_cast<unsigned>(i), name.size(), name.data(),
                                     &offset, &size),
                     "cannot get an external file");
        const std::string path = find_file(name.data(), prefix, storage.file, false);
        const std::int64_t have = file_bytes(path);
        if (have >= 0) storage.data_files.push_back(path);
        const std::int64_t needed =
            size == H5F_UNLIMITED ? total - position
                                  : std::min(static_cast<std::int64_t>(size), total - position);
        const std::int64_t present = std::clamp<std::int64_t>(have - offset, 0, needed);
        if (present < needed && row_bytes > 0) {
            add_rows(storage.unwritten, (position + present) / row_bytes,
                     (position + needed + row_bytes - 1) / row_bytes,
                     "its external file '" + path + "' " +
                         (have < 0 ? "is missing" : "ends before them"));
        }
        position += needed;
    }
}

// One mapping of a virtual dataset: the rows it covers (in `covered`), and, when its source
// file or dataset cannot be found, those rows as unwritten: HDF5 then reads the fill value.
void check_mapping(hid_t dataset, hid_t dcpl, std::size_t index, const std::string& prefix,
                   std::int64_t rows, Storage& storage,
                   std::vector<std::pair<std::int64_t, std::int64_t>>& covered) {
    Handle space(check(H5Pget_virtual_vspace(dcpl, index), "cannot get a virtual mapping"));
    std::array<hsize_t, H5S_MAX_RANK> start{};
    std::array<hsize_t, H5S_MAX_RANK> end{};
    std::int64_t begin = 0;
    std::int64_t stop = rows;
    if (H5Sget_select_bounds(space.get(), start.data(), end.data()) >= 0) {
        begin = std::min(static_cast<std::int64_t>(start[0]), rows);
        stop = std::min(static_cast<std::int64_t>(end[0]) + 1, rows);
    } else {
        H5Eclear2(H5E_DEFAULT);  // an unlimited mapping: take it to the last row
    }
    covered.emplace_back(begin, stop);
    const std::string name = property_text(
        [&](char* text, std::size_t size) {
            return H5Pget_virtual_filename(dcpl, index, text, size);
        },
        "a virtual source file name");
    const std::string source_dataset = property_text(
        [&](char* text, std::size_t size) {
            return H5Pget_virtual_dsetname(dcpl, index, text, size);
        },
        "a virtual source dataset name");
    if (name.find('%') != std::string::npos) return;  // printf-style names: files made later
    std::string path = storage.file;
    Handle source;
    if (name == ".") {
        source = Handle(check(H5Iget_file_id(dataset), "cannot get a dataset's file"));
    } else {
        path = find_file(name, prefix, storage.file, true);
        if (file_bytes(path) < 0) {
            add_rows(storage.unwritten, begin, stop, "its source file '" + name + "' is missing");
            return;
        }
        storage.data_files.push_back(path);
        if (is_hdf5(path)) source = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
        H5Eclear2(H5E_DEFAULT);
    }
    if (!source.valid()) {
        add_rows(storage.unwritten, begin, stop,
                 "its source file '" + path + "' cannot be opened as HDF5");
    } else if (object_type(source.get(), source_dataset) != ObjectType::Dataset) {
        add_rows(storage.unwritten, begin, stop,
                 "its source dataset '" + source_dataset + "' is missing from '" + path + "'");
    }
}

// Rows of a virtual dataset come from its mappings' sources; rows no mapping covers, or whose
// source is missing, read as the fill value.
void find_virtual_sources(hid_t dataset, hid_t dcpl, std::int64_t rows, Storage& storage) {
    Handle dapl(check(H5Dget_access_plist(dataset), "cannot get a dataset's access list"));
    const std::string prefix =
        name_prefix("HDF5_VDS_PREFIX",
                    property_text(
                        [&](char* text, std::size_t size) {
                            return H5Pget_virtual_prefix(dapl.get(), text, size);
                        },
                        "the virtual source prefix"),
                    storage.file);
    std::size_t count = 0;
    check_status(H5Pget_virtual_count(dcpl, &count), "cannot count virtual mappings");
    std::vector<std::pair<std::int64_t, std::int64_t>> covered;
    for (std::size_t i = 0; i < count; ++i) {
        check_mapping(dataset, dcpl, i, prefix, rows, storage, covered);
    }
    std::sort(covered.begin(), covered.end());
    std::int64_t reached = 0;
    for (const auto& [begin, end] : covered) {
        add_rows(storage.unwritten, reached, begin, "no virtual mapping covers them");
        reached = std::max(reached, end);
    }
    add_rows(storage.unwritten, reached, rows, "no virtual mapping covers them");
    std::sort(
        storage.unwritten.begin(), storage.unwritten.end(),
        [](const UnwrittenRows& a, const UnwrittenRows& b) { return a.row_begin < b.row_begin; });
}

}  // namespace

std::string storage_kind_name(StorageKind kind) {
    switch (kind) {
        case StorageKind::Contiguous: return "contiguous";
        case StorageKind::Compact: return "compact";
        case StorageKind::Chunked: return "chunked";
        case StorageKind::External: return "external";
        case StorageKind::Virtual: return "virtual";
    }
    return "unknown";
}

Storage dataset_storage(hid_t dataset) {
    Storage storage;
    storage.file = file_name(dataset);
    Handle dcpl(check(H5Dget_create_plist(dataset), "cannot get a dataset's creation list"));
    const std::vector<std::int64_t> dims = dataset_info(dataset).dims;
    const bool empty = dims.empty() || std::find(dims.begin(), dims.end(), 0) != dims.end();
    switch (H5Pget_layout(dcpl.get())) {
        case H5D_COMPACT: storage.kind = StorageKind::Compact; break;
        case H5D_CHUNKED:
            storage.kind = StorageKind::Chunked;
            if (!empty) find_unwritten_chunks(dataset, dims, storage);
            break;
        case H5D_VIRTUAL:
            storage.kind = StorageKind::Virtual;
            if (!empty) find_virtual_sources(dataset, dcpl.get(), dims[0], storage);
            break;
        default:
            if (H5Pget_external_count(dcpl.get()) > 0) {
                storage.kind = StorageKind::External;
                if (!empty) find_external_files(dataset, dcpl.get(), dims, storage);
                break;
            }
            H5D_space_status_t status{};
            check_status(H5Dget_space_status(dataset, &status),
                         "cannot get a dataset's allocation");
            if (!empty && status == H5D_SPACE_STATUS_NOT_ALLOCATED) {
                add_rows(storage.unwritten, 0, dims[0],
                         "its storage was never allocated: it was created but never written");
            }
    }
    return storage;
}

}  // namespace h5infer::h5
