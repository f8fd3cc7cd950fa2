#pragma once

// Internal to kernels/onednn/: the model compiled into steps, independent of the row count and
// of any oneDNN primitive (onednn_network.hpp builds those from the steps).

#include <cstdint>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <string>
#include <vector>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/model.hpp"
#include "kernels/network.hpp"
#include "kernels/onednn/tree_step.hpp"

namespace h5infer::kernels::onednn {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

/// Where a step reads or writes: the caller's arrays or one of the two scratch buffers.
enum class Slot { Src, Dst, Buffer0, Buffer1 };

/// An eltwise algorithm with oneDNN's alpha and beta.
struct Eltwise {
    dnnl::algorithm algorithm = dnnl::algorithm::eltwise_linear;
    float alpha = 1.0F;
    float beta = 0.0F;
};

/// One step of the compiled model, independent of the row count.
struct Step {
    /// SigmoidNormalize: a sigmoid then normalize (one-vs-rest probabilities), in one step.
    enum class Kind {
        Matmul,
        Eltwise,
        Softmax,
        Affine,
        Normalize,
        SigmoidNormalize,
        LogSoftmax,
        LayerNorm,
        ToBf16,
        Trees,
        Column  ///< a columns, per_column, row_norm or products layer (kernels/column_layers)
    };
    Kind kind = Kind::Eltwise;
    std::string label;  ///< "layer 3 (dense + relu)", for messages
    std::int64_t inputs = 0;
    std::int64_t outputs = 0;
    Dt src_type = Dt::f32;  ///< bf16 only for matmuls of a bf16 network
    Dt dst_type = Dt::f32;  ///< bf16 for ToBf16 and for a bf16 matmul feeding a matmul
    /// matmul: inputs x outputs, row-major, affine folded in: the model's own array, or
    /// `owned`. Only while the network is built: later layouts are reordered from the first one.
    const float* weights = nullptr;
    /// matmul: the weights when the network holds them in the model's layout: with an affine
    /// layer folded in, or taken from a model handed over. Kept only if a primitive uses them
    /// as they are (owned_in_use).
    std::vector<float> owned;
    bool owned_in_use = false;
    std::vector<float> bias;         ///< matmul: outputs values, or empty
    std::optional<Eltwise> eltwise;  ///< matmul: fused post-op; eltwise: the function
    /// The model's activation this step computes: fused into a matmul, or the step itself.
    std::optional<ActivationLayer> activation;
    std::vector<double> scale;                ///< affine
    std::vector<double> shift;                ///< affine
    std::vector<double> fill;                 ///< affine: empty, or what replaces a NaN input
    float epsilon = 0.0F;                     ///< layer norm
    Layer column_layer{};                     ///< column: the model's layer, computed as it is
    std::shared_ptr<const TreeKernel> trees;  ///< trees: the ensemble, laid out to walk
    Slot src = Slot::Src;
    Slot dst = Slot::Dst;
    std::vector<memory> weight_layouts;      ///< one reordered copy per layout a primitive wants
    std::vector<BulkBuffer> weight_storage;  ///< the bytes of weight_layouts
    memory bias_memory;
};

/// The steps that compute `model` in `precision`: each dense layer a matmul with the following
/// eltwise activation fused (but a sigmoid followed by normalize is one SigmoidNormalize step,
/// which needs the logits) and an affine layer before it that only scales folded into its
/// weights (unless
/// `weights_given`: then the weights come ready from another network, see PackedWeights, with
/// the affine layer already folded in), bf16 conversions before the matmuls of a bf16 network,
/// and every step's src and dst slots assigned. The model must have passed validate().
[[nodiscard]] std::vector<Step> plan_steps(const Model& model, Precision precision,
                                           bool weights_given);

}  // namespace h5infer::kernels::onednn
