#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reference/reference.hpp"

// The oracle of tree ensembles: one row at a time, one tree at a time, written to be obviously
// the rule of docs/model-format.md rather than fast.

namespace h5infer::kernels {
namespace {

// The leaf `row` reaches in tree `tree`, as a node index of all the trees.
std::int64_t reached_leaf(const TreeEnsembleLayer& trees, std::int64_t tree, const double* row) {
    const std::int64_t first = trees.tree_offsets[tree];
    std::int64_t node = 0;
    while (trees.left[first + node] != -1) {
        const auto x = static_cast<float>(row[trees.feature[first + node]]);
        node = x <= trees.threshold[first + node] ? trees.left[first + node]
                                                  : trees.right[first + node];
    }
    return first + node;
}

}  // namespace

std::vector<double> trees_per_output(const TreeEnsembleLayer& trees) {
    std::vector<double> counts(static_cast<std::size_t>(trees.outputs()),
                               static_cast<double>(trees.trees()));
    if (!trees.tree_targets.empty()) {
        counts.assign(counts.size(), 0.0);
        for (const std::int32_t target : trees.tree_targets) counts[target] += 1.0;
    }
    return counts;
}

void reference_trees(const TreeEnsembleLayer& trees, const double* src, std::int64_t rows,
                     std::int64_t width, double* dst) {
    const std::int64_t outputs = trees.outputs();
    const std::int64_t value_width = trees.value_width();
    const bool mean = trees.aggregation == TreeAggregation::Mean;
    const std::vector<double> counts = trees_per_output(trees);
    for (std::int64_t r = 0; r < rows; ++r) {
        const double* row = src + r * width;
        double* out = dst + r * outputs;
        bool missing = false;
        for (std::int64_t c = 0; c < width; ++c) missing = missing || std::isnan(row[c]);
        if (missing) {
            for (std::int64_t j = 0; j < outputs; ++j) {
                out[j] = std::numeric_limits<double>::quiet_NaN();
            }
            continue;
        }
        for (std::int64_t j = 0; j < outputs; ++j) out[j] = mean ? 0.0 : trees.base_score[j];
        for (std::int64_t t = 0; t < trees.trees(); ++t) {
            const double* leaf = trees.values.data() + reached_leaf(trees, t, row) * value_width;
            if (trees.tree_targets.empty()) {
                for (std::int64_t j = 0; j < outputs; ++j) out[j] += leaf[j];
            } else {
                out[trees.tree_targets[t]] += leaf[0];
            }
        }
        if (mean) {
            for (std::int64_t j = 0; j < outputs; ++j) {
                out[j] = trees.base_score[j] + out[j] / counts[j];
            }
        }
    }
}

}  // namespace h5infer::kernels
