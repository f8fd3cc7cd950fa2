#include "h5infer/h5/handle.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "h5infer/error.hpp"

namespace h5infer::h5 {
namespace {

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* error, void* data) {
    auto* lines = static_cast<std::vector<std::string>*>(data);
    std::string line = error->desc != nullptr ? error->desc : "";
    if (!line.empty() && std::find(lines->begin(), lines->end(), line) == lines->end()) {
        lines->push_back(std::move(line));
    }
    return 0;
}

}  // namespace

Handle::Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}

Handle& Handle::operator=(Handle&& other) noexcept {
    if (this != &other) {
        if (valid()) H5Idec_ref(id_);
        id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
}

Handle::~Handle() {
    if (valid()) H5Idec_ref(id_);
}

void Handle::close() {
    if (!valid()) return;
    const hid_t id = std::exchange(id_, H5I_INVALID_HID);
    if (H5Idec_ref(id) < 0) throw_error("cannot close HDF5 object");
}

void silence_errors() {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

SilencedErrors::SilencedErrors() {
    if (H5Eget_auto2(H5E_DEFAULT, &saved_function_, &saved_data_) < 0) {
        saved_function_ = nullptr;
        saved_data_ = nullptr;
    }
    silence_errors();
}

SilencedErrors::~SilencedErrors() {
    H5Eset_auto2(H5E_DEFAULT, saved_function_, saved_data_);
}

std::string error_stack() {
    std::vector<std::string> lines;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &lines);
    H5Eclear2(H5E_DEFAULT);
    std::string text;
    for (const std::string& line : lines) {
        if (!text.empty()) text += " <- ";
        text += line;
    }
    return text.empty() ? "no HDF5 error details" : text;
}

void throw_error(const std::string& context) {
    std::string stack = error_stack();
    std::string message = context + " (HDF5: " + stack + ")";
    // Match HDF5's "unable to lock (the) file" only: "sblock" (superblock) errors are not.
    if (stack.find("lock file") != std::string::npos ||
        stack.find("lock the file") != std::string::npos) {
        message += " (hint: on Lustre, GPFS or NFS run with HDF5_USE_FILE_LOCKING=FALSE)";
    }
    throw IoError(message);
}

}  // namespace h5infer::h5
