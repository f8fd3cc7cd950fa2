#include "model/describe.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "model/column_layers.hpp"

namespace h5infer {
namespace {

constexpr std::size_t column_gap = 2;
constexpr const char* flops_convention =
    "FLOPs per row: dense 2 x inputs x outputs (+ outputs with a bias), affine 2 per feature,\n"
    "activations a fixed cost per feature; multiply, add, compare, exp, log, tanh and erf count "
    "1.\n";
constexpr std::size_t key_width = 13;  // "description: "

/// A text table: left-aligned text columns, right-aligned number columns.
class Table {
public:
    Table(std::vector<std::string> headers, std::vector<bool> right_aligned)
        : right_(std::move(right_aligned)) {
        rows_.push_back(std::move(headers));
    }

    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

    [[nodiscard]] std::string render() const {
        std::vector<std::size_t> widths(rows_.front().size(), 0);
        for (const auto& row : rows_) {
            for (std::size_t j = 0; j < row.size(); ++j) {
                widths[j] = std::max(widths[j], row[j].size());
            }
        }
        std::string text;
        for (const auto& row : rows_) {
            std::string line;
            for (std::size_t j = 0; j < row.size(); ++j) {
                const std::string padding(widths[j] - row[j].size(), ' ');
                if (j > 0) line += std::string(column_gap, ' ');
                line += right_[j] ? padding + row[j] : row[j] + padding;
            }
            line.erase(line.find_last_not_of(' ') + 1);
            text += line + "\n";
        }
        return text;
    }

private:
    std::vector<bool> right_;
    std::vector<std::vector<std::string>> rows_;
};

std::string number(float value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", static_cast<double>(value));
    return text;
}

bool uses_alpha(Activation function) {
    switch (function) {
        case Activation::LeakyRelu:
        case Activation::Elu:
        case Activation::Swish:
        case Activation::Clip:
        case Activation::LayerNorm: return true;
        default: return false;
    }
}

std::string activation_text(const ActivationLayer& layer) {
    std::string text(activation_name(layer.function));
    if (layer.function == Activation::Clip) {
        return text + "(alpha=" + number(layer.alpha) + ", beta=" + number(layer.beta) + ")";
    }
    if (uses_alpha(layer.function)) text += "(alpha=" + number(layer.alpha) + ")";
    return text;
}

constexpr std::size_t listed_columns = 8;  // longer lists end in "..."

// "[0, 3, 4]": the columns a columns layer takes.
std::string index_text(const std::vector<std::int64_t>& index) {
    std::string text;
    for (std::size_t j = 0; j < index.size() && j < listed_columns; ++j) {
        text += (j > 0 ? ", " : "") + std::to_string(index[j]);
    }
    return "[" + text + (index.size() > listed_columns ? ", ..." : "") + "]";
}

// "one_hot x2, pass x3": runs of equal ops, in column order.
std::string ops_text(const PerColumnLayer& layer) {
    std::string text;
    for (std::size_t c = 0; c < layer.ops.size();) {
        std::size_t end = c;
        while (end < layer.ops.size() && layer.ops[end] == layer.ops[c]) ++end;
        text += (text.empty() ? "" : ", ") + std::string(column_op_name(layer.ops[c])) + " x" +
                std::to_string(end - c);
        c = end;
    }
    return text;
}

// What the "activation" column says of a layer: its function, or the new kinds' parameters.
std::string details_text(const Layer& layer) {
    if (const auto* activation = std::get_if<ActivationLayer>(&layer)) {
        return activation_text(*activation);
    }
    if (const auto* columns = std::get_if<ColumnsLayer>(&layer)) return index_text(columns->index);
    if (const auto* per_column = std::get_if<PerColumnLayer>(&layer)) return ops_text(*per_column);
    if (const auto* row_norm = std::get_if<RowNormLayer>(&layer)) {
        return std::string(row_norm_name(row_norm->norm)) + " of columns " +
               std::to_string(row_norm->begin) + ".." + std::to_string(row_norm->end - 1);
    }
    if (const auto* products = std::get_if<ProductsLayer>(&layer)) {
        std::int64_t degree = 0;
        for (std::int64_t j = 0; j < products->outputs; ++j) {
            std::int64_t sum = 0;
            for (std::int64_t k = 0; k < products->inputs; ++k) {
                sum += products->powers[j * products->inputs + k];
            }
            degree = std::max(degree, sum);
        }
        return "degree " + std::to_string(degree);
    }
    return "-";
}

}  // namespace

std::int64_t activation_flops(Activation activation) {
    switch (activation) {
        case Activation::Identity: return 0;
        case Activation::Relu: return 1;        // max(x, 0)
        case Activation::Tanh: return 1;        // tanh
        case Activation::Exp: return 1;         // exp
        case Activation::LeakyRelu: return 2;   // multiply, select
        case Activation::Clip: return 2;        // max, min
        case Activation::Normalize: return 2;   // sum, divide
        case Activation::Elu: return 3;         // exp, subtract, multiply
        case Activation::Sigmoid: return 3;     // exp, add, divide
        case Activation::Softplus: return 3;    // exp, add, log
        case Activation::Mish: return 5;        // softplus (3), tanh, multiply
        case Activation::GeluErf: return 5;     // scale, erf, add, two multiplies
        case Activation::Swish: return 5;       // multiply, sigmoid (3), multiply
        case Activation::HardSwish: return 5;   // scale, add, max, min, multiply
        case Activation::Softmax: return 5;     // max, subtract, exp, sum, divide
        case Activation::LogSoftmax: return 5;  // max, subtract, exp, sum, subtract
        case Activation::LayerNorm: return 5;   // sum, subtract, square, sum, divide
        case Activation::GeluTanh: return 9;    // cube (2), scale, add, scale, tanh, add, 2 mul
    }
    return 0;
}

std::int64_t layer_parameters(const Layer& layer) {
    if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
        return static_cast<std::int64_t>(dense->weights.size() + dense->bias.size());
    }
    if (const auto* affine = std::get_if<AffineLayer>(&layer)) {
        return static_cast<std::int64_t>(affine->scale.size() + affine->shift.size() +
                                         affine->fill.size());
    }
    if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
        return static_cast<std::int64_t>(trees->threshold.size() + trees->values.size());
    }
    return column_layer_parameters(layer);
}

