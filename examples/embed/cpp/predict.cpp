// Predicts the rows of a raw float32 file (rows x the model's inputs, row-major) with
// h5infer::Predictor and writes the predictions as raw float32 (rows x outputs).
// Usage: predict_cpp MODEL INPUT.raw OUTPUT.raw [THREADS]
#include <h5infer/predictor.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL INPUT.raw OUTPUT.raw [THREADS]\n", argv[0]);
        return 2;
    }
    try {
        h5infer::PredictorOptions options;
        options.threads = argc > 4 ? std::atoi(argv[4]) : 1;
        h5infer::Predictor predictor(argv[1], options);

        std::ifstream in(argv[2], std::ios::binary);
        std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
        std::vector<float> rows(bytes.size() / sizeof(float));
        std::copy(bytes.begin(), bytes.begin() + rows.size() * sizeof(float),
                  reinterpret_cast<char*>(rows.data()));
        const std::vector<float> predictions = predictor.predict(rows);

        std::ofstream out(argv[3], std::ios::binary);
        out.write(reinterpret_cast<const char*>(predictions.data()),
                  static_cast<std::streamsize>(predictions.size() * sizeof(float)));
        if (!out) {
            std::fprintf(stderr, "cannot write %s\n", argv[3]);
            return 1;
        }
        std::printf("cpp: %lld rows x %lld features -> %lld predictions each\n",
                    static_cast<long long>(rows.size() / predictor.input_width()),
                    static_cast<long long>(predictor.input_width()),
                    static_cast<long long>(predictor.output_width()));
        return 0;
    } catch (const h5infer::Error& error) {
        std::fprintf(stderr, "cpp: error %d: %s\n", static_cast<int>(error.code()), error.what());
        return static_cast<int>(error.code());
    }
}
