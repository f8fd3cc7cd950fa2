#pragma once

// The C++ library API: a model loaded in memory that predicts blocks of rows from memory into
// memory with the kernels of `h5infer run`, bit for bit (docs/library.md). Installed with
// libh5infer.so; includes nothing but the standard library and h5infer/error.hpp.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h5infer/error.hpp"

/// What libh5infer.so exports; everything else in it is hidden.
#define H5INFER_API __attribute__((visibility("default")))

namespace h5infer {

/// How a Predictor computes: the words of `h5infer run`'s flags of the same names.
struct PredictorOptions {
    /// Threads of each predict() call; 0: as `h5infer run` chooses (SLURM_CPUS_PER_TASK, else
    /// the affinity mask). The predictions do not depend on it.
    int threads = 1;
    std::string backend = "onednn";  ///< "onednn" or "reference" (--backend)
    std::string precision = "f32";   ///< "f32" or "bf16" (--precision; bf16 needs avx512_bf16)
    /// Rows per chunk (--chunk-rows); 0: as `h5infer run` chooses from the model. The bits of
    /// `run` need the same chunk rows as `run` used.
    std::int64_t chunk_rows = 0;
    /// oneDNN's instruction set (--isa, e.g. "avx2"): the bits of a run whose ranks computed
    /// with it. Empty: the best this CPU has, as a 1-rank run. It holds for the whole process
    /// and can be chosen only before its first oneDNN kernel: a later predictor asking for
    /// another set gets a ConfigError.
    std::string isa;
};

/// A model made executable in this process. Rows are row-major float32: `src` is rows x
/// input_width(), the predictions rows x output_width(). predict() gives the bits `h5infer run`
/// writes for the same rows as an input of their own (same model, backend, precision and chunk
/// rows), whatever the thread count on either side.
///
/// Thread safety: a Predictor is not: use one per thread, or guard it with a mutex. Distinct
/// predictors may be created, used and destroyed on different threads at the same time
/// (loading takes a process-wide lock while it reads the model file; HDF5 is not thread-safe,
/// so no other code of the process may call HDF5 while a predictor loads).
///
/// Errors are thrown as the classes of h5infer/error.hpp: ModelError (the model file), ConfigError
/// (options, null pointers), InputError (rows that do not fit the model).
class H5INFER_API Predictor {
public:
    /// Loads the model at `model_path`: a native h5infer model or ONNX, chosen by content, as
    /// `h5infer run --model` reads it, and builds its kernels for `options`. Needs no MPI_Init.
    explicit Predictor(const std::string& model_path, const PredictorOptions& options = {});
    ~Predictor();
    /// Moves the model and its kernels; the moved-from predictor may only be destroyed or
    /// assigned to.
    Predictor(Predictor&& other) noexcept;
    Predictor& operator=(Predictor&& other) noexcept;
    Predictor(const Predictor&) = delete;
    Predictor& operator=(const Predictor&) = delete;

    /// Features each input row has.
    [[nodiscard]] std::int64_t input_width() const;
    /// Predictions each row gets.
    [[nodiscard]] std::int64_t output_width() const;
    /// The model's name of each input column, or empty when it has none.
    [[nodiscard]] const std::vector<std::string>& feature_names() const;
    /// The class label of each output column, or empty when the outputs are not classes.
    [[nodiscard]] const std::vector<std::string>& labels() const;
    /// The rows per chunk this predictor computes in (PredictorOptions::chunk_rows resolved).
    [[nodiscard]] std::int64_t chunk_rows() const;
    /// The thread count of predict() (PredictorOptions::threads resolved).
    [[nodiscard]] int threads() const;

    /// Predicts `rows` rows: `src` holds rows x input_width() floats, `dst` receives
    /// rows x output_width(); they must not overlap. A row holding NaN gives NaN predictions
    /// and one holding an infinity what NumPy would: the kernels compute such rows again with
    /// the reference backend. Throws ConfigError for rows < 0 or a
    /// null pointer with rows > 0.
    void predict(const float* src, std::int64_t rows, float* dst);

    /// predict() of a whole vector of rows; throws InputError when its size is not a multiple
    /// of input_width().
    [[nodiscard]] std::vector<float> predict(const std::vector<float>& src);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace h5infer
