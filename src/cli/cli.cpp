#include "cli/cli.hpp"

#include <cstdio>

#include "agree.hpp"
#include "cli/command.hpp"
#include "h5infer/error.hpp"
#include "h5infer/version.hpp"

namespace h5infer::cli {
namespace {

void print_error(const mpi::Comm& comm, const Error& error) {
    if (dynamic_cast<const ReportedElsewhere*>(&error) != nullptr) return;
    if (comm.size() > 1) {
        std::fprintf(stderr, "h5infer: error [rank %d]: %s\n", comm.rank(), error.what());
    } else {
        std::fprintf(stderr, "h5infer: error: %s\n", error.what());
    }
}

}  // namespace

int run_command_line(int argc, char** argv, const mpi::Comm& comm) {
    CLI::App app{"h5infer: batch inference of dense models over HDF5 datasets on MPI ranks"};
    app.set_version_flag("--version", std::string("h5infer ") + version);
    app.require_subcommand(1);
    std::vector<Command> commands;
    add_run_command(app, commands);
    add_generate_command(app, commands);
    add_convert_command(app, commands);
    add_import_csv_command(app, commands);
    add_inspect_command(app, commands);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // Every rank parsed the same arguments: rank 0 speaks for all.
        if (comm.rank() != 0) return error.get_exit_code() == 0 ? 0 : 2;
        const int code = app.exit(error);
        return code == 0 ? 0 : static_cast<int>(ExitCode::Usage);
    }

    try {
        for (const Command& command : commands) {
            if (command.parser->parsed()) command.action(comm);
        }
    } catch (const Error& error) {
        print_error(comm, error);
        return static_cast<int>(error.code());
    }
    return 0;
}

}  // namespace h5infer::cli
