#include "io/input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "file_kind.hpp"
#include "h5infer/error.hpp"

namespace h5infer::io {
namespace {

bool is_regular_file(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

std::string quoted(const std::string& text) {
    return "'" + text + "'";
}

// float64 inputs to float32. HDF5 narrows one value at a time, checking each for overflow;
// reading the doubles as stored and narrowing them in a loop that vectorizes is faster
// (docs/performance.md, "float64 inputs"). The values are the same (tests/e2e/run_test.cpp
// compares with HDF5's conversion bit for bit): round to nearest, and, as HDF5 does, every
// magnitude above the largest float to infinity, also those that would round down to it. Only
// those give the largest float's magnitude: the first loop, which vectorizes, notes whether any
// came, and only then the second looks for them.
void narrow(const double* from, std::size_t count, float* to) {
    constexpr float largest = std::numeric_limits<float>::max();
    int saturated = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const auto value = static_cast<float>(from[i]);
        to[i] = value;
        saturated |= static_cast<int>(std::fabs(value) == largest);
    }
    if (saturated == 0) return;
    for (std::size_t i = 0; i < count; ++i) {
        if (std::fabs(from[i]) > static_cast<double>(largest)) {
            to[i] = std::copysign(std::numeric_limits<float>::infinity(), to[i]);
        }
    }
}

std::string list_of(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
    return text.empty() ? "none" : text;
}

void check_file(const std::string& file) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) {
        throw InputError("input file " + quoted(file) + " cannot be read: " + std::strerror(errno) +
                         " (check the path given to --input)");
    }
    const std::string kind = special_file_kind(file);
    if (!kind.empty()) {
        throw InputError("input " + quoted(file) + " is " + kind +
                         ", not an HDF5 file; give the path of an HDF5 file");
    }
    if (!h5::is_hdf5(file)) {
        throw InputError("input file " + quoted(file) +
                         " is not an HDF5 file (import CSV data first, or check the path)");
    }
}

// When --input names only a file, the file must hold exactly one 2-D dataset.
std::string find_only_matrix(hid_t file, const std::string& name) {
    std::vector<std::string> matrices;
    std::vector<std::string> all;
    for (const std::string& path : h5::dataset_paths(file)) {
        h5::Handle dataset = h5::open_dataset(file, path);
        const h5::DatasetInfo info = h5::dataset_info(dataset.get());
        all.push_back(path + " " + std::to_string(info.dims.size()) + "-D");
        if (info.dims.size() == 2) matrices.push_back(path);
    }
    if (matrices.size() == 1) return matrices.front();
    throw InputError("input file " + quoted(name) + " holds " + std::to_string(matrices.size()) +
                     " 2-D datasets (" + list_of(all) + "): name one with --input FILE:DATASET");
}

std::string absolute_dataset(const std::string& path) {
    return path.rfind('/', 0) == 0 ? path : "/" + path;
}

void check_dataset(const h5::DatasetInfo& info, const std::string& where) {
    if (info.dims.size() != 2) {
        throw InputError(where + " is " + std::to_string(info.dims.size()) +
                         "-D; h5infer needs a 2-D dataset of rows x features");
    }
    if (info.type_class != H5T_INTEGER && info.type_class != H5T_FLOAT) {
        throw InputError(where + " holds " + info.type_description +
                         " values; h5infer needs a numeric (integer or floating-point) dataset");
    }
    if (!info.unavailable_filter.empty()) {
        throw InputError(where + " is compressed with " + info.unavailable_filter +
                         ", which this HDF5 cannot decode; rewrite it with gzip or no "
                         "compression (e.g. h5repack -f GZIP=4)");
    }
}

void check_width(std::int64_t cols, std::int64_t model_width, const std::string& where) {
    if (cols != model_width) {
        throw InputError(where + " has " + std::to_string(cols) +
                         " features per row but the model expects " + std::to_string(model_width) +
                         ": check the dataset or the model");
    }
}

