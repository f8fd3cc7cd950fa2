#include "cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <sstream>

#include "agree.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/model.hpp"
#include "h5infer/run.hpp"
#include "h5infer/version.hpp"
#include "io/input.hpp"

namespace h5infer::cli {
namespace {

const std::map<std::string, kernels::Backend> backends{{"onednn", kernels::Backend::Onednn},
                                                       {"reference", kernels::Backend::Reference}};

std::vector<std::string> activation_choices() {
    std::vector<std::string> names;
    std::stringstream list(activation_names());
    for (std::string name; std::getline(list, name, ',');) {
        names.push_back(name.substr(name.find_first_not_of(' ')));
    }
    return names;
}

void add_run_options(CLI::App& command, RunConfig& config) {
    command.add_option("--model", config.model_path, "native h5infer model file (.h5)")->required();
    command
        .add_option("--input", config.input,
                    "FILE[:DATASET] with one row per sample; DATASET may be omitted when the "
                    "file holds exactly one 2-D dataset")
        ->required();
    command
        .add_option("--output", config.output,
                    "prediction FILE[:DATASET] (dataset defaults to /predictions)")
        ->required();
    command.add_option("--chunk-rows", config.chunk_rows, "rows per chunk")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    command
        .add_option("--threads", config.threads,
                    "threads per rank (default: SLURM_CPUS_PER_TASK, else the CPUs this rank "
                    "may run on)")
        ->check(CLI::PositiveNumber);
    command.add_option("--backend", config.backend, "compute backend")
        ->transform(CLI::CheckedTransformer(backends, CLI::ignore_case))
        ->default_str("onednn");
    command.add_flag("--overwrite", config.overwrite, "replace an existing output file");
    command.add_flag("--quiet", config.quiet, "print nothing but errors");
    command.add_flag("--fail-on-nonfinite", config.fail_on_nonfinite,
                     "treat NaN or Inf in the input as an input error");
    command
        .add_option("--progress-interval", config.progress_interval,
                    "seconds between progress lines (default 1 on a terminal, 10 otherwise)")
        ->check(CLI::NonNegativeNumber);
}

void add_generate_options(CLI::App& command, GenerateConfig& config, std::string& hidden_activation,
                          std::string& output_activation) {
    command.add_option("--data", config.data_path, "dataset FILE[:DATASET] to write");
    command.add_option("--model", config.model_path, "model file to write");
    command.add_option("--rows", config.rows, "rows of data")->capture_default_str();
    command.add_option("--features", config.features, "features per row")->capture_default_str();
    command.add_option("--hidden", config.hidden, "hidden layer widths, e.g. 64,32")
        ->delimiter(',')
        ->capture_default_str();
    command.add_option("--outputs", config.outputs, "model outputs")->capture_default_str();
    command.add_option("--activation", hidden_activation, "hidden activation")
        ->check(CLI::IsMember(activation_choices()))
        ->capture_default_str();
    command.add_option("--output-activation", output_activation, "output activation")
        ->check(CLI::IsMember(activation_choices()))
        ->capture_default_str();
    command.add_flag("!--no-scaler", config.scaler, "omit the standardizing first layer");
    command.add_option("--seed", config.seed, "random seed")->capture_default_str();
    command.add_option("--dtype", config.dtype, "dataset element type: " + generate_dtype_names())
        ->capture_default_str();
    command.add_option("--layout", config.layout, "dataset layout: contiguous, chunked, gzip")
        ->capture_default_str();
    command.add_option("--chunk-rows", config.chunk_rows, "HDF5 chunk rows (chunked, gzip)")
        ->capture_default_str();
    command.add_flag("--overwrite", config.overwrite, "replace existing files");
}

void print_error(const mpi::Comm& comm, const Error& error) {
    if (dynamic_cast<const ReportedElsewhere*>(&error) != nullptr) return;
    if (comm.size() > 1) {
        std::fprintf(stderr, "h5infer: error [rank %d]: %s\n", comm.rank(), error.what());
    } else {
        std::fprintf(stderr, "h5infer: error: %s\n", error.what());
    }
}

void print_summary(const RunReport& report) {
    std::printf("h5infer: wrote %lld rows x %lld outputs to %s:%s in %.3f s (%.0f rows/s)",
                static_cast<long long>(report.rows), static_cast<long long>(report.outputs),
                report.output_file.c_str(), report.output_dataset.c_str(), report.seconds,
                report.seconds > 0 ? static_cast<double>(report.rows) / report.seconds : 0.0);
    std::printf(", %lld input rows with NaN/Inf\n", static_cast<long long>(report.nonfinite_rows));
    std::fflush(stdout);
}

}  // namespace

int run_command_line(int argc, char** argv, const mpi::Comm& comm) {
    CLI::App app{"h5infer: batch inference of dense models over HDF5 datasets on MPI ranks"};
    app.set_version_flag("--version", std::string("h5infer ") + version);
    app.require_subcommand(1);

    RunConfig run_config;
    CLI::App* run_command =
        app.add_subcommand("run", "predict every row of an HDF5 dataset into one prediction file");
    add_run_options(*run_command, run_config);

    GenerateConfig generate_config;
    std::string hidden_activation = "relu";
    std::string output_activation = "softmax";
    CLI::App* generate_command = app.add_subcommand(
        "generate", "write a synthetic dataset and a random model (demos, tests, benchmarks)");
    add_generate_options(*generate_command, generate_config, hidden_activation, output_activation);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // Every rank parsed the same arguments: rank 0 speaks for all.
        if (comm.rank() != 0) return error.get_exit_code() == 0 ? 0 : 2;
        const int code = app.exit(error);
        return code == 0 ? 0 : static_cast<int>(ExitCode::Usage);
    }

    try {
        if (run_command->parsed()) {
            const RunReport report = run(run_config, comm);
            if (comm.rank() == 0 && !run_config.quiet) print_summary(report);
        } else if (generate_command->parsed()) {
            if (!generate_config.data_path.empty()) {
                const io::DatasetRef data =
                    io::parse_output_ref(generate_config.data_path, generate_config.dataset);
                generate_config.data_path = data.file;
                generate_config.dataset = data.dataset;
            }
            generate_config.hidden_activation = *parse_activation(hidden_activation);
            generate_config.output_activation = *parse_activation(output_activation);
            agree_on_root(comm, 0, [&] { generate(generate_config); });
            if (comm.rank() == 0) {
                std::printf("h5infer: generated%s%s%s%s\n",
                            generate_config.data_path.empty() ? "" : " data ",
                            generate_config.data_path.c_str(),
                            generate_config.model_path.empty() ? "" : " model ",
                            generate_config.model_path.c_str());
            }
        }
    } catch (const Error& error) {
        print_error(comm, error);
        return static_cast<int>(error.code());
    }
    return 0;
}

}  // namespace h5infer::cli
