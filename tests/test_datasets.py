"""Datasets: shapes, dtypes, seeding, balanced labels, argument checks; the digits example."""

import sys

import numpy as np
import pytest
from examples_loader import load_example

import arraynet as an
from arraynet import datasets

GENERATORS = {
    "xor": lambda seed: datasets.xor(seed=seed, noise=0.1),
    "spirals": lambda seed: datasets.spirals(seed=seed),
    "synthetic": lambda seed: datasets.synthetic(n=1000, seed=seed),
}


def test_streetlights_are_the_books():
    X, y = datasets.streetlights()
    assert X.shape == (6, 3) and X.dtype == np.float64
    assert y.tolist() == [0, 1, 0, 1, 1, 0] and y.dtype == np.int64
    assert X[:, 1].tolist() == y.tolist()  # the middle light decides


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: datasets.xor(), (200, 2)),
        (lambda: datasets.xor(n=10), (10, 2)),
        (lambda: datasets.spirals(), (400, 2)),
        (lambda: datasets.spirals(n=51, turns=2.5), (51, 2)),
        (lambda: datasets.synthetic(), (10_000, 20)),
        (lambda: datasets.synthetic(n=300, features=7, classes=3, informative=7), (300, 7)),
    ],
)
def test_shapes_dtypes_and_balanced_labels(make, shape):
    X, y = make()
    assert X.shape == shape and X.dtype == np.float64 and np.all(np.isfinite(X))
    assert y.shape == (shape[0],) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", GENERATORS)
def test_one_seed_one_dataset(name):
    X1, y1 = GENERATORS[name](3)
    X2, y2 = GENERATORS[name](3)
    X3, _ = GENERATORS[name](4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_xor_without_noise_is_the_truth_table():
    X, y = datasets.xor(n=8)
    assert set(map(tuple, X.tolist())) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert np.array_equal(y, np.logical_xor(X[:, 0], X[:, 1]))


def test_spirals_fit_in_the_unit_disc_without_noise():
    X, y = datasets.spirals(noise=0.0)
    assert np.linalg.norm(X, axis=1).max() <= 1 + 1e-12
    assert np.array_equal(np.unique(y), [0, 1])


def test_synthetic_classes_are_separable_in_the_informative_features():
    X, y = datasets.synthetic(n=2000, features=10, informative=3)
    means = np.array([X[y == c].mean(axis=0) for c in (0, 1)])
    assert np.abs(means[:, 3:]).max() < 0.15  # noise features centred on 0
    assert np.abs(means[0, :3] - means[1, :3]).max() > 0.5


def test_train_test_split_is_a_seeded_partition():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.25, seed=1)
    assert X_train.shape == (7, 2) and X_test.shape == (3, 2)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    np.testing.assert_array_equal(X_test[:, 0] / 2, y_test)  # rows stay paired
    again = datasets.train_test_split(X, y, test_size=0.25, seed=1)
    np.testing.assert_array_equal(again[3], y_test)
    assert datasets.train_test_split(X, y, test_size=4)[1].shape == (4, 2)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda: datasets.xor(n=2), ValueError, "n:"),
        (lambda: datasets.xor(n=10.5), TypeError, "n:"),
        (lambda: datasets.xor(noise=-1), ValueError, "noise:"),
        (lambda: datasets.xor(seed=-1), ValueError, "seed:"),
        (lambda: datasets.spirals(turns=0), ValueError, "turns:"),
        (lambda: datasets.spirals(turns="2"), TypeError, "turns:"),
        (lambda: datasets.spirals(noise="x"), TypeError, "noise:"),
        (lambda: datasets.synthetic(classes=1), ValueError, "classes:"),
        (lambda: datasets.synthetic(features=4, informative=5), ValueError, "informative:"),
        (lambda: datasets.synthetic(n=2, classes=3), ValueError, "n:"),
        (lambda: datasets.train_test_split([[1], [2]], [1, 2], 0.0), ValueError, "test_size:"),
        (lambda: datasets.train_test_split([[1], [2]], [1, 2], 2), ValueError, "test_size:"),
        (lambda: datasets.train_test_split([[1], [2]], [1, 2], "a"), TypeError, "test_size:"),
        (lambda: datasets.train_test_split([[1], [2]], [1, 2, 3]), ValueError, "y:"),
    ],
)
def test_arguments_are_checked(call, error, argument):
    with pytest.raises(error, match=argument + " expected"):
        call()


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install arraynet\[digits\]"):
        datasets.digits()


def test_digits_are_scaled_8x8_images():
    pytest.importorskip("sklearn")
    X, y = datasets.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(np.unique(y).tolist()) == list(range(10))


def test_the_digits_example_reaches_97_percent(backend, capsys):
    pytest.importorskip("sklearn")
    if backend != "numpy":
        pytest.skip("the digits example is timed on numpy only")
    digits = load_example("digits")
    accuracy = digits.main(["--backend", "numpy"])
    assert accuracy >= 0.97
    assert "test accuracy" in capsys.readouterr().out
    with an.use("numpy", dtype="float64"):
        _, _, accuracy64 = digits.run(epochs=30)
    assert accuracy64 >= 0.97


def test_the_digits_cnn_example_reaches_98_5_percent(backend, capsys):
    pytest.importorskip("sklearn")
    if backend != "numpy":
        pytest.skip("the digits CNN example is timed on numpy only")
    accuracy = load_example("digits_cnn").main(["--backend", "numpy"])
    assert accuracy >= 0.985  # the MLP of examples/digits.py: about 0.97
    assert "test accuracy" in capsys.readouterr().out
