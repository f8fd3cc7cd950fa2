// Tree ensembles: the reference kernel on hand-built trees, the oneDNN backend's tree step
// against it, validation of hostile trees, and the native format's reading, writing and image.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "kernels/network.hpp"
#include "kernels/reference/reference.hpp"
#include "model/describe.hpp"
#include "unit/model_equal.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer {
namespace {

constexpr float nan = std::numeric_limits<float>::quiet_NaN();

/// Two features, two outputs. Tree 0: x0 <= 0.5 ? [1, 0] : (x1 <= -1 ? [0, 2] : [3, 3]);
/// tree 1: the single leaf [0.25, 0.5].
TreeEnsembleLayer hand_built() {
    TreeEnsembleLayer trees;
    trees.aggregation = TreeAggregation::Sum;
    trees.base_score = {10.0, 20.0};
    trees.tree_offsets = {0, 5, 6};
    trees.feature = {0, -1, 1, -1, -1, -1};
    trees.threshold = {0.5F, 0.0F, -1.0F, 0.0F, 0.0F, 0.0F};
    trees.left = {1, -1, 3, -1, -1, -1};
    trees.right = {2, -1, 4, -1, -1, -1};
    trees.values = {9, 9, 1, 0, 9, 9, 0, 2, 3, 3, 0.25, 0.5};
    return trees;
}

Model model_of(TreeEnsembleLayer trees, std::int64_t width = 2) {
    Model model;
    model.input_width = width;
    model.layers.emplace_back(std::move(trees));
    return model;
}

std::vector<float> forward(const Model& model, kernels::Backend backend,
                           const std::vector<float>& src) {
    const std::int64_t rows = static_cast<std::int64_t>(src.size()) / model.input_width;
    auto network = kernels::make_network(model, backend, std::max<std::int64_t>(rows, 1), 2);
    std::vector<float> dst(static_cast<std::size_t>(rows * model.output_width()));
    network->forward(src.data(), rows, dst.data());
    return dst;
}

// Rows: left at the threshold itself, and for 0.5 + 1e-9, which float32 rounds to 0.5;
// right-left; right-right; a NaN row.
const std::vector<float> hand_rows{0.5F, 0.0F, 0.6F, -1.0F, 0.6F, 5.0F, nan, 0.0F};

TEST(TreeKernels, ReferenceMatchesHandComputedSums) {
    const std::vector<float> got =
        forward(model_of(hand_built()), kernels::Backend::Reference, hand_rows);
    const std::vector<float> want{11.25F, 20.5F, 10.25F, 22.5F, 13.25F, 23.5F};
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << i;
    EXPECT_TRUE(std::isnan(got[6]) && std::isnan(got[7]));
}

TEST(TreeKernels, ReferenceRoundsDoubleFeaturesToFloatBeforeComparing) {
    const std::vector<double> rows{0.5 + 1e-9, 0.0, 0.5 + 1e-7, 0.0};
    std::vector<double> dst(4);
    kernels::reference_trees(hand_built(), rows.data(), 2, 2, dst.data());
    EXPECT_EQ(dst[0], 11.25);  // float32(0.5 + 1e-9) is 0.5: left
    EXPECT_EQ(dst[2], 13.25);  // float32(0.5 + 1e-7) is above 0.5: right
}

TEST(TreeKernels, MeanDividesBySumOfTreesThenAddsBase) {
    TreeEnsembleLayer trees = hand_built();
    trees.aggregation = TreeAggregation::Mean;
    trees.base_score = {1.0, -1.0};
    const std::vector<float> got = forward(model_of(trees), kernels::Backend::Reference, hand_rows);
    EXPECT_EQ(got[0], 1.0F + 1.25F / 2);
    EXPECT_EQ(got[1], -1.0F + 0.5F / 2);
    EXPECT_EQ(got[4], 1.0F + 3.25F / 2);
}

TEST(TreeKernels, TreeTargetsAddEachTreeToItsOutput) {
    TreeEnsembleLayer trees = hand_built();
    trees.values = {9, 1, 9, 2, 3, 0.25};  // one value per node
    trees.tree_targets = {1, 0};
    const std::vector<float> got = forward(model_of(trees), kernels::Backend::Reference, hand_rows);
    EXPECT_EQ(got[0], 10.25F);  // tree 1 into output 0
    EXPECT_EQ(got[1], 21.0F);   // tree 0's left leaf into output 1
    EXPECT_EQ(got[5], 23.0F);
}

// A random tree of at most `depth` levels over `width` features, appended to `trees`.
void add_random_tree(TreeEnsembleLayer& trees, std::mt19937& random, int depth, std::int64_t width,
                     std::int64_t value_width) {
    const std::int64_t first = trees.nodes();
    std::normal_distribution<float> normal;
    std::vector<int> levels{0};  // per local node
    for (std::size_t n = 0; n < levels.size(); ++n) {
        const bool split = levels[n] < depth && (n == 0 || random() % 4 != 0);
        const auto local = static_cast<std::int32_t>(levels.size());
        trees.feature.push_back(split ? static_cast<std::int32_t>(random() % width) : -1);
        trees.threshold.push_back(split ? normal(random) : 0.0F);
        trees.left.push_back(split ? local : -1);
        trees.right.push_back(split ? local + 1 : -1);
        if (split) levels.insert(levels.end(), 2, levels[n] + 1);
        for (std::int64_t j = 0; j < value_width; ++j) trees.values.push_back(normal(random));
    }
    trees.tree_offsets.push_back(first + static_cast<std::int64_t>(levels.size()));
}

TreeEnsembleLayer random_forest(std::mt19937& random, int trees_count, int depth,
                                std::int64_t width, std::int64_t outputs, bool targets) {
    TreeEnsembleLayer trees;
    trees.tree_offsets = {0};
    trees.base_score.assign(static_cast<std::size_t>(outputs), 0.125);
    for (int t = 0; t < trees_count; ++t) {
        add_random_tree(trees, random, depth, width, targets ? 1 : outputs);
        if (targets) trees.tree_targets.push_back(t % static_cast<std::int32_t>(outputs));
    }
    return trees;
}

TEST(TreeKernels, OnednnStepMatchesReferenceBitwiseOnRandomForests) {
    std::mt19937 random(7);
    std::normal_distribution<float> normal;
    for (const int depth : {0, 1, 3, 7, 12}) {
        for (const bool targets : {false, true}) {
            for (const TreeAggregation aggregation :
                 {TreeAggregation::Sum, TreeAggregation::Mean}) {
                TreeEnsembleLayer trees = random_forest(random, 9, depth, 5, 3, targets);
                trees.aggregation = aggregation;
                const Model model = model_of(trees, 5);
                validate(model);
                for (const std::int64_t rows : {1, 7, 13, 1001}) {
                    std::vector<float> src(static_cast<std::size_t>(rows * 5));
                    for (float& x : src) x = normal(random);
                    src[2] = nan;  // the first row holds a NaN
                    const auto want = forward(model, kernels::Backend::Reference, src);
                    const auto got = forward(model, kernels::Backend::Onednn, src);
                    ASSERT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
                        << "depth " << depth << " rows " << rows << " targets " << targets;
                    EXPECT_TRUE(std::isnan(got[0]));
                }
            }
        }
    }
}

TEST(TreeKernels, OnednnMatchesReferenceWithLayersAroundTheTrees) {
    std::mt19937 random(11);
    Model model;
    model.input_width = 4;
    model.layers.emplace_back(AffineLayer{{2.0, 0.5, 1.0, -1.0}, {0.1, 0.0, -0.3, 1.0}});
    model.layers.emplace_back(random_forest(random, 20, 6, 4, 3, true));
    model.layers.emplace_back(ActivationLayer{Activation::Softmax});
    validate(model);
    std::normal_distribution<float> normal;
    std::vector<float> src(4 * 333);
    for (float& x : src) x = normal(random);
    const auto want = forward(model, kernels::Backend::Reference, src);
    const auto got = forward(model, kernels::Backend::Onednn, src);
    const kernels::Deviation deviation =
        kernels::compare_outputs(got.data(), want.data(), static_cast<std::int64_t>(got.size()));
    EXPECT_LE(deviation.absolute, 1e-6);
}

// ---- validation of hostile trees -------------------------------------------------------------

std::string refusal(const TreeEnsembleLayer& trees, std::int64_t width = 2) {
    try {
        validate(model_of(trees, width));
    } catch (const ModelError& error) {
        return error.what();
    }
    return "accepted";
}

TEST(TreeValidation, NamesTheTreeAndNodeOfEachProblem) {
    TreeEnsembleLayer trees = hand_built();
    EXPECT_EQ(refusal(trees), "accepted");
    trees.feature[2] = 2;
    EXPECT_NE(refusal(trees).find("layer 0 (tree_ensemble) tree 0 node 2: feature 2 is out of "
                                  "range; the layer receives 2 features"),
              std::string::npos)
        << refusal(trees);
    trees = hand_built();
    trees.right[2] = 5;
    EXPECT_NE(refusal(trees).find("tree 0 node 2: child 5 is not a node of the tree"),
              std::string::npos);
    trees = hand_built();
    trees.threshold[2] = nan;
    EXPECT_NE(refusal(trees).find("tree 0 node 2: the threshold is NaN"), std::string::npos);
    trees = hand_built();
    trees.right[1] = 3;  // a leaf with one child
    EXPECT_NE(refusal(trees).find("tree 0 node 1: child -1 is not a node"), std::string::npos);
}

TEST(TreeValidation, RefusesCyclesSharedAndUnreachableNodes) {
    TreeEnsembleLayer trees = hand_built();
    trees.left[2] = 0;  // back to the root
    EXPECT_NE(refusal(trees).find("tree 0 node 2: child 0 is the root"), std::string::npos);
    trees = hand_built();
    trees.left[2] = 1;  // node 1 gets two parents
    EXPECT_NE(refusal(trees).find("tree 0 node 2: child 1 already has a parent"),
              std::string::npos);
    // Root a leaf; nodes 1 and 2 point at each other: each has one parent, none is reachable.
    trees = hand_built();
    trees.left = {-1, 2, 1, -1, -1, -1};
    trees.right = {-1, 3, 4, -1, -1, -1};
    trees.feature = {0, 0, 1, 0, 0, 0};
    EXPECT_NE(refusal(trees).find("tree 0 node 1: the node cannot be reached from the tree's root"),
              std::string::npos)
        << refusal(trees);
}

TEST(TreeValidation, RefusesTreesDeeperThanTheBound) {
    TreeEnsembleLayer trees;
    trees.base_score = {0.0};
    const std::int64_t splits = max_tree_depth + 1;
    for (std::int64_t n = 0; n < splits; ++n) {  // a chain: each split's right child continues
        trees.feature.push_back(0);
        trees.threshold.push_back(0.0F);
        trees.left.push_back(static_cast<std::int32_t>(splits + n + 1));
        trees.right.push_back(static_cast<std::int32_t>(n + 1));
    }
    for (std::int64_t n = 0; n <= splits; ++n) {
        trees.feature.push_back(-1);
        trees.threshold.push_back(0.0F);
        trees.left.push_back(-1);
        trees.right.push_back(-1);
    }
    trees.values.assign(trees.left.size(), 1.0);
    trees.tree_offsets = {0, trees.nodes()};
    EXPECT_NE(refusal(trees, 1).find("the tree is deeper than 128 levels"), std::string::npos)
        << refusal(trees, 1);
    trees.feature.pop_back();
    EXPECT_NE(refusal(trees, 1).find("feature, threshold, left and right hold"), std::string::npos);
}

TEST(TreeValidation, RefusesInconsistentSizesOffsetsAndTargets) {
    TreeEnsembleLayer trees = hand_built();
    trees.values.pop_back();
    EXPECT_NE(refusal(trees).find("values hold 11 numbers, expected nodes x 2 = 12"),
              std::string::npos);
    trees = hand_built();
    trees.tree_offsets = {0, 6, 6};
    EXPECT_NE(refusal(trees).find("tree 1: tree_offsets give it 0 nodes"), std::string::npos);
    trees = hand_built();
    trees.tree_offsets = {0, 5, 7};
    EXPECT_NE(refusal(trees).find("tree_offsets must start at 0 and end at the node count 6"),
              std::string::npos);
    trees = hand_built();
    trees.values.resize(6);
    trees.tree_targets = {0, 2};
    EXPECT_NE(refusal(trees).find("tree 1: tree_targets names output 2 of 2"), std::string::npos);
    trees.tree_targets = {0, 0};
    trees.aggregation = TreeAggregation::Mean;
    EXPECT_NE(refusal(trees).find("no tree adds to output 1"), std::string::npos);
    trees = hand_built();
    trees.values[3] = std::numeric_limits<double>::infinity();
    EXPECT_NE(refusal(trees).find("values of node 1 (of all trees) hold NaN or Inf"),
              std::string::npos);
}

// ---- the native format and the image -----------------------------------------------------------

class TreeFormat : public ::testing::Test {
protected:
    void SetUp() override { h5::silence_errors(); }

