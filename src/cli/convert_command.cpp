#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>

#include "agree.hpp"
#include "cli/command.hpp"
#include "h5infer/error.hpp"
#include "h5infer/model_file.hpp"
#include "io/output.hpp"

namespace h5infer::cli {
namespace {

struct ConvertArguments {
    std::string input;
    std::string output;
    bool overwrite = false;
};

std::string layer_summary(const Model& model) {
    std::string text;
    std::int64_t width = model.input_width;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
        const Layer& layer = model.layers[i];
        std::string what;
        if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
            what = "dense " + std::to_string(dense->inputs) + " -> " +
                   std::to_string(dense->outputs) + (dense->bias.empty() ? " (no bias)" : "");
        } else if (std::holds_alternative<AffineLayer>(layer)) {
            what = "affine " + std::to_string(width);
        } else if (const auto* activation = std::get_if<ActivationLayer>(&layer)) {
            what = "activation " + std::string(activation_name(activation->function));
        } else if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
            what = "tree_ensemble " + std::to_string(trees->trees()) + " trees, " +
                   std::to_string(width) + " -> " + std::to_string(trees->outputs());
        } else {
            what = std::string(layer_kind(layer)) + " " + std::to_string(width) + " -> " +
                   std::to_string(layer_output_width(layer, width));
        }
        text += "  layer " + std::to_string(i) + ": " + what + "\n";
        width = layer_output_width(layer, width);
    }
    return text;
}

/// Reads IN in any format and writes it as a native model under a temporary name, renamed
/// into place once complete.
std::string convert(const ConvertArguments& arguments) {
    const Model model = read_model(arguments.input);
    std::error_code error;
    if (std::filesystem::equivalent(arguments.input, arguments.output, error)) {
        throw IoError("output '" + arguments.output + "' is the input model; choose another name");
    }
    io::check_output_path(arguments.output, arguments.overwrite);
    const std::string temporary = io::temporary_path(
        arguments.output, std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr)));
    try {
        try {
            save_model(model, temporary);
        } catch (const IoError& failure) {
            rethrow_with_context(failure,
                                 "cannot write output '" + arguments.output +
                                     "' (if the disk or quota is full, free space and rerun)");
        }
        io::commit_output(temporary, arguments.output, arguments.overwrite);
    } catch (...) {
        io::remove_file(temporary);
        throw;
    }
    std::string report =
        "h5infer: converted " + arguments.input + " to " + arguments.output + ": " +
        std::to_string(model.input_width) + " inputs -> " + std::to_string(model.output_width()) +
        " outputs, " + std::to_string(model.layers.size()) + " layers, " +
        std::to_string(parameter_count(model)) + " parameters\n" + layer_summary(model);
    if (!model.feature_names.empty()) {
        std::string names;
        for (const std::string& name : model.feature_names) {
            names += (names.empty() ? "" : ", ") + name;
        }
        report += "  feature names: " + names + "\n";
    }
    if (!model.description.empty()) report += "  note: " + model.description + "\n";
    return report;
}

}  // namespace

void add_convert_command(CLI::App& app, std::vector<Command>& commands) {
    auto arguments = std::make_shared<ConvertArguments>();
    CLI::App* parser = app.add_subcommand(
        "convert", "convert a model (ONNX or native) into a native h5infer model file");
    parser->add_option("IN", arguments->input, "model to read: ONNX (.onnx) or native (.h5)")
        ->required();
    parser->add_option("OUT", arguments->output, "native h5infer model file to write")->required();
    parser->add_flag("--overwrite", arguments->overwrite, "replace an existing OUT");
    commands.push_back({parser, [arguments](const mpi::Comm& comm) {
                            std::string report;
                            agree_on_root(comm, 0, [&] { report = convert(*arguments); });
                            if (comm.rank() == 0) std::fputs(report.c_str(), stdout);
                        }});
}

}  // namespace h5infer::cli
