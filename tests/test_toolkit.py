"""The toolkit on every backend: initializers, regularizers, dropout, metrics, validation data and
batched inference, each checked against NumPy float64 written here or in tests/reference.py."""

import numpy as np
import pytest
from reference import loss_and_grads_reference, loss_reference, predict_reference, train_reference

import arraynet as an
from arraynet import regularizers
from arraynet.layers import Dense, Dropout

TOL = {"rtol": 1e-9, "atol": 1e-12}
RNG = np.random.default_rng(2024)
X = RNG.normal(size=(16, 3))
Y = RNG.normal(size=(16, 2))
LABELS = RNG.integers(0, 3, size=16)
BINARY = (RNG.random(16) < 0.5).astype(np.float64)
SPEC = [("tanh", True), (None, True)]  # reference.py's description of _regression()


def _regression(regularizer=None, seed=3, lr=0.1, metrics=()):
    model = an.Sequential(
        [
            Dense(4, activation="tanh", kernel_regularizer=regularizer),
            Dense(2, kernel_regularizer=regularizer),
        ],
        input_dim=3,
        seed=seed,
    )
    model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=lr), metrics=metrics)
    return model


def _close(actual, expected, **tol):
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, **(tol or TOL))


# -- initializers ------------------------------------------------------------------------------

FAN_IN, FAN_OUT = 400, 300
GLOROT = np.sqrt(6.0 / (FAN_IN + FAN_OUT))
HE = np.sqrt(6.0 / FAN_IN)
# name -> (lower bound, upper bound, expected standard deviation) of the kernel (Keras formulas)
INITIALIZERS = {
    "uniform": (-1.0, 1.0, np.sqrt(1 / 3)),
    "glorot_uniform": (-GLOROT, GLOROT, GLOROT / np.sqrt(3)),
    "he_uniform": (-HE, HE, HE / np.sqrt(3)),
    "glorot_normal": (-np.inf, np.inf, np.sqrt(2.0 / (FAN_IN + FAN_OUT))),
    "he_normal": (-np.inf, np.inf, np.sqrt(2.0 / FAN_IN)),
    "lecun": (-np.inf, np.inf, np.sqrt(1.0 / FAN_IN)),
}


def _initial_weights(name, bias="zeros"):
    model = an.Sequential(
        [Dense(FAN_OUT, kernel_initializer=name, bias_initializer=bias)], input_dim=FAN_IN, seed=5
    )
    model.predict(np.ones((2, FAN_IN)))  # the weights move to the selected backend
    return model.get_weights()


@pytest.mark.parametrize("name", [*INITIALIZERS, "zeros", "ones"])
def test_initial_weights_are_the_same_on_every_backend(backend, name):
    with an.use("numpy", dtype="float64"):
        expected = _initial_weights(name, bias=name)
    with an.use(backend, dtype="float64"):
        weights = _initial_weights(name, bias=name)
    assert [w.dtype for w in weights] == [np.float64, np.float64]
    _close(weights, expected, rtol=0, atol=0)


@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_statistics_follow_the_keras_formulas(backend, name):
    low, high, std = INITIALIZERS[name]
    with an.use(backend, dtype="float64"):
        W, b = _initial_weights(name)
    assert W.shape == (FAN_IN, FAN_OUT)
    np.testing.assert_array_equal(b, np.zeros(FAN_OUT))
    assert abs(W.mean()) < 0.02 * std
    assert W.std() == pytest.approx(std, rel=0.02)
    assert low <= W.min() and W.max() < high
    if np.isfinite(high):  # a uniform draw reaches close to both ends
        assert W.min() < 0.99 * low and W.max() > 0.99 * high
    else:  # bell-shaped: about 2/3 within one standard deviation (0.68, truncated 0.65)
        assert 0.63 < np.mean(np.abs(W) < std) < 0.70


@pytest.mark.parametrize("name, value", [("zeros", 0.0), ("ones", 1.0)])
def test_constant_initializers(backend, name, value):
    with an.use(backend, dtype="float64"):
        weights = _initial_weights(name, bias=name)
    for w in weights:
        np.testing.assert_array_equal(w, np.full_like(w, value))


def test_unknown_initializer_names_the_argument():
    with pytest.raises(ValueError, match="kernel_initializer"):
        Dense(2, kernel_initializer="glorot")


# -- regularizers ------------------------------------------------------------------------------

