#pragma once

#include <stdexcept>
#include <string>

namespace h5infer {

/// Process exit codes, one per class of problem the user must fix (documented in docs/cli.md).
enum class ExitCode : int {
    Ok = 0,
    Internal = 1,  ///< a bug in h5infer: report it
    Usage = 2,     ///< bad command-line flags or values
    Model = 3,     ///< the model file is missing, unreadable, invalid or unsupported
    Input = 4,     ///< the input file or dataset is missing, malformed or does not fit the model
    Io = 5,        ///< reading or writing failed, or the output path cannot be used
    Mpi = 6,       ///< MPI failed or another rank died
    /// Stopped by SIGTERM, SIGINT, SIGHUP or SIGUSR1 after saving its progress: rerun the same
    /// command to resume (75 is EX_TEMPFAIL, "try again later").
    Interrupted = 75,
};

/// Base of every error h5infer reports to the user. `what()` is a lower-case sentence that names
/// the object and, where there is one, the fix.
class Error : public std::runtime_error {
public:
    Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

    /// The exit code the process ends with when this error stops a run.
    [[nodiscard]] ExitCode code() const noexcept { return code_; }

private:
    ExitCode code_ = ExitCode::Internal;
};

/// Bad flags or flag values.
class ConfigError : public Error {
public:
    explicit ConfigError(const std::string& message) : Error(ExitCode::Usage, message) {}
};

/// The model file cannot be read, is not a valid model, or uses something unsupported.
class ModelError : public Error {
public:
    explicit ModelError(const std::string& message) : Error(ExitCode::Model, message) {}
};

/// The input file or dataset is missing, has the wrong shape or type, or holds bad values.
class InputError : public Error {
public:
    explicit InputError(const std::string& message) : Error(ExitCode::Input, message) {}
};

/// A filesystem or HDF5 operation failed; HDF5's error stack is part of the message.
class IoError : public Error {
public:
    explicit IoError(const std::string& message) : Error(ExitCode::Io, message) {}
};

/// An MPI call failed, or another rank reported a failure.
class MpiError : public Error {
public:
    explicit MpiError(const std::string& message) : Error(ExitCode::Mpi, message) {}
};

/// The run stopped on a signal after saving its progress; rerunning resumes it.
class InterruptedError : public Error {
public:
    explicit InterruptedError(const std::string& message) : Error(ExitCode::Interrupted, message) {}
};

/// Throws an Error of the same class as `error` with `context` prepended to its message.
[[noreturn]] void rethrow_with_context(const Error& error, const std::string& context);

/// Programmer-error check: aborts with file and line when `condition` is false. Never used for
/// user input, which gets one of the errors above.
#define H5INFER_ASSERT(condition) \
    ((condition) ? static_cast<void>(0) : ::h5infer::assert_fail(#condition, __FILE__, __LINE__))

[[noreturn]] void assert_fail(const char* condition, const char* file, int line) noexcept;

}  // namespace h5infer
