#include "e2e/cli_runner.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "kernels/network.hpp"

namespace h5infer::testing {

TempDir::TempDir() {
    std::string pattern = "/tmp/h5infer-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    std::filesystem::permissions(path_, std::filesystem::perms::all);  // for setpriv tests
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::all, ignored);
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::operator/(const std::string& name) const {
    return path_ + "/" + name;
}

std::string TempDir::subdirectory(const std::string& name) const {
    const std::string directory = *this / name;
    std::filesystem::create_directories(directory);
    return directory;
}

GenerateConfig model_and_data(const TempDir& dir, std::int64_t rows, std::int64_t features,
                              std::vector<std::int64_t> hidden, std::int64_t outputs) {
    GenerateConfig config;
    config.data_path = dir / "data.h5";
    config.model_path = dir / "model.h5";
    config.rows = rows;
    config.features = features;
    config.hidden = std::move(hidden);
    config.outputs = outputs;
    return config;
}

std::string shell_quote(const std::string& word) {
    std::string quoted = "'";
    for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

std::string h5infer_command(const std::vector<std::string>& args, const Launch& launch,
                            const std::string& out_file, const std::string& err_file) {
    std::string command = launch.environment.empty() ? "" : "env " + launch.environment + " ";
    if (launch.ranks > 0) {
        command += std::string(H5INFER_MPIEXEC) + " -n " + std::to_string(launch.ranks) +
                   " --oversubscribe " + launch.mpiexec_flags + " ";
    }
    command += H5INFER_BINARY;
    for (const std::string& arg : args) command += " " + shell_quote(arg);
    return command + " > " + shell_quote(out_file) + " 2> " + shell_quote(err_file) +
           " < /dev/null";
}

CommandResult run_h5infer(const std::vector<std::string>& args, const Launch& launch) {
    TempDir logs;
    const std::string command = h5infer_command(args, launch, logs / "out", logs / "err");
    const int status = std::system(command.c_str());
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_text(logs / "out");
    result.err = read_text(logs / "err");
    return result;
}

std::size_t count_occurrences(const std::string& text, const std::string& word) {
    std::size_t n = 0;
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
    return n;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

Matrix read_matrix(const std::string& file, const std::string& dataset) {
    h5::Handle handle = h5::open_file(file);
    h5::Handle data = h5::open_dataset(handle.get(), dataset);
    std::vector<std::int64_t> dims;
    Matrix matrix;
    matrix.values = h5::read_all(data.get(), dims);
    if (dims.size() != 2) throw std::runtime_error(dataset + " is not 2-D");
    matrix.rows = dims[0];
    matrix.cols = dims[1];
    return matrix;
}

Matrix reference_predictions(const std::string& model_file, const std::string& data_file,
                             const std::string& dataset) {
    const Model model = load_model(model_file);
    const Matrix input = read_matrix(data_file, dataset);
    Matrix output;
    output.rows = input.rows;
    output.cols = model.output_width();
    output.values.resize(static_cast<std::size_t>(output.rows * output.cols));
    if (input.rows > 0) {
        auto network = kernels::make_network(model, kernels::Backend::Reference, input.rows, 1);
        network->forward(input.values.data(), input.rows, output.values.data());
    }
    return output;
}

bool bitwise_equal(const Matrix& a, const Matrix& b) {
    return a.rows == b.rows && a.cols == b.cols &&
           std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0;
}

bool same_predictions(const std::string& file_a, const std::string& file_b) {
    return bitwise_equal(read_matrix(file_a, "/predictions"), read_matrix(file_b, "/predictions"));
}

double max_scaled_error(const Matrix& got, const Matrix& want) {
    if (got.rows != want.rows || got.cols != want.cols) return INFINITY;
    double worst = 0;
    for (std::size_t i = 0; i < got.values.size(); ++i) {
        const double error = std::abs(static_cast<double>(got.values[i]) - want.values[i]) /
                             std::max(1.0, std::abs(static_cast<double>(want.values[i])));
        worst = std::isnan(error) ? INFINITY : std::max(worst, error);
    }
    return worst;
}

}  // namespace h5infer::testing
