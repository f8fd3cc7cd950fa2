// Predicts the rows of a raw float32 file (rows x the model's inputs, row-major) with
// h5infer::Predictor and writes the predictions as raw float32 (rows x outputs).
// Usage: predict_cpp MODEL INPUT.raw OUTPUT.raw [THREADS]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <h5infer/predictor.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<float> read_floats(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::vector<float> values(static_cast<std::size_t>(in.tellg()) / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
    if (!in) throw std::runtime_error("cannot read " + path);
    return values;
}

void write_floats(const std::string& path, const std::vector<float>& values) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(values.data()),
              static_cast<std::streamsize>(values.size() * sizeof(float)));
    if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL INPUT.raw OUTPUT.raw [THREADS]\n", argv[0]);
        return 2;
    }
    try {
        h5infer::PredictorOptions options;
        options.threads = argc > 4 ? std::atoi(argv[4]) : 1;
        h5infer::Predictor predictor(argv[1], options);
        const std::vector<float> rows = read_floats(argv[2]);
        write_floats(argv[3], predictor.predict(rows));
        std::printf("cpp: %lld rows x %lld features -> %lld predictions each\n",
                    static_cast<long long>(rows.size()) / predictor.input_width(),
                    static_cast<long long>(predictor.input_width()),
                    static_cast<long long>(predictor.output_width()));
        return 0;
    } catch (const h5infer::Error& error) {
        // The class of the error: h5infer run's exit code for it (docs/library.md).
        std::fprintf(stderr, "cpp: error %d: %s\n", static_cast<int>(error.code()), error.what());
        return static_cast<int>(error.code());
    } catch (const std::exception& error) {
        std::fprintf(stderr, "cpp: error: %s\n", error.what());
        return 1;
    }
}
