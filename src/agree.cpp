#include "agree.hpp"

#include <new>

namespace h5infer {
namespace {

std::exception_ptr capture(const std::function<void()>& step) {
    try {
        step();
    } catch (const Error&) {
        return std::current_exception();
    } catch (const std::bad_alloc&) {
        return std::make_exception_ptr(
            Error(ExitCode::Internal, "out of memory (try a smaller --chunk-rows)"));
    } catch (const std::exception& error) {
        return std::make_exception_ptr(Error(ExitCode::Internal, error.what()));
    }
    return nullptr;
}

ExitCode code_of(const std::exception_ptr& failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const Error& error) {
        return error.code();
    }
}

}  // namespace

void agree(const mpi::Comm& comm, const std::function<void()>& step) {
    const std::exception_ptr failure = capture(step);
    const std::int64_t first = comm.min(failure ? comm.rank() : comm.size());
    if (first == comm.size()) return;
    auto code = static_cast<std::int64_t>(failure && first == comm.rank() ? code_of(failure)
                                                                          : ExitCode::Ok);
    comm.broadcast(code, static_cast<int>(first));
    if (first == comm.rank()) std::rethrow_exception(failure);
    throw ReportedElsewhere(static_cast<ExitCode>(code), static_cast<int>(first));
}

void agree_on_root(const mpi::Comm& comm, int root, const std::function<void()>& step) {
    agree(comm, [&] {
        if (comm.rank() == root) step();
    });
}

}  // namespace h5infer
