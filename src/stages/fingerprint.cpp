#include "stages/fingerprint.hpp"

#include "h5infer/version.hpp"

namespace h5infer::stages {
namespace {

// "path:bytes:mtime_ns" of each file, comma-separated: a file changed since is another input.
std::string versions_text(const std::vector<io::FileVersion>& files) {
    std::string text;
    for (const io::FileVersion& file : files) {
        text += (text.empty() ? "" : ",") + file.path + ":" + std::to_string(file.bytes) + ":" +
                std::to_string(file.mtime_ns);
    }
    return text;
}

}  // namespace

std::string fingerprint(const RunConfig& config, const std::string& model_sha256,
                        const std::vector<io::FileVersion>& model_files, std::int64_t chunk_rows,
                        const std::string& instruction_set, const io::InputInfo& input,
                        const std::string& output_dataset, const std::vector<std::string>& copies) {
    std::string text;
    const auto field = [&text](const std::string& key, const std::string& value) {
        text += key + "=" + value + "\n";
    };
    field("h5infer_version", version);
    field("model_sha256", model_sha256);
    // Lines only when there are such files, so that the fingerprints of files made before
    // these lines existed still match.
    if (!model_files.empty()) field("model_data_files", versions_text(model_files));
    field("input_file", io::absolute_path(input.file));
    field("input_dataset", input.dataset);
    field("input_bytes", std::to_string(input.file_bytes));
    field("input_mtime_ns", std::to_string(input.file_mtime_ns));
    field("input_shape", std::to_string(input.rows) + "x" + std::to_string(input.cols));
    if (!input.data_files.empty()) field("input_data_files", versions_text(input.data_files));
    if (!input.sources.empty()) {
        // Which column of the input feeds which of the model's: another order, another
        // prediction. A 2-D dataset read as it is has no such line, as before names were read.
        std::string columns;
        for (const io::ColumnSource& source : input.sources) {
            columns += (columns.empty() ? "" : ",") + source.dataset;
            if (!source.field.empty()) columns += "." + source.field;
            if (source.column >= 0) columns += "[" + std::to_string(source.column) + "]";
        }
        field("input_columns", columns);
    }
    field("output_dataset", output_dataset);
    field("chunk_rows", std::to_string(chunk_rows));
    field("backend", std::string(kernels::backend_name(config.backend)));
    field("precision", std::string(kernels::precision_name(config.precision)));
    if (!instruction_set.empty()) field("isa", instruction_set);
    field("labels", config.labels ? "yes" : "no");
    std::string joined;
    for (const std::string& copy : copies) joined += (joined.empty() ? "" : ",") + copy;
    field("copies", joined);
    return text;
}

std::string first_difference(const std::string& found, const std::string& wanted) {
    if (found.empty()) return "it records no h5infer fingerprint or cannot be read";
    std::size_t begin = 0;
    while (begin < wanted.size()) {
        const std::size_t end = wanted.find('\n', begin);
        const std::string line = wanted.substr(begin, end - begin);
        if (found.find(line + "\n") == std::string::npos) {
            return "its " + line.substr(0, line.find('=')) + " differs";
        }
        begin = end + 1;
    }
    return "its fingerprint differs";
}

std::string fingerprint_value(const std::string& fingerprint, std::string_view key) {
    const std::string prefix = std::string(key) + "=";
    std::size_t begin = 0;
    while (begin < fingerprint.size()) {
        std::size_t end = fingerprint.find('\n', begin);
        if (end == std::string::npos) end = fingerprint.size();
        if (fingerprint.compare(begin, prefix.size(), prefix) == 0) {
            return fingerprint.substr(begin + prefix.size(), end - begin - prefix.size());
        }
        begin = end + 1;
    }
    return {};
}

bool same_but_instruction_set(const std::string& found, const std::string& wanted) {
    const auto without = [](const std::string& fingerprint) {
        std::string kept;
        std::size_t begin = 0;
        while (begin < fingerprint.size()) {
            std::size_t end = fingerprint.find('\n', begin);
            if (end == std::string::npos) end = fingerprint.size() - 1;
            if (fingerprint.compare(begin, 4, "isa=") != 0) {
                kept += fingerprint.substr(begin, end + 1 - begin);
            }
            begin = end + 1;
        }
        return kept;
    };
    return !found.empty() && without(found) == without(wanted);
}

}  // namespace h5infer::stages
