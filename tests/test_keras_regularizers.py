"""Keras's regularizer names (l1, l2, l1_l2 beside L1, L2, L1L2), the bias and activity
regularizers of Dense: loss values against NumPy by hand, gradients against central
differences (an.gradcheck) on every backend, and their configs."""

import numpy as np
import pytest

import arraynet as an
from arraynet import regularizers
from arraynet.backend import to_numpy

RNG = np.random.default_rng(21)
X = RNG.normal(size=(9, 3))
Y = RNG.normal(size=(9, 2))
LABELS = RNG.integers(0, 2, 9)


def test_lower_case_names_are_keras_aliases():
    assert regularizers.l1(0.3) == regularizers.L1(0.3) == regularizers.L1L2(l1=0.3)
    assert regularizers.l2() == regularizers.L2() == regularizers.L1L2(l2=0.01)
    assert regularizers.l1_l2(l1=0.1, l2=0.2) == regularizers.L1L2(0.1, 0.2)
    assert regularizers.l1_l2() == regularizers.L1L2(0.0, 0.0)  # Keras 3's defaults
    assert regularizers.get("l1_l2") == regularizers.L1L2(0.01, 0.01)  # arraynet's string
    assert regularizers.get(regularizers.l2) == regularizers.L2()  # a class, as Keras takes
    with pytest.raises(ValueError, match="activity_regularizer"):
        an.layers.Dense(2, activity_regularizer="l3")


def test_a_regularizer_is_keras_callable(backend):
    W = RNG.normal(size=(4, 3))
    with an.use(backend, dtype="float64"):
        value = float(regularizers.L1L2(0.1, 0.2)(W))
    assert value == pytest.approx(0.1 * np.abs(W).sum() + 0.2 * (W**2).sum(), rel=1e-12)


def _model(activity=None, bias=None, out="identity", seed=1):
    return an.Sequential(
        [
            an.layers.Dense(4, activation="tanh", activity_regularizer=activity,
                            bias_regularizer=bias),
            an.layers.Dense(2, activation=out, activity_regularizer=activity,
                            bias_regularizer=bias),
        ],
        input_dim=3,
        seed=seed,
    )  # fmt: skip


def _by_hand(weights, l1_activity, l2_bias, out="identity"):
    W1, b1, W2, b2 = weights
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    if out == "softmax":
        P = np.exp(Z) / np.exp(Z).sum(1, keepdims=True)
        data = -np.mean(np.log(P[np.arange(len(X)), LABELS]))
    else:
        P = Z
        data = np.mean((P - Y) ** 2)
    activity = l1_activity * (np.abs(H).sum() + np.abs(P).sum()) / len(X)
    bias = l2_bias * ((b1**2).sum() + (b2**2).sum())
    return data + activity + bias


@pytest.mark.parametrize(
    ("out", "loss", "target"),
    [("identity", "mse", Y), ("softmax", "sparse_categorical_crossentropy", LABELS)],
)
def test_activity_and_bias_regularizers_loss_and_gradients(backend, out, loss, target):
    """The activity penalty (over the batch's rows, as Keras 3) on a hidden layer and on
    the output layer (fused with the softmax's cross-entropy there), the bias penalty on
    both biases: the loss by hand, the gradients by central differences."""
    model = _model(regularizers.L1(0.05), regularizers.L2(0.3), out)
    model.compile(loss, an.optimizers.SGD(lr=0.1))
    weights = model.get_weights()
    weights[1], weights[3] = RNG.normal(size=4), RNG.normal(size=2)
    model.set_weights(weights)
    with an.use(backend, dtype="float64"):
        assert model.network.fused == (out == "softmax")
        loss_value = model.evaluate(X, target)
        report = an.gradcheck(model, X, target)
    assert loss_value == pytest.approx(_by_hand(weights, 0.05, 0.3, out), rel=1e-12)
    assert report.passed, str(report)


def test_training_loss_includes_the_activity_penalty(backend):
    """One full batch: its loss is taken before the update, at the initial weights (the
    same seed for both models), so the difference is the activity penalty there."""
    with an.use(backend, dtype="float64"):
        plain, penalized = _model(), _model(regularizers.L2(0.5))
        W1, b1, W2, b2 = plain.get_weights()
        first = []
        for model in (plain, penalized):
            model.compile("mse", an.optimizers.SGD(lr=0.05))
            first.append(model.fit(X, Y, epochs=1, batch_size=9, verbose=0).history["loss"][0])
    H = np.tanh(X @ W1 + b1)
    P = H @ W2 + b2
    assert first[0] == pytest.approx(np.mean((P - Y) ** 2), rel=1e-12)
    expected = 0.5 * ((H**2).sum() + (P**2).sum()) / 9
    assert first[1] - first[0] == pytest.approx(expected, rel=1e-12)


def test_regularizers_round_trip_through_save(tmp_path):
    model = _model(regularizers.l1_l2(0.01, 0.02), regularizers.l2(0.3))
    model.compile("mse")
    path = tmp_path / "m.arraynet"
    model.save(path)
    loaded = an.load(path)
    for layer in loaded.graph.layers:
        assert layer.activity_regularizer == regularizers.L1L2(0.01, 0.02)
        assert layer.bias_regularizer == regularizers.L2(0.3)
    assert loaded.evaluate(X, Y) == pytest.approx(model.evaluate(X, Y), rel=1e-12)


def test_a_layer_without_activity_regularizer_is_untouched(backend):
    """No activity regularizer: Dense's backward is the same arrays as before (the fast
    path has no extra operation) and the rows stay independent."""
    layer = an.layers.Dense(2)
    assert layer.independent_rows and not layer.activity_penalized
    assert not an.layers.Dense(2, activity_regularizer="l2").independent_rows
    with an.use(backend, dtype="float64") as be:
        W = be.asarray(RNG.normal(size=(3, 2)))
        b = be.asarray(np.zeros(2))
        Yl, cache = layer.forward(be.xp, (W, b), be.asarray(X))
        dX, grads = layer.backward(be.xp, (W, b), cache, be.asarray(np.ones((9, 2))))
    np.testing.assert_allclose(to_numpy(dX), np.ones((9, 2)) @ to_numpy(W).T)
