#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "h5infer/model.hpp"

namespace h5infer::kernels {

/// Which implementation computes the forward pass.
enum class Backend {
    Onednn,     ///< oneDNN f32 primitives: the fast path
    Reference,  ///< Eigen in double precision: the oracle, slow
};

/// "onednn" or "reference".
[[nodiscard]] std::string_view backend_name(Backend backend);

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

    /// The most rows one forward() call accepts.
    [[nodiscard]] virtual std::int64_t max_rows() const = 0;
};

/// Builds the network for `backend`. The model must have passed validate(). `threads` is the
/// number of threads the kernels use; it is set before any primitive is created. Throws
/// ModelError if the backend cannot run the model.
[[nodiscard]] std::unique_ptr<Network> make_network(const Model& model, Backend backend,
                                                    std::int64_t max_rows, int threads);

}  // namespace h5infer::kernels
