#!/usr/bin/python3
"""Regenerates the ONNX test fixtures in this directory (tests/data/onnx).

Run from anywhere:  /usr/bin/python3 tests/data/onnx/make_fixtures.py

Needs Debian's python3-torch (1.13), python3-onnx (1.12), python3-h5py and python3-numpy. They
are needed only to regenerate the fixtures: the tests read the committed files and never run
Python. Seeds are fixed, so a rerun with the same packages gives the same numbers.

Writes:
  <case>.onnx    small models: PyTorch MLPs exported with torch.onnx.export (opset 17), and
                 graphs built with onnx.helper for what PyTorch does not emit (Gemm with
                 transA/alpha/beta, DOUBLE weights, the Gelu op, a real Dropout node, ...)
  cases.h5       per case a group /<case> with `input` (float32, rows x features, as h5infer
                 reads it), `expected` (float64: PyTorch in double precision, or NumPy for the
                 onnx.helper graphs) and the attribute `model` (the .onnx file name)
  bad_*.onnx     files h5infer must refuse, each with its own error (see BAD_FILES below)
"""

import math
import os
import tempfile

import h5py
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = 37  # odd, so 3 ranks and small chunks get uneven shares
OPSET = 17
FEATURES = 6

# file -> what h5infer must say about it (tests/e2e/onnx_test.cpp checks these words)
BAD_FILES = {
    "bad_truncated.onnx": "truncated",
    "bad_not_onnx.onnx": "neither an h5infer model",
    "bad_two_inputs.onnx": "2 graph inputs",
    "bad_missing_external.onnx": "missing",
    "bad_conv.onnx": "Conv",
    "bad_silu.onnx": "by Sub, not Mul",
    "bad_hardswish.onnx": "alpha 0.2 and beta 0.5",
    "bad_layernorm.onnx": "not the square",
    "bad_nan_fill.onnx": "does not take c where x is NaN",
    "bad_gelu_tanh.onnx": "does not multiply x^3 by 0.044715",
}


def path(name):
    return os.path.join(HERE, name)


def rng_input(seed, shape):
    return np.random.default_rng(seed).normal(scale=1.5, size=shape).astype(np.float32)


def export(module, name, example, dynamic=True, opset=OPSET):
    """Exports at `opset`, or at torch.onnx.export's default opset when it is None."""
    module.eval()
    axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None
    options = {} if opset is None else {"opset_version": opset}
    torch.onnx.export(module, example, path(name), input_names=["x"], output_names=["y"],
                      dynamic_axes=axes, **options)


def far_out(x):
    """The first rows scaled by 1e4, far outside the training range (saturating activations)."""
    x = x.copy()
    x[:4] *= 1e4
    return x


def torch_expected(module, x):
    copy = module.double().eval()
    with torch.no_grad():
        out = copy(torch.from_numpy(x.astype(np.float64)))
    module.float()
    return out.numpy().reshape(x.shape[0], -1)


def mlp(*layers):
    return torch.nn.Sequential(*layers)


def randomize_norm(module, generator):
    """Random affine parameters and running statistics, so folding them is really tested."""
    with torch.no_grad():
        module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
        module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.5)
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator))
            module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.2)


class Scaler(torch.nn.Module):
    """Standardizes with Sub and Div by vectors, then rescales with Mul and Add by scalars."""

    def __init__(self, generator):
        super().__init__()
        self.register_buffer("mean", torch.randn(FEATURES, generator=generator))
        self.register_buffer("std", torch.rand(FEATURES, generator=generator) + 0.5)
        self.body = mlp(torch.nn.Linear(FEATURES, 12), torch.nn.ReLU(), torch.nn.Linear(12, 3))

    def forward(self, x):
        return self.body((x - self.mean) / self.std) * 2.5 + 1.0


class MatMulAdd(torch.nn.Module):
    """x @ W + b (MatMul + Add), then x @ W2 (MatMul without bias)."""

    def __init__(self, generator):
        super().__init__()
        self.w1 = torch.nn.Parameter(torch.randn(FEATURES, 10, generator=generator) * 0.4)
        self.b1 = torch.nn.Parameter(torch.randn(10, generator=generator) * 0.4)
        self.w2 = torch.nn.Parameter(torch.randn(10, 4, generator=generator) * 0.4)

    def forward(self, x):
        return torch.relu(x @ self.w1 + self.b1) @ self.w2


