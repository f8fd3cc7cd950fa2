#include "kernels/onednn/tree_step.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "h5infer/error.hpp"
#include "kernels/reference/reference.hpp"

namespace h5infer::kernels::onednn {
namespace {

// The depth of a tree's deepest leaf: the steps after which every row has arrived.
std::int32_t tree_depth(const TreeEnsembleLayer& trees, std::int64_t tree) {
    const std::int64_t first = trees.tree_offsets[tree];
    std::vector<std::pair<std::int32_t, std::int32_t>> pending{{0, 0}};
    std::int32_t deepest = 0;
    while (!pending.empty()) {
        const auto [node, depth] = pending.back();
        pending.pop_back();
        deepest = std::max(deepest, depth);
        if (trees.left[first + node] == -1) continue;
        pending.emplace_back(trees.left[first + node], depth + 1);
        pending.emplace_back(trees.right[first + node], depth + 1);
    }
    return deepest;
}

}  // namespace

TreeKernel::TreeKernel(const TreeEnsembleLayer& trees)
    : layer_(std::make_shared<const TreeEnsembleLayer>(trees)), counts_(trees_per_output(trees)) {
    if (trees.nodes() > std::numeric_limits<std::int32_t>::max()) {
        throw ModelError("a tree ensemble of " + std::to_string(trees.nodes()) +
                         " nodes is more than the oneDNN backend indexes; use --backend "
                         "reference");
    }
    nodes_.resize(static_cast<std::size_t>(trees.nodes()));
    for (std::int64_t t = 0; t < trees.trees(); ++t) {
        const auto first = static_cast<std::int32_t>(trees.tree_offsets[t]);
        const auto end = static_cast<std::int32_t>(trees.tree_offsets[t + 1]);
        for (std::int32_t n = first; n < end; ++n) {
            Node& node = nodes_[n];
            if (trees.left[n] == -1) {
                node = Node{0, 0.0F, n, n};  // either way, the row stays
            } else {
                node = Node{trees.feature[n], trees.threshold[n], first + trees.left[n],
                            first + trees.right[n]};
            }
        }
        depths_.push_back(tree_depth(trees, t));
    }
}

void TreeKernel::run_lanes(const float* src, std::int64_t lanes, std::int64_t width,
                           double* sums) const {
    const TreeEnsembleLayer& trees = *layer_;
    const std::int64_t outputs = trees.outputs();
    const std::int64_t value_width = trees.value_width();
    const bool mean = trees.aggregation == TreeAggregation::Mean;
    for (std::int64_t l = 0; l < lanes; ++l) {
        for (std::int64_t j = 0; j < outputs; ++j) {
            sums[l * outputs + j] = mean ? 0.0 : trees.base_score[j];
        }
    }
    std::int32_t at[tree_lanes] = {};
    for (std::int64_t t = 0; t < trees.trees(); ++t) {
        const auto root = static_cast<std::int32_t>(trees.tree_offsets[t]);
        for (std::int64_t l = 0; l < lanes; ++l) at[l] = root;
        for (std::int32_t step = 0; step < depths_[t]; ++step) {
            for (std::int64_t l = 0; l < lanes; ++l) {
                const Node& node = nodes_[at[l]];
                at[l] = src[l * width + node.feature] <= node.threshold ? node.left : node.right;
            }
        }
        for (std::int64_t l = 0; l < lanes; ++l) {
            const double* leaf = trees.values.data() + at[l] * value_width;
            if (trees.tree_targets.empty()) {
                for (std::int64_t j = 0; j < outputs; ++j) sums[l * outputs + j] += leaf[j];
            } else {
                sums[l * outputs + trees.tree_targets[t]] += leaf[0];
            }
        }
    }
}

void TreeKernel::run(const float* src, std::int64_t rows, std::int64_t width, float* dst) const {
    const TreeEnsembleLayer& trees = *layer_;
    const std::int64_t outputs = trees.outputs();
    const bool mean = trees.aggregation == TreeAggregation::Mean;
    std::vector<double> sums(static_cast<std::size_t>(tree_lanes * outputs));
    for (std::int64_t begin = 0; begin < rows; begin += tree_lanes) {
        const std::int64_t lanes = std::min(tree_lanes, rows - begin);
        run_lanes(src + begin * width, lanes, width, sums.data());
        for (std::int64_t l = 0; l < lanes; ++l) {
            const float* row = src + (begin + l) * width;
            float* out = dst + (begin + l) * outputs;
            const bool missing =
                std::any_of(row, row + width, [](float x) { return std::isnan(x); });
            for (std::int64_t j = 0; j < outputs; ++j) {
                const double sum = sums[l * outputs + j];
                const double value = mean ? trees.base_score[j] + sum / counts_[j] : sum;
                out[j] =
                    missing ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(value);
            }
        }
    }
}

}  // namespace h5infer::kernels::onednn