REGULARIZERS = {  # name -> (regularizer, l1, l2)
    "l1": (regularizers.L1(0.01), 0.01, 0.0),
    "l2": (regularizers.L2(0.02), 0.0, 0.02),
    "l1l2": (regularizers.L1L2(l1=0.01, l2=0.02), 0.01, 0.02),
    "l1_l2 by name": ("l1_l2", 0.01, 0.01),
}


@pytest.mark.parametrize("name", REGULARIZERS)
def test_regularized_loss_and_gradients_match_numpy(backend, name):
    regularizer, l1, l2 = REGULARIZERS[name]
    with an.use(backend, dtype="float64"):
        model = _regression(regularizer)
        weights = model.get_weights()
        weights[1], weights[3] = RNG.normal(size=4), RNG.normal(size=2)  # biases away from 0
        model.set_weights(weights)
        loss, grads = model.gradients(X, Y)
        evaluated = model.evaluate(X, Y)
    expected_loss, expected_grads = loss_and_grads_reference(weights, SPEC, "squared_error", X, Y)
    for i in (0, 2):  # kernels only: Keras does not regularize the bias
        W = weights[i]
        expected_loss += l1 * np.abs(W).sum() + l2 * (W**2).sum()
        expected_grads[i] = expected_grads[i] + l1 * np.sign(W) + 2 * l2 * W
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert evaluated == pytest.approx(expected_loss, rel=1e-12)
    _close(grads, expected_grads)


def test_strong_l2_shrinks_the_weights(backend):
    def kernel_norm(regularizer):
        with an.use(backend, dtype="float64"):
            model = _regression(regularizer)
            model.fit(X, Y, mode="full", epochs=10, verbose=0)
            weights = model.get_weights()
        return np.sqrt(sum((w**2).sum() for w in weights[::2]))

    free, shrunk = kernel_norm(None), kernel_norm(regularizers.L2(1.0))
    assert shrunk < 0.5 * free


def test_bad_regularizers_name_the_argument():
    with pytest.raises(ValueError, match="kernel_regularizer"):
        Dense(2, kernel_regularizer="l3")
    with pytest.raises(ValueError, match="l2"):
        regularizers.L2(-0.1)


# -- dropout -----------------------------------------------------------------------------------

RATE = 0.5


def _dropout_model(with_dropout=True):
    layers = [Dense(4, activation="tanh"), Dense(2)]
    if with_dropout:
        layers.insert(1, Dropout(RATE))
    model = an.Sequential(layers, input_dim=3, seed=3)
    model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=0.1))
    return model


def _dropout_reference(weights, lr, batch_size, seed):
    """One epoch of minibatch SGD with dropout after the tanh layer, by hand: the fit's
    generator draws the epoch's order, then one mask row per example in that order."""
    W1, b1, W2, b2 = (np.array(w, np.float64) for w in weights)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    masks = (rng.random((len(X), 4)) >= RATE) / (1 - RATE)
    Xs, Ys = X[order], Y[order]
    for start in range(0, len(X), batch_size):
        x, y, m = (a[start : start + batch_size] for a in (Xs, Ys, masks))
        h = np.tanh(x @ W1 + b1)
        dP = (h * m @ W2 + b2 - y) / len(x)
        dH = dP @ W2.T * m * (1 - h**2)
        W2, b2 = W2 - lr * (h * m).T @ dP, b2 - lr * dP.sum(axis=0)
        W1, b1 = W1 - lr * x.T @ dH, b1 - lr * dH.sum(axis=0)
    return [W1, b1, W2, b2]


def test_dropout_masks_are_the_same_on_every_backend(backend):
    def train():
        model = _dropout_model()
        start = model.get_weights()
        model.fit(X, Y, mode="minibatch", batch_size=4, epochs=1, seed=11, verbose=0)
        return start, model.get_weights()

    with an.use("numpy", dtype="float64"):
        start, expected = train()
    with an.use(backend, dtype="float64"):
        same_start, weights = train()
    _close(same_start, start, rtol=0, atol=0)
    _close(weights, expected)
    _close(weights, _dropout_reference(start, 0.1, 4, seed=11))
    without_dropout = train_reference(
        start, SPEC, "squared_error", X, Y, 0.1, "minibatch", 1, 4, shuffle=True, seed=11
    )
    assert not np.allclose(weights[0], without_dropout[0][0])  # the masks did something


