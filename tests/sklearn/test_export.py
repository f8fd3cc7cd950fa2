#!/usr/bin/python3
"""Tests of tools/h5infer-export-sklearn against scikit-learn itself.

Each case trains an estimator on one of scikit-learn's bundled datasets or on synthetic data,
exports it, predicts the dataset with `h5infer run` on 1 and 3 ranks and compares with the
estimator's own predict_proba / predict / transform, and `--labels` with its predict().

    /usr/bin/python3 tests/sklearn/test_export.py --h5infer build/h5infer --mpiexec mpiexec

Exits 77 (CTest's skip code) when python3-sklearn, python3-h5py or python3-numpy is missing.
Under CTest the OMPI_* variables come from tests/CMakeLists.txt; run as root by hand, export
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1.
"""

import argparse
import contextlib
import importlib.machinery
import io
import importlib.util
import os
import pickle
import subprocess
import sys
import tempfile
import unittest
import warnings

SKIP = 77
try:
    import h5py
    import joblib
    import numpy as np
    import sklearn
    from sklearn import datasets
    from sklearn import linear_model as lm
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.decomposition import PCA, TruncatedSVD
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor,
                                  GradientBoostingClassifier, GradientBoostingRegressor,
                                  HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                                  IsolationForest, RandomForestClassifier, RandomForestRegressor)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_selection import SelectFromModel, SelectKBest, VarianceThreshold
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression,
                                      Ridge, SGDClassifier)
    from sklearn.model_selection import GridSearchCV
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import (FunctionTransformer, KBinsDiscretizer, MaxAbsScaler,
                                       MinMaxScaler, Normalizer, OneHotEncoder, OrdinalEncoder,
                                       PolynomialFeatures, RobustScaler, SplineTransformer,
                                       StandardScaler)
    from sklearn.svm import LinearSVC, LinearSVR
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
except ImportError as missing:
    print(f"SKIP: {missing.name or missing} is not available to {sys.executable} ({missing}); "
          "install python3-sklearn python3-joblib python3-h5py python3-numpy "
          "(scripts/bootstrap.sh does)")
    sys.exit(SKIP)

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORTER = os.path.join(HERE, "..", "..", "tools", "h5infer-export-sklearn")
RELATIVE = 1e-4  # |h5infer - sklearn| <= 1e-4 * max(|sklearn|, floor); floor: see compare()
PROBABILITY_FLOOR = 1e-3  # below it, probabilities are compared with 1e-7 absolute
COLUMN_FLOOR = 1e-2  # other outputs: fraction of the column's largest magnitude
RANKS = (1, 3)
# Tree ensembles sum their leaves in double as scikit-learn does: only the float32 output and,
# for boosting, the float32 link differ, so they are held to tighter bounds, and --labels must
# equal predict() on every row.
TREE_ABSOLUTE, TREE_RELATIVE = 1e-6, 1e-5
OPTIONS = argparse.Namespace(h5infer=None, mpiexec=None)
ERRORS = {}  # family -> largest relative error seen, printed at the end


def load_exporter():
    loader = importlib.machinery.SourceFileLoader("h5infer_export_sklearn", EXPORTER)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


# ---- data -----------------------------------------------------------------------------------

def digits():
    return datasets.load_digits(return_X_y=True)


def iris_names():
    data = datasets.load_iris()
    return data.data, data.target_names[data.target]  # string labels


def wine_shifted():
    x, y = datasets.load_wine(return_X_y=True)
    return x, 10 * y - 7  # integer labels -7, 3, 13


def breast_cancer():
    return datasets.load_breast_cancer(return_X_y=True)


def diabetes():
    return datasets.load_diabetes(return_X_y=True)


def with_gaps(load):
    """A dataset with about one value in eight missing (NaN), for the imputers."""
    def make():
        x, y = load()
        x = np.array(x, dtype=np.float64)
        x[np.random.default_rng(4).random(x.shape) < 0.125] = np.nan
        return x, y
    return make


def synthetic_binary():
    x, y = datasets.make_classification(400, 12, n_informative=6, random_state=1)
    return x, 2 * y - 1  # labels -1, 1


def synthetic_multiclass():
    return datasets.make_classification(500, 10, n_informative=6, n_classes=3, random_state=5)


def synthetic_multilabel():
    return datasets.make_multilabel_classification(400, 15, n_classes=4, random_state=2)


def synthetic_regression(targets):
    def make():
        x, y = datasets.make_regression(300, 10, n_targets=targets, noise=5.0, random_state=3)
        return x * 50 + 7, y  # features far from standardized, so the scalers matter
    return make


def mixed(gaps=False):
    """Numeric columns 0, 1 (far from standardized), numeric-coded categories 2 (0-3) and 3
    (10, 20, 30), a positive column 4, a uniform column 5, a constant 6 and a binary 7; with
    `gaps`, NaN in columns 0, 1 and 3. Every value is a float32 (multiples of 1/16), so that
    h5infer's float32 input puts it on the same side of every bin edge as scikit-learn."""
    def make():
        rng = np.random.default_rng(5)
        n = 600
        x = np.column_stack([
            np.round(rng.normal(size=n) * 16) / 16, np.round(rng.normal(size=n) * 32) / 16 + 50,
            rng.integers(0, 4, n), rng.choice([10.0, 20.0, 30.0], n),
            np.round(rng.exponential(2, n) * 16) / 16, np.round(rng.uniform(-3, 3, n) * 16) / 16,
            np.full(n, 2.0), rng.integers(0, 2, n)])
        y = ((x[:, 0] + (x[:, 2] == 1) - (x[:, 3] == 30) + 0.5 * x[:, 5]
              + 0.3 * x[:, 7]) > 0.2).astype(int)
        if gaps:
            holes = rng.random((n, 3)) < 0.1
            block = x[:, [0, 1, 3]]
            block[holes] = np.nan
            x[:, [0, 1, 3]] = block
        return x, y
    return make


