#include "kernels/reference/reference.hpp"

// The oracle must not depend on the thread count either, and it is small: keep Eigen serial even
// though this library is compiled with OpenMP.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <memory>
#include <variant>
#include <vector>

#include "h5infer/error.hpp"
#include "kernels/column_layers.hpp"

namespace h5infer::kernels {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVector = Eigen::Matrix<double, 1, Eigen::Dynamic>;

constexpr double pi = 3.14159265358979323846;

template <typename Value>
RowVector to_row_vector(const std::vector<Value>& values) {
    RowVector row(static_cast<Eigen::Index>(values.size()));
    for (std::size_t i = 0; i < values.size(); ++i) row(static_cast<Eigen::Index>(i)) = values[i];
    return row;
}

// Written as exp(x) / (1 + exp(x)) for negative x so that exp never overflows.
double sigmoid(double x) {
    if (x >= 0.0) return 1.0 / (1.0 + std::exp(-x));
    const double e = std::exp(x);
    return e / (1.0 + e);
}

// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exp never overflows and small results keep
// their precision.
double softplus(double x) {
    return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
}

void softmax_rows(Matrix& values) {
    for (Eigen::Index r = 0; r < values.rows(); ++r) {
        auto row = values.row(r);
        row.array() = (row.array() - row.maxCoeff()).exp();
        row /= row.sum();
    }
}

// One-vs-rest probabilities sigmoid(x_j) / sum_k sigmoid(x_k) as the softmax of the
// log-sigmoids, which equals them but stays finite where the sigmoids underflow.
void normalized_sigmoid_rows(Matrix& values) {
    values = values.unaryExpr(
        [](double x) { return x < 0.0 ? x - std::log1p(std::exp(x)) : -std::log1p(std::exp(-x)); });
    softmax_rows(values);
}

// A row summing to zero gives NaN or Inf, as in NumPy.
void normalize_rows(Matrix& values) {
    for (Eigen::Index r = 0; r < values.rows(); ++r) {
        auto row = values.row(r);
        row /= row.sum();
    }
}

void log_softmax_rows(Matrix& values) {
    for (Eigen::Index r = 0; r < values.rows(); ++r) {
        auto row = values.row(r);
        row.array() -= row.maxCoeff();
        row.array() -= std::log(row.array().exp().sum());
    }
}

// Two passes (mean, then the mean of squared deviations), as PyTorch's LayerNorm.
void layer_norm_rows(Matrix& values, double epsilon) {
    for (Eigen::Index r = 0; r < values.rows(); ++r) {
        auto row = values.row(r);
        row.array() -= row.mean();
        row /= std::sqrt(row.squaredNorm() / static_cast<double>(row.size()) + epsilon);
    }
}

/// One layer in double precision, applied to every row of `values`.
struct LayerStep {
    Matrix weights;   // dense: inputs x outputs
    RowVector bias;   // dense: empty for no bias
    RowVector scale;  // affine
    RowVector shift;  // affine
    RowVector fill;   // affine: empty, or what replaces a NaN input
    Activation activation = Activation::Identity;
    double alpha = 0.0;
    double beta = 0.0;
    bool of_sigmoids = false;  // normalize: of the sigmoids of `values`, in one stable step
    std::shared_ptr<const TreeEnsembleLayer> trees;  // trees: a copy, the model may go first
    Layer column_layer;                              // columns, per_column, row_norm, products
    std::int64_t outputs = 0;                        // of the column layer
    enum class Kind { Dense, Affine, Activation, Trees, Column } kind = Kind::Activation;

    void fill_nan(Matrix& values) const {
        for (Eigen::Index r = 0; r < values.rows(); ++r) {
            for (Eigen::Index c = 0; c < values.cols(); ++c) {
                if (std::isnan(values(r, c))) values(r, c) = fill(c);
            }
        }
    }

