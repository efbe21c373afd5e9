"""Smoke tests of examples/sklearn_digits_grid.py: the grid search over hidden width and
learning rate (two worker processes) and the same pipeline on torch tensors under array-API
dispatch reach the accuracy bounds on the held-out digits (the full run: 0.98 both)."""

import importlib.util
import os
import subprocess
import sys

import pytest
from examples_loader import EXAMPLES, load_example

pytest.importorskip("sklearn", minversion="1.6")


def test_grid_search_in_two_processes_finds_a_good_network(monkeypatch):
    monkeypatch.delenv("SCIPY_ARRAY_API", raising=False)  # the example sets it; put back after
    example = load_example("sklearn_digits_grid")
    grid = {
        "sklearnclassifier__model__hidden": [4, 32],
        "sklearnclassifier__model__learning_rate": [1e-2],
    }
    search, accuracy = example.grid_search(epochs=8, jobs=2, grid=grid)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_["sklearnclassifier__model__hidden"] == 32
    assert scores[1] > scores[0] and scores[1] > 0.9
    assert accuracy > 0.93


def test_the_pipeline_on_torch_tensors_trains_on_torch():
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import sklearn_digits_grid as ex; "
        "params = {'sklearnclassifier__model__hidden': 32, "
        "'sklearnclassifier__model__learning_rate': 0.01}; "
        "print(*ex.fit_on_torch(params, epochs=8))"
    )
    env = {k: v for k, v in os.environ.items() if k != "SCIPY_ARRAY_API"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLES)], capture_output=True, text=True, env=env,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    accuracy, library, trained_on = done.stdout.split()
    assert library == trained_on == "torch"
    assert float(accuracy) > 0.93