def mixed_imputed_encoded():
    """Imputers and a one-hot encoder of numeric-coded categories, a log1p, routed by a
    ColumnTransformer (a dropped column, the remainder passed)."""
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), [0, 1]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), [2, 3]),
        ("log", FunctionTransformer(np.log1p), [4]),
        ("constant", "drop", [6])], remainder="passthrough")


# Case name -> (family, data, estimator). Families group the error summary.
CASES = {
    "digits_scaler_logistic_multinomial": (
        "logistic", digits, lambda: make_pipeline(StandardScaler(),
                                                  LogisticRegression(max_iter=60))),
    "iris_logistic_ovr_string_labels": (
        "logistic", iris_names, lambda: LogisticRegression(multi_class="ovr", max_iter=200)),
    "breast_cancer_logistic_binary": (
        "logistic", breast_cancer, lambda: make_pipeline(StandardScaler(), LogisticRegression())),
    "breast_cancer_logistic_binary_multinomial": (
        "logistic", breast_cancer,
        lambda: make_pipeline(MinMaxScaler(), LogisticRegression(multi_class="multinomial"))),
    "digits_pca_whiten_logistic": (
        "logistic", digits,
        lambda: make_pipeline(StandardScaler(with_std=False), PCA(20, whiten=True),
                              LogisticRegression(max_iter=100))),
    "wine_sgd_log_loss_ovr": (
        "sgd", wine_shifted, lambda: make_pipeline(
            StandardScaler(), SGDClassifier(loss="log_loss", max_iter=20, random_state=0))),
    "synthetic_sgd_log_loss_binary": (
        "sgd", synthetic_binary,
        lambda: make_pipeline(MaxAbsScaler(), SGDClassifier(loss="log_loss", random_state=0))),
    "digits_mlp_multiclass": (
        "mlp", digits, lambda: make_pipeline(
            MinMaxScaler(), MLPClassifier((32,), max_iter=30, random_state=0))),
    "breast_cancer_mlp_binary_logistic": (
        "mlp", breast_cancer, lambda: make_pipeline(StandardScaler(), MLPClassifier(
            (16, 8), activation="logistic", max_iter=50, random_state=0))),
    "synthetic_mlp_multilabel_tanh": (
        "mlp", synthetic_multilabel, lambda: make_pipeline(StandardScaler(), MLPClassifier(
            (16,), activation="tanh", max_iter=50, random_state=0))),
    "diabetes_mlp_regressor": (
        "mlp", diabetes, lambda: make_pipeline(StandardScaler(), MLPRegressor(
            (16,), max_iter=100, random_state=0))),
    "synthetic_mlp_regressor_multioutput_identity": (
        "mlp", synthetic_regression(3), lambda: make_pipeline(StandardScaler(), MLPRegressor(
            (8,), activation="identity", max_iter=50, random_state=0))),
    "diabetes_linear_regression": ("linear", diabetes, LinearRegression),
    "synthetic_ridge_multioutput": (
        "linear", synthetic_regression(2), lambda: make_pipeline(MaxAbsScaler(), Ridge(1.0))),
    "diabetes_lasso": ("linear", diabetes, lambda: Lasso(alpha=0.1)),
    "synthetic_elasticnet_multioutput_nested_pipeline": (
        "linear", synthetic_regression(2), lambda: Pipeline([
            ("prep", Pipeline([("scale", StandardScaler(with_mean=False)),
                               ("nothing", "passthrough")])),
            ("net", ElasticNet(alpha=0.1))])),
    "wine_scaler_pca_transform": (
        "transform", wine_shifted, lambda: make_pipeline(StandardScaler(), PCA(5))),
    "diabetes_truncated_svd_transform": ("transform", diabetes, lambda: TruncatedSVD(4)),
    # more linear regressors: predict() is one dense layer
    "diabetes_robust_scaler_huber": (
        "linear", diabetes,
        lambda: make_pipeline(RobustScaler(), lm.HuberRegressor(max_iter=500))),
    "synthetic_sgd_regressor": (
        "linear", synthetic_regression(1),
        lambda: make_pipeline(StandardScaler(), lm.SGDRegressor(random_state=0))),
    "diabetes_bayesian_ridge": ("linear", diabetes, lm.BayesianRidge),
    "diabetes_ard": ("linear", diabetes, lm.ARDRegression),
    "diabetes_linear_svr": (
        "linear", diabetes, lambda: make_pipeline(StandardScaler(), LinearSVR(random_state=0))),
    "diabetes_lasso_cv": ("linear", diabetes, lambda: lm.LassoCV(cv=3)),
    "synthetic_multitask_elasticnet_cv": (
        "linear", synthetic_regression(2), lambda: lm.MultiTaskElasticNetCV(cv=3)),
    "diabetes_ransac": ("linear", diabetes, lambda: lm.RANSACRegressor(random_state=0)),
    # missing values filled by an imputer: rows with NaN get finite predictions
    "diabetes_gaps_median_imputer_ridge": (
        "impute", with_gaps(diabetes), lambda: make_pipeline(
            SimpleImputer(strategy="median"), StandardScaler(), Ridge())),
    "breast_cancer_gaps_imputer_logistic": (
        "impute", with_gaps(breast_cancer), lambda: make_pipeline(
            StandardScaler(), SimpleImputer(strategy="constant", fill_value=0.0),
            LogisticRegression())),
    "wine_gaps_most_frequent_imputer_lda": (
        "impute", with_gaps(wine_shifted), lambda: make_pipeline(
            SimpleImputer(strategy="most_frequent"), LinearDiscriminantAnalysis())),
    # log links and log targets: a dense layer, then exp
    "diabetes_poisson": (
        "exp", diabetes, lambda: make_pipeline(StandardScaler(), lm.PoissonRegressor())),
    "diabetes_gamma": (
        "exp", diabetes, lambda: make_pipeline(StandardScaler(), lm.GammaRegressor())),
    "diabetes_tweedie": (
        "exp", diabetes,
        lambda: make_pipeline(StandardScaler(), lm.TweedieRegressor(power=1.5))),
    "diabetes_target_log1p": (
        "exp", diabetes, lambda: TransformedTargetRegressor(
            make_pipeline(StandardScaler(), Ridge()), func=np.log1p, inverse_func=np.expm1)),
    "diabetes_target_scaled": (
        "linear", diabetes, lambda: TransformedTargetRegressor(
            make_pipeline(StandardScaler(), Ridge()), transformer=StandardScaler())),
    # linear classifiers with probabilities
    "iris_logistic_cv_string_labels": (
        "logistic", iris_names,
        lambda: make_pipeline(StandardScaler(), lm.LogisticRegressionCV(cv=3))),
    "wine_lda": ("logistic", wine_shifted, LinearDiscriminantAnalysis),
    "breast_cancer_lda_binary": ("logistic", breast_cancer, LinearDiscriminantAnalysis),
    "digits_one_vs_rest_logistic": (
        "logistic", digits, lambda: make_pipeline(
            StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=60)))),
    "synthetic_one_vs_rest_multilabel": (
        "logistic", synthetic_multilabel,
        lambda: OneVsRestClassifier(LogisticRegression(max_iter=200))),
    "iris_grid_search": (
        "logistic", iris_names, lambda: GridSearchCV(
            make_pipeline(StandardScaler(), LogisticRegression()),
            {"logisticregression__C": [0.1, 1.0]}, cv=3)),
    "breast_cancer_sgd_modified_huber_binary": (
        "sgd", breast_cancer, lambda: make_pipeline(
            StandardScaler(), SGDClassifier(loss="modified_huber", random_state=0))),
    # margin classifiers: decision_function, [-d, d] when binary
    "wine_linear_svc": (
        "margin", wine_shifted,
        lambda: make_pipeline(StandardScaler(), LinearSVC(random_state=0))),
    "synthetic_linear_svc_binary": (
        "margin", synthetic_binary, lambda: LinearSVC(random_state=0)),
    "iris_ridge_classifier_string_labels": ("margin", iris_names, lm.RidgeClassifier),
    "digits_sgd_hinge": (
        "margin", digits, lambda: make_pipeline(
            MinMaxScaler(), SGDClassifier(max_iter=20, random_state=0))),
    "breast_cancer_perceptron_binary": (
        "margin", breast_cancer,
        lambda: make_pipeline(StandardScaler(), lm.Perceptron(random_state=0))),
    # tree ensembles: one tree_ensemble layer, then sigmoid or softmax for boosting
    "iris_decision_tree_string_labels": (
        "trees", iris_names, lambda: DecisionTreeClassifier(random_state=0)),
    "diabetes_decision_tree_regressor": (
        "trees", diabetes, lambda: DecisionTreeRegressor(max_depth=8, random_state=0)),
    "breast_cancer_random_forest": (
        "trees", breast_cancer, lambda: RandomForestClassifier(40, random_state=0)),
    "iris_gaps_imputer_random_forest_string_labels": (
        "trees", with_gaps(iris_names), lambda: make_pipeline(
            SimpleImputer(strategy="mean"), RandomForestClassifier(25, max_depth=4,
                                                                   random_state=0))),
    "synthetic_random_forest_multiclass_leaf_fractions": (
        "trees", synthetic_multiclass,
        lambda: RandomForestClassifier(30, min_samples_leaf=5, random_state=0)),
    "synthetic_random_forest_regressor_multioutput": (
        "trees", synthetic_regression(3),
        lambda: RandomForestRegressor(20, max_depth=10, random_state=0)),
    "diabetes_extra_trees_regressor": (
        "trees", diabetes, lambda: ExtraTreesRegressor(30, random_state=0)),
    "synthetic_extra_trees_binary": (
        "trees", synthetic_binary, lambda: ExtraTreesClassifier(30, random_state=0)),
    "breast_cancer_gaps_imputer_random_forest": (
        "trees", with_gaps(breast_cancer), lambda: make_pipeline(
            SimpleImputer(strategy="median"), RandomForestClassifier(20, random_state=0))),
    "breast_cancer_gradient_boosting_binary": (
        "trees", breast_cancer, lambda: GradientBoostingClassifier(
            n_estimators=60, random_state=0)),
    "synthetic_gradient_boosting_binary_zero_init": (
        "trees", synthetic_binary, lambda: GradientBoostingClassifier(
            n_estimators=40, init="zero", learning_rate=0.3, random_state=0)),
    "breast_cancer_gradient_boosting_exponential": (
        "trees", breast_cancer, lambda: GradientBoostingClassifier(
            loss="exponential", n_estimators=30, random_state=0)),
    "iris_gradient_boosting_multiclass_string_labels": (
        "trees", iris_names, lambda: GradientBoostingClassifier(
            n_estimators=30, max_depth=2, random_state=0)),
    "synthetic_gradient_boosting_multiclass_zero_init": (
        "trees", synthetic_multiclass, lambda: GradientBoostingClassifier(
            n_estimators=25, init="zero", subsample=0.8, random_state=0)),
    "diabetes_gradient_boosting_regressor": (
        "trees", diabetes, lambda: GradientBoostingRegressor(n_estimators=80, random_state=0)),
    "diabetes_gradient_boosting_huber_nested_pipeline": (
        "trees", diabetes, lambda: Pipeline([
            ("prep", Pipeline([("nothing", "passthrough")])),
            ("boost", GradientBoostingRegressor(loss="huber", n_estimators=40,
                                                random_state=0))])),
}