// A 2-D dataset: its columns are the model's by position, unless both it and the model name
// them; then they are matched by name, and sources say how to reorder them.
void match_names(hid_t file, InputInfo& info, const ColumnRequest& request,
                 const std::string& where) {
    const std::string label = info.file + ":" + info.dataset;
    const bool by_name = !request.names.empty() && request.mode != ColumnNames::Ignore;
    const std::optional<MatrixNames> names =
        by_name ? matrix_names(file, info.dataset, info.cols, where) : std::nullopt;
    if (!names) {
        check_width(info.cols, request.width, where);
        if (by_name) {
            info.notes.push_back("note: " + label +
                                 " has no column names; its columns are taken by position as "
                                 "the model's " +
                                 name_list(request.names));
        }
        return;
    }
    const std::vector<std::int64_t> order = match_columns(
        request.names, names->names, request.mode, where + " (named by " + names->origin + ")");
    if (in_order(order)) return;
    std::vector<std::string> positions;
    for (const std::int64_t column : order) {
        info.sources.push_back({info.dataset, "", column});
        positions.push_back(std::to_string(column));
    }
    info.notes.push_back("note: " + label +
                         " has the model's columns in another order: they are reordered by "
                         "name (the model's " +
                         name_list(request.names) + " are its columns " + name_list(positions) +
                         "; --column-names strict refuses this)");
}

// A group or a table: the model's columns are taken from it by name.
void use_named(InputInfo& info, NamedColumns named, const ColumnRequest& request) {
    info.rows = named.rows;
    info.cols = request.width;
    info.dtype = named.dtype;
    info.sources = std::move(named.sources);
    info.notes.push_back("note: " + info.file + ":" + info.dataset + " is " + named.layout +
                         ": the model's " + std::to_string(request.width) +
                         " columns are taken from it by name");
}

// A chunk shape of about 4 MiB for a dataset of `dims` (1-D or 2-D), whole rows when they fit:
// what the h5repack line of check_decoded_chunks() proposes.
std::string smaller_chunk(const std::vector<std::int64_t>& dims, std::int64_t element_bytes) {
    constexpr std::int64_t target_bytes = std::int64_t{4} << 20;
    const std::int64_t per_chunk = std::max<std::int64_t>(target_bytes / element_bytes, 1);
    std::int64_t cols = 1;
    if (dims.size() == 2)
        cols = std::clamp<std::int64_t>(per_chunk, 1, std::max<std::int64_t>(dims[1], 1));
    const std::int64_t rows =
        std::clamp<std::int64_t>(per_chunk / cols, 1, std::max<std::int64_t>(dims[0], 1));
    return std::to_string(rows) + (dims.size() == 2 ? "x" + std::to_string(cols) : "");
}

// HDF5 decodes a filtered chunk whole for every read that touches it: a dataset stored in one
// gzip chunk would cost each rank the whole dataset's memory, whatever --chunk-rows says.
void check_decoded_chunks(hid_t file, const std::string& path, const std::string& file_name) {
    h5::Handle dataset = h5::open_dataset(file, path);
    const std::int64_t bytes = h5::filtered_chunk_bytes(dataset.get());
    if (bytes <= max_decoded_chunk_bytes) return;
    constexpr std::int64_t mib = std::int64_t{1} << 20;
    const std::vector<std::int64_t> chunk = h5::chunk_dims(dataset.get());
    std::string shape;
    for (const std::int64_t dim : chunk)
        shape += (shape.empty() ? "" : " x ") + std::to_string(dim);
    const auto element_bytes =
        static_cast<std::int64_t>(h5::type_size(h5::file_type(dataset.get()).get()));
    throw InputError(
        "dataset " + quoted(path) + " in " + quoted(file_name) +
        " is stored in filtered (compressed) chunks of " + shape + " values, " +
        std::to_string((bytes + mib - 1) / mib) +
        " MiB each once decompressed, and HDF5 decompresses a whole chunk for every read: more "
        "than the " +
        std::to_string(max_decoded_chunk_bytes / mib) +
        " MiB per chunk h5infer allows, so that each rank's memory stays bounded. Rewrite it "
        "once in smaller chunks: h5repack -l " +
        path + ":CHUNK=" + smaller_chunk(h5::dataset_info(dataset.get()).dims, element_bytes) +
        " " + file_name + " NEW.h5");
}

