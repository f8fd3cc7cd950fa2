#include "kernels/onednn/tree_step.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "h5infer/error.hpp"
#include "kernels/reference/reference.hpp"

namespace h5infer::kernels::onednn {
namespace {

// Tree `tree` renumbered breadth-first so that each split's children are adjacent (right is
// left + 1): the walk then picks a child by adding a comparison's result, with no branch to
// mispredict. Appends the nodes to `nodes` and, per node, its index in `trees` to `original`;
// returns the tree's depth.
std::int32_t lay_out_tree(const TreeEnsembleLayer& trees, std::int64_t tree,
                          std::vector<TreeKernel::Node>& nodes,
                          std::vector<std::int32_t>& original) {
    const auto first = static_cast<std::int32_t>(trees.tree_offsets[tree]);
    const auto base = static_cast<std::int32_t>(nodes.size());
    std::vector<std::pair<std::int32_t, std::int32_t>> queue{{first, 0}};  // (original, depth)
    std::int32_t deepest = 0;
    for (std::size_t i = 0; i < queue.size(); ++i) {
        const auto [node, depth] = queue[i];
        deepest = std::max(deepest, depth);
        original.push_back(node);
        if (trees.left[node] == -1) {
            // NaN compares false for any x: the walk adds 1 to `left` and stays here.
            const auto here = static_cast<std::int32_t>(nodes.size());
            nodes.push_back({0, std::numeric_limits<float>::quiet_NaN(), here - 1});
            continue;
        }
        const auto left = base + static_cast<std::int32_t>(queue.size());
        nodes.push_back({trees.feature[node], trees.threshold[node], left});
        queue.emplace_back(first + trees.left[node], depth + 1);
        queue.emplace_back(first + trees.right[node], depth + 1);
    }
    return deepest;
}

}  // namespace

TreeKernel::TreeKernel(const TreeEnsembleLayer& trees)
    : layer_(std::make_shared<const TreeEnsembleLayer>(trees)), counts_(trees_per_output(trees)) {
    if (trees.nodes() >= std::numeric_limits<std::int32_t>::max()) {
        throw ModelError("a tree ensemble of " + std::to_string(trees.nodes()) +
                         " nodes is more than the oneDNN backend indexes; use --backend "
                         "reference");
    }
    nodes_.reserve(static_cast<std::size_t>(trees.nodes()));
    original_.reserve(static_cast<std::size_t>(trees.nodes()));
    for (std::int64_t t = 0; t < trees.trees(); ++t) {
        depths_.push_back(lay_out_tree(trees, t, nodes_, original_));
    }
}

void TreeKernel::add_tree(std::int64_t tree, const float* src, std::int64_t lanes,
                          std::int64_t width, double* sums) const {
    const TreeEnsembleLayer& trees = *layer_;
    const std::int64_t outputs = trees.outputs();
    const std::int64_t value_width = trees.value_width();
    std::int32_t at[tree_lanes] = {};
    const auto root = static_cast<std::int32_t>(trees.tree_offsets[tree]);
    for (std::int64_t l = 0; l < lanes; ++l) at[l] = root;
    for (std::int32_t step = 0; step < depths_[tree]; ++step) {
        for (std::int64_t l = 0; l < lanes; ++l) {
            const Node& node = nodes_[at[l]];
            at[l] = node.left +
                    static_cast<std::int32_t>(!(src[l * width + node.feature] <= node.threshold));
        }
    }
    for (std::int64_t l = 0; l < lanes; ++l) {
        const double* leaf = trees.values.data() + std::int64_t{original_[at[l]]} * value_width;
        if (trees.tree_targets.empty()) {
            for (std::int64_t j = 0; j < outputs; ++j) sums[l * outputs + j] += leaf[j];
        } else {
            sums[l * outputs + trees.tree_targets[tree]] += leaf[0];
        }
    }
}

// Tree by tree over all the rows, so that a tree stays in cache while every row walks it;
// each row's sums still take the trees in order.
void TreeKernel::run(const float* src, std::int64_t rows, std::int64_t width, float* dst) const {
    const TreeEnsembleLayer& trees = *layer_;
    const std::int64_t outputs = trees.outputs();
    const bool mean = trees.aggregation == TreeAggregation::Mean;
    std::vector<double> sums(static_cast<std::size_t>(rows * outputs));
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t j = 0; j < outputs; ++j) {
            sums[r * outputs + j] = mean ? 0.0 : trees.base_score[j];
        }
    }
    for (std::int64_t t = 0; t < trees.trees(); ++t) {
        for (std::int64_t begin = 0; begin < rows; begin += tree_lanes) {
            add_tree(t, src + begin * width, std::min(tree_lanes, rows - begin), width,
                     sums.data() + begin * outputs);
        }
    }
    for (std::int64_t r = 0; r < rows; ++r) {
        const float* row = src + r * width;
        const bool missing = std::any_of(row, row + width, [](float x) { return std::isnan(x); });
        for (std::int64_t j = 0; j < outputs; ++j) {
            const double sum = sums[r * outputs + j];
            const double value = mean ? trees.base_score[j] + sum / counts_[j] : sum;
            dst[r * outputs + j] =
                missing ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(value);
        }
    }
}

}  // namespace h5infer::kernels::onednn