    /// A model file whose layer 0 is a tree_ensemble group of hand_built()'s arrays, with
    /// `change` applied to the group before the file closes.
    template <typename Change>
    void write_file(const Change& change) const {
        h5::Handle file = h5::create_file(path_);
        h5::write_attribute(file.get(), "format", std::string("h5infer-model"));
        h5::write_attribute(file.get(), "format_version", std::int64_t{1});
        h5::write_attribute(file.get(), "input_width", std::int64_t{2});
        h5::Handle layers = h5::create_group(file.get(), "/layers");
        h5::Handle group = h5::create_group(file.get(), "/layers/0000");
        const TreeEnsembleLayer trees = hand_built();
        h5::write_attribute(group.get(), "kind", std::string("tree_ensemble"));
        h5::write_attribute(group.get(), "aggregation", std::string("sum"));
        h5::write_attribute(group.get(), "comparison", std::string("<="));
        h5::write_attribute(group.get(), "base_score", trees.base_score);
        write_ints(group.get(), "feature", {0, -1, 1, -1, -1, -1});
        write_ints(group.get(), "left", {1, -1, 3, -1, -1, -1});
        write_ints(group.get(), "right", {2, -1, 4, -1, -1, -1});
        write_ints(group.get(), "tree_offsets", {0, 5, 6});
        const std::vector<double> threshold{0.5, 0.0, -1.0, 0.0, 0.0, 0.0};
        h5::Handle dataset = h5::create_dataset(group.get(), "threshold", {6}, H5T_IEEE_F64LE);
        h5::write_all(dataset.get(), threshold.data());
        h5::Handle values = h5::create_dataset(group.get(), "values", {6, 2}, H5T_IEEE_F64LE);
        h5::write_all(values.get(), trees.values.data());
        change(group.get());
    }

