#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace h5infer {

/// How a tree ensemble combines the leaf values its trees reach for one row.
enum class TreeAggregation {
    Sum,   ///< base_score + the sum of the leaf values (gradient boosting)
    Mean,  ///< base_score + the sum of the leaf values / the number of trees adding to the output
};

/// How a split node sends a feature value: the only rule is scikit-learn's (left when the
/// value, as float32, is <= the threshold). XGBoost's `<` is a later addition.
enum class TreeComparison {
    LessOrEqual,  ///< "<=": left when x <= threshold
};

/// The deepest a tree may be (edges from its root to its deepest leaf): a row walks at most
/// this many nodes per tree, whatever a file declares. scikit-learn's default (unlimited)
/// depth stays far below it on any realistic data; the exporter refuses deeper trees by name.
inline constexpr std::int64_t max_tree_depth = 128;

/// A forest of binary decision trees, stored as flat arrays over all the nodes of all the trees
/// (docs/model-format.md, kind `tree_ensemble`). Tree t owns nodes [tree_offsets[t],
/// tree_offsets[t + 1]); its root is its first node, and `left` and `right` hold node indices
/// local to the tree (0 is the root), -1 for both children of a leaf. A row starts at each
/// root, goes to `left` when its feature `feature[node]`, rounded to float32, compares true
/// with `threshold[node]`, else to `right`, until a leaf. A row holding a NaN among the
/// features the layer receives gives NaN on every output. The output width is
/// base_score.size().
struct TreeEnsembleLayer {
    TreeAggregation aggregation = TreeAggregation::Sum;
    TreeComparison comparison = TreeComparison::LessOrEqual;
    std::vector<double> base_score;          ///< one value per output, added to every row
    std::vector<std::int64_t> tree_offsets;  ///< trees + 1 values: 0, ..., nodes
    std::vector<std::int32_t> feature;       ///< per node: the feature a split reads
    std::vector<float> threshold;            ///< per node: the split's threshold
    std::vector<std::int32_t> left;          ///< per node: left child (local index), -1 at a leaf
    std::vector<std::int32_t> right;         ///< per node: right child (local index), -1 at a leaf
    /// nodes x value_width(), row-major: a leaf's values (a split's row is not used). With
    /// `tree_targets` empty, value_width() is the output count and each tree adds its leaf's
    /// row to every output; else it is 1 and tree t adds its leaf's value to output
    /// tree_targets[t] (a multiclass gradient boosting model: one tree per class and stage).
    std::vector<double> values;
    std::vector<std::int32_t> tree_targets{};  ///< per tree, or empty

    /// Number of trees.
    [[nodiscard]] std::int64_t trees() const {
        return tree_offsets.empty() ? 0 : static_cast<std::int64_t>(tree_offsets.size()) - 1;
    }
    /// Number of nodes of all the trees.
    [[nodiscard]] std::int64_t nodes() const { return static_cast<std::int64_t>(left.size()); }
    /// Number of outputs.
    [[nodiscard]] std::int64_t outputs() const {
        return static_cast<std::int64_t>(base_score.size());
    }
    /// Values per node: outputs(), or 1 with tree_targets.
    [[nodiscard]] std::int64_t value_width() const { return tree_targets.empty() ? outputs() : 1; }
};

/// "sum" or "mean".
[[nodiscard]] std::string aggregation_name(TreeAggregation aggregation);

/// "<=".
[[nodiscard]] std::string comparison_name(TreeComparison comparison);

/// Shape of a validated ensemble, as `inspect` prints it.
struct TreeStats {
    std::int64_t trees = 0;
    std::int64_t nodes = 0;
    std::int64_t leaves = 0;
    std::int64_t max_depth = 0;  ///< edges from a root to its deepest leaf
};

/// Checks a tree ensemble that receives `width` features, before any row walks it: sizes
/// agree, offsets rise from 0 to the node count, every split reads a feature in [0, width) and
/// has a threshold that is not NaN, every child is a node of its tree, each node but the root
/// has exactly one parent (so no cycle, no shared and no unreachable node), no tree is deeper
/// than max_tree_depth, the values and base_score are finite and tree_targets name outputs.
/// Throws ModelError starting with `label` and naming the tree and node. Takes time linear in
/// the node count, whatever the arrays hold.
void validate_tree_ensemble(const TreeEnsembleLayer& trees, std::int64_t width,
                            const std::string& label);

/// The TreeStats of an ensemble that passed validate_tree_ensemble().
[[nodiscard]] TreeStats tree_stats(const TreeEnsembleLayer& trees);

}  // namespace h5infer