// The datasets read row by row for the model's columns.
std::vector<std::string> datasets_read(const InputInfo& info) {
    std::vector<std::string> paths;
    for (const ColumnSource& source : info.sources) {
        if (std::find(paths.begin(), paths.end(), source.dataset) == paths.end()) {
            paths.push_back(source.dataset);
        }
    }
    if (paths.empty()) paths.push_back(info.dataset);
    return paths;
}

// Adds the files `dataset`'s values are read from besides `own_file` to info.data_files, and its
// unwritten rows to info.unwritten (naming the dataset when it is not the input's own).
void add_storage(hid_t file, const std::string& dataset, const std::string& own_file,
                 InputInfo& info) {
    h5::Handle handle = h5::open_dataset(file, dataset);
    h5::Storage storage = h5::dataset_storage(handle.get());
    std::vector<std::string> paths = std::move(storage.data_files);
    paths.insert(paths.begin(), storage.file);
    for (const std::string& path : paths) {
        const std::string absolute = absolute_path(path);
        const bool known = std::any_of(info.data_files.begin(), info.data_files.end(),
                                       [&](const FileVersion& v) { return v.path == absolute; });
        if (absolute == own_file || known) continue;
        if (std::optional<FileVersion> version = file_version(absolute)) {
            info.data_files.push_back(*version);
        }
    }
    for (h5::UnwrittenRows& rows : storage.unwritten) {
        if (dataset != info.dataset) rows.cause = quoted(dataset) + ": " + rows.cause;
        info.unwritten.push_back(std::move(rows));
    }
}

// The storage of the dataset, or of each dataset its columns are taken from.
void find_storage(hid_t file, InputInfo& info) {
    const std::string own_file = absolute_path(info.file);
    for (const std::string& dataset : datasets_read(info)) {
        add_storage(file, dataset, own_file, info);
    }
    std::stable_sort(info.unwritten.begin(), info.unwritten.end(),
                     [](const h5::UnwrittenRows& a, const h5::UnwrittenRows& b) {
                         return a.row_begin < b.row_begin;
                     });
}

// The rows, columns and type of the input, or of the datasets its columns are taken from.
void read_shape(hid_t file, InputInfo& info, const ColumnRequest& request,
                const std::string& where) {
    switch (h5::object_type(file, info.dataset)) {
        case h5::ObjectType::Missing: {
            std::vector<std::string> paths;
            try {
                paths = h5::dataset_paths(file);
            } catch (const Error&) {
                // Listing is only a hint; the missing dataset is the error to report.
            }
            throw InputError(where + " does not exist (datasets in the file: " + list_of(paths) +
                             ")");
        }
        case h5::ObjectType::Group:
            use_named(info,
                      group_columns(file, info.dataset, request,
                                    quoted(info.dataset) + " in " + quoted(info.file)),
                      request);
            break;
        case h5::ObjectType::Other:
            throw InputError(quoted(info.dataset) + " in " + quoted(info.file) +
                             " is not a dataset");
        case h5::ObjectType::Dataset: {
            h5::Handle dataset = h5::open_dataset(file, info.dataset);
            const h5::DatasetInfo dataset_info = h5::dataset_info(dataset.get());
            if (dataset_info.type_class == H5T_COMPOUND) {
                use_named(info, table_columns(file, info.dataset, request, where), request);
                break;
            }
            check_dataset(dataset_info, where);
            info.rows = dataset_info.dims[0];
            info.cols = dataset_info.dims[1];
            info.dtype = dataset_info.type_description;
            info.chunk = h5::chunk_dims(dataset.get());
            match_names(file, info, request, where);
            break;
        }
    }
}

}  // namespace

