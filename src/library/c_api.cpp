// The C API (include/h5infer/h5infer.h) over h5infer::Predictor: every exception stops here and
// becomes a status code and this thread's last error.
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "h5infer/h5infer.h"
#include "h5infer/predictor.hpp"
#include "h5infer/version.hpp"

struct h5infer_predictor {
    h5infer::Predictor predictor;
};

namespace {

thread_local std::string last_error;

int fail(int status, const char* message) noexcept {
    try {
        last_error = message;
    } catch (...) {
        last_error.clear();  // no memory for the message: the status still tells the class
    }
    return status;
}

int status_of(h5infer::ExitCode code) {
    return code == h5infer::ExitCode::Ok ? H5INFER_ERROR_INTERNAL : static_cast<int>(code);
}

// Runs `work`, turning whatever it throws into a status and the last error.
template <typename Work>
int guarded(const Work& work) noexcept {
    try {
        work();
        return H5INFER_OK;
    } catch (const h5infer::Error& error) {
        return fail(status_of(error.code()), error.what());
    } catch (const std::bad_alloc&) {
        return fail(H5INFER_ERROR_INTERNAL, "out of memory");
    } catch (const std::exception& error) {
        return fail(H5INFER_ERROR_INTERNAL, error.what());
    } catch (...) {
        return fail(H5INFER_ERROR_INTERNAL, "unknown internal error (please report this)");
    }
}

void require(const void* pointer, const char* what) {
    if (pointer == nullptr) {
        throw h5infer::ConfigError(std::string(what) + " is a null pointer");
    }
}

const h5infer::Predictor& checked(const h5infer_predictor* predictor) {
    require(predictor, "the predictor");
    return predictor->predictor;
}

const std::string& name_at(const std::vector<std::string>& names, std::int64_t index,
                           const char* kind) {
    if (index < 0 || index >= static_cast<std::int64_t>(names.size())) {
        throw h5infer::ConfigError(std::string(kind) + " index " + std::to_string(index) +
                                   " is out of range: the model has " +
                                   std::to_string(names.size()) + " " + kind + "s");
    }
    return names[static_cast<std::size_t>(index)];
}

void check_width(const char* rows, std::int64_t width, std::int64_t want, const char* unit) {
    if (width != want) {
        throw h5infer::InputError(std::string("the ") + rows + " rows are " +
                                  std::to_string(width) + " values wide, but the model has " +
                                  std::to_string(want) + " " + unit + " per row");
    }
}

}  // namespace

extern "C" {

int h5infer_load(const char* model_path, int threads, h5infer_predictor** predictor) {
    return h5infer_load_with(model_path, threads, nullptr, nullptr, 0, predictor);
}

int h5infer_load_with(const char* model_path, int threads, const char* backend,
                      const char* precision, int64_t chunk_rows, h5infer_predictor** predictor) {
    if (predictor != nullptr) *predictor = nullptr;
    return guarded([&] {
        require(predictor, "the predictor's address");
        require(model_path, "the model path");
        h5infer::PredictorOptions options;
        options.threads = threads;
        if (backend != nullptr) options.backend = backend;
        if (precision != nullptr) options.precision = precision;
        options.chunk_rows = chunk_rows;
        *predictor = new h5infer_predictor{h5infer::Predictor(model_path, options)};
    });
}

void h5infer_free(h5infer_predictor* predictor) {
    delete predictor;
}

int h5infer_input_width(const h5infer_predictor* predictor, int64_t* width) {
    return guarded([&] {
        require(width, "the width's address");
        *width = checked(predictor).input_width();
    });
}

int h5infer_output_width(const h5infer_predictor* predictor, int64_t* width) {
    return guarded([&] {
        require(width, "the width's address");
        *width = checked(predictor).output_width();
    });
}

int h5infer_feature_count(const h5infer_predictor* predictor, int64_t* count) {
    return guarded([&] {
        require(count, "the count's address");
        *count = static_cast<int64_t>(checked(predictor).feature_names().size());
    });
}

int h5infer_feature_name(const h5infer_predictor* predictor, int64_t index, const char** name) {
    return guarded([&] {
        require(name, "the name's address");
        *name = name_at(checked(predictor).feature_names(), index, "feature name").c_str();
    });
}

int h5infer_label_count(const h5infer_predictor* predictor, int64_t* count) {
    return guarded([&] {
        require(count, "the count's address");
        *count = static_cast<int64_t>(checked(predictor).labels().size());
    });
}

int h5infer_label(const h5infer_predictor* predictor, int64_t index, const char** label) {
    return guarded([&] {
        require(label, "the label's address");
        *label = name_at(checked(predictor).labels(), index, "label").c_str();
    });
}

int h5infer_predict(h5infer_predictor* predictor, const float* src, int64_t rows, int64_t src_width,
                    float* dst, int64_t dst_width) {
    return guarded([&] {
        require(predictor, "the predictor");
        h5infer::Predictor& model = predictor->predictor;
        check_width("input", src_width, model.input_width(), "features");
        check_width("output", dst_width, model.output_width(), "predictions");
        model.predict(src, rows, dst);
    });
}

const char* h5infer_last_error(void) {
    return last_error.c_str();
}

const char* h5infer_version(void) {
    return h5infer::version;
}

}  // extern "C"
