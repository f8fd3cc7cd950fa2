#pragma once

#include <cstdint>
#include <memory>

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

}  // namespace h5infer::kernels
