#include "io/csv_import.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "io/output.hpp"

namespace h5infer::io {
namespace {

constexpr std::int64_t max_block_rows = 65536;
constexpr std::int64_t max_block_values = std::int64_t{1} << 22;  // 32 MiB of float64 per block
constexpr std::int64_t chunk_bytes = std::int64_t{1} << 20;       // HDF5's default chunk cache
// The temporary's tag, followed by the importing process's id.
constexpr std::string_view import_tag = "import-";
constexpr std::string_view temporary_suffix = ".tmp";

std::string quoted(const std::string& text) {
    return "'" + text + "'";
}

void check_config(const CsvImportConfig& config) {
    if (config.dataset.empty() || config.dataset.back() == '/' || config.dataset == "/") {
        throw ConfigError("the dataset path " + quoted(config.dataset) +
                          " does not name a dataset; use e.g. data.h5:/features");
    }
    std::error_code error;
    if (std::filesystem::equivalent(config.csv_path, config.output_file, error)) {
        throw ConfigError("the output " + quoted(config.output_file) +
                          " is the CSV file itself; choose another output name");
    }
}

void open_csv(const std::string& path, std::ifstream& in) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        throw InputError("CSV file " + quoted(path) + " cannot be read: " + std::strerror(errno) +
                         " (check the path)");
    }
    if (S_ISDIR(info.st_mode)) {
        throw InputError("CSV path " + quoted(path) + " is a directory; give the CSV file");
    }
    in.open(path, std::ios::binary);
    if (!in) {
        throw InputError("CSV file " + quoted(path) + " cannot be opened: " + std::strerror(errno) +
                         " (check its permissions)");
    }
}

hid_t file_type(CsvType type) {
    return type == CsvType::Float64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
}

std::int64_t write_rows(CsvReader& reader, hid_t dataset, CsvType type) {
    const std::int64_t cols = reader.cols();
    const std::int64_t block_rows =
        std::clamp<std::int64_t>(max_block_values / cols, 1, max_block_rows);
    std::vector<double> block;
    std::vector<float> narrow;
    std::int64_t total = 0;
    while (true) {
        const std::int64_t rows = reader.read(block_rows, block);
        if (rows == 0) break;
        h5::set_rows(dataset, total + rows);
        if (type == CsvType::Float64) {
            h5::write_rows(dataset, total, rows, cols, block.data());
        } else {
            narrow.resize(static_cast<std::size_t>(rows * cols));
            std::transform(block.begin(), block.begin() + rows * cols, narrow.begin(),
                           [](double value) { return static_cast<float>(value); });
            h5::write_rows(dataset, total, rows, cols, narrow.data());
        }
        total += rows;
        if (rows < block_rows) break;
    }
    return total;
}

// Names the columns: the header's names in `columns`, or their 0-based indices in
// `column_indices` when there is no header. Written before the rows, so a problem with them
// shows before the whole file is read.
void write_column_names(hid_t dataset, const CsvImportReport& report) {
    if (report.header) {
        h5::write_attribute(dataset, "columns", report.columns);
        return;
    }
    // Without a header there are no names, only positions: `run` matches `columns` with a
    // model's feature names, which indices would never match.
    std::vector<std::int64_t> indices;
    for (const std::string& index : report.columns) indices.push_back(std::stoll(index));
    h5::write_attribute(dataset, "column_indices", indices);
}

// Writes the whole HDF5 file under `temporary`.
void write_file(const std::string& temporary, const CsvImportConfig& config, CsvReader& reader,
                CsvImportReport& report) {
    // The 1.8 format: column names beyond 64 KiB need its dense attribute storage.
    h5::Handle file = h5::create_file(temporary, h5::Compatibility::Hdf5V18);
    h5::Handle dataset;
    try {
        const std::int64_t chunk_rows = std::clamp<std::int64_t>(
            chunk_bytes / (report.cols * static_cast<std::int64_t>(sizeof(double))), 1,
            max_block_rows);
        dataset = h5::create_extensible_dataset(file.get(), config.dataset, report.cols,
                                                file_type(config.options.type), chunk_rows);
        write_column_names(dataset.get(), report);
        report.rows = write_rows(reader, dataset.get(), config.options.type);
        // A full disk shows here, while the handles can still be closed without writing.
        h5::flush(file.get());
    } catch (const IoError& error) {
        h5::discard_pending_writes(file.get());
        rethrow_with_context(error, "cannot write output " + quoted(config.output_file) +
                                        " (if the disk or quota is full, free space and rerun)");
    } catch (...) {
        h5::discard_pending_writes(file.get());
        throw;
    }
    dataset.close();
    file.close();
}

// Whether `name` is "<prefix><digits>.tmp".
bool is_import_temporary(const std::string& name, const std::string& prefix) {
    if (name.size() <= prefix.size() + temporary_suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - temporary_suffix.size(), std::string::npos, temporary_suffix) !=
            0) {
        return false;
    }
    const std::string pid =
        name.substr(prefix.size(), name.size() - prefix.size() - temporary_suffix.size());
    return pid.find_first_not_of("0123456789") == std::string::npos;
}

// The temporaries of earlier imports to `output` that were killed (SIGKILL, a node crash)
// before they could remove them. Only called while holding the output's lock, which every live
// import to it holds, so no owner is still writing one.
std::vector<std::string> remove_stale_temporaries(const std::string& output) {
    // temporary_path() with an empty pid: "<dir>/.<name>.h5infer-import-.tmp".
    const std::filesystem::path pattern = temporary_path(output, std::string(import_tag));
    std::string prefix = pattern.filename().string();
    prefix.resize(prefix.size() - temporary_suffix.size());
    const std::filesystem::path directory =
        pattern.has_parent_path() ? pattern.parent_path() : std::filesystem::path(".");
    std::vector<std::string> removed;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
        // A symbolic link is never one of ours: leave it and what it points to alone.
        if (is_import_temporary(entry.path().filename().string(), prefix) &&
            entry.symlink_status(error).type() == std::filesystem::file_type::regular &&
            std::filesystem::remove(entry.path(), error)) {
            removed.push_back(entry.path().string());
        }
    }
    return removed;
}

}  // namespace

CsvImportReport import_csv(const CsvImportConfig& config) {
    check_config(config);
    check_output_path(config.output_file, config.overwrite);
    std::ifstream in;
    open_csv(config.csv_path, in);
    // Header and column problems surface here, before anything is created.
    CsvReader reader(in, config.csv_path, config.options);

    // Another import or run writing this output is refused here.
    const OutputLock lock(config.output_file);
    CsvImportReport report;
    if (lock.held()) report.removed_temporaries = remove_stale_temporaries(config.output_file);
    const std::string temporary =
        temporary_path(config.output_file, std::string(import_tag) + std::to_string(::getpid()));
    TemporaryOutput guard(temporary);
    report.cols = reader.cols();
    report.header = reader.has_header();
    report.columns = reader.column_names();
    write_file(temporary, config, reader, report);
    commit_output(temporary, config.output_file, config.overwrite);
    guard.dismiss();
    return report;
}

}  // namespace h5infer::io
