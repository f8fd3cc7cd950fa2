#include "h5infer/tree_ensemble.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "h5infer/error.hpp"

namespace h5infer {
namespace {

std::string node_label(const std::string& label, std::int64_t tree, std::int64_t node) {
    return label + " tree " + std::to_string(tree) + " node " + std::to_string(node);
}

void check_sizes(const TreeEnsembleLayer& trees, const std::string& label) {
    if (trees.outputs() <= 0)
        throw ModelError(label + ": base_score is empty; give one per output");
    if (trees.tree_offsets.size() < 2) {
        throw ModelError(label +
                         ": tree_offsets needs at least two values (0 and the node "
                         "count of a single tree)");
    }
    const std::int64_t nodes = trees.nodes();
    const auto count = static_cast<std::size_t>(nodes);
    if (trees.right.size() != count || trees.feature.size() != count ||
        trees.threshold.size() != count) {
        throw ModelError(label + ": feature, threshold, left and right hold " +
                         std::to_string(trees.feature.size()) + ", " +
                         std::to_string(trees.threshold.size()) + ", " + std::to_string(nodes) +
                         " and " + std::to_string(trees.right.size()) +
                         " values; each needs one per node");
    }
    const std::uint64_t want =
        static_cast<std::uint64_t>(nodes) * static_cast<std::uint64_t>(trees.value_width());
    if (trees.values.size() != want) {
        throw ModelError(label + ": values hold " + std::to_string(trees.values.size()) +
                         " numbers, expected nodes x " + std::to_string(trees.value_width()) +
                         " = " + std::to_string(want));
    }
    if (trees.tree_offsets.front() != 0 || trees.tree_offsets.back() != nodes) {
        throw ModelError(label + ": tree_offsets must start at 0 and end at the node count " +
                         std::to_string(nodes));
    }
    for (std::int64_t t = 0; t < trees.trees(); ++t) {
        const std::int64_t size = trees.tree_offsets[t + 1] - trees.tree_offsets[t];
        if (size <= 0 || size > INT32_MAX) {
            throw ModelError(label + " tree " + std::to_string(t) + ": tree_offsets give it " +
                             std::to_string(size) + " nodes; each tree needs at least one");
        }
    }
    if (!trees.tree_targets.empty() &&
        static_cast<std::int64_t>(trees.tree_targets.size()) != trees.trees()) {
        throw ModelError(label + ": tree_targets holds " +
                         std::to_string(trees.tree_targets.size()) + " values for " +
                         std::to_string(trees.trees()) + " trees");
    }
}

// Children in range and one parent per node but the root: with those, the walk from the root
// below visits each node at most once, so a cycle shows as unreachable nodes.
void check_links(const TreeEnsembleLayer& trees, std::int64_t tree, std::int64_t width,
                 const std::string& label, std::vector<std::int32_t>& parents) {
    const std::int64_t first = trees.tree_offsets[tree];
    const std::int64_t size = trees.tree_offsets[tree + 1] - first;
    parents.assign(static_cast<std::size_t>(size), 0);
    for (std::int64_t n = 0; n < size; ++n) {
        const std::int32_t left = trees.left[first + n];
        const std::int32_t right = trees.right[first + n];
        if (left == -1 && right == -1) continue;
        for (const std::int32_t child : {left, right}) {
            if (child < 0 || child >= size) {
                throw ModelError(node_label(label, tree, n) + ": child " + std::to_string(child) +
                                 " is not a node of the tree (0.." + std::to_string(size - 1) +
                                 "; a leaf has -1 for both children)");
            }
            if (child == 0 || ++parents[child] > 1) {
                throw ModelError(node_label(label, tree, n) + ": child " + std::to_string(child) +
                                 (child == 0 ? " is the root" : " already has a parent") +
                                 "; each node needs exactly one parent (a cycle or a shared node)");
            }
        }
        const std::int32_t feature = trees.feature[first + n];
        if (feature < 0 || feature >= width) {
            throw ModelError(node_label(label, tree, n) + ": feature " + std::to_string(feature) +
                             " is out of range; the layer receives " + std::to_string(width) +
                             " features");
        }
        if (std::isnan(trees.threshold[first + n])) {
            throw ModelError(node_label(label, tree, n) + ": the threshold is NaN");
        }
    }
}

// Depth-first from the root; returns the deepest leaf's depth and counts the leaves. After
// check_links() every node has at most one parent, so no node is visited twice.
std::int64_t walk_depth(const TreeEnsembleLayer& trees, std::int64_t tree, const std::string& label,
                        std::int64_t& leaves) {
    const std::int64_t first = trees.tree_offsets[tree];
    const std::int64_t size = trees.tree_offsets[tree + 1] - first;
    std::vector<char> seen(static_cast<std::size_t>(size), 0);
    std::vector<std::pair<std::int32_t, std::int64_t>> pending{{0, 0}};
    std::int64_t deepest = 0;
    while (!pending.empty()) {
        const auto [node, depth] = pending.back();
        pending.pop_back();
        seen[node] = 1;
        if (depth > max_tree_depth) {
            throw ModelError(node_label(label, tree, node) + ": the tree is deeper than " +
                             std::to_string(max_tree_depth) + " levels, the most h5infer walks");
        }
        deepest = std::max(deepest, depth);
        if (trees.left[first + node] == -1) {
            ++leaves;
            continue;
        }
        pending.emplace_back(trees.right[first + node], depth + 1);
        pending.emplace_back(trees.left[first + node], depth + 1);
    }
    for (std::int64_t n = 0; n < size; ++n) {
        if (seen[n] == 0) {
            throw ModelError(node_label(label, tree, n) +
                             ": the node cannot be reached from the tree's root (a cycle or a "
                             "detached node)");
        }
    }
    return deepest;
}

}  // namespace

std::string aggregation_name(TreeAggregation aggregation) {
    return aggregation == TreeAggregation::Sum ? "sum" : "mean";
}

std::string comparison_name(TreeComparison /*comparison*/) {
    return "<=";
}

void validate_tree_ensemble(const TreeEnsembleLayer& trees, std::int64_t width,
                            const std::string& label) {
    check_sizes(trees, label);
    std::vector<std::int32_t> parents;
    for (std::int64_t t = 0; t < trees.trees(); ++t) {
        check_links(trees, t, width, label, parents);
        std::int64_t leaves = 0;
        (void)walk_depth(trees, t, label, leaves);
    }
    for (std::int64_t t = 0; t < static_cast<std::int64_t>(trees.tree_targets.size()); ++t) {
        const std::int32_t target = trees.tree_targets[t];
        if (target < 0 || target >= trees.outputs()) {
            throw ModelError(label + " tree " + std::to_string(t) + ": tree_targets names output " +
                             std::to_string(target) + " of " + std::to_string(trees.outputs()));
        }
    }
    if (trees.aggregation == TreeAggregation::Mean && !trees.tree_targets.empty()) {
        std::vector<char> targeted(static_cast<std::size_t>(trees.outputs()), 0);
        for (const std::int32_t target : trees.tree_targets) targeted[target] = 1;
        for (std::int64_t j = 0; j < trees.outputs(); ++j) {
            if (targeted[j] == 0) {
                throw ModelError(label + ": no tree adds to output " + std::to_string(j) +
                                 ", whose mean is then undefined");
            }
        }
    }
    for (std::size_t i = 0; i < trees.values.size(); ++i) {
        if (!std::isfinite(trees.values[i])) {
            const auto node = static_cast<std::int64_t>(i) / trees.value_width();
            throw ModelError(label + ": values of node " + std::to_string(node) +
                             " (of all trees) hold NaN or Inf");
        }
    }
    for (const double score : trees.base_score) {
        if (!std::isfinite(score)) throw ModelError(label + ": base_score holds NaN or Inf");
    }
}

TreeStats tree_stats(const TreeEnsembleLayer& trees) {
    TreeStats stats;
    stats.trees = trees.trees();
    stats.nodes = trees.nodes();
    for (std::int64_t t = 0; t < trees.trees(); ++t) {
        stats.max_depth = std::max(stats.max_depth, walk_depth(trees, t, "", stats.leaves));
    }
    return stats;
}

}  // namespace h5infer
