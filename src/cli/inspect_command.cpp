#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "agree.hpp"
#include "cli/command.hpp"
#include "file_kind.hpp"
#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "io/dataset_list.hpp"
#include "model/describe.hpp"

namespace h5infer::cli {
namespace {

constexpr const char* native_marker = "h5infer-model";

struct InspectArguments {
    std::string path;
};

void check_path(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        throw InputError("cannot inspect '" + path + "': " + std::strerror(errno) +
                         " (check the path)");
    }
    const std::string kind = special_file_kind(path);
    if (!kind.empty()) {
        throw InputError("cannot inspect '" + path + "': it is " + kind +
                         "; give a model or HDF5 data file");
    }
}

// The format version of a native model file, or 0 for an HDF5 file that is not a model.
std::int64_t native_model_version(const std::string& path) {
    const h5::Handle file = h5::open_file(path);
    if (!h5::has_attribute(file.get(), "format")) return 0;
    if (h5::read_string_attribute(file.get(), "format") != native_marker) return 0;
    return h5::has_attribute(file.get(), "format_version")
               ? h5::read_int_attribute(file.get(), "format_version")
               : -1;
}

std::string inspect_model(const std::string& path, const std::string& format) {
    const Model model = read_model(path);
    return describe_model(model, {path, format, file_sha256(path)});
}

std::string inspect(const std::string& path) {
    check_path(path);
    if (!h5::is_hdf5(path)) {
        // Not HDF5, so not a data file: a model in another format (ONNX), or nothing we read.
        try {
            return inspect_model(path, "ONNX");
        } catch (const Error& error) {
            rethrow_with_context(error,
                                 "cannot inspect '" + path + "', which is not an HDF5 data file");
        }
    }
    std::int64_t version = 0;
    try {
        version = native_model_version(path);
    } catch (const IoError& error) {
        throw InputError("'" + path + "' cannot be read (damaged or truncated?): " + error.what());
    }
    if (version != 0) {
        return inspect_model(path,
                             std::string(native_marker) + " version " + std::to_string(version));
    }
    return io::describe_datasets(path, io::list_datasets(path));
}

}  // namespace

void add_inspect_command(CLI::App& app, std::vector<Command>& commands) {
    auto arguments = std::make_shared<InspectArguments>();
    CLI::App* parser = app.add_subcommand(
        "inspect", "describe a model (layers, parameters, FLOPs, origin) or an HDF5 data file");
    parser->add_option("file", arguments->path, "a model file, or an HDF5 file of datasets")
        ->required();
    commands.push_back({parser, [arguments](const mpi::Comm& comm) {
                            std::string text;
                            agree_on_root(comm, 0, [&] { text = inspect(arguments->path); });
                            if (comm.rank() == 0) {
                                std::fputs(text.c_str(), stdout);
                                std::fflush(stdout);
                            }
                        }});
}

}  // namespace h5infer::cli
