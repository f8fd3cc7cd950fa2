#pragma once

// Internal to kernels/onednn/: the tree ensemble step of the oneDNN backend, plain C++ (oneDNN
// has no tree primitive).

#include <cstdint>
#include <memory>
#include <vector>

#include "h5infer/tree_ensemble.hpp"

namespace h5infer::kernels::onednn {

/// A tree ensemble laid out for walking several rows through a tree at once: each node is one
/// 16-byte record, a leaf points to itself (so a walk of a tree's depth needs no branch on
/// whether a row has arrived), and rows take every tree in lanes of tree_lanes rows. The sums
/// are reference_trees()'s, value for value and in the same order, so each output has the
/// reference's bits before it is rounded to float; a row's result depends only on the row.
class TreeKernel {
public:
    /// Lays out `trees`, which must have passed validate_tree_ensemble(). Throws ModelError
    /// when its nodes do not fit int32 indices.
    explicit TreeKernel(const TreeEnsembleLayer& trees);

    /// `rows` rows of `width` floats (row-major) into rows x outputs floats. Not aliased.
    void run(const float* src, std::int64_t rows, std::int64_t width, float* dst) const;

    /// The ensemble this kernel computes, for the reference twin.
    [[nodiscard]] const TreeEnsembleLayer& layer() const { return *layer_; }

private:
    struct Node {
        std::int32_t feature = 0;
        float threshold = 0.0F;
        std::int32_t left = 0;  ///< node index of all the trees; a leaf's own index
        std::int32_t right = 0;
    };

    // The rows [0, lanes) of a lane group, walked and summed into `sums` (lanes x outputs).
    void run_lanes(const float* src, std::int64_t lanes, std::int64_t width, double* sums) const;

    std::shared_ptr<const TreeEnsembleLayer> layer_;
    std::vector<Node> nodes_;
    std::vector<std::int32_t> depths_;  ///< per tree: the steps a row takes to any leaf
    std::vector<double> counts_;        ///< per output: trees_per_output()
};

/// Rows walking a tree together: enough independent loads to hide each other's latency.
inline constexpr std::int64_t tree_lanes = 8;

}  // namespace h5infer::kernels::onednn