    static void write_ints(hid_t group, const std::string& name,
                           const std::vector<std::int64_t>& values) {
        if (h5::object_type(group, name) != h5::ObjectType::Missing) h5::delete_link(group, name);
        h5::Handle dataset = h5::create_dataset(
            group, name, {static_cast<std::int64_t>(values.size())}, H5T_STD_I64LE);
        h5::write_all(dataset.get(), values.data());
    }

    [[nodiscard]] std::string load_error() const {
        try {
            (void)load_model(path_);
        } catch (const ModelError& error) {
            EXPECT_EQ(error.code(), ExitCode::Model);
            return error.what();
        }
        return "loaded";
    }

    testing::TempDir dir_;
    std::string path_ = dir_.file("trees.h5");
};

TEST_F(TreeFormat, ReadsWhatH5pyWritesAndRoundsThresholdsDown) {
    write_file([](hid_t group) {
        h5::Handle dataset = h5::open_dataset(group, "threshold");
        const std::vector<double> threshold{0.1, 0.0, -1.0, 0.0, 0.0, 0.0};
        h5::write_all(dataset.get(), threshold.data());
    });
    const Model model = load_model(path_);
    const auto& trees = std::get<TreeEnsembleLayer>(model.layers[0]);
    // The largest float32 not above 0.1: float32(0.1) itself is above it.
    EXPECT_LT(static_cast<double>(trees.threshold[0]), 0.1);
    EXPECT_GT(static_cast<double>(std::nextafter(trees.threshold[0], 1.0F)), 0.1);
    EXPECT_EQ(model.output_width(), 2);
    const std::string saved = dir_.file("saved.h5");
    save_model(model, saved);
    EXPECT_TRUE(testing::models_equal(load_model(saved), model));
    EXPECT_TRUE(testing::models_equal(deserialize(serialize(model)), model));
    EXPECT_TRUE(
        testing::models_equal(deserialize(serialize(model, ImageContent::Structure)), model));
}

TEST_F(TreeFormat, RefusesHostileFilesNamingTreeAndNode) {
    write_file([](hid_t group) { write_ints(group, "left", {1, -1, 0, -1, -1, -1}); });
    EXPECT_NE(load_error().find("model '" + path_ +
                                "': layer 0 (tree_ensemble) tree 0 node 2: child 0 is the root"),
              std::string::npos)
        << load_error();
    write_file([](hid_t group) {
        write_ints(group, "feature", {int64_t{1} << 40, -1, 1, -1, -1, -1});
    });
    EXPECT_NE(load_error().find("dataset 'feature' holds 1099511627776 at index 0, beyond int32"),
              std::string::npos)
        << load_error();
    write_file([](hid_t group) { write_ints(group, "right", {2, -1, 4, -1, -1}); });
    EXPECT_NE(load_error().find("dataset 'right' has shape [5] but 'feature' has [6]"),
              std::string::npos)
        << load_error();
    write_file([](hid_t group) { write_ints(group, "tree_offsets", {0, 9, 6}); });
    EXPECT_NE(load_error().find("tree 1: tree_offsets give it -3 nodes"), std::string::npos)
        << load_error();
    write_file([](hid_t group) { h5::write_attribute(group, "comparison", std::string("<")); });
    EXPECT_NE(load_error().find("unknown comparison '<'"), std::string::npos) << load_error();
    write_file([](hid_t group) { h5::write_attribute(group, "missing_left", std::string("x")); });
    EXPECT_NE(load_error().find("unknown attribute 'missing_left'"), std::string::npos)
        << load_error();
}

TEST_F(TreeFormat, RefusesAHugeDeclaredArrayWithoutReadingIt) {
    write_file([](hid_t group) {
        h5::delete_link(group, "feature");
        // Chunked and never written: 2^40 values declared, none stored.
        h5::Handle huge = h5::create_dataset(group, "feature", {std::int64_t{1} << 40},
                                             H5T_STD_I32LE, h5::Layout::Chunked, 1024);
    });
    EXPECT_NE(load_error().find("dataset 'threshold' has shape [6] but 'feature' has "
                                "[1099511627776]"),
              std::string::npos)
        << load_error();
}

TEST(TreeDescribe, InspectCountsTreesDepthLeavesAndNodes) {
    const std::string text = describe_layers(model_of(hand_built()));
    EXPECT_NE(text.find("layer 0 (tree_ensemble): 2 trees, max depth 2, 4 leaves, 6 nodes, sum"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("tree_ensemble       2        2"), std::string::npos) << text;
}

}  // namespace
}  // namespace h5infer
