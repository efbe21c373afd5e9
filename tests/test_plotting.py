"""Plotting: PNG files drawn on the Agg canvas (no display), and the missing-extra message."""

import sys

import numpy as np
import pytest

import arraynet as an
from arraynet import datasets, plotting

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data.startswith(PNG)


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def test_activations(mpl, tmp_path):
    path = plotting.plot_activations(tmp_path / "a.png")
    assert path == tmp_path / "a.png" and is_png(path)
    assert is_png(plotting.plot_activations(tmp_path / "b.png", names=("softmax", "identity")))


def test_an_unknown_activation_is_named(mpl, tmp_path):
    with pytest.raises(ValueError, match="activation: expected one of"):
        plotting.plot_activations(tmp_path / "a.png", names=("no_such_activation",))


def test_gradient_field_of_the_notebook(mpl, tmp_path):
    assert is_png(plotting.plot_gradient_field(None, tmp_path / "sub" / "quiver.png"))
    path = plotting.plot_gradient_field(lambda P: 2 * P, tmp_path / "custom.png", title="2x")
    assert is_png(path)


def test_gradient_field_checks_the_gradient_shape(mpl, tmp_path):
    with pytest.raises(ValueError, match="f_grad: expected gradients of shape"):
        plotting.plot_gradient_field(lambda P: P[:, 0], tmp_path / "bad.png")
    with pytest.raises(TypeError, match="f_grad: expected a callable"):
        plotting.plot_gradient_field(3, tmp_path / "bad.png")


def test_numerical_gradient_of_the_square_sum():
    P = np.array([[3.0, 4.0], [-1.0, 0.5]])
    np.testing.assert_allclose(plotting.numerical_gradient(plotting.square_sum, P), 2 * P)


def test_history_with_validation_curves(mpl, tmp_path):
    X, y = datasets.xor(n=40, noise=0.1)
    model = an.Sequential([an.layers.Dense(4, activation="tanh"), an.layers.Dense(1)], seed=0)
    model.compile(loss="mse", optimizer=an.optimizers.SGD(0.1), metrics=["accuracy"])
    history = model.fit(X, y, epochs=3, validation_split=0.25, verbose=0)
    assert is_png(plotting.plot_history(history, tmp_path / "h.png", title="xor"))
    assert is_png(plotting.plot_history({"loss": [1.0, 0.5]}, tmp_path / "d.png"))
    with pytest.raises(ValueError, match="history: expected"):
        plotting.plot_history({}, tmp_path / "e.png")


def test_decision_boundary_of_a_tiny_model(mpl, backend, tmp_path):
    X, y = datasets.xor(n=40, noise=0.05)
    with an.use(backend):
        model = an.Sequential(
            [an.layers.Dense(8, activation="tanh"), an.layers.Dense(1, activation="sigmoid")],
            seed=0,
        )
        model.compile(loss="binary_cross_entropy", optimizer=an.optimizers.SGD(0.5, momentum=0.9))
        model.fit(X, y, epochs=20, verbose=0)
        path = plotting.plot_decision_boundary(model, X, y, tmp_path / "b.png", resolution=40)
    assert is_png(path)


def test_decision_boundary_of_a_multiclass_model(mpl, tmp_path):
    X, y = datasets.synthetic(n=90, features=2, classes=3)
    model = an.Sequential([an.layers.Dense(3)], input_dim=2, seed=0)  # untrained: any weights
    model.compile(loss="softmax_cross_entropy", optimizer="sgd")
    path = plotting.plot_decision_boundary(model, X, y, tmp_path / "m.png", resolution=30)
    assert is_png(path)
    with pytest.raises(ValueError, match=r"X: expected 2-D points"):
        plotting.plot_decision_boundary(model, np.zeros((3, 3)), y[:3], tmp_path / "x.png")


def test_without_matplotlib_the_message_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"pip install arraynet\[plot\]"):
        plotting.plot_activations(tmp_path / "a.png")


def test_no_pyplot_and_no_display_needed(mpl, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # importing it would fail
    assert is_png(plotting.plot_gradient_field(None, tmp_path / "q.png"))


def test_the_suffix_names_the_format(mpl, tmp_path):
    svg = plotting.plot_activations(tmp_path / "a.svg", names="relu").read_bytes()
    assert b"<svg" in svg[:2000]
    pdf = plotting.plot_activations(tmp_path / "a.pdf", names=["relu"]).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert is_png(plotting.plot_activations(tmp_path / "no_suffix", names="relu"))


def test_one_activation_name_is_one_panel(mpl, tmp_path):
    one = plotting.plot_activations(tmp_path / "one.png", names="relu")
    again = plotting.plot_activations(tmp_path / "again.png", names=["relu"])
    assert one.read_bytes() == again.read_bytes()


def test_history_of_validation_values_only(mpl, tmp_path):
    assert is_png(plotting.plot_history({"val_loss": [3.0, 2.0, 1.5]}, tmp_path / "h.png"))


@pytest.mark.parametrize("lim", [0, -1.0])
def test_gradient_field_refuses_an_empty_grid(mpl, tmp_path, lim):
    with pytest.raises(ValueError, match="^lim: expected a finite number > 0"):
        plotting.plot_gradient_field(None, tmp_path / "q.png", lim=lim)
