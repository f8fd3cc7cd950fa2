#include <cstdio>
#include <map>
#include <memory>

#include "cli/command.hpp"
#include "h5infer/run.hpp"

namespace h5infer::cli {
namespace {

const std::map<std::string, kernels::Backend> backends{{"onednn", kernels::Backend::Onednn},
                                                       {"reference", kernels::Backend::Reference}};

void add_run_options(CLI::App& command, RunConfig& config) {
    command
        .add_option("--model", config.model_path,
                    "model file: native h5infer (.h5) or ONNX (.onnx)")
        ->required();
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
    command.add_flag("--labels", config.labels,
                     "also write /labels: the class label of each row's largest prediction "
                     "(models with class labels only)");
    command
        .add_option("--progress-interval", config.progress_interval,
                    "seconds between progress lines (default 1 on a terminal, 10 otherwise)")
        ->check(CLI::NonNegativeNumber);
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

void add_run_command(CLI::App& app, std::vector<Command>& commands) {
    auto config = std::make_shared<RunConfig>();
    CLI::App* parser =
        app.add_subcommand("run", "predict every row of an HDF5 dataset into one prediction file");
    add_run_options(*parser, *config);
    commands.push_back({parser, [config](const mpi::Comm& comm) {
                            const RunReport report = run(*config, comm);
                            if (comm.rank() == 0 && !config->quiet) print_summary(report);
                        }});
}

}  // namespace h5infer::cli
