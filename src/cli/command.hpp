#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

#include "h5infer/mpi/comm.hpp"

namespace h5infer::cli {

/// One subcommand: its CLI11 parser and what to do when it was chosen. The action is collective
/// (every rank calls it) and throws h5infer errors; the caller prints them and picks the exit code.
struct Command {
    CLI::App* parser = nullptr;
    std::function<void(const mpi::Comm&)> action;
};

/// Each subcommand lives in its own file and registers itself here; cli.cpp lists them in order.
void add_run_command(CLI::App& app, std::vector<Command>& commands);
void add_generate_command(CLI::App& app, std::vector<Command>& commands);
void add_convert_command(CLI::App& app, std::vector<Command>& commands);
void add_import_csv_command(CLI::App& app, std::vector<Command>& commands);
void add_inspect_command(CLI::App& app, std::vector<Command>& commands);

}  // namespace h5infer::cli
