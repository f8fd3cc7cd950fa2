#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/model.hpp"

namespace h5infer::kernels {

/// Which implementation computes the forward pass.
enum class Backend {
    Onednn,     ///< oneDNN f32 primitives: the fast path
    Reference,  ///< Eigen in double precision: the oracle, slow
};

/// "onednn" or "reference".
[[nodiscard]] std::string_view backend_name(Backend backend);

/// The number format the kernels compute in. Whatever it is, forward() takes and returns float.
enum class Precision {
    F32,   ///< float weights and activations (the reference backend: double): every backend
    Bf16,  ///< bfloat16 weights and matmul inputs, float accumulation: oneDNN on avx512_bf16 CPUs
};

/// "f32" or "bf16".
[[nodiscard]] std::string_view precision_name(Precision precision);

/// One matmul's weights as a network computes with them: in the layout its kernels chose and
/// with any affine layer before the matmul folded in. What lets one rank prepare the weights
/// and the others receive them ready to use, instead of each receiving the model's weights and
/// converting them itself.
struct PackedWeights {
    std::string layout;       ///< the kernels' description of the layout: opaque bytes
    std::vector<float> bias;  ///< the bias the matmul adds, or empty
    std::size_t bytes = 0;    ///< size of the weights in that layout
    /// Where the bytes are: from Network::packed_weights(), the network's own memory (valid
    /// while it lives); for make_network(), `storage`, which the network takes over.
    const void* data = nullptr;
    BulkBuffer storage;
};

/// A model made executable: owns the weights in the layout its kernels want and the scratch
/// buffers of one chunk. Not thread-safe; one per rank.
class Network {
public:
    virtual ~Network() = default;
    Network() = default;
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;
    Network(Network&&) = delete;
    Network& operator=(Network&&) = delete;

    /// Computes `rows` rows of predictions. `src` is rows x input_width, `dst` is
    /// rows x output_width, both row-major and not aliased. Requires rows <= max_rows().
    /// Each output row depends only on its input row, the model and `rows`: never on the
    /// thread count.
    virtual void forward(const float* src, std::int64_t rows, float* dst) = 0;

    /// forward(), which also returns how many of the `rows` input rows hold a NaN or an
    /// infinity: counted block by block while each block is in cache, where a pass of its own
    /// over a narrow model's input would read every value from memory once more.
    virtual std::int64_t forward_counting_nonfinite(const float* src, std::int64_t rows,
                                                    float* dst) = 0;

    /// Copies input rows [begin, begin + rows) of the chunk, row-major, to `into`. May be
    /// called from several threads at once, for disjoint rows.
    using RowSource = std::function<void(std::int64_t begin, std::int64_t rows, float* into)>;

    /// forward_counting_nonfinite() of `rows` rows that `source` first puts into `src`
    /// (rows x input_width): each of the kernel's threads fetches an equal run of the rows at
    /// the same time, so the copy from the file takes a share of the time one thread would.
    /// An exception from `source` propagates once every thread has stopped; nothing is
    /// computed then.
    virtual std::int64_t forward_fetching(const RowSource& source, float* src, std::int64_t rows,
                                          float* dst);

    /// The most rows one forward() call accepts.
    [[nodiscard]] virtual std::int64_t max_rows() const = 0;

    /// Where a call may be cut without changing a bit: for any k > 0 with k * split_rows() <
    /// rows, forward() of rows [0, rows) gives exactly the predictions of forward() of the
    /// first k * split_rows() rows followed by forward() of the others. At least max_rows()
    /// when no cut keeps the bits. What lets ranks share a chunk's rows and still write the
    /// bits one rank would.
    [[nodiscard]] virtual std::int64_t split_rows() const = 0;

    /// Each matmul's weights, in model order, as this network holds them, for make_network()
    /// on another rank of the same model, precision and build. Empty for a backend that cannot
    /// take them (the reference backend).
    [[nodiscard]] virtual std::vector<PackedWeights> packed_weights() const { return {}; }
};

/// Builds the network for `backend` computing in `precision`. The model must have passed
/// validate(). `threads` is the number of threads the kernels use; it is set before any
/// primitive is created. Throws ModelError if the backend cannot run the model, and ConfigError
/// if it cannot compute in `precision` (the reference backend is double precision only; bf16
/// needs a CPU whose oneDNN ISA includes avx512_bf16).
[[nodiscard]] std::unique_ptr<Network> make_network(const Model& model, Backend backend,
                                                    std::int64_t max_rows, int threads,
                                                    Precision precision = Precision::F32);

/// The same for a model the caller hands over (moved from; destroy or reassign it after): the
/// kernels may keep its arrays instead of copying them (oneDNN, up to plain_weights_rows rows).
[[nodiscard]] std::unique_ptr<Network> make_network(Model&& model, Backend backend,
                                                    std::int64_t max_rows, int threads,
                                                    Precision precision = Precision::F32);

/// The same from `packed`, another network's packed_weights() with `storage` holding the bytes
/// (moved in: the network keeps them), for a model whose dense layers may have empty weight
/// arrays: their weights and biases come from `packed`, and a kernel that wants another layout
/// converts from it. oneDNN only. Throws Error (internal) if `packed` does not fit the model.
[[nodiscard]] std::unique_ptr<Network> make_network(Model&& model,
                                                    std::vector<PackedWeights> packed,
                                                    std::int64_t max_rows, int threads,
                                                    Precision precision = Precision::F32);

/// Rows of a row-major `rows` x `cols` block holding a NaN or an infinity.
[[nodiscard]] std::int64_t count_nonfinite_rows(const float* values, std::int64_t rows,
                                                std::int64_t cols);

/// Below this magnitude compare_outputs() divides by the floor instead of |want|.
inline constexpr double relative_deviation_floor = 1.0;

/// The largest deviations of one output array from another.
struct Deviation {
    double absolute = 0.0;  ///< max |got - want|
    double relative = 0.0;  ///< max |got - want| / max(|want|, relative_deviation_floor)
};

/// Compares `count` values of `got` with `want` (the trusted values, e.g. the reference
/// backend's). The relative deviation divides by max(|want|, 1): outputs near zero (centred
/// regressions, small probabilities) have no meaningful relative error, so below magnitude 1 it
/// is the absolute deviation and above it scale-free; the kernel tests' tolerances use the same
/// measure. A NaN in one array but not the other, or an infinity the other does not match,
/// counts as an infinite deviation so that it cannot hide; matching NaNs or equal infinities
/// count as none. Both deviations are zero when `count` is 0.
[[nodiscard]] Deviation compare_outputs(const float* got, const float* want, std::int64_t count);

}  // namespace h5infer::kernels