std::string absolute_path(const std::string& path) {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) return path;
    std::string result = resolved;
    std::free(resolved);  // NOLINT: realpath's contract
    return result;
}

std::optional<FileVersion> file_version(const std::string& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) return std::nullopt;
    constexpr std::int64_t ns_per_second = 1000000000;
    return FileVersion{path, status.st_size,
                       status.st_mtim.tv_sec * ns_per_second + status.st_mtim.tv_nsec};
}

DatasetRef parse_input_ref(const std::string& argument) {
    const std::size_t colon = argument.rfind(':');
    if (is_regular_file(argument) || colon == std::string::npos || colon == 0) {
        return {argument, ""};
    }
    return {argument.substr(0, colon), argument.substr(colon + 1)};
}

DatasetRef parse_output_ref(const std::string& argument, const std::string& default_dataset) {
    const std::size_t colon = argument.rfind(':');
    if (colon != std::string::npos && colon > 0 && colon + 1 < argument.size() &&
        argument[colon + 1] == '/') {
        return {argument.substr(0, colon), argument.substr(colon + 1)};
    }
    return {argument, default_dataset};
}

InputInfo inspect_input(const DatasetRef& ref, std::int64_t model_width) {
    return inspect_input(ref, ColumnRequest{model_width, {}, ColumnNames::Reorder});
}

InputInfo inspect_input(const DatasetRef& ref, const ColumnRequest& request) {
    check_file(ref.file);
    h5::Handle file;
    try {
        file = h5::open_file(ref.file);
    } catch (const Error& error) {
        throw InputError("input file " + quoted(ref.file) +
                         " cannot be opened (damaged or truncated?): " + error.what());
    }
    InputInfo info;
    info.file = ref.file;
    info.dataset = ref.dataset.empty() ? find_only_matrix(file.get(), ref.file)
                                       : absolute_dataset(ref.dataset);
    const std::string where = "dataset " + quoted(info.dataset) + " in " + quoted(ref.file);
    try {
        read_shape(file.get(), info, request, where);
        find_storage(file.get(), info);
        for (const std::string& path : datasets_read(info)) {
            check_decoded_chunks(file.get(), path, ref.file);
        }
    } catch (const IoError& error) {
        throw InputError(where + " cannot be read: " + error.what());
    }
    if (std::optional<FileVersion> version = file_version(ref.file)) {
        info.file_bytes = version->bytes;
        info.file_mtime_ns = version->mtime_ns;
    }
    return info;
}

std::string describe_unwritten(const InputInfo& info) {
    constexpr std::size_t shown = 3;
    std::string text;
    for (std::size_t i = 0; i < info.unwritten.size() && i < shown; ++i) {
        const h5::UnwrittenRows& rows = info.unwritten[i];
        text += (text.empty() ? "rows " : ", rows ") + std::to_string(rows.row_begin) + ".." +
                std::to_string(rows.row_end) + " (" + rows.cause + ")";
    }
    if (info.unwritten.size() > shown) {
        text += " and " + std::to_string(info.unwritten.size() - shown) + " more runs of rows";
    }
    return text;
}

void check_unchanged(const InputInfo& info) {
    std::vector<FileVersion> files{{info.file, info.file_bytes, info.file_mtime_ns}};
    files.insert(files.end(), info.data_files.begin(), info.data_files.end());
    for (const FileVersion& then : files) {
        const std::optional<FileVersion> now = file_version(then.path);
        const std::string what = then.path == info.file
                                     ? "input " + quoted(info.file)
                                     : "file " + quoted(then.path) + " (holding values of input " +
                                           quoted(info.file) + ")";
        if (!now) {
            throw InputError(what +
                             " disappeared while the job read it (moved or deleted?); its "
                             "predictions are not kept: rerun once it is back");
        }
        if (now->bytes != then.bytes || now->mtime_ns != then.mtime_ns) {
            throw InputError(what +
                             " changed while the job read it (its size or modification time is "
                             "not what it was at the start), so its predictions could mix old "
                             "and new rows and are not kept: rerun once nothing writes it");
        }
    }
}

