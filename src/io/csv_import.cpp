#include "io/csv_import.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "io/output.hpp"

namespace h5infer::io {
namespace {

constexpr std::int64_t max_block_rows = 65536;
constexpr std::int64_t max_block_values = std::int64_t{1} << 22;  // 32 MiB of float64 per block
constexpr std::int64_t chunk_bytes = std::int64_t{1} << 20;       // HDF5's default chunk cache

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

}  // namespace

CsvImportReport import_csv(const CsvImportConfig& config) {
    check_config(config);
    check_output_path(config.output_file, config.overwrite);
    std::ifstream in;
    open_csv(config.csv_path, in);
    // Header and column problems surface here, before anything is created.
    CsvReader reader(in, config.csv_path, config.options);

    const std::string temporary = temporary_path(
        config.output_file, std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr)));
    TemporaryOutput guard(temporary);
    CsvImportReport report;
    report.cols = reader.cols();
    report.header = reader.has_header();
    report.columns = reader.column_names();
    {
        h5::Handle file = h5::create_file(temporary);
        const std::int64_t chunk_rows = std::clamp<std::int64_t>(
            chunk_bytes / (report.cols * static_cast<std::int64_t>(sizeof(double))), 1,
            max_block_rows);
        h5::Handle dataset = h5::create_extensible_dataset(
            file.get(), config.dataset, report.cols, file_type(config.options.type), chunk_rows);
        report.rows = write_rows(reader, dataset.get(), config.options.type);
        if (report.header) {
            h5::write_attribute(dataset.get(), "columns", report.columns);
        } else {
            // Without a header there are no names, only positions: `run` matches `columns`
            // with a model's feature names, which indices would never match.
            std::vector<std::int64_t> indices;
            for (const std::string& index : report.columns) indices.push_back(std::stoll(index));
            h5::write_attribute(dataset.get(), "column_indices", indices);
        }
        dataset.close();
        file.close();
    }
    commit_output(temporary, config.output_file, config.overwrite);
    guard.dismiss();
    return report;
}

}  // namespace h5infer::io
