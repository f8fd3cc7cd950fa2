#include <cstdio>
#include <memory>
#include <string>

#include "agree.hpp"
#include "cli/command.hpp"
#include "io/csv_import.hpp"
#include "io/input.hpp"

namespace h5infer::cli {
namespace {

// Flags arrive as text and are checked once the command line is complete.
struct ImportCsvArguments {
    io::CsvImportConfig config;
    std::string output;
    std::string delimiter = ",";
    std::string dtype = "float32";
    bool header = false;
    bool no_header = false;
    bool quiet = false;
};

void add_import_csv_options(CLI::App& command, ImportCsvArguments& arguments) {
    command.add_option("csv", arguments.config.csv_path, "the CSV file to read")->required();
    command
        .add_option("output", arguments.output,
                    "the HDF5 FILE[:DATASET] to create (dataset defaults to /features)")
        ->required();
    CLI::Option* header = command.add_flag("--header", arguments.header,
                                           "the first row names the columns (default: detected)");
    command
        .add_flag("--no-header", arguments.no_header, "the first row is data (default: detected)")
        ->excludes(header);
    command
        .add_option("--columns", arguments.config.options.columns,
                    "columns to keep, in order: header names or 0-based indices, e.g. a,b,c or "
                    "0,2,5 (default: all)")
        ->delimiter(',');
    command.add_option("--delimiter", arguments.delimiter, "field separator; '\\t' for tabs")
        ->capture_default_str();
    command.add_option("--dtype", arguments.dtype, "dataset element type")
        ->check(CLI::IsMember({"float32", "float64"}))
        ->capture_default_str();
    command.add_flag("--overwrite", arguments.config.overwrite, "replace an existing output file");
    command.add_flag("--quiet", arguments.quiet, "print nothing but errors");
}

void import(ImportCsvArguments& arguments, const mpi::Comm& comm) {
    io::CsvImportConfig& config = arguments.config;
    io::CsvImportReport report;
    agree_on_root(comm, 0, [&] {
        const io::DatasetRef output = io::parse_output_ref(arguments.output, config.dataset);
        config.output_file = output.file;
        config.dataset = output.dataset;
        config.options.delimiter = io::parse_delimiter(arguments.delimiter);
        if (arguments.header) config.options.header = io::CsvHeader::Yes;
        if (arguments.no_header) config.options.header = io::CsvHeader::No;
        config.options.type =
            arguments.dtype == "float64" ? io::CsvType::Float64 : io::CsvType::Float32;
        report = io::import_csv(config);
    });
    if (comm.rank() == 0 && !arguments.quiet) {
        for (const std::string& path : report.removed_temporaries) {
            std::printf("h5infer: note: removed '%s', left by an import that was killed\n",
                        path.c_str());
        }
        std::printf("h5infer: imported %lld rows x %lld columns (%s) from %s into %s:%s as %s\n",
                    static_cast<long long>(report.rows), static_cast<long long>(report.cols),
                    report.header ? "names from the header row" : "no header row",
                    config.csv_path.c_str(), config.output_file.c_str(), config.dataset.c_str(),
                    arguments.dtype.c_str());
        std::fflush(stdout);
    }
}

}  // namespace

void add_import_csv_command(CLI::App& app, std::vector<Command>& commands) {
    auto arguments = std::make_shared<ImportCsvArguments>();
    CLI::App* parser = app.add_subcommand(
        "import-csv", "stream a CSV file into a 2-D HDF5 dataset that `run` can read");
    add_import_csv_options(*parser, *arguments);
    commands.push_back({parser, [arguments](const mpi::Comm& comm) { import(*arguments, comm); }});
}

}  // namespace h5infer::cli
