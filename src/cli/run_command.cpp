#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "cli/command.hpp"
#include "h5infer/run.hpp"
#include "kernels/instruction_set.hpp"
#include "stop.hpp"

namespace h5infer::cli {
namespace {

const std::map<std::string, kernels::Precision> precisions{{"f32", kernels::Precision::F32},
                                                           {"bf16", kernels::Precision::Bf16}};

const std::map<std::string, ColumnNames> column_name_modes{{"reorder", ColumnNames::Reorder},
                                                           {"strict", ColumnNames::Strict},
                                                           {"ignore", ColumnNames::Ignore}};

const std::map<std::string, UnwrittenRows> unwritten_row_modes{{"refuse", UnwrittenRows::Refuse},
                                                               {"nan", UnwrittenRows::Nan}};

const std::map<std::string, kernels::Backend> backends{{"onednn", kernels::Backend::Onednn},
                                                       {"reference", kernels::Backend::Reference}};

// "60", "60s", "10m" or "50chunks".
void parse_checkpoint(const std::string& value, RunConfig& config) {
    std::size_t used = 0;
    double number = -1;
    try {
        number = std::stod(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    const std::string unit = value.substr(used);
    config.checkpoint_seconds = 0;
    config.checkpoint_steps = 0;
    if (used > 0 && number >= 0) {
        if (unit.empty() || unit == "s") {
            config.checkpoint_seconds = number;
            return;
        }
        if (unit == "m") {
            config.checkpoint_seconds = number * 60;
            return;
        }
        if ((unit == "chunks" || unit == "c") &&
            number == static_cast<double>(static_cast<std::int64_t>(number))) {
            config.checkpoint_steps = static_cast<std::int64_t>(number);
            return;
        }
    }
    throw CLI::ValidationError("--checkpoint-every", "'" + value + "' is not 60s, 10m or 50chunks");
}

// The model, the inputs and where their predictions go.
void add_data_options(CLI::App& command, RunConfig& config) {
    command
        .add_option("--model", config.model_path,
                    "model file: native h5infer (.h5) or ONNX (.onnx)")
        ->required();
    command.add_option("--input", config.inputs,
                       "FILE[:DATASET] with one row per sample (repeatable; FILE may be a quoted "
                       "glob); DATASET may be omitted when the file holds one 2-D dataset");
    command.add_option("--input-list", config.input_list,
                       "text file listing inputs, one FILE[:DATASET] per line");
    command
        .add_option("--column-names", config.column_names,
                    "when the input and the model both name their columns: reorder (match by "
                    "name, reordering another order), strict (another order is an error) or "
                    "ignore (take a 2-D dataset's columns by position)")
        ->transform(CLI::CheckedTransformer(column_name_modes, CLI::ignore_case))
        ->default_str("reorder");
    command.add_option("--output", config.output,
                       "prediction FILE[:DATASET] for one input (dataset defaults to "
                       "/predictions)");
    command.add_option("--output-dir", config.output_dir,
                       "directory for one prediction file per input: NAME.h5 -> "
                       "NAME.predictions.h5");
}

// "4M", "65536", "1G": bytes, with an optional K, M or G (powers of 1024).
void parse_align(const std::string& text, RunConfig& config) {
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    const std::string unit = text.substr(used);
    const std::map<std::string, int> shifts{{"", 0}, {"K", 10}, {"M", 20}, {"G", 30}};
    const auto shift = shifts.find(unit);
    if (used == 0 || value <= 0 || shift == shifts.end() || value > (1LL << (40 - shift->second))) {
        throw CLI::ValidationError("--align",
                                   "expected a size such as 1M or 4194304 (bytes, "
                                   "with K, M or G), got '" +
                                       text + "'");
    }
    config.align_bytes = static_cast<std::int64_t>(value) << shift->second;
}

// How the rows are computed.
void add_compute_options(CLI::App& command, RunConfig& config) {
    command
        .add_option("--chunk-rows", config.chunk_rows,
                    "rows per chunk (default: from the model's FLOPs per row, 1024-8192)")
        ->check(CLI::PositiveNumber);
    command
        .add_option("--threads", config.threads,
                    "threads per rank (default: SLURM_CPUS_PER_TASK, else the CPUs this rank "
                    "may run on)")
        ->check(CLI::PositiveNumber);
    command.add_option("--backend", config.backend, "compute backend")
        ->transform(CLI::CheckedTransformer(backends, CLI::ignore_case))
        ->default_str("onednn");
    command
        .add_option("--precision", config.precision,
                    "f32, or bf16: bf16 weights and activations with f32 accumulation (CPUs "
                    "with avx512_bf16)")
        ->transform(CLI::CheckedTransformer(precisions, CLI::ignore_case))
        ->default_str("f32");
    command.add_option("--isa", config.isa,
                       "instruction set every rank computes with (onednn backend): " +
                           kernels::instruction_set_names() +
                           "; the bits depend on it (default: the best every rank has)");
    command
        .add_option("--verify-rows", config.verify_rows,
                    "recompute N rows per input (spread evenly) in f32 and print the largest "
                    "deviation")
        ->check(CLI::NonNegativeNumber);
}

// What the run may replace, what else it writes, and how it saves and reports progress.
void add_output_options(CLI::App& command, RunConfig& config) {
    command.add_flag("--overwrite", config.overwrite,
                     "replace an existing output file that is not up to date");
    command.add_flag("--force", config.force,
                     "recompute outputs even when they are up to date (implies --overwrite)");
    command.add_option("--copy", config.copies,
                       "input DATASET copied row by row into the prediction file (repeatable), "
                       "e.g. event ids");
    command
        .add_option_function<std::string>(
            "--checkpoint-every",
            [&config](const std::string& value) { parse_checkpoint(value, config); },
            "save progress every N seconds (60s, 10m) or N chunks per rank (50chunks); 0: "
            "only on a stop signal (default 60s)")
        ->type_name("INTERVAL");
    command.add_option("--io-hint", config.io_hints,
                       "MPI-IO hint KEY=VALUE for the prediction files (repeatable), e.g. "
                       "cb_buffer_size=16777216 or romio_cb_write=enable");
    command
        .add_option_function<std::string>(
            "--align", [&config](const std::string& value) { parse_align(value, config); },
            "start the prediction files' datasets at multiples of SIZE (e.g. 4M, the stripe "
            "size of a Lustre directory or a GPFS block size)")
        ->type_name("SIZE");
    command.add_option("--report", config.report_path,
                       "write a JSON report: per-rank seconds in read, compute, write and wait");
    command.add_option("--metrics", config.metrics_path,
                       "write OpenMetrics text for monitoring (e.g. run.prom for the node "
                       "exporter): rows, seconds per stage, inputs, exit status; also when the "
                       "run fails or is stopped");
    command.add_flag("--quiet", config.quiet, "print nothing but errors");
    command.add_flag("--fail-on-nonfinite", config.fail_on_nonfinite,
                     "treat NaN or Inf in the input as an input error");
    command
        .add_option("--unwritten-rows", config.unwritten_rows,
                    "input rows never written (chunks never allocated, missing virtual "
                    "sources): refuse the input, or nan (predict NaN, counted as NaN rows)")
        ->transform(CLI::CheckedTransformer(unwritten_row_modes, CLI::ignore_case))
        ->default_str("refuse");
    command.add_flag("--labels", config.labels,
                     "also write /labels: the class label of each row's largest prediction "
                     "(models with class labels only)");
    command
        .add_option("--progress-interval", config.progress_interval,
                    "seconds between progress lines (default 1 on a terminal, 10 otherwise)")
        ->check(CLI::NonNegativeNumber);
}

void add_run_options(CLI::App& command, RunConfig& config) {
    add_data_options(command, config);
    add_compute_options(command, config);
    add_output_options(command, config);
}

void print_summary(const RunReport& report) {
    if (report.jobs == 1) {
        std::printf("h5infer: wrote %lld rows x %lld outputs to %s:%s",
                    static_cast<long long>(report.rows), static_cast<long long>(report.outputs),
                    report.output_file.c_str(), report.output_dataset.c_str());
    } else {
        std::printf("h5infer: %lld inputs (%lld up to date), wrote %lld rows x %lld outputs to %s",
                    static_cast<long long>(report.jobs), static_cast<long long>(report.skipped),
                    static_cast<long long>(report.rows), static_cast<long long>(report.outputs),
                    report.output_file.c_str());
    }
    std::printf(" in %.3f s (%.0f rows/s), %lld input rows with NaN/Inf (in float32)",
                report.seconds,
                report.seconds > 0 ? static_cast<double>(report.rows) / report.seconds : 0.0,
                static_cast<long long>(report.nonfinite_rows));
    if (report.verified_rows > 0) {
        std::printf(", %lld rows verified in f32: largest deviation %.3g absolute, %.3g relative",
                    static_cast<long long>(report.verified_rows), report.verify_deviation.absolute,
                    report.verify_deviation.relative);
    }
    if (report.resumed_chunks > 0) {
        std::printf(", %lld chunks resumed", static_cast<long long>(report.resumed_chunks));
    }
    std::printf("\n");
    std::fflush(stdout);
}

}  // namespace

void add_run_command(CLI::App& app, std::vector<Command>& commands) {
    auto config = std::make_shared<RunConfig>();
    CLI::App* parser = app.add_subcommand(
        "run", "predict every row of one or more HDF5 datasets, one prediction file each");
    add_run_options(*parser, *config);
    commands.push_back({parser, [config](const mpi::Comm& comm) {
                            StopRequest::keep_until_exit();
                            const RunReport report = run(*config, comm);
                            if (comm.rank() == 0 && !config->quiet) print_summary(report);
                        }});
}

}  // namespace h5infer::cli
