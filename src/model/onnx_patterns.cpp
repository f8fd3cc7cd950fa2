// The decompositions exporters write for activations that ONNX lacks, or lacked at the opset of
// the export: small subgraphs where the current tensor x feeds several nodes whose results
// meet again. Each is recognised exactly, every constant checked. A subgraph with a pattern's shape
// but another constant computes another function: it is refused, naming the node that differs.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "h5infer/error.hpp"
#include "model/onnx_import.hpp"

namespace h5infer::onnx_import {
namespace {

constexpr double sqrt2 = 1.41421356237309504880;
// Exporters write the constants in float32; this accepts them and nothing else.
constexpr double constant_tolerance = 1e-6;
constexpr int max_gate_nodes = 3;  // the longest x * g(x) branch: Add, Clip, Div
constexpr double hard_swish_shift = 3.0;
constexpr double hard_swish_bound = 6.0;
constexpr std::int64_t reduce_axes_input_opset = 18;  // ReduceMean's axes attribute -> input

const std::string silu_construct = "x * Sigmoid(x), SiLU (torch.nn.SiLU)";
const std::string mish_construct = "x * Tanh(Softplus(x)), Mish (torch.nn.Mish)";
const std::string hard_swish_construct =
    "x * HardSigmoid(x) with alpha 1/6 and beta 0.5, or x * Clip(x + 3, 0, 6) / 6, "
    "Hardswish (torch.nn.Hardswish below opset 14)";
const std::string layer_norm_construct =
    "(x - ReduceMean(x)) / Sqrt(ReduceMean((x - mean)^2) + eps) over the last axis, "
    "LayerNorm (torch.nn.LayerNorm below opset 17)";
const std::string nan_fill_construct =
    "Where(IsNaN(x), c, x) with a constant c, torch.where(x.isnan(), c, x) (the NaN part of "
    "torch.nan_to_num)";
const std::string gelu_tanh_construct =
    "x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3))), GELU's tanh approximation "
    "(torch.nn.GELU(approximate=\"tanh\") below opset 20)";
constexpr double gelu_cube_factor = 0.044715;
constexpr double sqrt_2_over_pi = 0.79788456080286535588;

bool near(double value, double expected) {
    return std::abs(value - expected) <= constant_tolerance * std::abs(expected);
}

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", value);
    return text;
}

}  // namespace

std::optional<double> Importer::scalar_operand(int index, const std::string& data) const {
    const onnx::NodeProto& node = graph_.node(index);
    if (node.input_size() != 2 || node.attribute_size() != 0 || node.output_size() != 1) {
        return std::nullopt;
    }
    const int data_position = node.input(0) == data ? 0 : node.input(1) == data ? 1 : -1;
    const std::string& op = node.op_type();
    const bool ordered = op == "Div" || op == "Sub" || op == "Pow";
    if (data_position < 0 || (ordered && data_position != 0)) return std::nullopt;
    const std::optional<Tensor> constant = graph_.constant(node.input(1 - data_position));
    if (!constant || constant->values.size() != 1) return std::nullopt;
    return constant->values[0];
}

bool Importer::is_scalar_op(int index, const std::string& op, const std::string& data,
                            double value) const {
    if (graph_.node(index).op_type() != op) return false;
    const std::optional<double> operand = scalar_operand(index, data);
    return operand && near(*operand, value);
}

void Importer::refuse_near_miss(int index, const std::string& problem,
                                const std::string& construct) const {
    throw ModelError(graph_.node_label(index) + " " + problem +
                     "; h5infer imports this subgraph only as " + construct +
                     ": export the model with the operator itself (a newer opset) or see "
                     "docs/model-format.md");
}

