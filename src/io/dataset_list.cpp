#include "io/dataset_list.hpp"

#include <algorithm>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"

namespace h5infer::io {
namespace {

constexpr std::size_t column_gap = 2;

std::string join(const std::vector<std::int64_t>& dims, const std::string& separator) {
    std::string text;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        text += (i > 0 ? separator : "") + std::to_string(dims[i]);
    }
    return text;
}

// How the values are kept, then which rows were never written (they read as the fill value).
std::string storage_text(hid_t dataset, const std::string& file) {
    const h5::Storage storage = h5::dataset_storage(dataset);
    std::string text = h5::storage_kind_name(storage.kind);
    if (storage.kind == h5::StorageKind::Chunked) text += " " + join(h5::chunk_dims(dataset), "x");
    const std::size_t files = storage.data_files.size();
    if (storage.kind == h5::StorageKind::External) {
        text += " (" + std::to_string(files) + (files == 1 ? " raw file)" : " raw files)");
    }
    if (storage.kind == h5::StorageKind::Virtual) {
        text += " (" + std::to_string(files) + (files == 1 ? " source file)" : " source files)");
    }
    if (storage.file != file) text += " in " + storage.file + " (external link)";
    std::string filters;
    for (const std::string& filter : h5::dataset_filters(dataset)) {
        filters += (filters.empty() ? "" : "+") + filter;
    }
    if (!filters.empty()) text += ", " + filters;
    std::string unwritten;
    for (const h5::UnwrittenRows& rows : storage.unwritten) {
        unwritten += (unwritten.empty() ? "" : ",") + std::to_string(rows.row_begin) + ".." +
                     std::to_string(rows.row_end);
    }
    return unwritten.empty() ? text : text + ", rows " + unwritten + " never written";
}

std::string shape_text(const std::vector<std::int64_t>& dims) {
    return dims.empty() ? "scalar" : join(dims, " x ");
}

std::string pad(const std::string& text, std::size_t width) {
    return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

}  // namespace

std::vector<DatasetEntry> list_datasets(const std::string& file) {
    h5::Handle handle;
    try {
        handle = h5::open_file(file);
    } catch (const Error& error) {
        throw InputError("'" + file +
                         "' cannot be opened (damaged or truncated?): " + error.what());
    }
    std::vector<DatasetEntry> entries;
    for (const std::string& path : h5::dataset_paths(handle.get())) {
        h5::Handle dataset = h5::open_dataset(handle.get(), path);
        const h5::DatasetInfo info = h5::dataset_info(dataset.get());
        entries.push_back({path, info.dims, info.type_description,
                           storage_text(dataset.get(), file), info.unavailable_filter});
    }
    return entries;
}

std::string describe_datasets(const std::string& file, const std::vector<DatasetEntry>& datasets) {
    std::string text = "data: " + file + "\n\n";
    if (datasets.empty()) return text + "no datasets\n";
    std::vector<std::vector<std::string>> rows{{"dataset", "shape", "dtype", "storage"}};
    std::vector<std::string> matrices;
    for (const DatasetEntry& entry : datasets) {
        std::string storage = entry.storage;
        if (!entry.unavailable_filter.empty()) {
            storage += " (cannot be decoded here: " + entry.unavailable_filter + ")";
        }
        rows.push_back({entry.path, shape_text(entry.dims), entry.dtype, storage});
        if (entry.dims.size() == 2) matrices.push_back(entry.path);
    }
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows) {
        for (std::size_t j = 0; j < row.size(); ++j) widths[j] = std::max(widths[j], row[j].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t j = 0; j + 1 < row.size(); ++j) {
            line += pad(row[j], widths[j] + column_gap);
        }
        text += line + row.back() + "\n";
    }
    text +=
        "\n" + std::to_string(datasets.size()) + (datasets.size() == 1 ? " dataset" : " datasets");
    if (matrices.size() == 1) {
        return text + "; `run --input " + file + "` reads " + matrices.front() +
               ", the only 2-D one\n";
    }
    if (matrices.empty()) return text + "; none is 2-D, so `run` cannot read this file\n";
    return text + ", " + std::to_string(matrices.size()) +
           " of them 2-D; name one with `run --input " + file + ":DATASET`\n";
}

}  // namespace h5infer::io