std::int64_t layer_flops(const Layer& layer, std::int64_t input_width) {
    if (const auto* dense = std::get_if<DenseLayer>(&layer)) {
        return 2 * dense->inputs * dense->outputs + (dense->bias.empty() ? 0 : dense->outputs);
    }
    if (std::holds_alternative<AffineLayer>(layer)) return 2 * input_width;
    if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
        // A row compares once per level it descends, then adds its leaf's values.
        return trees->trees() * (tree_stats(*trees).max_depth + trees->value_width());
    }
    if (std::holds_alternative<ColumnsLayer>(layer)) return 0;
    // A compare per category or edge (a search would take fewer) or a function per column.
    if (const auto* per_column = std::get_if<PerColumnLayer>(&layer)) {
        return static_cast<std::int64_t>(per_column->values.size() + per_column->ops.size());
    }
    if (const auto* row_norm = std::get_if<RowNormLayer>(&layer)) {
        return 3 * (row_norm->end - row_norm->begin);  // square, sum, divide
    }
    if (const auto* products = std::get_if<ProductsLayer>(&layer)) {
        std::int64_t multiplies = 0;
        for (std::int64_t power : products->powers) multiplies += power;
        return multiplies;
    }
    return activation_flops(std::get<ActivationLayer>(layer).function) * input_width;
}

std::int64_t flops_per_row(const Model& model) {
    std::int64_t flops = 0;
    std::int64_t width = model.input_width;
    for (const Layer& layer : model.layers) {
        flops += layer_flops(layer, width);
        width = layer_output_width(layer, width);
    }
    return flops;
}

namespace {

// One line per tree ensemble: what the layer table has no column for.
std::string describe_trees(const Model& model) {
    std::string text;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
        const auto* trees = std::get_if<TreeEnsembleLayer>(&model.layers[i]);
        if (trees == nullptr) continue;
        const TreeStats stats = tree_stats(*trees);
        text += "layer " + std::to_string(i) + " (tree_ensemble): " + std::to_string(stats.trees) +
                " trees, max depth " + std::to_string(stats.max_depth) + ", " +
                std::to_string(stats.leaves) + " leaves, " + std::to_string(stats.nodes) +
                " nodes, " + aggregation_name(trees->aggregation) + " of the leaf values" +
                (trees->tree_targets.empty() ? "" : " (one output per tree)") + ", left when x " +
                comparison_name(trees->comparison) + " threshold\n";
    }
    if (!text.empty())
        text += "FLOPs per row of a tree ensemble: trees x (max depth + values per leaf)\n";
    return text;
}

}  // namespace

std::string describe_layers(const Model& model) {
    Table table({"layer", "kind", "inputs", "outputs", "activation", "parameters", "FLOPs/row"},
                {true, false, true, true, false, true, true});
    std::int64_t width = model.input_width;
    for (std::size_t i = 0; i < model.layers.size(); ++i) {
        const Layer& layer = model.layers[i];
        const std::int64_t outputs = layer_output_width(layer, width);
        table.add({std::to_string(i), std::string(layer_kind(layer)), std::to_string(width),
                   std::to_string(outputs), details_text(layer),
                   std::to_string(layer_parameters(layer)),
                   std::to_string(layer_flops(layer, width))});
        width = outputs;
    }
    return table.render() + "total: " + std::to_string(model.layers.size()) + " layers, " +
           std::to_string(model.input_width) + " inputs -> " +
           std::to_string(model.output_width()) + " outputs, " +
           std::to_string(parameter_count(model)) + " parameters, " +
           std::to_string(flops_per_row(model)) + " FLOPs per row\n" + describe_trees(model) +
           flops_convention;
}

std::string describe_model(const Model& model, const ModelSource& source) {
    const auto line = [](const std::string& key, const std::string& value) {
        return key + std::string(key_width - key.size(), ' ') + (value.empty() ? "(none)" : value) +
               "\n";
    };
    const auto joined = [](const std::vector<std::string>& names) {
        std::string text;
        for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
        return text;
    };
    std::string text = line("model:", source.path) + line("format:", source.format) +
                       line("sha256:", source.sha256) + line("producer:", model.producer) +
                       line("description:", model.description);
    if (!model.feature_names.empty()) text += line("features:", joined(model.feature_names));
    if (!model.labels.empty()) text += line("labels:", joined(model.labels));
    return text + "\n" + describe_layers(model);
}

}  // namespace h5infer
