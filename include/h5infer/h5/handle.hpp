#pragma once

#include <hdf5.h>

#include <string>

namespace h5infer::h5 {

/// Move-only owner of one HDF5 identifier; released with H5Idec_ref. Destructor never throws.
class Handle {
public:
    Handle() = default;
    /// Takes over `id` (one reference to it).
    explicit Handle(hid_t id) : id_(id) {}
    Handle(Handle&& other) noexcept;
    Handle& operator=(Handle&& other) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle();

    /// The identifier, for HDF5 calls; H5I_INVALID_HID when empty.
    [[nodiscard]] hid_t get() const { return id_; }
    /// Whether the handle holds an identifier.
    [[nodiscard]] bool valid() const { return id_ >= 0; }
    /// Closes now (for files whose close must be collective); throws IoError on failure.
    void close();

private:
    hid_t id_ = H5I_INVALID_HID;
};

/// Stops HDF5 from printing its error stack: h5infer puts the stack into its own messages.
void silence_errors();

/// silence_errors() for its lifetime, then the printing the process had before: for library
/// code running inside a program whose own HDF5 settings are not h5infer's to change.
class SilencedErrors {
public:
    SilencedErrors();
    ~SilencedErrors();
    SilencedErrors(const SilencedErrors&) = delete;
    SilencedErrors& operator=(const SilencedErrors&) = delete;
    SilencedErrors(SilencedErrors&&) = delete;
    SilencedErrors& operator=(SilencedErrors&&) = delete;

private:
    H5E_auto2_t saved_function_ = nullptr;
    void* saved_data_ = nullptr;
};

/// HDF5's current error stack, innermost cause first, as one line; clears the stack.
[[nodiscard]] std::string error_stack();

/// Throws IoError("<context>: <HDF5 error stack>").
[[noreturn]] void throw_error(const std::string& context);

}  // namespace h5infer::h5