def test_predict_is_not_affected_by_dropout(backend):
    with an.use(backend, dtype="float64"):
        model = _dropout_model()
        model.fit(X, Y, mode="minibatch", batch_size=4, epochs=1, seed=1, verbose=0)
        plain = _dropout_model(with_dropout=False)
        plain.set_weights(model.get_weights())
        P = model.predict(X)
        np.testing.assert_allclose(P, plain.predict(X), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(model.predict(X), P, rtol=0, atol=0)  # no randomness
    np.testing.assert_allclose(P, predict_reference(model.get_weights(), SPEC, X), **TOL)


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 0.8])
def test_dropout_keep_rate_and_scaling(rate):
    mask = Dropout(rate).noise(np.random.default_rng(0), 1000, (200,))
    assert mask.shape == (1000, 200)
    kept = mask != 0
    np.testing.assert_allclose(mask[kept], 1 / (1 - rate), rtol=1e-15)
    assert kept.mean() == pytest.approx(1 - rate, abs=0.005)
    assert mask.mean() == pytest.approx(1.0, abs=0.02)  # the expected activation is unchanged


@pytest.mark.parametrize("rate", [1.0, -0.1])
def test_dropout_rate_out_of_range_names_the_argument(rate):
    with pytest.raises(ValueError, match="rate"):
        Dropout(rate)


# -- metrics -----------------------------------------------------------------------------------


def _classifier(activation="softmax", units=3, loss="categorical_cross_entropy", metrics=()):
    model = an.Sequential(
        [Dense(4, activation="tanh"), Dense(units, activation=activation)], input_dim=3, seed=4
    )
    model.compile(loss=loss, optimizer=an.optimizers.SGD(lr=0.5), metrics=metrics)
    return model


def test_accuracy_with_one_hot_targets_and_integer_labels(backend):
    onehot = np.eye(3)[LABELS]
    with an.use(backend, dtype="float64"):
        model = _classifier(metrics=["accuracy"])
        P = model.predict(X)
        by_labels = model.evaluate(X, LABELS, return_dict=True)
        by_onehot = model.evaluate(X, onehot, return_dict=True)
    np.testing.assert_allclose(
        P, predict_reference(model.get_weights(), SPEC[:1] + [("softmax", True)], X), **TOL
    )
    expected = {
        "loss": -np.mean(np.log(P[np.arange(16), LABELS])),
        "accuracy": np.mean(P.argmax(axis=1) == LABELS),
    }
    assert 0 < expected["accuracy"] < 1
    assert by_labels == pytest.approx(expected, rel=1e-12)
    assert by_onehot == pytest.approx(expected, rel=1e-12)


def test_binary_accuracy(backend):
    with an.use(backend, dtype="float64"):
        model = _classifier("sigmoid", 1, "binary_cross_entropy", ["binary_accuracy", "acc"])
        P = model.predict(X)[:, 0]
        scores = model.evaluate(X, BINARY, return_dict=True)
    hits = np.mean((P > 0.5) == BINARY)
    assert 0 < hits < 1
    bce = -np.mean(BINARY * np.log(P) + (1 - BINARY) * np.log(1 - P))
    assert scores == pytest.approx({"loss": bce, "binary_accuracy": hits, "accuracy": hits})


def test_regression_metrics_and_history_keys(backend):
    with an.use(backend, dtype="float64"):
        model = _regression(metrics=["mse", "mae"])
        history = model.fit(
            X[:12], Y[:12], epochs=2, batch_size=4, validation_data=(X[12:], Y[12:]), verbose=0
        )
        P = model.predict(X)
        scores = model.evaluate(X, Y, return_dict=True)
        as_list = model.evaluate(X, Y)
    assert set(history.history) == {"loss", "mse", "mae", "val_loss", "val_mse", "val_mae"}
    assert all(len(values) == 2 for values in history.history.values())
    expected = {
        "loss": np.sum((P - Y) ** 2) / (2 * 16),
        "mse": np.mean((P - Y) ** 2),
        "mae": np.mean(np.abs(P - Y)),
    }
    assert scores == pytest.approx(expected, rel=1e-12)
    assert as_list == pytest.approx(list(expected.values()), rel=1e-12)


