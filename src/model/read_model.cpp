#include <filesystem>
#include <string>

#include "file_kind.hpp"
#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer {

Model read_model(const std::string& path) {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
        throw ModelError("model file '" + path + "' does not exist");
    }
    const std::string kind = special_file_kind(path);
    if (!kind.empty()) {
        throw ModelError("model file '" + path + "' is " + kind +
                         "; pass the model file (.h5 or .onnx)");
    }
    // By content, so a renamed file still loads: HDF5 has a signature, ONNX (protobuf) has none.
    if (h5::is_hdf5(path)) return load_model(path);
    return import_onnx(path);
}

}  // namespace h5infer
