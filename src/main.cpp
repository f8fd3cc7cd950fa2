// h5infer: one binary, started by mpirun or srun on every rank.
#include <cstdio>
#include <exception>

#include "cli/cli.hpp"
#include "h5infer/bulk_memory.hpp"
#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/mpi/comm.hpp"
#include "stop.hpp"

int main(int argc, char** argv) {
    using h5infer::ExitCode;
    h5infer::guard_standard_streams();
    h5infer::watch_stop_signals();  // first: every thread started later inherits the blocking
    h5infer::warm_heap();
    try {
        h5infer::mpi::Environment environment(argc, argv);
        const h5infer::mpi::Comm world = h5infer::mpi::Comm::world();
        h5infer::h5::silence_errors();
        int code = 0;
        try {
            code = h5infer::cli::run_command_line(argc, argv, world);
        } catch (const std::exception& error) {
            // Anything that escaped the agreed error paths: the other ranks may be waiting in a
            // collective, so this rank reports and takes the job down.
            std::fprintf(stderr, "h5infer: error [rank %d]: %s\n", world.rank(), error.what());
            const auto* known = dynamic_cast<const h5infer::Error*>(&error);
            world.abort(static_cast<int>(known != nullptr ? known->code() : ExitCode::Internal));
        }
        return code;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "h5infer: error: %s\n", error.what());
        return static_cast<int>(ExitCode::Mpi);
    }
}
