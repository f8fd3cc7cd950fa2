#pragma once

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "h5infer/model.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer::testing {

/// Success when two vectors of float or double hold equal values; otherwise names the first
/// difference.
template <typename Value>
::testing::AssertionResult floats_equal(const std::vector<Value>& a, const std::vector<Value>& b,
                                        const std::string& what) {
    if (a.size() != b.size()) {
        return ::testing::AssertionFailure()
               << what << " sizes differ: " << a.size() << " vs " << b.size();
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!(a[i] == b[i])) {
            return ::testing::AssertionFailure()
                   << what << "[" << i << "] differs: " << a[i] << " vs " << b[i];
        }
    }
    return ::testing::AssertionSuccess();
}

/// Success when two layers hold the same kind and values.
inline ::testing::AssertionResult layers_equal(const Layer& a, const Layer& b, std::size_t i) {
    const std::string label = "layer " + std::to_string(i);
    if (a.index() != b.index()) return ::testing::AssertionFailure() << label << " kinds differ";
    if (const auto* da = std::get_if<DenseLayer>(&a)) {
        const auto& db = std::get<DenseLayer>(b);
        if (da->inputs != db.inputs || da->outputs != db.outputs) {
            return ::testing::AssertionFailure() << label << " dense shapes differ";
        }
        auto result = floats_equal(da->weights, db.weights, label + " weights");
        return result ? floats_equal(da->bias, db.bias, label + " bias") : result;
    }
    if (const auto* aa = std::get_if<AffineLayer>(&a)) {
        const auto& ab = std::get<AffineLayer>(b);
        auto result = floats_equal(aa->scale, ab.scale, label + " scale");
        if (result) result = floats_equal(aa->shift, ab.shift, label + " shift");
        return result ? floats_equal(aa->fill, ab.fill, label + " fill") : result;
    }
    if (const auto* ta = std::get_if<TreeEnsembleLayer>(&a)) {
        const auto& tb = std::get<TreeEnsembleLayer>(b);
        if (ta->aggregation != tb.aggregation || ta->comparison != tb.comparison ||
            ta->tree_offsets != tb.tree_offsets || ta->feature != tb.feature ||
            ta->left != tb.left || ta->right != tb.right || ta->tree_targets != tb.tree_targets) {
            return ::testing::AssertionFailure() << label << " trees differ";
        }
        auto result = floats_equal(ta->threshold, tb.threshold, label + " threshold");
        if (result) result = floats_equal(ta->values, tb.values, label + " values");
        return result ? floats_equal(ta->base_score, tb.base_score, label + " base_score") : result;
    }
    if (!std::holds_alternative<ActivationLayer>(a)) {
        // The layers of columns, per_column, row_norm and products hold whole numbers and
        // doubles: their image round trip compares them exactly (NaN categories as NaN).
        const auto image = [](const Layer& layer) {
            Model model;
            model.layers.push_back(layer);
            return serialize(model);
        };
        return image(a) == image(b)
                   ? ::testing::AssertionSuccess()
                   : ::testing::AssertionFailure() << label << " " << layer_kind(a) << " differs";
    }
    const auto& xa = std::get<ActivationLayer>(a);
    const auto& xb = std::get<ActivationLayer>(b);
    if (xa.function != xb.function || !(xa.alpha == xb.alpha) || !(xa.beta == xb.beta)) {
        return ::testing::AssertionFailure()
               << label << " activations differ: " << activation_name(xa.function) << "("
               << xa.alpha << ", " << xa.beta << ") vs " << activation_name(xb.function) << "("
               << xb.alpha << ", " << xb.beta << ")";
    }
    return ::testing::AssertionSuccess();
}

/// Success when two models are equal in every field, bit for bit.
inline ::testing::AssertionResult models_equal(const Model& a, const Model& b) {
    if (a.input_width != b.input_width) {
        return ::testing::AssertionFailure()
               << "input widths differ: " << a.input_width << " vs " << b.input_width;
    }
    if (a.producer != b.producer || a.description != b.description) {
        return ::testing::AssertionFailure() << "producer or description differ";
    }
    if (a.labels != b.labels) return ::testing::AssertionFailure() << "labels differ";
    if (a.feature_names != b.feature_names) {
        return ::testing::AssertionFailure() << "feature names differ";
    }
    if (a.layers.size() != b.layers.size()) {
        return ::testing::AssertionFailure()
               << "layer counts differ: " << a.layers.size() << " vs " << b.layers.size();
    }
    for (std::size_t i = 0; i < a.layers.size(); ++i) {
        auto result = layers_equal(a.layers[i], b.layers[i], i);
        if (!result) return result;
    }
    return ::testing::AssertionSuccess();
}

}  // namespace h5infer::testing
