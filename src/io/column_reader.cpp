#include "io/column_reader.hpp"

#include <algorithm>

#include "h5infer/error.hpp"

namespace h5infer::io {

ColumnReader::ColumnReader(hid_t file, const std::vector<ColumnSource>& sources)
    : width_(static_cast<std::int64_t>(sources.size())) {
    std::vector<std::string> paths;  // of parts_, in the order first met
    for (std::int64_t j = 0; j < width_; ++j) {
        const ColumnSource& source = sources[static_cast<std::size_t>(j)];
        const bool vector = source.field.empty() && source.column < 0;
        auto at = std::find(paths.begin(), paths.end(), source.dataset);
        if (vector || at == paths.end()) {
            Part part;
            part.dataset = h5::open_dataset(file, source.dataset);
            if (source.column >= 0) part.cols = h5::dataset_info(part.dataset.get()).dims.at(1);
            parts_.push_back(std::move(part));
            paths.push_back(source.dataset);
            at = paths.end() - 1;
        }
        Part& part = parts_[static_cast<std::size_t>(at - paths.begin())];
        if (!source.field.empty()) {
            part.members.push_back({source.field, j});
        } else if (source.column >= 0) {
            part.copy.emplace_back(source.column, j);
        } else {
            part.column = j;
        }
    }
    for (const Part& part : parts_) {
        // A compound dataset's fields are read straight into the rows, so they must fill them.
        H5INFER_ASSERT(part.members.empty() ||
                       static_cast<std::int64_t>(part.members.size()) == width_);
    }
}

void ColumnReader::read(std::int64_t row_begin, std::int64_t rows, float* dst) {
    for (Part& part : parts_) {
        if (!part.members.empty()) {
            h5::read_members(part.dataset.get(), row_begin, rows, part.members, width_, dst);
        } else if (part.column >= 0) {
            // Read whole, then placed: HDF5 writing into one column of the rows (a strided
            // memory selection) moves one value at a time (docs/performance.md).
            const auto count = static_cast<std::size_t>(rows);
            if (block_.size() < count) block_ = BulkArray<float>(count);
            h5::read_rows_raw(part.dataset.get(), row_begin, rows, H5T_NATIVE_FLOAT, block_.data());
            const float* from = block_.data();
            for (std::int64_t i = 0; i < rows; ++i) dst[i * width_ + part.column] = from[i];
        } else {
            const auto count = static_cast<std::size_t>(rows * part.cols);
            if (block_.size() < count) block_ = BulkArray<float>(count);
            h5::read_rows(part.dataset.get(), row_begin, rows, part.cols, block_.data());
            for (std::int64_t i = 0; i < rows; ++i) {
                const float* from = block_.data() + i * part.cols;
                float* to = dst + i * width_;
                for (const auto& [column, into] : part.copy) to[into] = from[column];
            }
        }
    }
}

}  // namespace h5infer::io
