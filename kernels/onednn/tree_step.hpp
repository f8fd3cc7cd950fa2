#pragma once

// Internal to kernels/onednn/: the tree ensemble step of the oneDNN backend, plain C++ (oneDNN
// has no tree primitive).

#include <cstdint>
#include <memory>
#include <vector>

#include "h5infer/tree_ensemble.hpp"

namespace h5infer::kernels::onednn {

/// A tree ensemble laid out for walking several rows through a tree at once: each tree
/// renumbered breadth-first so that a split's children are adjacent (one 12-byte record per
/// node; the walk adds the comparison's result to the left child's index, with no branch), a
/// leaf leads to itself (so a walk of a tree's depth needs no test of whether a row has
/// arrived), and the rows of a call walk one tree after the other (which stays in cache), in
/// lanes of tree_lanes rows. The sums are reference_trees()'s, value for value and in the same
/// order, so each output has the reference's bits before it is rounded to float; a row's
/// result depends only on the row.
class TreeKernel {
public:
    /// Lays out `trees`, which must have passed validate_tree_ensemble(). Throws ModelError
    /// when its nodes do not fit int32 indices.
    explicit TreeKernel(const TreeEnsembleLayer& trees);

    /// `rows` rows of `width` floats (row-major) into rows x outputs floats. Not aliased.
    void run(const float* src, std::int64_t rows, std::int64_t width, float* dst) const;

    /// The ensemble this kernel computes, for the reference twin.
    [[nodiscard]] const TreeEnsembleLayer& layer() const { return *layer_; }

    /// A node as the walk reads it: a split's children are `left` and `left + 1`; a leaf has
    /// a NaN threshold (every comparison false) and `left` one below its own index.
    struct Node {
        std::int32_t feature = 0;
        float threshold = 0.0F;
        std::int32_t left = 0;  ///< index in the kernel's layout
    };

private:
    // Walks rows [0, lanes) of `src` through tree `tree` together and adds the leaves they
    // reach to `sums` (lanes x outputs).
    void add_tree(std::int64_t tree, const float* src, std::int64_t lanes, std::int64_t width,
                  double* sums) const;

    std::shared_ptr<const TreeEnsembleLayer> layer_;
    std::vector<Node> nodes_;
    std::vector<std::int32_t> original_;  ///< per node of the layout: its index in layer_
    std::vector<std::int32_t> depths_;    ///< per tree: the steps a row takes to any leaf
    std::vector<double> counts_;          ///< per output: trees_per_output()
};

/// Rows walking a tree together: enough independent loads to hide each other's latency.
inline constexpr std::int64_t tree_lanes = 8;

}  // namespace h5infer::kernels::onednn