std::string check_copy(const InputInfo& input, const std::string& path) {
    const std::string absolute = absolute_dataset(path);
    const std::string where = "--copy " + quoted(absolute) + " in " + quoted(input.file);
    h5::Handle file = h5::open_file(input.file);
    if (h5::object_type(file.get(), absolute) != h5::ObjectType::Dataset) {
        throw InputError(where + ": no such dataset (datasets in the file: " +
                         list_of(h5::dataset_paths(file.get())) + ")");
    }
    h5::Handle dataset = h5::open_dataset(file.get(), absolute);
    const h5::DatasetInfo info = h5::dataset_info(dataset.get());
    if (info.dims.empty() || info.dims.size() > 2 || info.dims[0] != input.rows) {
        std::string shape;
        for (std::int64_t d : info.dims) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
        throw InputError(where + " has shape [" + shape +
                         "]; --copy needs a 1-D or 2-D dataset "
                         "with one row per input row (" +
                         std::to_string(input.rows) + ")");
    }
    h5::Handle type = h5::native_type(dataset.get());
    if (h5::is_variable_length(type.get())) {
        throw InputError(where +
                         " holds variable-length values, which parallel HDF5 cannot "
                         "write; store them as fixed-length strings or numbers");
    }
    if (h5::has_references(type.get())) {
        throw InputError(where +
                         " holds HDF5 object or region references, addresses in the input file "
                         "that would point at nothing in the prediction file; copy the data "
                         "they refer to instead (a dataset of numbers or fixed-length strings)");
    }
    if (!info.unavailable_filter.empty()) {
        throw InputError(where + " is compressed with " + info.unavailable_filter +
                         ", which this HDF5 cannot decode");
    }
    check_decoded_chunks(file.get(), absolute, input.file);
    return absolute;
}

InputReader::InputReader(const InputInfo& info) : info_(info) {
    std::optional<h5::ContiguousData> data;
    try {
        file_ = h5::open_file(info_.file);
        if (!info_.sources.empty()) {
            columns_.emplace(file_.get(), info_.sources);
            return;
        }
        dataset_ = h5::open_dataset(file_.get(), info_.dataset);
        data = h5::contiguous_data(dataset_.get(), H5T_NATIVE_FLOAT);
        if (!data) {
            data = h5::contiguous_data(dataset_.get(), H5T_NATIVE_DOUBLE);
            fetch_doubles_ = data.has_value();
        }
    } catch (const Error& error) {
        throw InputError("input " + quoted(info_.file) + ":" + info_.dataset +
                         " was validated but can no longer be opened (moved, deleted or "
                         "replaced while the job ran?): " +
                         error.what());
    }
    // A second descriptor of the same file for fetch(): HDF5 keeps its own to itself. If the
    // file cannot be opened again, read() still works.
    if (data) {
        descriptor_ = Descriptor(::open(data->file.c_str(), O_RDONLY | O_CLOEXEC));
        data_offset_ = data->offset;
    }
}

InputReader::~InputReader() = default;

void InputReader::read(std::int64_t row_begin, std::int64_t rows, float* dst) {
    try {
        if (columns_) {
            columns_->read(row_begin, rows, dst);
        } else if (info_.dtype != "float64") {
            h5::read_rows(dataset_.get(), row_begin, rows, info_.cols, dst);
        } else {
            const auto count = static_cast<std::size_t>(rows * info_.cols);
            if (doubles_.size() < count) doubles_ = BulkArray<double>(count);
            h5::read_rows(dataset_.get(), row_begin, rows, info_.cols, doubles_.data());
            narrow(doubles_.data(), count, dst);
        }
        blank_unwritten(row_begin, rows, dst);
    } catch (const Error& error) {
        rethrow_with_context(error, "reading " + quoted(info_.file) + ":" + info_.dataset);
    }
}

