#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5infer/run.hpp"

namespace h5infer::io {

/// Where one of the model's input columns is read from, when an input is not read as one 2-D
/// dataset in its own column order.
struct ColumnSource {
    std::string dataset;       ///< absolute path of the dataset that holds the column
    std::string field;         ///< its member in a compound dataset; empty otherwise
    std::int64_t column = -1;  ///< its column in a 2-D dataset; -1 in a 1-D or compound one

    friend bool operator==(const ColumnSource& a, const ColumnSource& b) {
        return a.dataset == b.dataset && a.field == b.field && a.column == b.column;
    }
};

/// The names as one line: "a, b, c", at most `limit` of them, then "and N more".
[[nodiscard]] std::string name_list(const std::vector<std::string>& names, std::size_t limit = 12);

/// Matches the column names of a 2-D dataset (`where`, e.g. "dataset '/x' in 'f.h5'") with the
/// model's feature names: the dataset must hold exactly the model's names, each once. Returns
/// `order`, where order[j] is the dataset's column holding the model's column j; the identity
/// when the names are in the model's order. Throws InputError naming the missing, extra or
/// repeated names, or, under ColumnNames::Strict, the first column out of order.
[[nodiscard]] std::vector<std::int64_t> match_columns(const std::vector<std::string>& model_names,
                                                      const std::vector<std::string>& input_names,
                                                      ColumnNames mode, const std::string& where);

/// Picks the model's columns by name from a collection of named columns (`where`: a group of
/// 1-D datasets, the fields of a compound dataset; `kind` names its members, e.g. "datasets"),
/// which may hold others too. Returns the index in `available` of each of the model's names.
/// Throws InputError naming the names it lacks, or a name it holds twice.
[[nodiscard]] std::vector<std::int64_t> pick_columns(const std::vector<std::string>& model_names,
                                                     const std::vector<std::string>& available,
                                                     const std::string& where,
                                                     const std::string& kind);

/// Whether `order` (from match_columns()) leaves every column where it is.
[[nodiscard]] bool in_order(const std::vector<std::int64_t>& order);

}  // namespace h5infer::io
