#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/csv.hpp"

namespace h5infer::io {

/// What `h5infer import-csv` does. Indices are 0-based.
struct CsvImportConfig {
    std::string csv_path;
    std::string output_file;
    std::string dataset = "/features";
    CsvOptions options;
    bool overwrite = false;
};

/// What an import wrote.
struct CsvImportReport {
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    bool header = false;
    std::vector<std::string> columns;
    /// Temporaries of killed imports to the same output, removed before this one began.
    std::vector<std::string> removed_temporaries;
};

/// Streams `config.csv_path` into a new HDF5 file holding one 2-D dataset (rows x selected
/// columns, float32 or float64, chunked) with the header's column names in its `columns`
/// attribute, or, without a header, the columns' 0-based indices in `column_indices`.
/// Runs on one rank. The file is written under a temporary name in the output directory,
/// temporary_path(output, "import-<pid>"), and renamed into place only when complete: on any
/// error nothing is left under either name. Holds the output's OutputLock meanwhile, and first
/// removes the temporaries of imports to the same output that were killed (no lock, no removal).
/// Throws ConfigError (flags), InputError (CSV missing or malformed), IoError (output, or
/// another job writing it).
CsvImportReport import_csv(const CsvImportConfig& config);

}  // namespace h5infer::io