void InputReader::fetch(std::int64_t row_begin, std::int64_t rows, float* dst) {
    H5INFER_ASSERT(can_fetch());
    const auto start = std::chrono::steady_clock::now();
    if (!fetch_doubles_) {
        read_bytes(row_begin, rows, dst);
    } else {
        // The doubles pass through a buffer of each thread's own, a piece of rows at a time,
        // small enough to stay in cache until they are narrowed.
        constexpr std::int64_t piece_values = std::int64_t{1} << 17;
        const std::int64_t piece_rows = std::max<std::int64_t>(piece_values / info_.cols, 1);
        thread_local std::vector<double> piece;
        for (std::int64_t done = 0; done < rows; done += piece_rows) {
            const std::int64_t count = std::min(piece_rows, rows - done);
            const auto values = static_cast<std::size_t>(count * info_.cols);
            if (piece.size() < values) piece.resize(values);
            read_bytes(row_begin + done, count, piece.data());
            narrow(piece.data(), values, dst + done * info_.cols);
        }
    }
    blank_unwritten(row_begin, rows, dst);
    fetch_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::steady_clock::now() - start)
                     .count();
}

double InputReader::fetch_seconds() const {
    return static_cast<double>(fetch_ns_.load()) * 1e-9;
}

void InputReader::read_ahead(std::int64_t row_begin, std::int64_t rows) const {
    if (!descriptor_.valid() || rows <= 0) return;
    const std::int64_t bytes_per_row = row_bytes();
    // Only advice: a file system that ignores it is read when fetched, as without it.
    (void)::posix_fadvise(descriptor_.get(),
                          static_cast<::off_t>(data_offset_ + row_begin * bytes_per_row),
                          static_cast<::off_t>(rows * bytes_per_row), POSIX_FADV_WILLNEED);
}

std::int64_t InputReader::row_bytes() const {
    return info_.cols * static_cast<std::int64_t>(fetch_doubles_ ? sizeof(double) : sizeof(float));
}

void InputReader::blank_unwritten(std::int64_t row_begin, std::int64_t rows, float* dst) const {
    for (const h5::UnwrittenRows& unwritten : info_.unwritten) {
        const std::int64_t begin = std::max(unwritten.row_begin, row_begin);
        const std::int64_t end = std::min(unwritten.row_end, row_begin + rows);
        if (begin >= end) continue;
        std::fill(dst + (begin - row_begin) * info_.cols, dst + (end - row_begin) * info_.cols,
                  std::numeric_limits<float>::quiet_NaN());
    }
}

void InputReader::read_bytes(std::int64_t row_begin, std::int64_t rows, void* into) const {
    const std::int64_t bytes_per_row = row_bytes();
    auto* bytes_into = static_cast<char*>(into);
    const std::int64_t bytes = rows * bytes_per_row;
    std::int64_t done = 0;
    while (done < bytes) {
        const ::ssize_t got =
            ::pread(descriptor_.get(), bytes_into + done, static_cast<std::size_t>(bytes - done),
                    static_cast<::off_t>(data_offset_ + row_begin * bytes_per_row + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            const std::string cause =
                got < 0 ? std::string(std::strerror(errno))
                        : "the file ends before them (truncated or replaced while the job ran?)";
            throw InputError("reading rows " + std::to_string(row_begin) + ".." +
                             std::to_string(row_begin + rows) + " of " + quoted(info_.file) + ":" +
                             info_.dataset + ": " + cause);
        }
        done += got;
    }
}

}  // namespace h5infer::io
