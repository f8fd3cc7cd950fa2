#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "h5infer/h5/h5.hpp"
#include "h5infer/run.hpp"
#include "io/columns.hpp"

namespace h5infer::io {

/// What the model expects of an input's columns.
struct ColumnRequest {
    std::int64_t width = 0;                   ///< the model's input width
    std::vector<std::string> names;           ///< the model's feature names, or none
    ColumnNames mode = ColumnNames::Reorder;  ///< --column-names
};

/// The column names a 2-D dataset carries, and where they were found.
struct MatrixNames {
    std::vector<std::string> names;
    std::string origin;  ///< e.g. "its 'columns' attribute"
};

/// The names of the columns of the 2-D dataset at `path`: its `columns` attribute (written by
/// import-csv, or by h5py as a list of strings), or, for a pandas block (`blockN_values` in a
/// group pandas marked as a 'frame'), the `blockN_items` beside it. Nothing when it has none.
/// Throws InputError naming `where` when the names are unreadable or not one per column.
[[nodiscard]] std::optional<MatrixNames> matrix_names(hid_t file, const std::string& path,
                                                      std::int64_t cols, const std::string& where);

/// How the model's columns are read from an input that is not one 2-D dataset.
struct NamedColumns {
    std::vector<ColumnSource> sources;  ///< one per model column, in the model's order
    std::int64_t rows = 0;
    std::string dtype;   ///< the element types of the columns read, e.g. "float32,int64"
    std::string layout;  ///< what the input is, e.g. "a group of 1-D datasets"
};

/// The model's columns by name from the group at `path`: a pandas 'frame' (`to_hdf` in the
/// 'fixed' format: columns from its blocks), a pandas 'frame_table' (its `table`, as a compound
/// dataset), or any other group, whose 1-D numeric datasets are its columns. Members the model
/// does not name are left alone. Throws InputError naming `where`, the columns and the fix.
[[nodiscard]] NamedColumns group_columns(hid_t file, const std::string& path,
                                         const ColumnRequest& request, const std::string& where);

/// The model's columns by name from the fields of the 1-D compound dataset at `path` (a table:
/// h5py's structured arrays, PyTables, pandas 'table' with data_columns=True). Fields the model
/// does not name are left alone. Throws InputError naming `where`, the fields and the fix.
[[nodiscard]] NamedColumns table_columns(hid_t file, const std::string& path,
                                         const ColumnRequest& request, const std::string& where);

}  // namespace h5infer::io