class FlattenReshape(torch.nn.Module):
    """A [batch, 2, 3] input through Flatten, then a Reshape to [-1, 8]."""

    def __init__(self):
        super().__init__()
        self.flatten = torch.nn.Flatten()
        self.first = torch.nn.Linear(6, 8)
        self.second = torch.nn.Linear(8, 3)

    def forward(self, x):
        return self.second(torch.relu(self.first(self.flatten(x))).reshape(-1, 8))


def torch_cases():
    """name -> (module, input width, extra export options)."""
    generator = torch.Generator().manual_seed(7)
    torch.manual_seed(7)

    def head(activation, hidden=16):
        return mlp(torch.nn.Linear(FEATURES, hidden), activation, torch.nn.Linear(hidden, 3))

    batchnorm = mlp(torch.nn.Linear(FEATURES, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                    torch.nn.Linear(16, 3))
    randomize_norm(batchnorm[1], generator)
    layernorm = mlp(torch.nn.Linear(FEATURES, 16), torch.nn.LayerNorm(16), torch.nn.Tanh(),
                    torch.nn.Linear(16, 3))
    randomize_norm(layernorm[1], generator)
    deep = []
    for _ in range(12):
        deep += [torch.nn.Linear(4, 4), torch.nn.Tanh()]
    return {
        "relu": head(torch.nn.ReLU()),
        "leaky_relu": head(torch.nn.LeakyReLU(0.2)),
        "elu": head(torch.nn.ELU(0.7)),
        "selu": head(torch.nn.SELU()),
        "sigmoid": head(torch.nn.Sigmoid()),
        "tanh": head(torch.nn.Tanh()),
        "hardsigmoid": head(torch.nn.Hardsigmoid()),
        "hardswish": head(torch.nn.Hardswish()),
        "softplus": head(torch.nn.Softplus()),
        "softplus_beta": head(torch.nn.Softplus(beta=2.0)),
        "relu6": head(torch.nn.ReLU6()),
        "hardtanh": head(torch.nn.Hardtanh(-0.5, 0.75)),
        "gelu": head(torch.nn.GELU()),
        "softmax": mlp(torch.nn.Linear(FEATURES, 16), torch.nn.ReLU(), torch.nn.Linear(16, 5),
                       torch.nn.Softmax(dim=1)),
        "log_softmax": mlp(torch.nn.Linear(FEATURES, 16), torch.nn.Tanh(),
                           torch.nn.Linear(16, 5), torch.nn.LogSoftmax(dim=1)),
        "batchnorm": batchnorm,
        "layernorm": layernorm,
        "dropout": mlp(torch.nn.Linear(FEATURES, 16), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                       torch.nn.Linear(16, 3)),
        "deep_narrow": mlp(torch.nn.Linear(FEATURES, 4), torch.nn.Tanh(), *deep,
                           torch.nn.Linear(4, 2)),
        "wide": mlp(torch.nn.Linear(FEATURES, 512), torch.nn.ReLU(), torch.nn.Linear(512, 4)),
        "scaler": Scaler(generator),
        "matmul_add": MatMulAdd(generator),
    }


def write_case(cases, name, x, expected, model=None):
    group = cases.create_group(name)
    group.attrs["model"] = model or name + ".onnx"
    group.create_dataset("input", data=x.reshape(x.shape[0], -1).astype(np.float32))
    group.create_dataset("expected", data=np.asarray(expected, dtype=np.float64))


def make_torch_fixtures(cases):
    for seed, (name, module) in enumerate(torch_cases().items()):
        x = rng_input(seed, (ROWS, FEATURES))
        export(module, name + ".onnx", torch.from_numpy(x[:2]))
        write_case(cases, name, x, torch_expected(module, x))

    torch.manual_seed(11)
    module = FlattenReshape()
    x = rng_input(100, (ROWS, 2, 3))
    export(module, "flatten_reshape.onnx", torch.from_numpy(x[:2]))
    write_case(cases, "flatten_reshape", x, torch_expected(module, x))

    # A common export: the example had one row and no dynamic axes, so the graph says batch 1.
    module = mlp(torch.nn.Linear(FEATURES, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    x = rng_input(101, (ROWS, FEATURES))
    export(module, "fixed_batch1.onnx", torch.from_numpy(x[:1]), dynamic=False)
    write_case(cases, "fixed_batch1", x, torch_expected(module, x))

    # Weights in an external data file next to the model.
    module = mlp(torch.nn.Linear(FEATURES, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x = rng_input(102, (ROWS, FEATURES))
    with tempfile.TemporaryDirectory() as scratch:
        inline = os.path.join(scratch, "inline.onnx")
        module.eval()
        torch.onnx.export(module, torch.from_numpy(x[:2]), inline, opset_version=OPSET,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
        proto = onnx.load(inline)
    onnx.save_model(proto, path("external_data.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external_data.onnx.data",
                    size_threshold=0)
    write_case(cases, "external_data", x, torch_expected(module, x))

    # Decompositions: SiLU at opset 17, Hardswish at opset 13 (x * HardSigmoid(x)) and LayerNorm
    # at torch.onnx.export's default opset (14 in torch 1.13: ReduceMean, Sub, Pow, ... Div),
    # GELU's tanh approximation at opset 17 (Mul, Mul, Mul, Add, Mul, Tanh, Add, Mul, Mul) and
    # Mish at opset 17 (Softplus, Tanh, Mul).
    generator = torch.Generator().manual_seed(17)
    torch.manual_seed(17)
    layernorm = mlp(torch.nn.Linear(FEATURES, 16), torch.nn.LayerNorm(16), torch.nn.Tanh(),
                    torch.nn.Linear(16, 3))
    randomize_norm(layernorm[1], generator)
    decompositions = [
        ("silu", mlp(torch.nn.Linear(FEATURES, 16), torch.nn.SiLU(), torch.nn.Linear(16, 3)), OPSET),
        ("hardswish13", mlp(torch.nn.Linear(FEATURES, 16), torch.nn.Hardswish(),
                            torch.nn.Linear(16, 3)), 13),
        ("layernorm_default", layernorm, None),
        ("gelu_tanh", mlp(torch.nn.Linear(FEATURES, 16), torch.nn.GELU(approximate="tanh"),
                          torch.nn.Linear(16, 3)), OPSET),
        ("mish", mlp(torch.nn.Linear(FEATURES, 16), torch.nn.Mish(), torch.nn.Linear(16, 3)), OPSET),
    ]
    for seed, (name, module, opset) in enumerate(decompositions, start=103):
        x = far_out(rng_input(seed, (ROWS, FEATURES)))
        export(module, name + ".onnx", torch.from_numpy(x[4:6]), opset=opset)
        write_case(cases, name, x, torch_expected(module, x))


# ---- graphs built with onnx.helper ------------------------------------------------------------

def float_tensor(name, array, raw=True, dtype=TensorProto.FLOAT):
    array = np.asarray(array)
    if raw:
        kind = np.float32 if dtype == TensorProto.FLOAT else np.float64
        return numpy_helper.from_array(array.astype(kind), name)
    return helper.make_tensor(name, dtype, list(array.shape), array.flatten().tolist())


def save_graph(name, nodes, inputs, initializers, width_out, opset=OPSET,
               elem_type=TensorProto.FLOAT, output_dims=None):
    graph = helper.make_graph(
        nodes, name, inputs,
        [helper.make_tensor_value_info("y", elem_type, output_dims or ["batch", width_out])],
        initializers)
    model = helper.make_model(graph, producer_name="h5infer make_fixtures.py",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save_model(model, path(name + ".onnx"))


def x_input(width, elem_type=TensorProto.FLOAT, dims=None):
    return helper.make_tensor_value_info("x", elem_type, dims or ["batch", width])


def gelu_erf(v):
    return 0.5 * v * (1.0 + np.vectorize(math.erf)(v / math.sqrt(2.0)))


def gelu_tanh(v):
    return 0.5 * v * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))


def make_helper_fixtures(cases):
    rng = np.random.default_rng(2024)
    k, n = FEATURES, 4

    def weights(*shape):
        return (rng.normal(size=shape) * 0.5).astype(np.float32)

    # Gemm, alpha 0.5, beta 2, B not transposed, C [N] stored in float_data (not raw_data).
    b, c = weights(k, n), weights(n)
    x = rng_input(200, (ROWS, k))
    save_graph("gemm_alpha_beta",
               [helper.make_node("Gemm", ["x", "B", "C"], ["y"], name="gemm", alpha=0.5, beta=2.0)],
               [x_input(k)], [float_tensor("B", b, raw=False), float_tensor("C", c, raw=False)], n)
    write_case(cases, "gemm_alpha_beta", x, 0.5 * x.astype(np.float64) @ b + 2.0 * c)

    # Gemm with transA on an input declared [features, batch], transB, and a scalar C.
    b, c = weights(n, k), np.float32(0.25)
    x = rng_input(201, (ROWS, k))
    save_graph("gemm_trans_a",
               [helper.make_node("Gemm", ["x", "B", "C"], ["y"], name="gemm", alpha=1.5,
                                 transA=1, transB=1)],
               [x_input(k, dims=[k, "batch"])], [float_tensor("B", b), float_tensor("C", c)], n)
    write_case(cases, "gemm_trans_a", x, 1.5 * x.astype(np.float64) @ b.T.astype(np.float64) + c)

    # DOUBLE input and weights (converted to float32), C shaped [1, N], then Relu.
    b, c = rng.normal(size=(n, k)) * 0.5, rng.normal(size=(1, n))
    x = rng_input(202, (ROWS, k))
    save_graph("gemm_double",
               [helper.make_node("Gemm", ["x", "B", "C"], ["h"], name="gemm", transB=1),
                helper.make_node("Relu", ["h"], ["y"], name="relu")],
               [x_input(k, TensorProto.DOUBLE)],
               [float_tensor("B", b, dtype=TensorProto.DOUBLE),
                float_tensor("C", c, dtype=TensorProto.DOUBLE)], n, elem_type=TensorProto.DOUBLE)
    b32, c32 = b.astype(np.float32).astype(np.float64), c.astype(np.float32).astype(np.float64)
    write_case(cases, "gemm_double", x, np.maximum(x.astype(np.float64) @ b32.T + c32, 0.0))

    # The Gelu operator (opset 20), exact and tanh forms, between two Gemms.
    for name, approximate, function in [("gelu_op", "none", gelu_erf),
                                        ("gelu_tanh_op", "tanh", gelu_tanh)]:
        b1, b2 = weights(k, 8), weights(8, 3)
        x = rng_input(203, (ROWS, k))
        save_graph(name,
                   [helper.make_node("Gemm", ["x", "B1"], ["h"], name="fc1"),
                    helper.make_node("Gelu", ["h"], ["g"], name="gelu", approximate=approximate),
                    helper.make_node("Gemm", ["g", "B2"], ["y"], name="fc2")],
                   [x_input(k)], [float_tensor("B1", b1), float_tensor("B2", b2)], 3, opset=20)
        h = x.astype(np.float64) @ b1
        write_case(cases, name, x, function(h) @ b2)

    # A real Dropout node (ratio and training_mode as constant inputs, mask unused), a weight
    # from a Constant node through an Identity, and Clip with opset-6 min/max attributes.
    b1, b2 = weights(k, 8), weights(8, 3)
    x = rng_input(204, (ROWS, k))
    save_graph("dropout_constant_clip6",
               [helper.make_node("Constant", [], ["B1c"], name="weight",
                                 value=float_tensor("B1c", b1)),
                helper.make_node("Identity", ["B1c"], ["B1"], name="alias"),
                helper.make_node("MatMul", ["x", "B1"], ["h"], name="fc1"),
                helper.make_node("Clip", ["h"], ["c"], name="clip", min=-0.3, max=0.6),
                helper.make_node("Dropout", ["c"], ["d"], name="dropout", ratio=0.5),
                helper.make_node("MatMul", ["d", "B2"], ["y"], name="fc2")],
               [x_input(k)], [float_tensor("B2", b2)], 3, opset=6)
    h = np.clip(x.astype(np.float64) @ b1, -0.3, 0.6)
    write_case(cases, "dropout_constant_clip6", x, h @ b2)

    b1, b2 = weights(k, 8), weights(8, 3)
    x = rng_input(205, (ROWS, k))
    save_graph("dropout_inputs",
               [helper.make_node("Gemm", ["x", "B1"], ["h"], name="fc1"),
                helper.make_node("Dropout", ["h", "ratio", "training"], ["d", "mask"],
                                 name="dropout"),
                helper.make_node("Sigmoid", ["d"], ["s"], name="sigmoid"),
                helper.make_node("Gemm", ["s", "B2"], ["y"], name="fc2")],
               [x_input(k)],
               [float_tensor("B1", b1), float_tensor("B2", b2),
                float_tensor("ratio", np.float32(0.5)),
                numpy_helper.from_array(np.array(False), "training")], 3)
    write_case(cases, "dropout_inputs", x, (1.0 / (1.0 + np.exp(-(x.astype(np.float64) @ b1)))) @ b2)


def hard_swish(v):
    return v * np.clip(v + 3.0, 0.0, 6.0) / 6.0


def make_decomposition_fixtures(cases):
    """Hardswish as older exporters wrote it: x * Clip(x + 3, 0, 6) / 6, between two Gemms."""
    rng = np.random.default_rng(2025)
    b1 = (rng.normal(size=(FEATURES, 8)) * 0.5).astype(np.float32)
    b2 = (rng.normal(size=(8, 3)) * 0.5).astype(np.float32)
    x = far_out(rng_input(206, (ROWS, FEATURES)))
    save_graph("hardswish_chain",
               [helper.make_node("Gemm", ["x", "B1"], ["h"], name="fc1"),
                helper.make_node("Add", ["h", "three"], ["a"], name="add"),
                helper.make_node("Clip", ["a", "zero", "six"], ["c"], name="clip"),
                helper.make_node("Div", ["c", "six"], ["d"], name="div"),
                helper.make_node("Mul", ["h", "d"], ["g"], name="mul"),
                helper.make_node("Gemm", ["g", "B2"], ["y"], name="fc2")],
               [x_input(FEATURES)],
               [float_tensor("B1", b1), float_tensor("B2", b2), float_tensor("three", np.float32(3)),
                float_tensor("zero", np.float32(0)), float_tensor("six", np.float32(6))], 3)
    write_case(cases, "hardswish_chain", x, hard_swish(x.astype(np.float64) @ b1) @ b2)

    # torch.where(x.isnan(), c, x) with c per feature, then Neg: NaN inputs give numbers.
    fill = rng.normal(size=FEATURES).astype(np.float32)
    b1 = (rng.normal(size=(FEATURES, 8)) * 0.5).astype(np.float32)
    b2 = (rng.normal(size=(8, 3)) * 0.5).astype(np.float32)
    x = far_out(rng_input(207, (ROWS, FEATURES)))
    x[4::3, 1] = np.nan
    x[5::5, :] = np.nan
    save_graph("nan_fill_neg",
               [helper.make_node("IsNaN", ["x"], ["n"], name="isnan"),
                helper.make_node("Where", ["n", "fill", "x"], ["f"], name="where"),
                helper.make_node("Neg", ["f"], ["g"], name="neg"),
                helper.make_node("Gemm", ["g", "B1"], ["h"], name="fc1"),
                helper.make_node("Tanh", ["h"], ["t"], name="tanh"),
                helper.make_node("Gemm", ["t", "B2"], ["y"], name="fc2")],
               [x_input(FEATURES)],
               [float_tensor("fill", fill), float_tensor("B1", b1), float_tensor("B2", b2)], 3)
    filled = np.where(np.isnan(x), fill, x).astype(np.float64)
    write_case(cases, "nan_fill_neg", x, np.tanh(-filled @ b1) @ b2)


def make_near_misses():
    """A decomposition with one node or constant changed: refused naming that node."""
    b = (np.random.default_rng(2026).normal(size=(FEATURES, 4)) * 0.5).astype(np.float32)
    gemm = helper.make_node("Gemm", ["x", "B"], ["h"], name="fc")
    save_graph("bad_silu",  # x - Sigmoid(x)
               [gemm, helper.make_node("Sigmoid", ["h"], ["s"], name="sigmoid"),
                helper.make_node("Sub", ["h", "s"], ["y"], name="join")],
               [x_input(FEATURES)], [float_tensor("B", b)], 4)
    save_graph("bad_hardswish",  # x * HardSigmoid(x) with ONNX's default alpha 0.2, not 1/6
               [gemm, helper.make_node("HardSigmoid", ["h"], ["s"], name="hard_sigmoid"),
                helper.make_node("Mul", ["h", "s"], ["y"], name="join")],
               [x_input(FEATURES)], [float_tensor("B", b)], 4, opset=13)
    save_graph("bad_layernorm",  # the cube of x - mean
               [gemm, helper.make_node("ReduceMean", ["h"], ["m"], name="mean", axes=[-1]),
                helper.make_node("Sub", ["h", "m"], ["c"], name="sub"),
                helper.make_node("Pow", ["c", "three"], ["p"], name="pow"),
                helper.make_node("ReduceMean", ["p"], ["v"], name="variance", axes=[-1]),
                helper.make_node("Add", ["v", "eps"], ["e"], name="add"),
                helper.make_node("Sqrt", ["e"], ["r"], name="sqrt"),
                helper.make_node("Div", ["c", "r"], ["y"], name="div")],
               [x_input(FEATURES)],
               [float_tensor("B", b), float_tensor("three", np.float32(3)),
                float_tensor("eps", np.float32(1e-5))], 4, opset=14)
    save_graph("bad_gelu_tanh",  # 0.04 instead of 0.044715
               [gemm, helper.make_node("Mul", ["h", "h"], ["sq"], name="square"),
                helper.make_node("Mul", ["h", "sq"], ["cube"], name="cube"),
                helper.make_node("Mul", ["cube", "factor"], ["s"], name="scale"),
                helper.make_node("Add", ["h", "s"], ["i"], name="inner"),
                helper.make_node("Mul", ["i", "root"], ["a"], name="angle"),
                helper.make_node("Tanh", ["a"], ["t"], name="tanh"),
                helper.make_node("Add", ["t", "one"], ["p"], name="plus"),
                helper.make_node("Mul", ["h", "p"], ["m"], name="join"),
                helper.make_node("Mul", ["m", "half"], ["y"], name="half")],
               [x_input(FEATURES)],
               [float_tensor("B", b), float_tensor("factor", np.float32(0.04)),
                float_tensor("root", np.float32(math.sqrt(2 / math.pi))),
                float_tensor("one", np.float32(1)), float_tensor("half", np.float32(0.5))], 4)
    save_graph("bad_nan_fill",  # x where x is NaN, c elsewhere
               [gemm, helper.make_node("IsNaN", ["h"], ["n"], name="isnan"),
                helper.make_node("Where", ["n", "h", "c"], ["y"], name="where")],
               [x_input(FEATURES)], [float_tensor("B", b), float_tensor("c", np.float32(0))], 4)


def make_bad_files():
    with open(path("relu.onnx"), "rb") as source:
        good = source.read()
    with open(path("bad_truncated.onnx"), "wb") as out:
        out.write(good[: len(good) * 3 // 5])
    with open(path("bad_not_onnx.onnx"), "w") as out:
        out.write("this is a text file, not an ONNX model\n")

    save_graph("bad_two_inputs",
               [helper.make_node("Add", ["x", "z"], ["y"], name="add")],
               [x_input(4), helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 4])],
               [], 4)

    proto = onnx.load(path("relu.onnx"))
    with tempfile.TemporaryDirectory() as scratch:
        onnx.save_model(proto, os.path.join(scratch, "bad_missing_external.onnx"),
                        save_as_external_data=True, all_tensors_to_one_file=True,
                        location="bad_missing_external.onnx.data", size_threshold=0)
        with open(os.path.join(scratch, "bad_missing_external.onnx"), "rb") as source:
            data = source.read()
    with open(path("bad_missing_external.onnx"), "wb") as out:  # without its .data file
        out.write(data)

    torch.manual_seed(3)
    conv = mlp(torch.nn.Conv1d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 2))
    export(conv, "bad_conv.onnx", torch.randn(2, 1, 6))

    make_near_misses()


def main():
    torch.set_grad_enabled(False)
    for name in os.listdir(HERE):
        if name.endswith((".onnx", ".onnx.data")) or name == "cases.h5":
            os.remove(path(name))
    with h5py.File(path("cases.h5"), "w") as cases:
        cases.attrs["generator"] = "tests/data/onnx/make_fixtures.py"
        cases.attrs["torch_version"] = str(torch.__version__)
        cases.attrs["onnx_version"] = onnx.__version__
        make_torch_fixtures(cases)
        make_helper_fixtures(cases)
        make_decomposition_fixtures(cases)
    make_bad_files()
    for name in sorted(BAD_FILES):
        assert os.path.exists(path(name)), name
    total = sum(os.path.getsize(path(name)) for name in os.listdir(HERE))
    print(f"wrote {len(os.listdir(HERE))} files, {total} bytes, in {HERE}")


if __name__ == "__main__":
    main()