// PyTorch 1.13 exports nn.GELU() as y = (x * (erf(x / sqrt(2)) + 1)) * 0.5. Also accepted:
// x * (1 / sqrt(2)) for the division, and the 0.5 applied to either factor before the product.
bool Importer::map_gelu_chain(const std::vector<int>& readers) {
    if (readers.size() != 2) return false;
    const std::string x = current_;
    for (int first = 0; first < 2; ++first) {
        const int start = readers[first];
        const int other = readers[1 - first];
        if (!is_scalar_op(start, "Div", x, sqrt2) && !is_scalar_op(start, "Mul", x, 1.0 / sqrt2)) {
            continue;
        }
        std::vector<int> nodes{start};
        const auto erf = graph_.sole_consumer(graph_.node(start).output(0));
        if (!erf || graph_.node(*erf).op_type() != "Erf" || graph_.node(*erf).output_size() != 1) {
            continue;
        }
        const std::string& erf_out = graph_.node(*erf).output(0);
        const auto add = graph_.sole_consumer(erf_out);
        if (!add || !is_scalar_op(*add, "Add", erf_out, 1.0)) continue;
        nodes.insert(nodes.end(), {*erf, *add});
        std::string branch = graph_.node(*add).output(0);
        bool halved = false;
        auto next = graph_.sole_consumer(branch);
        if (next && is_scalar_op(*next, "Mul", branch, 0.5)) {
            halved = true;
            nodes.push_back(*next);
            branch = graph_.node(*next).output(0);
            next = graph_.sole_consumer(branch);
        }
        std::string factor = x;
        if (next && *next != other) {
            if (halved || !is_scalar_op(other, "Mul", x, 0.5)) continue;
            factor = graph_.node(other).output(0);
            if (graph_.sole_consumer(factor) != next) continue;
            halved = true;
            nodes.push_back(other);
        }
        if (!next) continue;
        const onnx::NodeProto& join = graph_.node(*next);
        const bool joins = join.op_type() == "Mul" && join.input_size() == 2 &&
                           join.attribute_size() == 0 && join.output_size() == 1 &&
                           ((join.input(0) == branch && join.input(1) == factor) ||
                            (join.input(1) == branch && join.input(0) == factor));
        if (!joins) continue;
        nodes.push_back(*next);
        std::string output = join.output(0);
        if (!halved) {
            const auto last = graph_.sole_consumer(output);
            if (!last || !is_scalar_op(*last, "Mul", output, 0.5)) continue;
            nodes.push_back(*last);
            output = graph_.node(*last).output(0);
        }
        for (int index : nodes) graph_.consume(index);
        model_.layers.emplace_back(activation(Activation::GeluErf));
        current_ = output;
        return true;
    }
    return false;
}

// x * g(x): the nodes of g, from `start` (a reader of x) up to the one whose result `join`
// multiplies with x; nullopt when the branch does not end in `join` within a few nodes.
std::optional<std::vector<int>> Importer::gate_branch(int start, int join) const {
    std::vector<int> nodes{start};
    while (static_cast<int>(nodes.size()) <= max_gate_nodes) {
        const onnx::NodeProto& node = graph_.node(nodes.back());
        if (node.output_size() != 1) return std::nullopt;
        const std::optional<int> next = graph_.sole_consumer(node.output(0));
        if (!next) return std::nullopt;
        if (*next != join) {
            nodes.push_back(*next);
            continue;
        }
        const onnx::NodeProto& meet = graph_.node(join);
        const std::string& gate = node.output(0);
        const bool reads_both =
            meet.input_size() == 2 && ((meet.input(0) == current_ && meet.input(1) == gate) ||
                                       (meet.input(1) == current_ && meet.input(0) == gate));
        return reads_both ? std::optional(nodes) : std::nullopt;
    }
    return std::nullopt;
}

// Add 3, Clip to [0, 6], then Div 6 (or Mul 1/6) when the division comes before the product.
std::optional<ActivationLayer> Importer::hard_swish_chain(const std::vector<int>& nodes) const {
    if (nodes.size() < 2 || graph_.node(nodes[1]).op_type() != "Clip") return std::nullopt;
    const std::optional<double> shift = scalar_operand(nodes[0], current_);
    if (!shift || !near(*shift, hard_swish_shift)) {
        refuse_near_miss(nodes[0], "does not add 3 to x", hard_swish_construct);
    }
    const auto [low, high] = clip_bounds(nodes[1], graph_.node_label(nodes[1]));
    if (low != 0.0 || !near(high, hard_swish_bound)) {
        refuse_near_miss(nodes[1],
                         "clips to [" + number(low) + ", " + number(high) + "], not [0, 6]",
                         hard_swish_construct);
    }
    if (nodes.size() == 3) {
        const std::string& clipped = graph_.node(nodes[1]).output(0);
        if (!is_scalar_op(nodes[2], "Div", clipped, hard_swish_bound) &&
            !is_scalar_op(nodes[2], "Mul", clipped, 1.0 / hard_swish_bound)) {
            refuse_near_miss(nodes[2], "does not divide by 6", hard_swish_construct);
        }
    }
    return activation(Activation::HardSwish);
}

