"""The math is written once: only backend/ and the training loops (train/loops.py,
train/jax_loop.py) may name an array library."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "arraynet"
ARRAY_LIBRARIES = {"numpy", "cupy", "jax", "jaxlib", "torch", "array_api_strict"}
MATH_MODULES = [  # a folder ("activations/") stands for every module in it
    "activations/",
    "losses/",
    "optimizers/",
    "network/graph.py",
    "network/network.py",
    "ops/",
    "train/step.py",
    "metrics/",
    "regularizers.py",
    "precision.py",
    "layers/base.py",
    "layers/dense.py",
    "layers/reshape.py",
    "layers/rnn.py",  # their loop over time is backend.scan, the one hook they import
    "layers/recurrent.py",
    "layers/embedding.py",
    "layers/wrappers.py",
    "layers/conv.py",
    "layers/pooling.py",
    "layers/normalization.py",
    "layers/merge.py",
    "layers/activation.py",
    "layers/input.py",
    "layers/resampling.py",
    "layers/rnn_masks.py",
    "layers/conv_transpose.py",
    "layers/masking.py",
    "layers/attention.py",
    "layers/depthwise.py",
    "layers/group_norm.py",
    "layers/masked_steps.py",
    "network/masks.py",
    "network/functional.py",
    "train/batches.py",
]


def imported_modules(path: Path) -> set[str]:
    return imported_modules_of(ast.parse(path.read_text()))


def imported_modules_of(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _math_files() -> list[str]:
    files = []
    for entry in MATH_MODULES:
        if entry.endswith("/"):
            found = sorted((PACKAGE / entry).rglob("*.py"))
            assert found, f"{entry}: no modules"
            files += [str(path.relative_to(PACKAGE)) for path in found]
        else:
            files.append(entry)
    return files


@pytest.mark.parametrize("module", _math_files())
def test_math_imports_no_array_library(module):
    assert imported_modules(PACKAGE / module) & ARRAY_LIBRARIES == set()


@pytest.mark.parametrize("module", ["loops.py", "jax_loop.py"])
def test_training_names_jax_only_in_the_jax_loop(module):
    tree = ast.parse((PACKAGE / "train" / module).read_text())
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert functions, module
    for name, function in functions.items():
        libraries = imported_modules_of(function) & ARRAY_LIBRARIES
        assert libraries == ({"jax"} if name == "jax_epochs" else set()), name


def test_the_checker_catches_a_library_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np\nfrom torch import nn\n")
    assert imported_modules(bad) == {"numpy", "torch"}
