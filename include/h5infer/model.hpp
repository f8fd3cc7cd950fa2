#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "h5infer/tree_ensemble.hpp"

namespace h5infer {

// Tensor convention, stated once for the whole project: every matrix is row-major with
// rows = samples (input rows of the dataset) and columns = features. Dense weights are stored
// [inputs, outputs], so a dense layer computes dst = src * weights + bias.

/// Element-wise or row-wise nonlinearities a model may apply.
enum class Activation {
    Identity,
    Relu,
    LeakyRelu,  ///< x if x > 0 else alpha * x (alpha defaults to 0.01)
    Elu,        ///< x if x > 0 else alpha * (exp(x) - 1) (alpha defaults to 1)
    Sigmoid,
    Tanh,
    GeluErf,     ///< x * Phi(x), the exact form
    GeluTanh,    ///< the tanh approximation of GELU
    Softplus,    ///< log(1 + exp(x))
    Swish,       ///< x * sigmoid(alpha * x); alpha = 1 is SiLU
    Softmax,     ///< over the features of each row, max-subtracted for stability
    Normalize,   ///< each row divided by its sum (for non-negative scores, e.g. one-vs-rest)
    Clip,        ///< min(max(x, alpha), beta): alpha is the lower bound, beta the upper bound
    HardSwish,   ///< x * min(max(x / 6 + 1 / 2, 0), 1)
    LogSoftmax,  ///< log of softmax over the features of each row
    /// Over the features of each row: (x - mean) / sqrt(variance + alpha), alpha the epsilon
    /// (default 1e-5). Layer normalization without its scale and shift, which take an affine
    /// layer after it.
    LayerNorm,
    Exp,   ///< exp(x): the inverse of a log link or a log-transformed target
    Mish,  ///< x * tanh(softplus(x))
};

/// Fully connected layer: dst = src * weights + bias.
struct DenseLayer {
    std::int64_t inputs = 0;
    std::int64_t outputs = 0;
    std::vector<float> weights;  ///< inputs x outputs, row-major
    std::vector<float> bias;     ///< outputs values, or empty for no bias
};

/// Per-feature affine map dst = src * scale + shift: standardization, min-max scaling and
/// folded batch normalization all take this form. In double, as the model file (or the
/// framework) has them: a scaler's shift is large where the features are far from zero
/// (coordinates, timestamps, prices), and the kernels compute with its exact value.
/// With `fill`, a NaN src is first replaced by its feature's fill value (scikit-learn's
/// SimpleImputer); infinities are not missing values and stay as they are.
struct AffineLayer {
    std::vector<double> scale;  ///< one value per feature
    std::vector<double> shift;  ///< one value per feature
    /// One value per feature (NaN: that feature's NaN stays NaN), or empty: NaN stays NaN.
    std::vector<double> fill{};
};

/// An activation applied to the output of the previous layer; keeps the width.
struct ActivationLayer {
    Activation function = Activation::Identity;
    float alpha = 0.0F;  ///< parameter of LeakyRelu, Elu, Swish, Clip and LayerNorm
    float beta = 0.0F;   ///< upper bound of Clip; ignored by the others
};

/// Column routing: output column j is input column index[j]. Selects, reorders and repeats
/// columns: scikit-learn's feature selectors, a ColumnTransformer's routing and remainder.
struct ColumnsLayer {
    std::vector<std::int64_t> index;  ///< the input column of each output column
};

/// What a per_column layer does with one input column (see PerColumnLayer).
enum class ColumnOp {
    Pass,        ///< one output: the value
    OneHot,      ///< one output per category (but the dropped one): 1 where the value is it
    Ordinal,     ///< one output: the index of the value's category
    BinOrdinal,  ///< one output: the index of the value's bin
    BinOneHot,   ///< one output per bin: 1 in the value's bin
    Log,         ///< log(x)
    Log1p,       ///< log(1 + x)
    Exp,         ///< exp(x)
    Expm1,       ///< exp(x) - 1
    Sqrt,        ///< sqrt(x)
};

/// Each input column encoded or mapped on its own, the outputs in input column order:
/// scikit-learn's OneHotEncoder, OrdinalEncoder, KBinsDiscretizer and FunctionTransformer, on
/// all columns or some (the others pass). Column c's categories (one_hot, ordinal: strictly
/// increasing, NaN allowed last as a category of its own) or bin edges (non-decreasing, at
/// least two) are values[offsets[c], offsets[c + 1]). docs/model-format.md has the rules for
/// unknown values, NaN and values on an edge.
struct PerColumnLayer {
    std::vector<ColumnOp> ops;          ///< one per input column
    std::vector<std::int64_t> offsets;  ///< ops.size() + 1 offsets into values, from 0
    std::vector<double> values;         ///< the categories or edges of every column
    std::vector<std::int64_t> drop{};   ///< one_hot: the category without a column, or -1
    /// The output for a value that is no category: one_hot 0 (all zeros) or NaN (all NaN),
    /// ordinal any value or NaN; 0 for the other ops.
    std::vector<double> unknown{};
};

/// The norm a row_norm layer divides by.
enum class RowNorm { L1, L2, Max };

/// Columns [begin, end) of each row divided by their norm (a zero norm divides by 1, as
/// scikit-learn's Normalizer); the other columns pass.
struct RowNormLayer {
    RowNorm norm = RowNorm::L2;
    std::int64_t begin = 0;
    std::int64_t end = 0;
};

/// Output column j is the product over input columns k of x_k ^ powers[j * inputs + k]
/// (powers 0 to 3; an all-zero row is the constant 1): scikit-learn's PolynomialFeatures, the
/// rows of its powers_ (an identity row passes a column).
struct ProductsLayer {
    std::int64_t inputs = 0;
    std::int64_t outputs = 0;
    std::vector<std::int64_t> powers;  ///< outputs x inputs, row-major
};

/// One step of a model. A TreeEnsembleLayer (tree_ensemble.hpp) maps the width it receives
/// to its base_score's width.
using Layer = std::variant<DenseLayer, AffineLayer, ActivationLayer, TreeEnsembleLayer,
                           ColumnsLayer, PerColumnLayer, RowNormLayer, ProductsLayer>;

/// A feed-forward model: an ordered chain of layers from `input_width` features to
/// `output_width()` predictions per row.
struct Model {
    std::int64_t input_width = 0;
    std::vector<Layer> layers;
    std::string producer;     ///< what wrote the model (e.g. "h5infer generate"), may be empty
    std::string description;  ///< free text, may be empty
    /// Class label of each output column (a classifier's probabilities), or empty when the
    /// columns are not class probabilities (regressors, transformers, multilabel models).
    std::vector<std::string> labels;
    /// Name of each input column (scikit-learn's `feature_names_in_`), or empty when the
    /// columns are known only by position. `run` matches an input's column names against them.
    std::vector<std::string> feature_names;
    /// Files besides the model file that its values were read from (an ONNX model's external
    /// data files), so that a change to them is a change of the model. Known only where the
    /// model was read: not part of its byte image (serialize()) nor of the native format.
    std::vector<std::string> data_files;