// Which activation x * g(x) is, g being `nodes`; nullopt when g is none of the known gates.
std::optional<ActivationLayer> Importer::gate_function(const std::vector<int>& nodes,
                                                       std::string& construct) const {
    std::vector<std::string> ops;
    for (int index : nodes) ops.push_back(graph_.node(index).op_type());
    const std::string label = graph_.node_label(nodes[0]);
    if (ops == std::vector<std::string>{"Sigmoid"}) {
        construct = silu_construct;
        const Attributes attributes(graph_.node(nodes[0]), {}, label);
        return ActivationLayer{Activation::Swish, 1.0F, 0.0F};
    }
    if (ops == std::vector<std::string>{"HardSigmoid"}) {
        construct = hard_swish_construct;
        const Attributes attributes(graph_.node(nodes[0]), {"alpha", "beta"}, label);
        const double alpha = attributes.real("alpha", 0.2);
        const double beta = attributes.real("beta", 0.5);
        if (!near(alpha, 1.0 / hard_swish_bound) || !near(beta, 0.5)) {
            refuse_near_miss(nodes[0], "has alpha " + number(alpha) + " and beta " + number(beta),
                             construct);
        }
        return activation(Activation::HardSwish);
    }
    if (ops == std::vector<std::string>{"Softplus", "Tanh"}) {
        construct = mish_construct;
        const Attributes softplus(graph_.node(nodes[0]), {}, label);
        const Attributes tanh(graph_.node(nodes[1]), {}, graph_.node_label(nodes[1]));
        return activation(Activation::Mish);
    }
    if (!ops.empty() && ops[0] == "Add") {
        construct = hard_swish_construct;
        return hard_swish_chain(nodes);
    }
    return std::nullopt;
}

bool Importer::map_gated(const std::vector<int>& readers) {
    if (readers.size() != 2) return false;
    for (int first = 0; first < 2; ++first) {
        const int join = readers[1 - first];
        const std::optional<std::vector<int>> nodes = gate_branch(readers[first], join);
        if (!nodes) continue;
        std::string construct;
        const std::optional<ActivationLayer> function = gate_function(*nodes, construct);
        if (!function) return false;
        const onnx::NodeProto& meet = graph_.node(join);
        if (meet.op_type() != "Mul" || meet.attribute_size() != 0 || meet.output_size() != 1) {
            refuse_near_miss(join, "combines x with g(x) by " + meet.op_type() + ", not Mul",
                             construct);
        }
        std::string output = meet.output(0);
        std::vector<int> consumed = *nodes;
        consumed.push_back(join);
        if (function->function == Activation::HardSwish && nodes->size() == 2) {
            const std::optional<int> divide = graph_.sole_consumer(output);
            if (!divide || (!is_scalar_op(*divide, "Div", output, hard_swish_bound) &&
                            !is_scalar_op(*divide, "Mul", output, 1.0 / hard_swish_bound))) {
                refuse_near_miss(join, "is not followed by a division by 6", construct);
            }
            consumed.push_back(*divide);
            output = graph_.node(*divide).output(0);
        }
        for (int index : consumed) graph_.consume(index);
        model_.layers.emplace_back(*function);
        current_ = output;
        return true;
    }
    return false;
}

