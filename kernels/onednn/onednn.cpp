#include "kernels/onednn/onednn.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <variant>

#include "kernels/onednn/onednn_network.hpp"

namespace h5infer::kernels {
namespace {

// Block rows: enough multiply-adds per block to amortize the fixed cost of executing each
// primitive and the reloading of the weights per block (at least 256 rows: with fewer, a wide
// layer reloads its weights too often for the multiply-adds they feed), but several blocks per
// thread in a chunk of a few thousand rows.
constexpr std::int64_t block_rows_step = 64;
constexpr std::int64_t min_block_rows = 256;
constexpr std::int64_t max_block_rows = 1024;
constexpr double block_target_flops = 128e6;

}  // namespace

std::unique_ptr<Network> make_onednn_network(const Model& model, std::int64_t max_rows, int threads,
                                             Precision precision) {
    check_precision(precision);
    return std::make_unique<onednn::OnednnNetwork>(model, max_rows, threads, precision);
}

std::unique_ptr<Network> make_onednn_network(Model&& model, std::int64_t max_rows, int threads,
                                             Precision precision) {
    check_precision(precision);
    return std::make_unique<onednn::OnednnNetwork>(model, max_rows, threads, precision, &model);
}

std::unique_ptr<Network> make_onednn_network(Model&& model, std::vector<PackedWeights> packed,
                                             std::int64_t max_rows, int threads,
                                             Precision precision) {
    check_precision(precision);
    return std::make_unique<onednn::OnednnNetwork>(model, max_rows, threads, precision, nullptr,
                                                   &packed);
}

std::int64_t onednn_block_rows(const Model& model) {
    double flops_per_row = 0.0;
    std::int64_t width = model.input_width;
    for (const Layer& layer : model.layers) {
        const std::int64_t outputs = layer_output_width(layer, width);
        const bool dense = std::holds_alternative<DenseLayer>(layer);
        flops_per_row +=
            dense ? 2.0 * static_cast<double>(width * outputs) : static_cast<double>(outputs);
        if (const auto* trees = std::get_if<TreeEnsembleLayer>(&layer)) {
            const TreeStats stats = tree_stats(*trees);
            flops_per_row += static_cast<double>(stats.trees * (stats.max_depth + 1));
        }
        width = outputs;
    }
    const double rows = std::ceil(block_target_flops / std::max(flops_per_row, 1.0));
    const auto steps =
        static_cast<std::int64_t>(std::ceil(rows / static_cast<double>(block_rows_step)));
    return std::clamp(steps * block_rows_step, min_block_rows, max_block_rows);
}

}  // namespace h5infer::kernels
