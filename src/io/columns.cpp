#include "io/columns.hpp"

#include <algorithm>
#include <map>

#include "h5infer/error.hpp"

namespace h5infer::io {
namespace {

std::string quoted(const std::string& text) {
    return "'" + text + "'";
}

// Each name's position; throws InputError for a name given twice.
std::map<std::string, std::int64_t> positions(const std::vector<std::string>& names,
                                              const std::string& where, const std::string& kind) {
    std::map<std::string, std::int64_t> found;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto [at, added] = found.emplace(names[i], static_cast<std::int64_t>(i));
        if (!added) {
            throw InputError(where + " names " + kind + " " + quoted(names[i]) +
                             " twice (positions " + std::to_string(at->second) + " and " +
                             std::to_string(i) +
                             "); columns are matched by name, so each needs its own");
        }
    }
    return found;
}

}  // namespace

std::string name_list(const std::vector<std::string>& names, std::size_t limit) {
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < limit; ++i) {
        text += (i > 0 ? ", " : "") + names[i];
    }
    if (names.size() > limit) text += " and " + std::to_string(names.size() - limit) + " more";
    return text.empty() ? "none" : text;
}

std::vector<std::int64_t> match_columns(const std::vector<std::string>& model_names,
                                        const std::vector<std::string>& input_names,
                                        ColumnNames mode, const std::string& where) {
    const std::map<std::string, std::int64_t> input = positions(input_names, where, "column");
    std::vector<std::string> missing;
    std::vector<std::int64_t> order;
    for (const std::string& name : model_names) {
        const auto at = input.find(name);
        if (at == input.end()) {
            missing.push_back(name);
        } else {
            order.push_back(at->second);
        }
    }
    std::vector<std::string> extra;
    for (const std::string& name : input_names) {
        if (std::find(model_names.begin(), model_names.end(), name) == model_names.end()) {
            extra.push_back(name);
        }
    }
    if (!missing.empty() || !extra.empty()) {
        std::string problem;
        if (!missing.empty()) problem = "lacks the model's columns " + name_list(missing);
        if (!extra.empty()) {
            problem += (problem.empty() ? "" : " and ") +
                       std::string("has columns the model does not take: ") + name_list(extra);
        }
        throw InputError(where + " " + problem + "; the model takes " +
                         std::to_string(model_names.size()) + " columns (" +
                         name_list(model_names) +
                         "): write the dataset with exactly these (import-csv --columns selects "
                         "them), or give --column-names ignore to take its columns by position");
    }
    if (mode == ColumnNames::Strict && !in_order(order)) {
        std::size_t first = 0;
        while (order[first] == static_cast<std::int64_t>(first)) ++first;
        throw InputError(
            where + " has the model's columns in another order (its column " +
            std::to_string(first) + " is " + quoted(input_names[first]) + ", the model's is " +
            quoted(model_names[first]) +
            "), which --column-names strict refuses: write them in the model's order (" +
            name_list(model_names) +
            "), or drop --column-names strict to have them "
            "reordered by name");
    }
    return order;
}

std::vector<std::int64_t> pick_columns(const std::vector<std::string>& model_names,
                                       const std::vector<std::string>& available,
                                       const std::string& where, const std::string& kind) {
    std::vector<std::string> missing;
    std::vector<std::int64_t> picked;
    for (const std::string& name : model_names) {
        const auto first = std::find(available.begin(), available.end(), name);
        if (first == available.end()) {
            missing.push_back(name);
            continue;
        }
        if (std::find(first + 1, available.end(), name) != available.end()) {
            throw InputError(where + " has two " + kind + " named " + quoted(name) +
                             "; the model's columns are taken by name, so each needs its own");
        }
        picked.push_back(first - available.begin());
    }
    if (!missing.empty()) {
        throw InputError(where + " lacks the model's columns " + name_list(missing) + " (its " +
                         kind + ": " + name_list(available) + "); the model takes " +
                         name_list(model_names) + ": check the input, or the model it belongs to");
    }
    return picked;
}

bool in_order(const std::vector<std::int64_t>& order) {
    for (std::size_t j = 0; j < order.size(); ++j) {
        if (order[j] != static_cast<std::int64_t>(j)) return false;
    }
    return true;
}

}  // namespace h5infer::io
