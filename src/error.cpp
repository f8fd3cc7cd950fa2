#include "h5infer/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace h5infer {

void rethrow_with_context(const Error& error, const std::string& context) {
    const std::string message = context + ": " + error.what();
    switch (error.code()) {
        case ExitCode::Usage: throw ConfigError(message);
        case ExitCode::Model: throw ModelError(message);
        case ExitCode::Input: throw InputError(message);
        case ExitCode::Io: throw IoError(message);
        case ExitCode::Mpi: throw MpiError(message);
        case ExitCode::Interrupted: throw InterruptedError(message);
        case ExitCode::Ok:
        case ExitCode::Internal: break;
    }
    throw Error(error.code(), message);
}

void assert_fail(const char* condition, const char* file, int line) noexcept {
    std::fprintf(stderr, "h5infer: internal error: %s failed at %s:%d (please report this)\n",
                 condition, file, line);
    std::abort();
}

}  // namespace h5infer
