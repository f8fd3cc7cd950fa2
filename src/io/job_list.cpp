#include "io/job_list.hpp"

#include <glob.h>
#include <sys/stat.h>

#include <fstream>
#include <map>

#include "h5infer/error.hpp"

namespace h5infer::io {
namespace {

bool has_wildcard(const std::string& text) {
    return text.find_first_of("*?[") != std::string::npos;
}

// Matches of a glob pattern, sorted; empty when nothing matches.
std::vector<std::string> glob_files(const std::string& pattern) {
    glob_t found{};
    std::vector<std::string> files;
    if (::glob(pattern.c_str(), GLOB_ERR, nullptr, &found) == 0) {
        for (std::size_t i = 0; i < found.gl_pathc; ++i) files.emplace_back(found.gl_pathv[i]);
    }
    ::globfree(&found);
    return files;
}

void expand_one(const std::string& argument, const std::string& origin, PatternFilter* filter,
                std::vector<DatasetRef>& inputs) {
    const DatasetRef ref = parse_input_ref(argument);
    // A file named "run[1].h5" is that file, not the pattern matching "run1.h5".
    struct stat info {};
    if (!has_wildcard(ref.file) || ::lstat(ref.file.c_str(), &info) == 0) {
        inputs.push_back(ref);
        return;
    }
    const std::vector<std::string> files = glob_files(ref.file);
    if (files.empty()) {
        throw ConfigError(origin + " '" + argument + "': no file matches '" + ref.file +
                          "'; check the pattern (quote it so the shell does not expand it)");
    }
    std::size_t taken = 0;
    for (const std::string& file : files) {
        if (filter != nullptr && filter->leaves_out && filter->leaves_out(file)) {
            filter->left_out.push_back(file);
        } else {
            inputs.push_back({file, ref.dataset});
            ++taken;
        }
    }
    if (taken == 0) {
        throw ConfigError(origin + " '" + argument +
                          "' matches only files h5infer wrote or reads " + "as the model (e.g. '" +
                          files.front() + "'); check the pattern");
    }
}

std::string base_name(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::vector<DatasetRef> expand_inputs(const std::vector<std::string>& arguments,
                                      const std::string& input_list, PatternFilter* filter) {
    std::vector<DatasetRef> inputs;
    for (const std::string& argument : arguments) expand_one(argument, "--input", filter, inputs);
    if (!input_list.empty()) {
        std::ifstream list(input_list);
        if (!list) {
            throw ConfigError("--input-list '" + input_list +
                              "' cannot be read; give a text file with one FILE[:DATASET] per "
                              "line");
        }
        std::string line;
        int number = 0;
        while (std::getline(list, line)) {
            ++number;
            const std::size_t first = line.find_first_not_of(" \t\r");
            if (first == std::string::npos || line[first] == '#') continue;
            const std::size_t last = line.find_last_not_of(" \t\r");
            expand_one(line.substr(first, last - first + 1),
                       "--input-list '" + input_list + "' line " + std::to_string(number), filter,
                       inputs);
        }
    }
    return inputs;
}

std::string output_name_for(const std::string& input_file, const std::string& output_dir) {
    std::string stem = base_name(input_file);
    for (const char* extension : {".h5", ".hdf5", ".he5", ".hdf"}) {
        const std::string suffix = extension;
        if (stem.size() > suffix.size() &&
            stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0) {
            stem.resize(stem.size() - suffix.size());
            break;
        }
    }
    const std::string directory = output_dir.size() > 1 && output_dir.back() == '/'
                                      ? output_dir.substr(0, output_dir.size() - 1)
                                      : output_dir;
    return directory + "/" + stem + ".predictions.h5";
}

std::vector<Job> list_jobs(const std::vector<DatasetRef>& inputs, const std::string& output,
                           const std::string& output_dir) {
    if (inputs.empty()) throw ConfigError("no input: give --input (or --input-list)");
    if (output.empty() == output_dir.empty()) {
        throw ConfigError(output.empty()
                              ? "give --output FILE (one input) or --output-dir DIR"
                              : "--output and --output-dir exclude each other; give one");
    }
    std::vector<Job> jobs;
    if (!output.empty()) {
        if (inputs.size() > 1) {
            throw ConfigError(std::to_string(inputs.size()) +
                              " inputs need --output-dir DIR (one prediction file each), not "
                              "--output");
        }
        jobs.push_back({inputs.front(), parse_output_ref(output, "/predictions")});
        return jobs;
    }
    std::map<std::string, std::string> writers;  // output file -> the input writing it
    for (const DatasetRef& input : inputs) {
        const std::string file = output_name_for(input.file, output_dir);
        const auto [place, added] = writers.emplace(file, input.file);
        if (!added) {
            throw ConfigError(
                place->second == input.file
                    ? "input '" + input.file + "' is listed twice; list each file once"
                    : "inputs '" + place->second + "' and '" + input.file + "' would both write '" +
                          file + "'; rename one, or run them with separate --output-dir");
        }
        jobs.push_back({input, {file, "/predictions"}});
    }
    return jobs;
}

}  // namespace h5infer::io
