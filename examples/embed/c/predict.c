/* Predicts the rows of a raw float32 file (rows x the model's inputs, row-major) with h5infer's
 * C API and writes the predictions as raw float32 (rows x outputs).
 * Build: cc predict.c $(pkg-config --cflags --libs h5infer) -o predict_c
 * Usage: predict_c MODEL INPUT.raw OUTPUT.raw [THREADS] */
#include <h5infer/h5infer.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(int status) {
    fprintf(stderr, "c: error %d: %s\n", status, h5infer_last_error());
    return status;
}

static float* read_all(const char* path, long* bytes) {
    FILE* file = fopen(path, "rb");
    float* values = NULL;
    if (file == NULL) return NULL;
    if (fseek(file, 0, SEEK_END) == 0 && (*bytes = ftell(file)) >= 0 &&
        fseek(file, 0, SEEK_SET) == 0) {
        values = malloc((size_t)*bytes + 1);
        if (values != NULL && fread(values, 1, (size_t)*bytes, file) != (size_t)*bytes) {
            free(values);
            values = NULL;
        }
    }
    fclose(file);
    return values;
}

int main(int argc, char** argv) {
    h5infer_predictor* predictor = NULL;
    int64_t inputs = 0, outputs = 0, rows = 0;
    long bytes = 0;
    float *src = NULL, *dst = NULL;
    FILE* out = NULL;
    int status = 0;
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL INPUT.raw OUTPUT.raw [THREADS]\n", argv[0]);
        return 2;
    }
    status = h5infer_load(argv[1], argc > 4 ? atoi(argv[4]) : 1, &predictor);
    if (status != H5INFER_OK) return fail(status);
    if ((status = h5infer_input_width(predictor, &inputs)) != H5INFER_OK ||
        (status = h5infer_output_width(predictor, &outputs)) != H5INFER_OK) {
        return fail(status);
    }
    src = read_all(argv[2], &bytes);
    if (src == NULL) {
        fprintf(stderr, "c: cannot read %s\n", argv[2]);
        return 1;
    }
    rows = bytes / (int64_t)sizeof(float) / inputs;
    dst = malloc((size_t)(rows * outputs) * sizeof(float) + 1);
    status = h5infer_predict(predictor, src, rows, inputs, dst, outputs);
    if (status != H5INFER_OK) return fail(status);
    out = fopen(argv[3], "wb");
    if (out == NULL ||
        fwrite(dst, sizeof(float), (size_t)(rows * outputs), out) != (size_t)(rows * outputs) ||
        fclose(out) != 0) {
        fprintf(stderr, "c: cannot write %s\n", argv[3]);
        return 1;
    }
    printf("c: %lld rows x %lld features -> %lld predictions each\n", (long long)rows,
           (long long)inputs, (long long)outputs);
    free(src);
    free(dst);
    h5infer_free(predictor);
    return 0;
}
