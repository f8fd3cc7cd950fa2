#include <cstdio>
#include <memory>
#include <sstream>

#include "agree.hpp"
#include "cli/command.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/model.hpp"
#include "io/input.hpp"

namespace h5infer::cli {
namespace {

std::vector<std::string> activation_choices() {
    std::vector<std::string> names;
    std::stringstream list(activation_names());
    for (std::string name; std::getline(list, name, ',');) {
        names.push_back(name.substr(name.find_first_not_of(' ')));
    }
    return names;
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

// Activation names arrive as text and are parsed once the command line is complete.
struct GenerateArguments {
    GenerateConfig config;
    std::string hidden_activation = "relu";
    std::string output_activation = "softmax";
};

void generate_files(GenerateArguments& arguments, const mpi::Comm& comm) {
    GenerateConfig& config = arguments.config;
    if (!config.data_path.empty()) {
        const io::DatasetRef data = io::parse_output_ref(config.data_path, config.dataset);
        config.data_path = data.file;
        config.dataset = data.dataset;
    }
    config.hidden_activation = *parse_activation(arguments.hidden_activation);
    config.output_activation = *parse_activation(arguments.output_activation);
    agree_on_root(comm, 0, [&] { generate(config); });
    if (comm.rank() == 0) {
        std::printf("h5infer: generated%s%s%s%s\n", config.data_path.empty() ? "" : " data ",
                    config.data_path.c_str(), config.model_path.empty() ? "" : " model ",
                    config.model_path.c_str());
    }
}

}  // namespace

void add_generate_command(CLI::App& app, std::vector<Command>& commands) {
    auto arguments = std::make_shared<GenerateArguments>();
    CLI::App* parser = app.add_subcommand(
        "generate", "write a synthetic dataset and a random model (demos, tests, benchmarks)");
    add_generate_options(*parser, arguments->config, arguments->hidden_activation,
                         arguments->output_activation);
    commands.push_back(
        {parser, [arguments](const mpi::Comm& comm) { generate_files(*arguments, comm); }});
}

}  // namespace h5infer::cli
