#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace h5infer::h5 {

/// Reads rows [row_begin, row_begin + rows) of a 2-D dataset as float32 (HDF5 converts any
/// numeric type). Independent I/O. Throws IoError.
void read_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
               float* dst);

/// As above, as float64 (HDF5 converts any numeric type).
void read_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
               double* dst);

/// A member of a compound dataset and the column of a row-major block it is read into.
struct MemberColumn {
    std::string member;
    std::int64_t column = 0;
};

/// Reads rows [row_begin, row_begin + rows) of a 1-D compound dataset into `dst`, a row-major
/// block of rows x `dst_cols` floats: each of `members` (numeric, converted by HDF5 to float32)
/// into its column. The members must fill every column, each once. Independent I/O. Throws
/// IoError.
void read_members(hid_t dataset, std::int64_t row_begin, std::int64_t rows,
                  const std::vector<MemberColumn>& members, std::int64_t dst_cols, float* dst);

/// Reads a whole 1-D dataset of strings (fixed or variable length, any padding), such as the
/// column names pandas keeps beside a block of values. Throws IoError if it is not strings.
[[nodiscard]] std::vector<std::string> read_strings(hid_t dataset);

/// Reads rows [row_begin, row_begin + rows) of a 1-D or 2-D dataset, every column, as
/// `memory_type` (independent I/O). Throws IoError.
void read_rows_raw(hid_t dataset, std::int64_t row_begin, std::int64_t rows, hid_t memory_type,
                   void* dst);

/// Collective when the file is parallel; a rank without rows passes rows = 0. Writes rows
/// [row_begin, row_begin + rows) of a 1-D or 2-D dataset, every column, from `memory_type`.
void write_rows_raw_collective(hid_t dataset, std::int64_t row_begin, std::int64_t rows,
                               hid_t memory_type, const void* src);

/// Reads a whole dataset of at most two dimensions as float32, returning its dims.
[[nodiscard]] std::vector<float> read_all(hid_t dataset, std::vector<std::int64_t>& dims);

/// Reads a whole dataset of at most two dimensions as float64, returning its dims.
[[nodiscard]] std::vector<double> read_all_doubles(hid_t dataset, std::vector<std::int64_t>& dims);

/// Reads a whole integer dataset of at most two dimensions as int64 (HDF5 converts, clamping
/// what int64 cannot hold), returning its dims.
[[nodiscard]] std::vector<std::int64_t> read_all_int64s(hid_t dataset,
                                                        std::vector<std::int64_t>& dims);
/// Writes a whole int32 dataset (independent I/O, serial files).
void write_all(hid_t dataset, const std::int32_t* src);
/// Writes a whole int64 dataset (independent I/O, serial files).
void write_all(hid_t dataset, const std::int64_t* src);
/// Writes a whole float32 dataset (independent I/O, serial files).
void write_all(hid_t dataset, const float* src);

/// Writes a whole float64 dataset (independent I/O, serial files).
void write_all(hid_t dataset, const double* src);

/// Collective when the file is parallel: every rank calls it, a rank without rows passes
/// rows = 0. Writes rows [row_begin, row_begin + rows) of a 2-D float32 dataset.
void write_rows_collective(hid_t dataset, std::int64_t row_begin, std::int64_t rows,
                           std::int64_t cols, const float* src);

/// Writes rows of a 2-D dataset from float32 memory on this rank alone (serial files).
void write_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
                const float* src);

/// Writes rows of a 2-D dataset from float64 memory on this rank alone (serial files).
void write_rows(hid_t dataset, std::int64_t row_begin, std::int64_t rows, std::int64_t cols,
                const double* src);

/// Why the last collective write on this rank was not collective, or "" when it was.
[[nodiscard]] std::string last_write_not_collective_cause();

}  // namespace h5infer::h5