// ReduceMean over the features of each row, keeping the dimension (axes [-1] or [1]).
void Importer::check_reduce_mean(int index) const {
    const onnx::NodeProto& node = graph_.node(index);
    const std::string label = graph_.node_label(index);
    const Attributes attributes(node, {"axes", "keepdims", "noop_with_empty_axes"}, label);
    std::vector<double> axes = attributes.list("axes");
    if (opset_ >= reduce_axes_input_opset && node.input_size() > 1 && !node.input(1).empty()) {
        axes = graph_.require_constant(index, 1).values;
    }
    const bool last_axis = axes.size() == 1 && (axes[0] == -1.0 || axes[0] == 1.0);
    if (!last_axis || attributes.integer("keepdims", 1) != 1 || node.output_size() != 1) {
        refuse_near_miss(index, "does not average over the last axis keeping it (axes [-1])",
                         layer_norm_construct);
    }
}

// From `centered` (x - mean) through Pow 2, ReduceMean, Add eps and Sqrt to `divide`, the Div
// of x - mean by that root. Appends those nodes to `nodes` and returns epsilon.
double Importer::layer_norm_variance(int centered, int divide, std::vector<int>& nodes) const {
    const std::string& difference = graph_.node(centered).output(0);
    const std::vector<int> readers = graph_.open_consumers(difference);
    if (readers.size() != 2) {
        refuse_near_miss(centered, "does not feed exactly a Pow and a Div", layer_norm_construct);
    }
    const int power = readers[0] == divide ? readers[1] : readers[0];
    const std::optional<double> exponent = scalar_operand(power, difference);
    if (graph_.node(power).op_type() != "Pow" || !exponent || *exponent != 2.0) {
        refuse_near_miss(power, "is not the square of x - mean", layer_norm_construct);
    }
    const std::optional<int> mean = graph_.sole_consumer(graph_.node(power).output(0));
    if (!mean || graph_.node(*mean).op_type() != "ReduceMean") {
        refuse_near_miss(power, "does not feed a ReduceMean alone", layer_norm_construct);
    }
    check_reduce_mean(*mean);
    const std::string& variance = graph_.node(*mean).output(0);
    const std::optional<int> add = graph_.sole_consumer(variance);
    const std::optional<double> epsilon = add ? scalar_operand(*add, variance) : std::nullopt;
    if (!add || graph_.node(*add).op_type() != "Add" || !epsilon || !(*epsilon > 0.0)) {
        refuse_near_miss(*mean, "is not followed by the addition of a positive epsilon",
                         layer_norm_construct);
    }
    const std::optional<int> root = graph_.sole_consumer(graph_.node(*add).output(0));
    if (!root || graph_.node(*root).op_type() != "Sqrt" ||
        graph_.node(*root).attribute_size() != 0 ||
        graph_.sole_consumer(graph_.node(*root).output(0)) != divide ||
        graph_.node(divide).input(1) != graph_.node(*root).output(0)) {
        refuse_near_miss(*add, "does not feed a Sqrt that divides x - mean", layer_norm_construct);
    }
    nodes.insert(nodes.end(), {power, *mean, *add, *root});
    return *epsilon;
}

// After LayerNorm, an optional Mul by a constant (the weight) and an optional Add of one (the
// bias) become one affine layer.
void Importer::fold_scale_shift() {
    const std::string label = graph_.label() + " LayerNorm's scale and shift";
    const std::int64_t width = features(label);
    std::vector<double> scale(static_cast<std::size_t>(width), 1.0);
    std::vector<double> shift(scale.size(), 0.0);
    bool folded = false;
    for (const std::string op : {"Mul", "Add"}) {
        const std::optional<int> next = graph_.sole_consumer(current_);
        if (!next) break;
        const onnx::NodeProto& node = graph_.node(*next);
        if (node.op_type() != op || node.input_size() != 2 || node.attribute_size() != 0 ||
            node.output_size() != 1) {
            continue;
        }
        const int data_position = node.input(0) == current_ ? 0 : 1;
        const std::optional<Tensor> constant = graph_.constant(node.input(1 - data_position));
        if (!constant) continue;
        (op == "Mul" ? scale : shift) =
            per_feature(*constant, width, graph_.node_label(*next) + ": the constant operand");
        graph_.consume(*next);
        current_ = node.output(0);
        folded = true;
    }
    if (folded) model_.layers.emplace_back(AffineLayer{scale, shift});
}

