#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/h5/h5.hpp"
#include "io/columns.hpp"

namespace h5infer::io {

/// Assembles rows of the model's columns from where they lie (ColumnSource): 1-D datasets,
/// columns of 2-D datasets (in any order), or the fields of a compound dataset. Reads through
/// HDF5 (which converts any numeric type to float32), a block of rows at a time, in memory
/// bounded by the block: a 1-D dataset's values and a 2-D dataset's rows pass through one
/// buffer before their columns are placed; a compound dataset's fields are read in place.
class ColumnReader {
public:
    /// Opens the datasets of `sources` (one per model column) in `file`. Throws IoError.
    ColumnReader(hid_t file, const std::vector<ColumnSource>& sources);

    /// Reads rows [row_begin, row_begin + rows) into `dst`, rows x sources.size() floats.
    /// Throws IoError.
    void read(std::int64_t row_begin, std::int64_t rows, float* dst);

private:
    /// The columns read from one dataset.
    struct Part {
        h5::Handle dataset;
        std::int64_t cols = 0;                  ///< its width when 2-D; 0 when 1-D or compound
        std::vector<h5::MemberColumn> members;  ///< compound: field -> column
        std::vector<std::pair<std::int64_t, std::int64_t>> copy;  ///< 2-D: its column -> column
        std::int64_t column = -1;                                 ///< 1-D: the column it fills
    };

    std::int64_t width_ = 0;
    std::vector<Part> parts_;
    BulkArray<float> block_;  ///< a 1-D dataset's values or a 2-D one's rows, before placing
};

}  // namespace h5infer::io
