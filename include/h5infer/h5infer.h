/* The C library API of h5infer (docs/library.md): load a model, ask its widths, feature names
 * and labels, predict rows from memory into memory with the kernels of `h5infer run`, bit for
 * bit. For C, Fortran (iso_c_binding) and anything else with a C FFI.
 *
 * Errors: every function that can fail returns an h5infer_status; H5INFER_OK (0) is success.
 * On failure, h5infer_last_error() returns the message, a lower-case sentence naming the object
 * and the fix. The last error is per thread: a failure on one thread does not overwrite the
 * message another thread is reading. No C++ exception crosses this API.
 *
 * Threads: an h5infer_predictor is used by one thread at a time (one per thread, or your own
 * mutex). Distinct predictors may be loaded, used and freed on different threads at the same
 * time; loading holds a process-wide lock while it reads the model file (HDF5 is not
 * thread-safe: nothing else in the process may call HDF5 while a model loads).
 *
 * Rows are row-major float32: rows x width values, one row after the other. */
#ifndef H5INFER_H5INFER_H
#define H5INFER_H5INFER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define H5INFER_C_API __attribute__((visibility("default")))

/** What a call did: the values are h5infer's exit codes (docs/cli.md), one per error class. */
typedef enum h5infer_status {
    H5INFER_OK = 0,
    H5INFER_ERROR_INTERNAL = 1, /**< a bug in h5infer (or out of memory): report it */
    H5INFER_ERROR_USAGE = 2,    /**< bad arguments: a null pointer, rows < 0, unknown options */
    H5INFER_ERROR_MODEL = 3,    /**< the model file is missing, unreadable, invalid, unsupported */
    H5INFER_ERROR_INPUT = 4,    /**< the rows do not fit the model (their width) */
    H5INFER_ERROR_IO = 5,       /**< reading a file failed */
    H5INFER_ERROR_MPI = 6,      /**< MPI failed (the library itself never calls MPI) */
    H5INFER_ERROR_INTERRUPTED = 75 /**< a stop signal (only `h5infer run` reacts to them) */
} h5infer_status;

/** A loaded model and its kernels. Opaque. */
typedef struct h5infer_predictor h5infer_predictor;

/** Loads the model at `model_path` (a native h5infer model or ONNX, by content, as
 * `h5infer run --model` reads it) to predict with `threads` threads (0: as `h5infer run`
 * chooses), the oneDNN backend in f32 and the chunk rows `run` chooses. Sets `*predictor`, which
 * h5infer_free() releases, or NULL on failure. Needs no MPI_Init. */
H5INFER_C_API int h5infer_load(const char* model_path, int threads, h5infer_predictor** predictor);

/** h5infer_load() with the options of `h5infer run`: `backend` "onednn" or "reference",
 * `precision` "f32" or "bf16" (NULL: the defaults), `chunk_rows` (0: as `run` chooses). The bits
 * of `run` need the same backend, precision and chunk rows as `run` used. */
H5INFER_C_API int h5infer_load_with(const char* model_path, int threads, const char* backend,
                                    const char* precision, int64_t chunk_rows,
                                    h5infer_predictor** predictor);

/** Releases a predictor; NULL is ignored. */
H5INFER_C_API void h5infer_free(h5infer_predictor* predictor);

/** Features per input row. */
H5INFER_C_API int h5infer_input_width(const h5infer_predictor* predictor, int64_t* width);

/** Predictions per row. */
H5INFER_C_API int h5infer_output_width(const h5infer_predictor* predictor, int64_t* width);

/** How many feature names the model has: input_width, or 0 when its columns have no names. */
H5INFER_C_API int h5infer_feature_count(const h5infer_predictor* predictor, int64_t* count);

/** The name of input column `index` (0-based), NUL-terminated, valid until the predictor is
 * freed. */
H5INFER_C_API int h5infer_feature_name(const h5infer_predictor* predictor, int64_t index,
                                       const char** name);

/** How many class labels the model has: output_width, or 0 when its outputs are not classes. */
H5INFER_C_API int h5infer_label_count(const h5infer_predictor* predictor, int64_t* count);

/** The class label of output column `index` (0-based), NUL-terminated, valid until the
 * predictor is freed. */
H5INFER_C_API int h5infer_label(const h5infer_predictor* predictor, int64_t index,
                                const char** label);

/** Predicts `rows` rows: `src` holds rows x src_width floats, `dst` receives rows x dst_width;
 * the widths are checked against the model's (H5INFER_ERROR_INPUT when they differ). `src` and
 * `dst` must not overlap. The bits `h5infer run` writes for the same rows, whatever the thread
 * count; a row holding NaN gives NaN predictions, one holding an infinity what NumPy would. */
H5INFER_C_API int h5infer_predict(h5infer_predictor* predictor, const float* src, int64_t rows,
                                  int64_t src_width, float* dst, int64_t dst_width);

/** The message of this thread's last failed call, or "" when none has failed yet. Valid until
 * the next failing call on this thread. */
H5INFER_C_API const char* h5infer_last_error(void);

/** The library's version, "MAJOR.MINOR.PATCH". */
H5INFER_C_API const char* h5infer_version(void);

#ifdef __cplusplus
}
#endif

#endif /* H5INFER_H5INFER_H */
