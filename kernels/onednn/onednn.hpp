#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "h5infer/model.hpp"
#include "kernels/network.hpp"
#include "kernels/onednn/isa.hpp"  // onednn_isa_name(), onednn_supports_bf16()

namespace h5infer::kernels {

/// Builds the oneDNN network: matmul primitives with the bias and the following activation
/// fused, an affine layer that feeds a dense layer folded into its weights, and eltwise, softmax
/// or a plain loop for everything else (affine, normalize). The model must have passed
/// validate().
///
/// Precision: with F32 everything is float. With Bf16 the matmuls read bf16 inputs and bf16
/// weights (converted once here) and accumulate in float; a matmul's input is converted from
/// float unless the previous step is a matmul, which then writes bf16. Every other step, and
/// the last, computes and writes float. Throws ConfigError for Bf16 when oneDNN's effective ISA
/// (lowered by ONEDNN_MAX_CPU_ISA) lacks avx512_bf16.
///
/// Determinism: forward() cuts its rows into blocks of onednn_block_rows(model) rows (the last
/// block takes the remainder), and each block runs the whole model on one thread, with
/// primitives created for one thread. The cut depends only on the model and the row count, so
/// every output row has the same bits for any `threads`, in either precision. Sets the OpenMP
/// thread count to `threads`. Throws ModelError (naming the layer) if oneDNN cannot create a
/// primitive.
[[nodiscard]] std::unique_ptr<Network> make_onednn_network(const Model& model,
                                                           std::int64_t max_rows, int threads,
                                                           Precision precision);

/// The same for a model the caller hands over: a network of at most plain_weights_rows rows
/// keeps the model's weight arrays instead of copying them.
[[nodiscard]] std::unique_ptr<Network> make_onednn_network(Model&& model, std::int64_t max_rows,
                                                           int threads, Precision precision);

/// The same with the weights of another network of this model (PackedWeights): the model's
/// dense layers may have empty arrays. See make_network().
[[nodiscard]] std::unique_ptr<Network> make_onednn_network(Model&& model,
                                                           std::vector<PackedWeights> packed,
                                                           std::int64_t max_rows, int threads,
                                                           Precision precision);

/// Up to this many rows per forward() call, f32 matmuls take the weights in the model's own
/// row-major layout instead of oneDNN's blocked one: a job of a few rows would spend more on
/// reordering the weights than on computing: the reorder reads and writes every weight, while
/// a matmul over a few rows reads each weight once for only a few multiply-adds.
inline constexpr std::int64_t plain_weights_rows = 16;

/// Rows per block of the oneDNN network: enough work per block to hide the per-primitive
/// overhead, few enough rows that a chunk yields blocks for every thread. Depends only on the
/// model's layer widths.
[[nodiscard]] std::int64_t onednn_block_rows(const Model& model);

}  // namespace h5infer::kernels