    /// Width of the model's output: the last layer's output width.
    [[nodiscard]] std::int64_t output_width() const;
};

/// The layer's kind as the model format names it: "dense", "affine", "activation", "columns",
/// "per_column", "row_norm" or "products".
[[nodiscard]] std::string_view layer_kind(const Layer& layer);

/// Output width of `layer` when it receives `input_width` features.
[[nodiscard]] std::int64_t layer_output_width(const Layer& layer, std::int64_t input_width);

/// Name of an activation as written in the model format ("relu", "gelu_erf", ...).
[[nodiscard]] std::string_view activation_name(Activation activation);

/// Parses an activation name; nullopt when it is not one of `activation_names()`.
[[nodiscard]] std::optional<Activation> parse_activation(std::string_view name);

/// Every supported activation name, comma-separated, for error messages and help.
[[nodiscard]] std::string activation_names();

/// Default alpha of an activation (0.01 for leaky_relu, 1 for elu and swish, the lowest float
/// for clip, 1e-5 for layer_norm, 0 otherwise).
[[nodiscard]] float default_alpha(Activation activation);

/// Default beta of an activation (the largest float for clip, 0 otherwise).
[[nodiscard]] float default_beta(Activation activation);

/// True for activations computed over a whole row (softmax, normalize, log_softmax,
/// layer_norm) rather than per value.
[[nodiscard]] bool is_row_wise(Activation activation);

/// Name of a per_column op as written in the model format ("one_hot", "log1p", ...).
[[nodiscard]] std::string_view column_op_name(ColumnOp op);

/// Parses a per_column op name; nullopt when it is not one of column_op_names().
[[nodiscard]] std::optional<ColumnOp> parse_column_op(std::string_view name);

/// Every per_column op name, comma-separated, for error messages.
[[nodiscard]] std::string column_op_names();

/// Outputs of a per_column layer's column `column`.
[[nodiscard]] std::int64_t column_op_outputs(const PerColumnLayer& layer, std::size_t column);

/// Name of a row norm as written in the model format: "l1", "l2" or "max".
[[nodiscard]] std::string_view row_norm_name(RowNorm norm);

/// Parses a row norm name; nullopt when it is none of "l1", "l2", "max".
[[nodiscard]] std::optional<RowNorm> parse_row_norm(std::string_view name);

/// Whether a model holds its dense layers' arrays.
enum class DenseArrays {
    Present,  ///< weights and bias, as the layer describes them
    /// Both empty: the dense weights and biases are elsewhere (kernels::PackedWeights a rank
    /// received instead), only the layers' inputs and outputs say their shape.
    Absent,
};

/// Checks that layer widths chain, weight shapes match, every parameter is finite (but where
/// NaN or Inf has a meaning: an affine fill, categories, bin edges, unknown values), the column
/// layers' indices are in range and their sizes consistent, the model has at least one layer,
/// labels, if any, name every output column, and feature names, if any, name every input column
/// once. Throws ModelError naming the layer index and the problem. With DenseArrays::Absent the
/// dense layers' arrays must be empty.
void validate(const Model& model, DenseArrays dense_arrays = DenseArrays::Present);

/// Number of parameters (weights, biases, scales, shifts; a tree ensemble's thresholds and
/// node values) in the model.
[[nodiscard]] std::int64_t parameter_count(const Model& model);

}  // namespace h5infer