# ColumnTransformer, the encoders, selectors, functions, norms, products and bins.
CASES.update({
    "mixed_column_transformer_imputer_one_hot_logistic": (
        "columns", mixed(gaps=True),
        lambda: make_pipeline(mixed_imputed_encoded(), LogisticRegression(max_iter=1000))),
    "mixed_ordinal_bins_passthrough_ridge": (
        "columns", mixed(), lambda: make_pipeline(ColumnTransformer([
            ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
             [2, 3]),
            ("bins", KBinsDiscretizer(4, encode="onehot-dense"), [5]),
            ("kept", "passthrough", [7]),
            ("uniform_bins", KBinsDiscretizer(3, encode="ordinal", strategy="uniform"), [4])]),
            Ridge())),
    "mixed_selectors_normalizer_polynomial_logistic": (
        "columns", mixed(), lambda: make_pipeline(
            VarianceThreshold(0.01), SelectKBest(k=5), Normalizer(), PolynomialFeatures(2),
            LogisticRegression(max_iter=1000))),
    "mixed_select_from_model_max_norm_interactions_mlp": (
        "columns", mixed(), lambda: make_pipeline(
            StandardScaler(), SelectFromModel(lm.Lasso(alpha=0.05)), Normalizer("max"),
            PolynomialFeatures(3, interaction_only=True, include_bias=False),
            MLPRegressor((8,), max_iter=300, random_state=0))),
    "mixed_one_hot_drop_transform": (
        "columns", mixed(), lambda: ColumnTransformer([
            ("first", OneHotEncoder(drop="first"), [2]),
            ("binary", OneHotEncoder(drop="if_binary", sparse_output=False), [7]),
            ("explicit", OneHotEncoder(drop=[20.0], sparse_output=False), [3]),
            ("rows", make_pipeline(Normalizer("l1"), PolynomialFeatures(2)), [0, 5]),
            ("functions", make_pipeline(FunctionTransformer(np.sqrt),
                                        FunctionTransformer(np.log)), [1])],
            remainder="drop")),
    # Encoders route exact values to the trees (a scaler would not: see model-format.md).
    "mixed_one_hot_passthrough_random_forest": (
        "columns", mixed(), lambda: make_pipeline(ColumnTransformer([
            ("cat", OneHotEncoder(handle_unknown="ignore"), [2, 3])], remainder="passthrough"),
            RandomForestClassifier(30, max_depth=8, random_state=0))),
    "mixed_ordinal_gradient_boosting": (
        "columns", mixed(), lambda: make_pipeline(ColumnTransformer([
            ("cat", OrdinalEncoder(), [2, 3]), ("kept", "passthrough", [0, 4, 5, 7])]),
            GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0))),
})


