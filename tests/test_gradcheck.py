"""arraynet.gradcheck: passes on every layer and smooth activation/loss pair, fails on a wrong
derivative, refuses bad targets, and leaves the model and the backend selection as they were."""

import numpy as np
import pytest
from reference import random_targets

import arraynet as an
from arraynet.activations import Sigmoid
from arraynet.gradcheck import gradcheck
from arraynet.layers import Dense, Dropout

TOL = 1e-7
N, D, K = 6, 3, 3
ACTIVATIONS = ["identity", "relu", "sigmoid", "tanh", "softmax"]
HIDDEN = ["relu", "sigmoid", "tanh", "identity"]
PAIRS = (
    [(loss, act, "reg") for loss in ("squared_error", "mse") for act in ACTIVATIONS]
    + [("binary_cross_entropy", "sigmoid", "binary")]
    + [("categorical_cross_entropy", "softmax", t) for t in ("onehot", "int")]
    + [("softmax_cross_entropy", "identity", t) for t in ("onehot", "int")]
)


def _kink_free(layers, weights, X, margin=1e-3) -> bool:
    """No relu pre-activation within ``margin`` of 0 (where central differences break)."""
    A, k = X, 0
    for layer in layers:
        if not isinstance(layer, Dense):
            continue
        Z = A @ weights[k] + (weights[k + 1] if layer.use_bias else 0)
        k += len(layer.params((A.shape[1],)))
        if layer.activation.name == "relu" and np.abs(Z).min() < margin:
            return False
        A = layer.activation.forward(np, Z)
    return True


def _model_problem(index, loss, out, kind, regularizer=None, dropout=False):
    """A seeded 3-4-K network (hidden activation cycles) with kink-free data."""
    for seed in range(100):
        rng = np.random.default_rng([index, seed])
        layers = [
            Dense(4, activation=HIDDEN[index % 4], kernel_regularizer=regularizer),
            *[Dropout(0.5)] * dropout,
            Dense(K, activation=out, use_bias=index % 2 == 0),
        ]
        model = an.Sequential(layers, input_dim=D, seed=seed)
        model.compile(loss=loss, optimizer="sgd")
        model.set_weights([w + rng.normal(0, 0.3, w.shape) for w in model.get_weights()])
        X = rng.normal(size=(N, D))
        if _kink_free(layers, model.get_weights(), X):
            return model, X, random_targets(rng, kind, N, K)
    raise AssertionError("no kink-free problem")


@pytest.mark.parametrize(
    ("loss", "out", "kind"), PAIRS, ids=[f"{loss}-{out}-{kind}" for loss, out, kind in PAIRS]
)
def test_model_pairs_pass(backend, loss, out, kind):
    model, X, y = _model_problem(PAIRS.index((loss, out, kind)), loss, out, kind)
    with an.use(backend, dtype="float64"):
        report = gradcheck(model, X, y)
    assert report.passed, str(report)
    assert report.max_error < TOL
    assert len(report.errors) == len(model.get_weights())


def test_model_with_l2_and_dropout_passes(backend):
    """The penalty is part of the checked loss; dropout is off, as in model.gradients."""
    l2 = an.regularizers.L2(0.05)
    model, X, y = _model_problem(0, "squared_error", "tanh", "reg", l2, dropout=True)
    with an.use(backend, dtype="float64"):
        report = gradcheck(model, X, y)
        _, grads = model.gradients(X, y)
    assert report.passed, str(report)
    assert report.names == ("0.W", "0.b", "2.W", "2.b")
    assert "0.W" in str(report) and "passed" in str(report)
    for g, a in zip(grads, report.analytic):
        np.testing.assert_allclose(a, g, rtol=1e-12, atol=1e-15)


LAYERS = [(act, bias) for act in ACTIVATIONS for bias in (True, False)]


@pytest.mark.parametrize(
    ("act", "bias"), LAYERS, ids=[f"{a}-{'bias' if b else 'nobias'}" for a, b in LAYERS]
)
def test_dense_layer_passes(backend, act, bias):
    layer = Dense(K, activation=act, use_bias=bias, kernel_initializer="glorot_normal")
    rng = np.random.default_rng(LAYERS.index((act, bias)))
    X, y = rng.normal(size=(N, D)), rng.normal(size=(N, K))
    init_rng = np.random.default_rng(0)
    weights = [p.initializer(init_rng, p.shape) for p in layer.params((D,))]
    if bias:
        weights[1] = rng.normal(0, 0.5, K)
    assert _kink_free([layer], weights, X)
    with an.use(backend):
        report = gradcheck(layer, X, y, weights=weights)
        assert an.current_backend().dtype == "float32"  # the selection is restored
    assert report.names == (("W", "b") if bias else ("W",)) + ("X",)
    assert report.passed, str(report)