// PyTorch below opset 17 exports nn.LayerNorm as (x - mean) / sqrt(variance + eps), then
// Mul weight, Add bias: LayerNorm, then an affine layer for the scale and shift.
bool Importer::map_layer_norm_chain(const std::vector<int>& readers) {
    if (readers.size() != 2) return false;
    const bool mean_first = graph_.node(readers[0]).op_type() == "ReduceMean";
    const int mean = readers[mean_first ? 0 : 1];
    const int centered = readers[mean_first ? 1 : 0];
    if (graph_.node(mean).op_type() != "ReduceMean" || graph_.node(centered).op_type() != "Sub") {
        return false;
    }
    (void)features(graph_.node_label(mean));
    check_reduce_mean(mean);
    const onnx::NodeProto& sub = graph_.node(centered);
    const std::string& average = graph_.node(mean).output(0);
    if (sub.input_size() != 2 || sub.input(0) != current_ || sub.input(1) != average ||
        graph_.sole_consumer(average) != centered || sub.output_size() != 1) {
        refuse_near_miss(centered, "does not subtract the mean from x", layer_norm_construct);
    }
    const std::vector<int> readers_of_difference = graph_.open_consumers(sub.output(0));
    const auto divide =
        std::find_if(readers_of_difference.begin(), readers_of_difference.end(), [&](int index) {
            const onnx::NodeProto& node = graph_.node(index);
            return node.op_type() == "Div" && node.input_size() == 2 &&
                   node.input(0) == sub.output(0) && node.attribute_size() == 0 &&
                   node.output_size() == 1;
        });
    if (divide == readers_of_difference.end()) {
        refuse_near_miss(centered, "does not feed a Div by the standard deviation",
                         layer_norm_construct);
    }
    std::vector<int> nodes{mean, centered, *divide};
    const double epsilon = layer_norm_variance(centered, *divide, nodes);
    for (int index : nodes) graph_.consume(index);
    model_.layers.emplace_back(
        ActivationLayer{Activation::LayerNorm, static_cast<float>(epsilon), 0.0F});
    current_ = graph_.node(*divide).output(0);
    fold_scale_shift();
    return true;
}

// NaN replaced by a constant, one value or one per feature: an affine layer's fill, as for
// scikit-learn's SimpleImputer. Infinities stay, as Where(IsNaN(x), ...) leaves them.
bool Importer::map_nan_fill(const std::vector<int>& readers) {
    if (readers.size() != 2) return false;
    const bool test_first = graph_.node(readers[0]).op_type() == "IsNaN";
    const int test = readers[test_first ? 0 : 1];
    const int where = readers[test_first ? 1 : 0];
    if (graph_.node(test).op_type() != "IsNaN" || graph_.node(where).op_type() != "Where") {
        return false;
    }
    const onnx::NodeProto& node = graph_.node(where);
    const std::string label = graph_.node_label(where);
    const Attributes test_attributes(graph_.node(test), {}, graph_.node_label(test));
    const Attributes where_attributes(node, {}, label);
    const std::string& is_nan = graph_.node(test).output(0);
    if (graph_.node(test).output_size() != 1 || graph_.sole_consumer(is_nan) != where ||
        node.input_size() != 3 || node.input(0) != is_nan || node.input(2) != current_ ||
        node.output_size() != 1) {
        refuse_near_miss(where, "does not take c where x is NaN and x elsewhere",
                         nan_fill_construct);
    }
    const std::optional<Tensor> fill = graph_.constant(node.input(1));
    if (!fill)
        refuse_near_miss(where, "takes a computed tensor where x is NaN", nan_fill_construct);
    const std::int64_t width = features(label);
    const std::size_t count = static_cast<std::size_t>(width);
    graph_.consume(test);
    graph_.consume(where);
    model_.layers.emplace_back(AffineLayer{std::vector<double>(count, 1.0),
                                           std::vector<double>(count, 0.0),
                                           per_feature(*fill, width, label + ": the value c")});
    current_ = node.output(0);
    return true;
}