# ---- running --------------------------------------------------------------------------------

def sklearn_output(estimator, x):
    """(output, whether it is probabilities): predict_proba, else decision_function (a binary
    one as [-d, d]), else predict, else transform."""
    for method in ("predict_proba", "decision_function", "predict", "transform"):
        if hasattr(estimator, method):
            values = getattr(estimator, method)(x)
            if hasattr(values, "toarray"):  # a sparse matrix (OneHotEncoder)
                values = values.toarray()
            values = np.asarray(values, dtype=np.float64)
            if method == "decision_function" and values.ndim == 1:
                values = np.column_stack([-values, values])
            return values.reshape(len(x), -1), method == "predict_proba"
    raise AssertionError("no prediction method")


def run_h5infer(model, data, output, ranks, extra=()):
    command = [OPTIONS.mpiexec, "-n", str(ranks), OPTIONS.h5infer, "run", "--model", model,
               "--input", data + ":/x", "--output", output, "--quiet", "--chunk-rows", "64",
               *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def compare(got, want, probabilities):
    """Largest |got - want| / max(|want|, floor). h5infer computes in float32 from float32
    input, so a value near zero is only as accurate as the terms that cancelled into it: a
    probability of 1e-30 (or 1e-89, which float32 cannot hold) is accurate in absolute terms,
    and a regression output or PCA component near 0 carries the rounding of its larger terms.
    Probabilities get an absolute floor, other outputs a floor relative to their column."""
    if probabilities:
        floor = np.full(want.shape[1], PROBABILITY_FLOOR)
    else:
        floor = COLUMN_FLOOR * np.abs(want).max(axis=0)
    error = np.abs(got.astype(np.float64) - want) / np.maximum(np.abs(want), floor)
    return float(error.max())


def read_labels(path):
    with h5py.File(path, "r") as f:
        labels = f["labels"][()]
        attribute = f["predictions"].attrs["labels"]
    if labels.dtype.kind == "S":
        return [v.decode() for v in labels], [str(v) for v in attribute], "string"
    return [str(v) for v in labels], [str(v) for v in attribute], str(labels.dtype)


class SpeaksWhenLoaded:
    """Pickles as a call that writes to stderr when the pickle is loaded."""

    def __reduce__(self):
        return (os.write, (2, b"code from the pickle ran\n"))


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.exporter = load_exporter()
        cls.directory = tempfile.TemporaryDirectory(prefix="h5infer-sklearn-")

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    def path(self, name):
        return os.path.join(self.directory.name, name)

    def export(self, estimator, name):
        pickled = self.path(name + ".joblib")
        joblib.dump(estimator, pickled)
        model = self.path(name + ".h5")
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(self.exporter.main([pickled, model]), 0)
        return model

    def check_case(self, name):
        family, make_data, make_estimator = CASES[name]
        x, y = make_data()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator = make_estimator().fit(x, y)
        model = self.export(estimator, name)
        data = self.path(name + "-data.h5")
        with h5py.File(data, "w") as f:
            f["x"] = x
        want, probabilities = sklearn_output(estimator, x)
        classes = getattr(estimator, "classes_", None)
        has_labels = classes is not None and np.ndim(classes) == 1 and np.ndim(y) == 1
        worst = 0.0
        first = None
        for ranks in RANKS:
            output = self.path(f"{name}-{ranks}.h5")
            result = run_h5infer(model, data, output, ranks, ["--labels"] if has_labels else [])
            self.assertEqual(result.returncode, 0, result.stderr)
            with h5py.File(output, "r") as f:
                got = f["predictions"][()]
                self.assertEqual(has_labels, "labels" in f["predictions"].attrs)
            self.assertEqual(got.shape, want.shape)
            worst = max(worst, compare(got, want, probabilities))
            if first is None:
                first = got
            else:
                self.assertTrue(np.array_equal(first, got), f"{ranks} ranks differ from 1")
            if family == "trees":
                np.testing.assert_allclose(got, want, rtol=TREE_RELATIVE, atol=TREE_ABSOLUTE)
            if has_labels:
                self.check_labels(output, estimator, x, want, [str(c) for c in classes],
                                  exact=family == "trees")
        ERRORS[family] = max(ERRORS.get(family, 0.0), worst)
        self.assertLessEqual(worst, RELATIVE, name)

    def check_labels(self, output, estimator, x, probabilities, classes, exact=False):
        labels, attribute, dtype = read_labels(output)
        self.assertEqual(attribute, classes)
        integers = all(c.lstrip("-").isdigit() for c in classes)
        self.assertEqual(dtype, "int64" if integers else "string")
        expected = [str(v) for v in estimator.predict(x)]
        wrong = [i for i, (a, b) in enumerate(zip(labels, expected)) if a != b]
        if exact:
            self.assertEqual(wrong, [], f"labels differ from predict() on rows {wrong[:10]}")
        # float32 may only flip rows where sklearn's two best classes are practically tied.
        top = np.sort(probabilities, axis=1)
        ties = [i for i in wrong if top[i, -1] - top[i, -2] <= 1e-5]
        self.assertEqual(wrong, ties, f"labels differ from predict() on rows {wrong[:10]}")

    # ---- rows far from the training data, missing values, large offsets -------------------------

    def predict(self, model, x, name, ranks, extra=()):
        """h5infer's predictions of `x` on `ranks` ranks, and the output file."""
        data = self.path(name + "-data.h5")
        with h5py.File(data, "w") as f:
            f["x"] = x
        output = self.path(f"{name}-{ranks}.h5")
        result = run_h5infer(model, data, output, ranks, extra)
        self.assertEqual(result.returncode, 0, result.stderr)
        with h5py.File(output, "r") as f:
            return f["predictions"][()], output

    def test_rows_with_nan_or_inf_get_nan_probabilities_and_no_class(self):
        # ReLU (scikit-learn's default MLP activation) must not turn NaN into a number: NumPy's
        # maximum propagates it, so every class's probability is NaN, and --labels names none.
        x, y = digits()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator = make_pipeline(MinMaxScaler(), MLPClassifier(
                (32,), max_iter=30, random_state=0)).fit(x, y)
        model = self.export(estimator, "nan-rows")
        spoiled = x.copy()
        spoiled[::7, 5] = np.nan
        spoiled[3::14, 9] = np.inf
        bad = ~np.isfinite(spoiled).all(axis=1)
        want = np.full((len(x), 10), np.nan)
        want[~bad] = estimator.predict_proba(spoiled[~bad])
        for ranks in RANKS:
            got, output = self.predict(model, spoiled, "nan-rows", ranks, ["--labels"])
            np.testing.assert_array_equal(np.isnan(got), np.repeat(bad[:, None], 10, axis=1))
            self.assertLessEqual(compare(got[~bad], want[~bad], True), RELATIVE)
            with h5py.File(output, "r") as f:
                labels = f["labels"][()]
            self.assertTrue(np.all(labels[bad] == np.iinfo(np.int64).min))
            self.assertTrue(np.all(labels[~bad] == estimator.predict(spoiled[~bad])))

    def test_one_vs_rest_far_from_the_training_data_stays_finite(self):
        # Rows where every class's logit is -100 to -600: the float32 sigmoids underflow, and
        # scikit-learn (float64: down to -745) still gives finite probabilities and a class.
        x, y = wine_shifted()
        for name, classifier in [
                ("ovr-logistic", LogisticRegression(multi_class="ovr", max_iter=500)),
                ("ovr-sgd", SGDClassifier(loss="log_loss", random_state=0))]:
            estimator = make_pipeline(StandardScaler(), classifier).fit(x, y)
            model = self.export(estimator, name)
            scaler, linear = estimator[0], estimator[1]
            # The least-norm direction along which every class's logit falls by one per unit.
            weights = linear.coef_
            direction = -np.linalg.pinv(weights) @ np.ones(len(weights))
            steps = np.array([100.0, 200.0, 350.0, 500.0, 600.0])
            far = scaler.mean_ + scaler.scale_ * (steps[:, None] * direction)
            logits = estimator.decision_function(far)
            self.assertTrue(np.all((logits < -88) & (logits > -740)), logits)
            want = estimator.predict_proba(far)
            self.assertTrue(np.all(np.isfinite(want)))
            for ranks in RANKS:
                got, output = self.predict(model, far, name, ranks, ["--labels"])
                self.assertTrue(np.all(np.isfinite(got)), got)
                # Logits of hundreds carry float32's absolute error of about 1e-5 x |logit|.
                np.testing.assert_allclose(got, want, atol=1e-3)
                with h5py.File(output, "r") as f:
                    labels = f["labels"][()]
                self.assertEqual(list(labels), list(estimator.predict(far)))

    def test_large_offset_features_are_as_exact_as_plain_float32(self):
        # House-price-like features far from zero (coordinates, years, zip codes, epoch
        # seconds): the scaler must not lose more than float32 input itself does.
        rng = np.random.default_rng(0)
        mean = np.array([47.56, -122.21, 2080.0, 1971.0, 98077.0, 1.4e9])
        spread = np.array([0.14, 0.14, 900.0, 29.0, 53.0, 1.5e7])
        x = mean + spread * rng.standard_normal((20000, 6))
        x[:, 3:5] = np.round(x[:, 3:5])
        effect = np.array([30000.0, -20000.0, 200000.0, -25000.0, 2000.0, 5000.0])
        y = 540000 + ((x - mean) / spread) @ effect + 50000 * rng.standard_normal(len(x))
        estimator = make_pipeline(StandardScaler(), LinearRegression()).fit(x, y)
        model = self.export(estimator, "large-offsets")
        want = estimator.predict(x)
        scaler, linear = estimator[0], estimator[1]
        x32 = x.astype(np.float32)
        plain = ((x32 - scaler.mean_.astype(np.float32)) / scaler.scale_.astype(np.float32)) \
            @ linear.coef_.astype(np.float32) + np.float32(linear.intercept_)
        # compare()'s measure; a plain float32 computation is within about 6e-5 of scikit-learn
        # here, and folding the scaler's shift into the bias was within about 3e-4.
        plain_error = compare(plain[:, None], want[:, None], False)
        for ranks in RANKS:
            got, _ = self.predict(model, x, "large-offsets", ranks)
            error = compare(got, want[:, None], False)
            self.assertLessEqual(error, 1.5 * plain_error,
                                 f"plain float32 is within {plain_error:.2e}")

    # ---- refusals -----------------------------------------------------------------------------

    def check_rows(self, estimator, name, x, want, probabilities=True, tolerance=RELATIVE):
        """h5infer's predictions of `x` on 1 and 3 ranks against `want` (NaN where NaN)."""
        model = self.export(estimator, name)
        for ranks in RANKS:
            got, _ = self.predict(model, x, f"{name}-{ranks}", ranks)
            self.assertTrue(np.array_equal(np.isnan(got), np.isnan(want)), name)
            keep = ~np.isnan(want).any(axis=1)
            self.assertLessEqual(compare(got[keep], want[keep], probabilities), tolerance, name)

    def test_columns_far_outside_the_training_range_and_unknown_categories(self):
        # Numbers a thousand times the training range (bins: the first or last), categories
        # never seen (one-hot 'ignore': zeros; ordinal: unknown_value), and missing values.
        x, y = mixed(gaps=True)()
        far = x.copy()
        far[::2, [0, 1, 5]] *= 1000.0
        far[::3, 2] = 7.0
        far[1::4, 3] = 99.0
        pipeline = make_pipeline(mixed_imputed_encoded(), LogisticRegression(max_iter=1000))
        pipeline.fit(x, y)
        # Logits of thousands carry float32's absolute error of about 1e-7 x |logit|.
        self.check_rows(pipeline, "far-one-hot", far, pipeline.predict_proba(far), True, 1e-3)
        x, y = mixed()()
        far = x.copy()
        far[::2, [4, 5]] *= 1000.0
        far[1::2, [4, 5]] *= -1000.0
        far[::3, 2] = 7.0
        name, make_data, make_estimator = CASES["mixed_ordinal_bins_passthrough_ridge"]
        estimator = make_estimator().fit(x, y)
        self.check_rows(estimator, "far-bins", far, estimator.predict(far)[:, None], False)

    def test_unknown_category_that_scikit_learn_refuses_gives_a_nan_row(self):
        # handle_unknown='error': scikit-learn raises for the whole call; h5infer cannot stop
        # mid-run and gives that row NaN (counted as a NaN row), the other rows their values.
        x, y = mixed()()
        pipeline = make_pipeline(
            ColumnTransformer([("cat", OneHotEncoder(), [2])], remainder="passthrough"),
            LogisticRegression(max_iter=1000)).fit(x, y)
        unknown = x.copy()
        unknown[::5, 2] = 9.0
        want = pipeline.predict_proba(np.where(np.isnan(unknown), 0.0, x))
        want[::5] = np.nan
        with self.assertRaises(ValueError):
            pipeline.predict_proba(unknown)
        self.check_rows(pipeline, "unknown-error", unknown, want)

    def test_column_transformer_by_name_takes_the_columns_by_name(self):
        try:
            import pandas as pd
        except ImportError:
            self.skipTest("pandas is not installed (scripts/bootstrap.sh test installs it)")
        x, y = mixed()()
        names = [f"c{i}" for i in range(x.shape[1])]
        frame = pd.DataFrame(x, columns=names)
        pipeline = make_pipeline(ColumnTransformer([
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["c2", "c3"]),
            ("num", StandardScaler(), ["c0", "c5"])], remainder="drop"),
            LogisticRegression(max_iter=1000)).fit(frame, y)
        model = self.export(pipeline, "by-name")
        with h5py.File(model, "r") as f:
            self.assertEqual([str(n) for n in f.attrs["feature_names"]], names)
        order = names[::-1]
        data = self.path("by-name-data.h5")
        with h5py.File(data, "w") as f:
            f["x"] = frame[order].to_numpy()
            f["x"].attrs["columns"] = order
        want = pipeline.predict_proba(frame)
        for ranks in RANKS:
            output = self.path(f"by-name-{ranks}.h5")
            result = run_h5infer(model, data, output, ranks)
            self.assertEqual(result.returncode, 0, result.stderr)
            with h5py.File(output, "r") as f:
                self.assertLessEqual(compare(f["predictions"][()], want, True), RELATIVE)

    def test_column_transformers_unsupported_parts_are_refused_by_name(self):
        x, y = mixed(gaps=True)()
        clean, _ = mixed()()
        for estimator, text in [
                (OneHotEncoder().fit([["a"], ["b"]]), "OneHotEncoder with string categories"),
                (FunctionTransformer(np.square).fit(clean),
                 "FunctionTransformer with func=square is not supported"),
                (ColumnTransformer([("pca", PCA(2), [0, 1, 2])]).fit(clean),
                 "PCA inside a ColumnTransformer is not supported"),
                (OrdinalEncoder(encoded_missing_value=-2).fit(x[:, [3]]),
                 "OrdinalEncoder with encoded_missing_value=-2"),
                (PolynomialFeatures(4).fit(clean),
                 "PolynomialFeatures with degree=4 is not supported"),
                (OneHotEncoder(max_categories=2).fit(clean[:, [2]]),
                 "OneHotEncoder with infrequent categories"),
                (ColumnTransformer([("s", StandardScaler(), [0])],
                                   transformer_weights={"s": 2.0}).fit(clean),
                 "ColumnTransformer with transformer_weights")]:
            with self.assertRaises(self.exporter.ExportError) as raised:
                self.exporter.convert(estimator)
            self.assertIn(text, str(raised.exception))

    def refused(self, estimator, name, separate_process=False):
        """The exporter's error message; it must exit 1 and write nothing. Running it as its
        own process costs an import of scikit-learn (seconds): once is enough."""
        pickled = self.path(name + ".pkl")
        joblib.dump(estimator, pickled)
        model = self.path(name + ".h5")
        if separate_process:
            result = subprocess.run([sys.executable, EXPORTER, pickled, model],
                                    capture_output=True, text=True, timeout=120)
            code, message = result.returncode, result.stderr
        else:
            captured = io.StringIO()
            with contextlib.redirect_stderr(captured):
                code = self.exporter.main([pickled, model])
            message = captured.getvalue()
        self.assertEqual(code, 1, message)
        self.assertFalse(os.path.exists(model))
        self.assertEqual(os.listdir(self.directory.name).count(name + ".h5"), 0)
        return message

    def test_histogram_boosting_is_refused_with_the_supported_list(self):
        x, y = datasets.load_iris(return_X_y=True)
        boosting = HistGradientBoostingClassifier(max_iter=3).fit(x, y)
        message = self.refused(boosting, "hist", separate_process=True)
        self.assertIn("HistGradientBoostingClassifier is not supported", message)
        self.assertIn("supported: StandardScaler, MinMaxScaler", message)
        self.assertIn("MLPRegressor", message)
        self.assertIn("RandomForestClassifier", message)

    def test_other_tree_models_and_options_are_refused_by_name(self):
        x, y = datasets.load_iris(return_X_y=True)
        for estimator, text in [
                (HistGradientBoostingRegressor(max_iter=3).fit(x, y),
                 "HistGradientBoostingRegressor is not supported"),
                (IsolationForest(n_estimators=3, random_state=0).fit(x),
                 "IsolationForest is not supported"),
                (RandomForestClassifier(3, random_state=0).fit(x, np.column_stack([y, y])),
                 "RandomForestClassifier with several outputs is not supported"),
                (GradientBoostingRegressor(n_estimators=3, init=LinearRegression()).fit(x, y),
                 "GradientBoostingRegressor with init=LinearRegression is not supported"),
                (make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=2))
                 .fit(x, y), "HistGradientBoostingClassifier is not supported")]:
            with self.assertRaises(self.exporter.ExportError) as raised:
                self.exporter.convert(estimator)
            self.assertIn(text, str(raised.exception))

    def test_deep_tree_is_refused_by_name(self):
        x = np.arange(400, dtype=np.float64)[:, None]
        y = np.arange(400) % 2  # a chain: every split peels off one row
        estimator = DecisionTreeClassifier(splitter="best", random_state=0).fit(x ** 3, y)
        if estimator.tree_.max_depth <= self.exporter.MAX_TREE_DEPTH:
            self.skipTest(f"the tree is only {estimator.tree_.max_depth} deep")
        with self.assertRaises(self.exporter.ExportError) as raised:
            self.exporter.convert(estimator)
        self.assertIn("with a tree of depth", str(raised.exception))

    def test_forest_rows_with_nan_get_nan_and_no_class_and_are_counted(self):
        x, y = iris_names()
        estimator = RandomForestClassifier(15, random_state=0).fit(x, y)
        model = self.export(estimator, "forest-nan")
        spoiled = x.copy()
        spoiled[::5, 2] = np.nan
        bad = np.isnan(spoiled).any(axis=1)
        want = estimator.predict_proba(x)
        for ranks in RANKS:
            got, output = self.predict(model, spoiled, "forest-nan", ranks, ["--labels"])
            self.assertTrue(np.all(np.isnan(got[bad])))
            np.testing.assert_allclose(got[~bad], want[~bad], rtol=TREE_RELATIVE,
                                       atol=TREE_ABSOLUTE)
            with h5py.File(output, "r") as f:
                labels = [v.decode() for v in f["labels"][()]]
                self.assertEqual(int(f.attrs["nonfinite_input_rows"]), int(bad.sum()))
            self.assertTrue(all(labels[i] == "" for i in np.flatnonzero(bad)), labels[:10])
            self.assertEqual([labels[i] for i in np.flatnonzero(~bad)],
                             list(estimator.predict(x[~bad])))

    def test_unfitted_model_is_refused(self):
        message = self.refused(make_pipeline(StandardScaler(), LogisticRegression()), "unfitted")
        self.assertIn("StandardScaler is not fitted", message)

    def test_unknown_pipeline_step_is_refused(self):
        x, y = datasets.load_diabetes(return_X_y=True)
        pipeline = make_pipeline(SplineTransformer(), Ridge()).fit(x, y)
        message = self.refused(pipeline, "spline")
        self.assertIn("SplineTransformer is not supported", message)

    def test_unsupported_options_are_refused_by_name(self):
        x, y = datasets.load_iris(return_X_y=True)
        for estimator, text in [
                (SGDClassifier(loss="modified_huber").fit(x, y),
                 "SGDClassifier with loss='modified_huber' and more than two classes"),
                (TransformedTargetRegressor(Ridge(), func=np.sqrt, inverse_func=np.square)
                 .fit(x, y), "TransformedTargetRegressor with inverse_func=square"),
                (OneVsRestClassifier(LinearSVC()).fit(x, y),
                 "LinearSVC inside OneVsRestClassifier is not supported"),
                (GridSearchCV(Ridge(), {"alpha": [1.0]}, refit=False, cv=3).fit(x, y),
                 "GridSearchCV has no best_estimator_"),
                (MinMaxScaler(clip=True).fit(x), "MinMaxScaler with clip=True"),
                (Pipeline([("first", LogisticRegression(max_iter=500).fit(x, y)),
                           ("then", StandardScaler().fit(x))]),
                 "LogisticRegression is followed by StandardScaler")]:
            with self.assertRaises(self.exporter.ExportError) as raised:
                self.exporter.convert(estimator)
            self.assertIn(text, str(raised.exception))

    def test_existing_output_needs_overwrite(self):
        x, y = datasets.load_diabetes(return_X_y=True)
        pickled = self.path("linear.joblib")
        joblib.dump(LinearRegression().fit(x, y), pickled)
        model = self.path("linear-twice.h5")
        self.assertEqual(self.exporter.main([pickled, model]), 0)
        self.assertEqual(self.exporter.main([pickled, model]), 1)
        self.assertEqual(self.exporter.main([pickled, model, "--overwrite"]), 0)

    def test_output_that_is_the_input_is_refused_even_with_overwrite(self):
        x, y = datasets.load_diabetes(return_X_y=True)
        pickled = self.path("own.joblib")
        joblib.dump(LinearRegression().fit(x, y), pickled)
        with open(pickled, "rb") as f:
            original = f.read()
        os.symlink(pickled, self.path("own-symlink.h5"))
        os.link(pickled, self.path("own-hardlink.h5"))
        before = sorted(os.listdir(self.directory.name))
        for output in (pickled, self.path("own-symlink.h5"), self.path("own-hardlink.h5")):
            captured = io.StringIO()
            with contextlib.redirect_stderr(captured):
                code = self.exporter.main([pickled, output, "--overwrite"])
            self.assertEqual(code, 1, output)
            self.assertIn(f"output '{output}' is the input '{pickled}' itself", captured.getvalue())
            self.assertNotIn("warning: loading", captured.getvalue())  # refused before loading
            with open(pickled, "rb") as f:
                self.assertEqual(f.read(), original, output)
            self.assertTrue(os.path.islink(self.path("own-symlink.h5")))
            self.assertEqual(sorted(os.listdir(self.directory.name)), before)

    def test_warns_before_it_unpickles(self):
        # Unpickling this writes a line to stderr: the warning must come before it.
        pickled = self.path("speaks.pkl")
        with open(pickled, "wb") as f:
            pickle.dump(SpeaksWhenLoaded(), f)
        result = subprocess.run([sys.executable, EXPORTER, pickled, self.path("speaks.h5")],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 1, result.stderr)
        warning = result.stderr.find(f"warning: loading '{pickled}' runs code stored in it")
        self.assertGreaterEqual(warning, 0, result.stderr)
        self.assertIn("load only files you trust", result.stderr)
        self.assertLess(warning, result.stderr.find("code from the pickle ran"), result.stderr)

    def test_model_file_records_its_origin(self):
        x, y = datasets.load_iris(return_X_y=True)
        model = self.export(LogisticRegression(max_iter=500).fit(x, y), "origin")
        with h5py.File(model, "r") as f:
            self.assertIn(f"scikit-learn {sklearn.__version__}", f.attrs["producer"])
            self.assertIn("LogisticRegression(max_iter=500)", f.attrs["description"])
            self.assertEqual(list(f.attrs["labels"]), ["0", "1", "2"])

    def test_dataframe_pipeline_takes_its_columns_by_name(self):
        try:
            import pandas as pd  # noqa: F401 (DataFrame.to_hdf also needs python3-tables)
            import tables  # noqa: F401
        except ImportError as missing:
            self.skipTest(f"{missing.name} is not installed, so no model can be fitted on a "
                          "DataFrame (scripts/bootstrap.sh test installs python3-pandas and "
                          "python3-tables)")
        frame, y = datasets.load_iris(return_X_y=True, as_frame=True)
        names = [str(name) for name in frame.columns]
        pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(frame, y)
        model = self.export(pipeline, "dataframe")
        with h5py.File(model, "r") as f:
            self.assertEqual([str(name) for name in f.attrs["feature_names"]], names)
        want, _ = sklearn_output(pipeline, frame)
        # The same rows with the columns in another order, as each convention stores them.
        shuffled = frame[[names[2], names[0], names[3], names[1]]]
        matrix = self.path("dataframe-matrix.h5")
        with h5py.File(matrix, "w") as f:
            f["x"] = shuffled.to_numpy()
            f["x"].attrs["columns"] = list(shuffled.columns)
        fixed, table, pickled = (self.path(f"dataframe-{kind}.h5")
                                 for kind in ("fixed", "table", "pickled"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTables: names that are not Python identifiers
            shuffled.to_hdf(fixed, key="df", format="fixed")
            shuffled.to_hdf(table, key="df", format="table", data_columns=True)
            shuffled.to_hdf(pickled, key="df", format="table")
        def run(data, output, ranks):
            return subprocess.run(
                [OPTIONS.mpiexec, "-n", str(ranks), OPTIONS.h5infer, "run", "--model", model,
                 "--input", data, "--output", output, "--chunk-rows", "64", "--force"],
                capture_output=True, text=True, timeout=300)

        for data in (matrix + ":/x", fixed + ":/df", table + ":/df"):
            for ranks in RANKS:
                output = self.path(f"dataframe-out-{ranks}.h5")
                result = run(data, output, ranks)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("note:", result.stdout)
                with h5py.File(output, "r") as f:
                    self.assertLessEqual(compare(f["predictions"][()], want, True), RELATIVE,
                                         data)
        # A 'table' without data_columns keeps the names pickled: refused with the fix.
        output = self.path("dataframe-pickled-out.h5")
        result = run(pickled + ":/df", output, 3)
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn("data_columns=True", result.stderr)
        self.assertFalse(os.path.exists(output))

    def test_labels_flag_on_a_regressor_fails_cleanly(self):
        x, y = datasets.load_diabetes(return_X_y=True)
        model = self.export(LinearRegression().fit(x, y), "no-labels")
        data = self.path("no-labels-data.h5")
        with h5py.File(data, "w") as f:
            f["x"] = x
        output = self.path("no-labels-out.h5")
        result = run_h5infer(model, data, output, 3, ["--labels"])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("has no class labels", result.stderr)
        self.assertFalse(os.path.exists(output))


def add_case_tests():
    for name in CASES:
        setattr(ExportTest, "test_" + name, lambda self, name=name: self.check_case(name))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--h5infer", required=True, help="the h5infer binary")
    parser.add_argument("--mpiexec", default="mpiexec", help="the MPI launcher")
    options, rest = parser.parse_known_args()
    OPTIONS.h5infer, OPTIONS.mpiexec = options.h5infer, options.mpiexec
    add_case_tests()
    program = unittest.main(argv=[sys.argv[0], *rest], exit=False, verbosity=2)
    print("largest relative error vs scikit-learn by family: " + ", ".join(
        f"{family} {error:.2e}" for family, error in sorted(ERRORS.items())), file=sys.stderr)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