def test_unknown_metric_names_the_argument():
    with pytest.raises(ValueError, match="metrics"):
        _regression(metrics=["f1"])


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_full_mode_training_metrics_are_taken_before_the_update(backend, task):
    """One update per epoch: the epoch's loss and metrics are those of the weights it began
    with, here from the hand-written full-batch trainer."""
    regression = task == "regression"
    y, lr = (Y, 0.1) if regression else (LABELS, 0.5)
    loss = "squared_error" if regression else "categorical_cross_entropy"
    with an.use(backend, dtype="float64"):
        model = _regression(metrics=["mse", "mae"]) if regression else _classifier(metrics="acc")
        start = model.get_weights()
        history = model.fit(X, y, mode="full", epochs=3, verbose=0)
    spec = [SPEC[0], (None if regression else "softmax", True)]
    for epoch in range(3):
        weights = train_reference(start, spec, loss, X, y, lr, "full", epoch)[0]
        P = predict_reference(weights, spec, X)
        if regression:
            expected = {
                "loss": np.sum((P - Y) ** 2) / 32,
                "mse": np.mean((P - Y) ** 2),
                "mae": np.mean(np.abs(P - Y)),
            }
        else:
            expected = {
                "loss": -np.mean(np.log(P[np.arange(16), LABELS])),
                "accuracy": np.mean(P.argmax(axis=1) == LABELS),
            }
        got = {key: values[epoch] for key, values in history.history.items()}
        assert got == pytest.approx(expected, rel=1e-10)
    final = train_reference(start, spec, loss, X, y, lr, "full", 3)[0]
    _close(model.get_weights(), final)


# -- validation data ---------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["validation_data", "validation_split"])
def test_validation_holds_out_the_last_rows(backend, given):
    """16 rows with validation_split=0.25: rows 12..15 are held out, before any shuffling;
    val_loss is taken at the end of each epoch, with the updated weights."""
    kwargs = (
        {"validation_data": (X[12:], Y[12:])}
        if given == "validation_data"
        else {"validation_split": 0.25}
    )
    with an.use(backend, dtype="float64"):
        model = _regression()
        start = model.get_weights()
        x, y = (X[:12], Y[:12]) if given == "validation_data" else (X, Y)
        history = model.fit(x, y, mode="full", epochs=2, seed=0, verbose=0, **kwargs)
        evaluated = model.evaluate(X[12:], Y[12:])
    assert list(history.history) == ["loss", "val_loss"]
    for epochs in (1, 2):
        weights, losses = train_reference(
            start, SPEC, "squared_error", X[:12], Y[:12], 0.1, "full", epochs
        )
        assert history.history["loss"][epochs - 1] == pytest.approx(losses[-1], rel=1e-10)
        val_loss = loss_reference(weights, SPEC, "squared_error", X[12:], Y[12:])
        assert history.history["val_loss"][epochs - 1] == pytest.approx(val_loss, rel=1e-10)
    _close(model.get_weights(), weights)
    assert evaluated == pytest.approx(history.history["val_loss"][-1], rel=1e-12)


@pytest.mark.parametrize("split", [1.0, -0.1, 1.5])
def test_bad_validation_split_names_the_argument(split):
    model = _regression()
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(X, Y, validation_split=split, verbose=0)


@pytest.mark.parametrize("validation_data", [(X[12:],), (X[12:], Y[12:], Y[12:]), X[12:], "data"])
def test_malformed_validation_data_names_the_argument(validation_data):
    model = _regression()
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(X, Y, validation_data=validation_data, verbose=0)


# -- batched inference -------------------------------------------------------------------------


def test_batched_predict_and_evaluate(backend):
    with an.use(backend, dtype="float64"):
        model = _regression(regularizers.L1L2(0.01, 0.02), metrics=["mse", "mae"])
        P = model.predict(X)
        scores = model.evaluate(X, Y, return_dict=True)
        for batch_size in (1, 7, 16, 100):
            batched = model.predict(X, batch_size=batch_size)
            np.testing.assert_allclose(batched, P, rtol=1e-12, atol=1e-12)
        by_batch = model.evaluate(X, Y, batch_size=7, return_dict=True)  # 7 + 7 + 2 rows
    assert by_batch == pytest.approx(scores, rel=1e-12)
    weights = model.get_weights()
    np.testing.assert_allclose(P, predict_reference(weights, SPEC, X), **TOL)
    penalty = sum(0.01 * np.abs(W).sum() + 0.02 * (W**2).sum() for W in weights[::2])
    assert scores["loss"] == pytest.approx(np.sum((P - Y) ** 2) / 32 + penalty, rel=1e-12)
    assert scores["mse"] == pytest.approx(np.mean((P - Y) ** 2), rel=1e-12)


@pytest.mark.parametrize("batch_size", [0, -1])
def test_bad_inference_batch_size_names_the_argument(batch_size):
    model = _regression()
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(X, batch_size=batch_size)
    with pytest.raises(ValueError, match="batch_size"):
        model.evaluate(X, Y, batch_size=batch_size)
