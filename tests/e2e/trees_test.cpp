// End-to-end: tree ensemble models through the real CLI: the same bits on 1 and 3 ranks and on
// both backends, and a hostile model refused before any work.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "e2e/cli_runner.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "kernels/network.hpp"

namespace h5infer::testing {
namespace {

constexpr std::int64_t features = 6;
constexpr std::int64_t rows = 2003;  // odd, so chunks and shares end inside lanes

// A forest of `count` random trees of depth up to 9, three outputs, then softmax.
Model random_forest_model(std::mt19937& random, int count) {
    TreeEnsembleLayer trees;
    trees.aggregation = TreeAggregation::Mean;
    trees.base_score = {0.0, 0.5, -0.5};
    trees.tree_offsets = {0};
    std::normal_distribution<float> normal;
    for (int t = 0; t < count; ++t) {
        const std::int64_t first = trees.nodes();
        std::vector<int> levels{0};
        for (std::size_t n = 0; n < levels.size(); ++n) {
            const bool split = levels[n] < 9 && (n == 0 || random() % 5 != 0);
            const auto next = static_cast<std::int32_t>(levels.size());
            trees.feature.push_back(split ? static_cast<std::int32_t>(random() % features) : -1);
            trees.threshold.push_back(split ? normal(random) : 0.0F);
            trees.left.push_back(split ? next : -1);
            trees.right.push_back(split ? next + 1 : -1);
            if (split) levels.insert(levels.end(), 2, levels[n] + 1);
            for (int j = 0; j < 3; ++j) trees.values.push_back(normal(random));
        }
        trees.tree_offsets.push_back(first + static_cast<std::int64_t>(levels.size()));
    }
    Model model;
    model.input_width = features;
    model.producer = "trees_test";
    model.layers.emplace_back(std::move(trees));
    model.layers.emplace_back(ActivationLayer{Activation::Softmax});
    model.labels = {"a", "b", "c"};
    return model;
}

void write_data(const std::string& path, std::mt19937& random) {
    std::vector<float> values(static_cast<std::size_t>(rows * features));
    std::normal_distribution<float> normal;
    for (float& value : values) value = normal(random);
    values[5 * features + 1] = std::numeric_limits<float>::quiet_NaN();
    h5::Handle file = h5::create_file(path);
    h5::Handle dataset = h5::create_dataset(file.get(), "x", {rows, features}, H5T_IEEE_F32LE);
    h5::write_all(dataset.get(), values.data());
}

TEST(Trees, SameBitsOnOneAndThreeRanksAndMatchesTheReference) {
    TempDir dir;
    std::mt19937 random(3);
    save_model(random_forest_model(random, 60), dir / "forest.h5");
    write_data(dir / "data.h5", random);
    const auto run = [&](int ranks, const std::string& output, const std::string& backend) {
        const CommandResult result = run_h5infer(
            {"run", "--model", dir / "forest.h5", "--input", dir / "data.h5:/x", "--output",
             dir / output, "--chunk-rows", "256", "--labels", "--quiet", "--backend", backend},
            {ranks});
        ASSERT_EQ(result.exit_code, 0) << result.err;
    };
    run(1, "one.h5", "onednn");
    run(3, "three.h5", "onednn");
    run(3, "reference.h5", "reference");
    EXPECT_TRUE(same_predictions(dir / "one.h5", dir / "three.h5"));
    const Matrix got = read_matrix(dir / "three.h5", "predictions");
    const Matrix want = read_matrix(dir / "reference.h5", "predictions");
    // Matching NaNs count as no deviation here.
    const kernels::Deviation deviation = kernels::compare_outputs(
        got.values.data(), want.values.data(), static_cast<std::int64_t>(want.values.size()));
    EXPECT_LE(deviation.absolute, 1e-6);
    EXPECT_TRUE(std::isnan(got.values[5 * 3]));
}

TEST(Trees, HostileModelIsRefusedBeforeAnyWork) {
    TempDir dir;
    std::mt19937 random(5);
    Model model = random_forest_model(random, 3);
    save_model(model, dir / "forest.h5");
    write_data(dir / "data.h5", random);
    {
        // Tree 1's first split points back at its root: a cycle.
        h5::Handle file = h5::open_file(dir / "forest.h5", true);
        h5::Handle left = h5::open_dataset(file.get(), "/layers/0000/left");
        auto& trees = std::get<TreeEnsembleLayer>(model.layers[0]);
        trees.left[trees.tree_offsets[1]] = 0;
        h5::write_all(left.get(), trees.left.data());
    }
    const CommandResult result = run_h5infer({"run", "--model", dir / "forest.h5", "--input",
                                              dir / "data.h5:/x", "--output", dir / "out.h5"},
                                             {3});
    EXPECT_EQ(result.exit_code, 3) << result.err;
    EXPECT_NE(result.err.find("layer 0 (tree_ensemble) tree 1 node 0: child 0 is the root"),
              std::string::npos)
        << result.err;
    EXPECT_EQ(count_occurrences(result.err, "child 0 is the root"), 1U);
    EXPECT_FALSE(std::filesystem::exists(dir / "out.h5"));
}

TEST(Trees, InspectDescribesTheForest) {
    TempDir dir;
    std::mt19937 random(9);
    save_model(random_forest_model(random, 4), dir / "forest.h5");
    const CommandResult result = run_h5infer({"inspect", dir / "forest.h5"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("layer 0 (tree_ensemble): 4 trees, max depth "), std::string::npos)
        << result.out;
    EXPECT_NE(result.out.find("mean of the leaf values"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace h5infer::testing
