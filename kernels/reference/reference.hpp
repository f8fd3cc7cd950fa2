#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "h5infer/model.hpp"
#include "kernels/network.hpp"

namespace h5infer::kernels {

/// Builds the reference network: Eigen in double precision, one layer at a time, written to be
/// obviously right rather than fast. It is the oracle the oneDNN backend is tested against.
/// Converts the float input to double, keeps double through every layer and rounds to float
/// once at the end. Single-threaded, so `threads` does not apply. The model must have passed
/// validate().
[[nodiscard]] std::unique_ptr<Network> make_reference_network(const Model& model,
                                                              std::int64_t max_rows);

/// Applies `activation` (with its `alpha` and, for clip, `beta`) to one value in double
/// precision; the formulas of model.hpp. Row-wise activations (is_row_wise()) are not handled
/// here.
[[nodiscard]] double apply_activation(Activation activation, double alpha, double x,
                                      double beta = 0.0);

/// A tree ensemble over `rows` rows of `width` values (row-major), into rows x outputs()
/// values: each row walks every tree from its root (left when the feature, rounded to float32,
/// is <= the threshold), the leaf values are added per output in double in tree order (from
/// base_score for TreeAggregation::Sum; from 0, then divided by trees_per_output() and added
/// to base_score for Mean), and a row holding a NaN gets NaN on every output. The ensemble
/// must have passed validate_tree_ensemble() for `width`.
void reference_trees(const TreeEnsembleLayer& trees, const double* src, std::int64_t rows,
                     std::int64_t width, double* dst);

/// How many trees add to each output: all of them, or with tree_targets those naming it.
[[nodiscard]] std::vector<double> trees_per_output(const TreeEnsembleLayer& trees);

}  // namespace h5infer::kernels