// Whether node `index` is `op` of exactly the tensors `a` and `b`, in either order.
bool Importer::is_binary_of(int index, const std::string& op, const std::string& a,
                            const std::string& b) const {
    const onnx::NodeProto& node = graph_.node(index);
    return node.op_type() == op && node.input_size() == 2 && node.attribute_size() == 0 &&
           node.output_size() == 1 &&
           ((node.input(0) == a && node.input(1) == b) ||
            (node.input(0) == b && node.input(1) == a));
}

// x^3 as Pow(x, 3) or x * (x * x) among the readers of x: appends its nodes to `nodes` and
// returns the one that gives it.
std::optional<int> Importer::gelu_cube(const std::vector<int>& readers,
                                       std::vector<int>& nodes) const {
    const std::string& x = current_;
    for (int reader : readers) {
        if (graph_.node(reader).op_type() == "Pow" && scalar_operand(reader, x) == 3.0) {
            nodes.push_back(reader);
            return reader;
        }
        if (!is_binary_of(reader, "Mul", x, x)) continue;
        const std::optional<int> cube = graph_.sole_consumer(graph_.node(reader).output(0));
        if (cube && std::find(readers.begin(), readers.end(), *cube) != readers.end() &&
            is_binary_of(*cube, "Mul", x, graph_.node(reader).output(0))) {
            nodes.insert(nodes.end(), {reader, *cube});
            return *cube;
        }
    }
    return std::nullopt;
}

// PyTorch exports nn.GELU(approximate="tanh") below opset 20 as
// (x * (Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)) + 1)) * 0.5, with x^3 = x * (x * x).
bool Importer::map_gelu_tanh_chain(const std::vector<int>& readers) {
    const std::string x = current_;
    std::vector<int> nodes;
    const std::optional<int> cube = gelu_cube(readers, nodes);
    if (!cube) return false;
    const auto output = [&](int index) { return graph_.node(index).output(0); };
    // The sole reader of `from`'s result, which must be `op` of it and a scalar `value`.
    const auto scalar_step = [&](int from, const std::string& op, double value,
                                 const std::string& problem) {
        const std::optional<int> next = graph_.sole_consumer(output(from));
        if (!next || !is_scalar_op(*next, op, output(from), value)) {
            refuse_near_miss(next ? *next : from, problem, gelu_tanh_construct);
        }
        nodes.push_back(*next);
        return *next;
    };
    const int scaled =
        scalar_step(*cube, "Mul", gelu_cube_factor, "does not multiply x^3 by 0.044715");
    const std::optional<int> inner = graph_.sole_consumer(output(scaled));
    if (!inner || !is_binary_of(*inner, "Add", x, output(scaled))) {
        refuse_near_miss(scaled, "is not added to x", gelu_tanh_construct);
    }
    nodes.push_back(*inner);
    const int angle = scalar_step(*inner, "Mul", sqrt_2_over_pi, "does not multiply by sqrt(2/pi)");
    const std::optional<int> tanh = graph_.sole_consumer(output(angle));
    if (!tanh || graph_.node(*tanh).op_type() != "Tanh" ||
        graph_.node(*tanh).attribute_size() != 0) {
        refuse_near_miss(angle, "does not feed a Tanh", gelu_tanh_construct);
    }
    nodes.push_back(*tanh);
    const int plus = scalar_step(*tanh, "Add", 1.0, "does not add 1 to the Tanh");
    const std::optional<int> join = graph_.sole_consumer(output(plus));
    if (!join || !is_binary_of(*join, "Mul", x, output(plus))) {
        refuse_near_miss(plus, "is not multiplied by x", gelu_tanh_construct);
    }
    nodes.push_back(*join);
    const int half = scalar_step(*join, "Mul", 0.5, "does not halve x * (1 + Tanh(...))");
    for (int reader : readers) {
        if (std::find(nodes.begin(), nodes.end(), reader) == nodes.end()) return false;
    }
    for (int index : nodes) graph_.consume(index);
    model_.layers.emplace_back(activation(Activation::GeluTanh));
    current_ = output(half);
    return true;
}

}  // namespace h5infer::onnx_import