def test_dropout_layer_passes(backend):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(N, D)), rng.normal(size=(N, D))
    with an.use(backend, dtype="float64"):
        report = gradcheck(Dropout(0.4), X, y)
    assert report.names == ("X",) and report.passed, str(report)
    assert np.count_nonzero(report.analytic[0]) < X.size  # the mask dropped some inputs


def test_wrong_activation_derivative_fails(backend, monkeypatch):
    model, X, y = _model_problem(1, "squared_error", "identity", "reg")  # sigmoid hidden
    with an.use(backend, dtype="float64"):
        assert gradcheck(model, X, y).passed
        right = Sigmoid.backward
        monkeypatch.setattr(
            Sigmoid, "backward", lambda s, xp, Z, A, dA: right(s, xp, Z, A, dA) + 1e-4 * dA
        )
        report = gradcheck(model, X, y)
    assert not report.passed and report.max_error > TOL
    assert report.errors[0] > TOL  # the hidden layer's kernel is the one off
    assert "FAIL" in str(report)


def test_wrong_linear_backward_fails(backend, monkeypatch):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(N, D)), rng.normal(size=(N, K))
    right = Dense.backward_from_preactivation

    def off(self, xp, params, cache, dZ, ctx):
        dX, grads = right(self, xp, params, cache, dZ, ctx)
        return dX, (grads[0] + 1e-4 * grads[0][0, 0], *grads[1:])

    monkeypatch.setattr(Dense, "backward_from_preactivation", off)
    with an.use(backend, dtype="float64"):
        report = gradcheck(Dense(K, activation="tanh"), X, y)
    assert not report.passed and report.errors[0] > TOL and report.errors[1] < TOL


def test_model_left_untouched(backend):
    model, X, y = _model_problem(2, "mse", "sigmoid", "reg")
    before = model.get_weights()
    with an.use(backend):
        gradcheck(model, X, y)
    after = model.get_weights()
    assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(after, before))


def _uncompiled():
    return an.Sequential([Dense(2)], input_dim=D)


def _step_model():
    model = an.Sequential([Dense(2, activation="step"), Dense(1)], input_dim=D)
    model.compile()
    return model


def _unbuilt():
    model = an.Sequential([Dense(1)])
    model.compile()
    return model


BAD = [
    ("not-a-model", lambda: "model", {}, TypeError, "target"),
    ("a-function", lambda: gradcheck, {}, TypeError, "target"),
    ("uncompiled", _uncompiled, {}, ValueError, "compile"),
    ("step", _step_model, {}, ValueError, "step"),
    ("step-layer", lambda: Dense(2, activation="step"), {}, ValueError, "step"),
    ("no-weights", _unbuilt, {}, ValueError, "weights"),
    ("eps-0", lambda: Dense(1), {"eps": 0}, ValueError, "eps"),
    ("tol-negative", lambda: Dense(1), {"tol": -1.0}, ValueError, "tol"),
    ("eps-str", lambda: Dense(1), {"eps": "1e-6"}, TypeError, "eps"),
    ("X-1d", lambda: Dense(1), {"X": np.ones(D)}, ValueError, "X"),
    ("X-nan", lambda: Dense(1), {"X": np.full((N, D), np.nan)}, ValueError, "X"),
    ("y-wide", lambda: Dense(1), {"y": np.ones((N, 2))}, ValueError, "y"),
    ("weights-shape", lambda: Dense(1), {"weights": [np.ones((2, 1))]}, ValueError, "weights"),
]


@pytest.mark.parametrize(
    ("make", "kwargs", "exc", "word"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_input_is_refused(make, kwargs, exc, word):
    args = {"X": np.ones((N, D)), "y": np.ones((N, 1)), **kwargs}
    target = make()
    with pytest.raises(exc, match=word):
        gradcheck(target, args.pop("X"), args.pop("y"), **args)


def test_runs_on_the_selected_device():
    xp = pytest.importorskip("array_api_strict")
    model, X, y = _model_problem(3, "squared_error", "tanh", "reg")
    with an.use("array_api_strict", device="device1"):
        report = gradcheck(model, xp.asarray(X, device=xp.Device("device1")), y)
        assert an.current_backend().device == xp.Device("device1")
    assert report.passed, str(report)
    with an.use("array_api_strict", device="no_float64"):  # float64 on the default device
        assert gradcheck(model, X, y).passed
