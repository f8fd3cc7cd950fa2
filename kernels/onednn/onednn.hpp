#pragma once

#include <cstdint>
#include <memory>

#include "h5infer/model.hpp"
#include "kernels/network.hpp"

namespace h5infer::kernels {

/// Builds the oneDNN network: f32 matmul primitives with the bias and the following activation
/// fused, an affine layer that feeds a dense layer folded into its weights, and eltwise, softmax
/// or a plain loop for everything else (affine, normalize). The model must have passed
/// validate().
///
/// Determinism: forward() cuts its rows into blocks of onednn_block_rows(model) rows (the last
/// block takes the remainder), and each block runs the whole model on one thread, with
/// primitives created for one thread. The cut depends only on the model and the row count, so
/// every output row has the same bits for any `threads`. Sets the OpenMP thread count to
/// `threads`. Throws ModelError (naming the layer) if oneDNN cannot create a primitive.
[[nodiscard]] std::unique_ptr<Network> make_onednn_network(const Model& model,
                                                           std::int64_t max_rows, int threads);

/// Rows per block of the oneDNN network: enough work per block to hide the per-primitive
/// overhead, few enough rows that a chunk yields blocks for every thread. Depends only on the
/// model's layer widths.
[[nodiscard]] std::int64_t onednn_block_rows(const Model& model);

}  // namespace h5infer::kernels
