#include "io/column_layout.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "h5infer/error.hpp"

namespace h5infer::io {
namespace {

constexpr const char* pandas_values_suffix = "_values";
constexpr const char* pandas_block_prefix = "block";

std::string quoted(const std::string& text) {
    return "'" + text + "'";
}

std::string parent_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string child_path(const std::string& group, const std::string& name) {
    return group == "/" ? "/" + name : group + "/" + name;
}

// A string attribute's value, or "" when it is missing or not a string.
std::string string_attribute_or_empty(hid_t location, const std::string& name) {
    try {
        return h5::has_attribute(location, name) ? h5::read_string_attribute(location, name) : "";
    } catch (const IoError&) {
        return "";
    }
}

bool is_numeric(H5T_class_t type_class) {
    return type_class == H5T_INTEGER || type_class == H5T_FLOAT;
}

void check_filters(const h5::DatasetInfo& info, const std::string& what) {
    if (!info.unavailable_filter.empty()) {
        throw InputError(what + " is compressed with " + info.unavailable_filter +
                         ", which this HDF5 cannot decode; rewrite it with gzip or no "
                         "compression (e.g. h5repack -f GZIP=4)");
    }
}

std::string joined_types(const std::set<std::string>& types) {
    std::string text;
    for (const std::string& type : types) text += (text.empty() ? "" : ",") + type;
    return text;
}

// Groups and tables are read by name only: the model must have names, and the flag allow it.
void check_named_reading(const ColumnRequest& request, const std::string& where,
                         const std::string& what, const std::string& fix) {
    if (request.names.empty()) {
        throw InputError(where + " is " + what +
                         ", whose columns are taken by the model's feature names, and the model "
                         "has none: " +
                         fix +
                         ", or export the model with its feature names (a scikit-learn model "
                         "fitted on a DataFrame)");
    }
    if (request.mode == ColumnNames::Ignore) {
        throw InputError(where + " is " + what +
                         ", whose columns are taken by name only: drop --column-names ignore, "
                         "or name a 2-D dataset");
    }
}

// The rows of a column, which must be those of the columns before it (rows < 0: none yet).
void check_rows(std::int64_t& rows, std::int64_t column_rows, const std::string& column,
                const std::string& first, const std::string& where) {
    if (rows < 0) {
        rows = column_rows;
        return;
    }
    if (column_rows != rows) {
        throw InputError(where + ": column " + quoted(column) + " has " +
                         std::to_string(column_rows) + " rows but " + quoted(first) + " has " +
                         std::to_string(rows) +
                         "; the model's columns must have one value per row");
    }
}

// A pandas 'fixed' frame: its blocks are 2-D datasets of rows x items, the items naming the
// columns.
NamedColumns pandas_frame_columns(hid_t file, const std::string& path, const ColumnRequest& request,
                                  const std::string& where) {
    std::vector<std::string> available;
    std::vector<ColumnSource> all;
    std::map<std::string, h5::DatasetInfo> blocks;
    for (int block = 0;; ++block) {
        const std::string stem = child_path(path, pandas_block_prefix + std::to_string(block));
        const std::string values = stem + pandas_values_suffix;
        const std::string items = stem + "_items";
        if (h5::object_type(file, values) != h5::ObjectType::Dataset) break;
        std::vector<std::string> names;
        try {
            names = h5::read_strings(h5::open_dataset(file, items).get());
        } catch (const IoError& error) {
            throw InputError(where + " is a pandas frame whose column names " + quoted(items) +
                             " cannot be read: " + error.what());
        }
        blocks[values] = h5::dataset_info(h5::open_dataset(file, values).get());
        for (std::size_t c = 0; c < names.size(); ++c) {
            available.push_back(names[c]);
            all.push_back({values, "", static_cast<std::int64_t>(c)});
        }
    }
    if (blocks.empty()) {
        throw InputError(where +
                         " is marked as a pandas frame but holds no block0_values; "
                         "write it again with DataFrame.to_hdf");
    }
    NamedColumns columns;
    columns.layout = "a pandas frame";
    std::set<std::string> types;
    std::int64_t rows = -1;
    const std::vector<std::int64_t> picked =
        pick_columns(request.names, available, where, "columns");
    for (std::size_t j = 0; j < picked.size(); ++j) {
        const ColumnSource& source = all[static_cast<std::size_t>(picked[j])];
        const h5::DatasetInfo& info = blocks[source.dataset];
        const std::string what = "column " + quoted(request.names[j]) + " of " + where;
        if (info.dims.size() != 2 || !is_numeric(info.type_class) ||
            info.dims[1] <= source.column) {
            throw InputError(what + " is not numeric (pandas stored its block " +
                             quoted(source.dataset) + " as " + info.type_description +
                             "); the model's columns must be numbers");
        }
        check_filters(info, what);
        check_rows(rows, info.dims[0], request.names[j], request.names[0], where);
        types.insert(info.type_description);
        columns.sources.push_back(source);
    }
    columns.rows = rows;
    columns.dtype = joined_types(types);
    return columns;
}

// Any other group: its 1-D datasets are its columns.
NamedColumns dataset_group_columns(hid_t file, const std::string& path,
                                   const ColumnRequest& request, const std::string& where) {
    std::vector<std::string> available;
    {
        const h5::Handle group = h5::open_group(file, path);
        for (const std::string& name : h5::children(group.get())) {
            if (h5::object_type(group.get(), name) == h5::ObjectType::Dataset) {
                available.push_back(name);
            }
        }
    }
    const std::vector<std::int64_t> picked =
        pick_columns(request.names, available, where, "datasets");
    NamedColumns columns;
    columns.layout = "a group of 1-D datasets";
    std::set<std::string> types;
    std::int64_t rows = -1;
    for (std::size_t j = 0; j < picked.size(); ++j) {
        const std::string dataset =
            child_path(path, available[static_cast<std::size_t>(picked[j])]);
        const h5::DatasetInfo info = h5::dataset_info(h5::open_dataset(file, dataset).get());
        const std::string what = "dataset " + quoted(dataset) + " of " + where;
        if (info.dims.size() != 1) {
            throw InputError(what + " is " + std::to_string(info.dims.size()) +
                             "-D; the columns of a group are 1-D datasets, one value per row");
        }
        if (!is_numeric(info.type_class)) {
            throw InputError(what + " holds " + info.type_description +
                             " values; the model's columns must be numbers");
        }
        check_filters(info, what);
        check_rows(rows, info.dims[0], request.names[j], request.names[0], where);
        types.insert(info.type_description);
        columns.sources.push_back({dataset, "", -1});
    }
    columns.rows = rows;
    columns.dtype = joined_types(types);
    return columns;
}

}  // namespace

std::optional<MatrixNames> matrix_names(hid_t file, const std::string& path, std::int64_t cols,
                                        const std::string& where) {
    MatrixNames found;
    const h5::Handle dataset = h5::open_dataset(file, path);
    if (h5::has_attribute(dataset.get(), "columns")) {
        try {
            found.names = h5::read_string_list_attribute(dataset.get(), "columns");
        } catch (const IoError& error) {
            throw InputError(where + ": its 'columns' attribute is not a list of strings (" +
                             error.what() + "); store one name per column, or remove it");
        }
        found.origin = "its 'columns' attribute";
    } else {
        // pandas' to_hdf (the 'fixed' format): /KEY/blockN_values, named by /KEY/blockN_items.
        const std::string parent = parent_of(path);
        const std::string leaf = path.substr(path.rfind('/') + 1);
        const std::string suffix = pandas_values_suffix;
        if (leaf.rfind(pandas_block_prefix, 0) != 0 || leaf.size() <= suffix.size() ||
            leaf.compare(leaf.size() - suffix.size(), suffix.size(), suffix) != 0) {
            return std::nullopt;
        }
        const h5::Handle group = h5::open_group(file, parent);
        const std::string items =
            child_path(parent, leaf.substr(0, leaf.size() - suffix.size()) + "_items");
        if (string_attribute_or_empty(group.get(), "pandas_type") != "frame" ||
            h5::object_type(file, items) != h5::ObjectType::Dataset) {
            return std::nullopt;
        }
        try {
            found.names = h5::read_strings(h5::open_dataset(file, items).get());
        } catch (const IoError& error) {
            throw InputError(where + ": pandas' column names " + quoted(items) +
                             " cannot be read: " + error.what());
        }
        found.origin = "pandas' " + quoted(items);
    }
    if (static_cast<std::int64_t>(found.names.size()) != cols) {
        throw InputError(where + " has " + std::to_string(cols) + " columns but " + found.origin +
                         " names " + std::to_string(found.names.size()) +
                         "; give one name per column, or remove the names");
    }
    return found;
}

NamedColumns group_columns(hid_t file, const std::string& path, const ColumnRequest& request,
                           const std::string& where) {
    check_named_reading(request, where, "a group, not a dataset",
                        "name the 2-D dataset of rows x features inside it");
    std::string pandas_type;
    {
        const h5::Handle group = h5::open_group(file, path);
        pandas_type = string_attribute_or_empty(group.get(), "pandas_type");
    }
    if (pandas_type == "frame") return pandas_frame_columns(file, path, request, where);
    if (pandas_type == "frame_table") {
        const std::string table = child_path(path, "table");
        if (h5::object_type(file, table) != h5::ObjectType::Dataset) {
            throw InputError(where +
                             " is marked as a pandas table but holds no 'table' "
                             "dataset; write it again with DataFrame.to_hdf");
        }
        return table_columns(file, table, request,
                             "pandas table " + quoted(table) + where.substr(where.find(" in ")));
    }
    return dataset_group_columns(file, path, request, where);
}

NamedColumns table_columns(hid_t file, const std::string& path, const ColumnRequest& request,
                           const std::string& where) {
    const h5::Handle dataset = h5::open_dataset(file, path);
    const h5::DatasetInfo info = h5::dataset_info(dataset.get());
    if (info.dims.size() != 1) {
        throw InputError(where + " holds compound values in " + std::to_string(info.dims.size()) +
                         "-D; h5infer reads a compound dataset (a table) when it is 1-D, one "
                         "record per row, or a 2-D dataset of numbers");
    }
    check_named_reading(request, where, "a compound dataset (a table)",
                        "store the features as a 2-D dataset of numbers");
    const h5::Handle type = h5::file_type(dataset.get());
    const std::vector<h5::Member> members = h5::compound_members(type.get());
    std::vector<std::string> names;
    bool pandas_blocks = false;
    for (const h5::Member& member : members) {
        names.push_back(member.name);
        pandas_blocks = pandas_blocks || member.name.rfind("values_block_", 0) == 0;
    }
    std::vector<std::int64_t> picked;
    try {
        picked = pick_columns(request.names, names, where, "fields");
    } catch (const InputError& error) {
        if (!pandas_blocks) throw;
        throw InputError(std::string(error.what()) +
                         " (pandas' 'table' format keeps its column names pickled, which h5infer "
                         "does not read: write it with to_hdf(..., format='table', "
                         "data_columns=True), or format='fixed')");
    }
    check_filters(info, where);
    NamedColumns columns;
    columns.layout = "a compound dataset";
    columns.rows = info.dims[0];
    std::set<std::string> types;
    for (const std::int64_t index : picked) {
        const h5::Member& member = members[static_cast<std::size_t>(index)];
        if (!is_numeric(member.type_class)) {
            throw InputError("field " + quoted(member.name) + " of " + where + " holds " +
                             member.type_description +
                             " values; the model's columns must be numeric fields");
        }
        types.insert(member.type_description);
        columns.sources.push_back({path, member.name, -1});
    }
    columns.dtype = joined_types(types);
    return columns;
}

}  // namespace h5infer::io