    void apply(Matrix& values) const {
        switch (kind) {
            case Kind::Dense:
                values = values * weights;  // assignment through a temporary: no aliasing
                if (bias.size() > 0) values.rowwise() += bias;
                break;
            case Kind::Affine:
                if (fill.size() > 0) fill_nan(values);
                values = (values.array().rowwise() * scale.array()).rowwise() + shift.array();
                break;
            case Kind::Trees: {
                Matrix out(values.rows(), trees->outputs());
                reference_trees(*trees, values.data(), values.rows(), values.cols(), out.data());
                values = std::move(out);
                break;
            }
            case Kind::Column: {
                Matrix result(values.rows(), outputs);
                apply_column_layer(column_layer, values.cols(), values.rows(), values.data(),
                                   result.data());
                values = std::move(result);
                break;
            }
            case Kind::Activation:
                if (activation == Activation::Softmax) {
                    softmax_rows(values);
                } else if (activation == Activation::Normalize && of_sigmoids) {
                    normalized_sigmoid_rows(values);
                } else if (activation == Activation::Normalize) {
                    normalize_rows(values);
                } else if (activation == Activation::LogSoftmax) {
                    log_softmax_rows(values);
                } else if (activation == Activation::LayerNorm) {
                    layer_norm_rows(values, alpha);
                } else {
                    values = values.unaryExpr(
                        [this](double x) { return apply_activation(activation, alpha, x, beta); });
                }
                break;
        }
    }
};

LayerStep make_step(const Layer& layer, std::int64_t width) {
    LayerStep step;
    if (is_column_layer(layer)) {
        step.kind = LayerStep::Kind::Column;
        step.column_layer = layer;
        step.outputs = layer_output_width(layer, width);
        return step;
    }
    if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
        step.kind = LayerStep::Kind::Dense;
        step.weights.resize(dense->inputs, dense->outputs);
        for (std::int64_t k = 0; k < dense->inputs; ++k) {
            for (std::int64_t n = 0; n < dense->outputs; ++n) {
                step.weights(k, n) = dense->weights[k * dense->outputs + n];
            }
        }
        step.bias = to_row_vector(dense->bias);
    } else if (const auto* affine = std::get_if<AffineLayer>(&layer)) {
        step.kind = LayerStep::Kind::Affine;
        step.scale = to_row_vector(affine->scale);
        step.shift = to_row_vector(affine->shift);
        step.fill = to_row_vector(affine->fill);
    } else if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
        step.kind = LayerStep::Kind::Trees;
        step.trees = std::make_shared<const TreeEnsembleLayer>(*trees);
    } else {
        const auto& activation = std::get<ActivationLayer>(layer);
        step.activation = activation.function;
        step.alpha = activation.alpha;
        step.beta = activation.beta;
    }
    return step;
}

class ReferenceNetwork final : public Network {
public:
    ReferenceNetwork(const Model& model, std::int64_t max_rows)
        : input_width_(model.input_width),
          output_width_(model.output_width()),
          max_rows_(max_rows) {
        steps_.reserve(model.layers.size());
        std::int64_t width = model.input_width;
        for (const Layer& layer : model.layers) {
            LayerStep step = make_step(layer, width);
            width = layer_output_width(layer, width);
            // A sigmoid followed by normalize: the normalize step takes the logits.
            if (!steps_.empty() && step.activation == Activation::Normalize &&
                steps_.back().kind == LayerStep::Kind::Activation &&
                steps_.back().activation == Activation::Sigmoid) {
                step.of_sigmoids = true;
                steps_.pop_back();
            }
            steps_.push_back(std::move(step));
        }
    }

    void forward(const float* src, std::int64_t rows, float* dst) override {
        H5INFER_ASSERT(rows >= 0 && rows <= max_rows_);
        Matrix values(rows, input_width_);
        for (std::int64_t i = 0; i < rows * input_width_; ++i) values.data()[i] = src[i];
        for (const LayerStep& step : steps_) step.apply(values);
        H5INFER_ASSERT(values.cols() == output_width_);
        for (std::int64_t i = 0; i < rows * output_width_; ++i) {
            dst[i] = static_cast<float>(values.data()[i]);
        }
    }

    std::int64_t forward_counting_nonfinite(const float* src, std::int64_t rows,
                                            float* dst) override {
        forward(src, rows, dst);
        return count_nonfinite_rows(src, rows, input_width_);
    }

    [[nodiscard]] std::int64_t max_rows() const override { return max_rows_; }
    // Eigen's products may block their sums by the row count: a call is never cut.
    [[nodiscard]] std::int64_t split_rows() const override { return max_rows_; }

private:
    std::int64_t input_width_ = 0;
    std::int64_t output_width_ = 0;
    std::int64_t max_rows_ = 0;
    std::vector<LayerStep> steps_;
};

}  // namespace

double apply_activation(Activation activation, double alpha, double x, double beta) {
    switch (activation) {
        case Activation::Identity: return x;
        case Activation::Relu: return std::max(x, 0.0);
        case Activation::LeakyRelu: return x > 0.0 ? x : alpha * x;
        case Activation::Elu: return x > 0.0 ? x : alpha * std::expm1(x);
        case Activation::Sigmoid: return sigmoid(x);
        case Activation::Tanh: return std::tanh(x);
        case Activation::GeluErf: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        case Activation::GeluTanh: {
            const double inner = std::sqrt(2.0 / pi) * (x + 0.044715 * x * x * x);
            return 0.5 * x * (1.0 + std::tanh(inner));
        }
        case Activation::Softplus: return softplus(x);
        case Activation::Swish: return x * sigmoid(alpha * x);
        case Activation::Clip: return std::min(std::max(x, alpha), beta);
        case Activation::HardSwish: return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0);
        case Activation::Exp: return std::exp(x);
        case Activation::Mish: return x * std::tanh(softplus(x));
        case Activation::Softmax:
        case Activation::Normalize:
        case Activation::LogSoftmax:
        case Activation::LayerNorm: break;
    }
    H5INFER_ASSERT(false && "row-wise activations have no element-wise formula");
    return 0.0;
}

std::unique_ptr<Network> make_reference_network(const Model& model, std::int64_t max_rows) {
    return std::make_unique<ReferenceNetwork>(model, max_rows);
}

}  // namespace h5infer::kernels
