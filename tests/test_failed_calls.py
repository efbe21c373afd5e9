"""A call that raises changes nothing: not the weights, not the input width, not the loss,
metrics or optimizer a model was compiled with, not its random generator."""

import re

import numpy as np
import pytest

import arraynet as an

RNG = np.random.default_rng(3)
X = RNG.normal(size=(12, 3))
Y = X @ np.array([[1.0], [-2.0], [0.5]])


def _unbuilt():
    model = an.Sequential([an.layers.Dense(4, activation="relu"), an.layers.Dense(1)], seed=0)
    model.compile("mse", an.optimizers.SGD(lr=0.05))
    return model


def _trained_after(model):
    model.fit(X, Y, epochs=2, batch_size=4, verbose=0)
    return model.get_weights()


@pytest.mark.parametrize(
    ("X_bad", "y_bad", "extra", "names"),
    [
        (np.ones((12, 5)), np.ones(11), {}, "y"),
        (
            np.ones((12, 5)),
            np.ones(12),
            {"validation_data": (np.ones((2, 4)), np.ones(2))},
            "validation_data[0]",
        ),
        (
            np.ones((12, 5)),
            np.ones(12),
            {"validation_data": (np.ones((2, 5)), np.ones(3))},
            "validation_data[1]",
        ),
        (np.ones((12, 5)), np.ones(12), {"validation_split": 0.95}, "validation_split"),
    ],
    ids=["y-rows", "validation-width", "validation-rows", "split-too-large"],
)
def test_a_failed_first_fit_does_not_build_the_model(backend, X_bad, y_bad, extra, names):
    """The failed fit had 5 features; afterwards the model trains on 3, and exactly as a
    model that never saw the failed call (same weights: its generator was not drawn from)."""
    with an.use(backend, dtype="float64"):
        model = _unbuilt()
        with pytest.raises(ValueError, match=f"^{re.escape(names)}:"):
            model.fit(X_bad, y_bad, verbose=0, **extra)
        assert model.input_dim is None and model.get_weights() == []
        after = _trained_after(model)
        fresh = _trained_after(_unbuilt())
    for a, b in zip(after, fresh, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_failed_streamed_fit_does_not_build_the_model():
    chunks = [(np.ones((4, 5)), np.ones(4)), (np.ones((4, 5)), np.ones(3))]
    model = _unbuilt()
    with pytest.raises(ValueError, match="y"):
        model.fit(chunks, None, verbose=0)
    assert model.input_dim is None
    assert len(_trained_after(model)) == 4


def test_a_streamed_fit_builds_from_the_chunks_width():
    chunks = [(X[:6], Y[:6]), (X[6:], Y[6:])]
    model = _unbuilt()
    model.fit(chunks, None, verbose=0, validation_data=(X[:2], Y[:2]))
    assert model.input_dim == 3
    with pytest.raises(ValueError, match=r"^validation_data\[0\]: expected 3 features"):
        _unbuilt().fit(chunks, None, verbose=0, validation_data=(np.ones((2, 4)), Y[:2]))


@pytest.mark.parametrize(
    "weights",
    [[np.ones((5, 4))], [np.ones((5, 4)), np.ones(4), np.ones((4, 2)), np.ones(1)]],
    ids=["too-few", "wrong-shape"],
)
def test_a_failed_set_weights_keeps_the_model_unbuilt(weights):
    model = _unbuilt()
    with pytest.raises(ValueError, match="weights"):
        model.set_weights(weights)
    assert model.input_dim is None
    model.fit(X, Y, verbose=0)  # 3 features, not the 5 of the refused weights
    assert model.input_dim == 3


@pytest.mark.parametrize(
    "bad",
    [
        {"loss": "squared_error", "optimizer": "nope"},
        {"loss": "nope", "metrics": ["mae"]},
        {"loss": "mae_typo"},
        {"metrics": ["mse", "nope"]},
        {"precision": "float8"},
    ],
    ids=["optimizer", "loss-with-metrics", "loss", "metric", "precision"],
)
def test_a_failed_compile_keeps_the_previous_one(bad):
    model = an.Sequential([an.layers.Dense(1)], input_dim=3, seed=0)
    model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.05))
    before = (model.network, model.optimizer, model.metrics, model.precision)
    loss = model.evaluate(X, Y)
    with pytest.raises((ValueError, TypeError)):
        model.compile(**bad)
    assert (model.network, model.optimizer, model.metrics, model.precision) == before
    assert model.evaluate(X, Y) == loss
    expected = np.mean((X @ model.get_weights()[0] + model.get_weights()[1] - Y) ** 2)
    assert loss == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("lr", [1e300, 1e-50], ids=["overflows", "underflows"])
def test_a_learning_rate_float32_cannot_hold_is_refused_before_training(backend, lr):
    with an.use(backend):
        model = an.Sequential([an.layers.Dense(1)], input_dim=3, seed=0)
        model.compile("mse", an.optimizers.SGD(lr=lr))
        before = model.get_weights()
        with pytest.raises(
            ValueError, match=rf"^lr: expected a learning rate .* got {re.escape(repr(lr))}$"
        ):
            model.fit(X, Y, verbose=0)
        for a, b in zip(before, model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        model.compile("mse", an.optimizers.SGD(lr=0.01))
        model.fit(X, Y, verbose=0)
        with pytest.raises(ValueError, match="^learning_rate: expected"):
            model.learning_rate = 1e39
        assert model.learning_rate == pytest.approx(0.01)
    with an.use(backend, dtype="float64"):  # float64 holds both
        model.compile("mse", an.optimizers.SGD(lr=1e-50))
        start = model.get_weights()
        model.fit(X, Y, verbose=0)
        assert model.learning_rate == pytest.approx(1e-50)
        for a, b in zip(start, model.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-40)


@pytest.mark.parametrize("lr", ["x", None, [0.1]])
def test_a_learning_rate_that_is_not_a_number_is_a_type_error(lr):
    model = an.Sequential([an.layers.Dense(1)], input_dim=3, seed=0)
    model.compile("mse", "sgd")
    with pytest.raises(TypeError, match="^learning_rate: expected a number >= 0"):
        model.learning_rate = lr
    assert model.learning_rate == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.set_weights(None), "^weights: expected a list of arrays"),
        (lambda m: m.fit(X, Y, callbacks="stop", verbose=0), "^callbacks: expected a list"),
        (lambda m: m.fit(X, Y, callbacks=[print], verbose=0), "^callbacks: expected Callback"),
        (lambda m: an.Sequential(an.layers.Dense(1)), "^layers: expected a list of layers"),
    ],
    ids=["set_weights-None", "callbacks-str", "callbacks-function", "layers-not-a-list"],
)
def test_wrong_kinds_of_argument_are_named(call, message):
    model = an.Sequential([an.layers.Dense(1)], input_dim=3, seed=0)
    model.compile("mse", "sgd")
    before = model.get_weights()
    with pytest.raises(TypeError, match=message):
        call(model)
    np.testing.assert_array_equal(before[0], model.get_weights()[0])


def test_none_means_no_callbacks_and_no_metrics_and_one_callback_is_a_list():
    model = an.Sequential([an.layers.Dense(1)], input_dim=3, seed=0)
    model.compile("mse", "sgd", metrics=None)
    assert model.metrics == []
    history = model.fit(X, Y, epochs=2, callbacks=None, verbose=0)
    assert len(history.history["loss"]) == 2
    stop = an.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)
    history = model.fit(X, Y, epochs=5, callbacks=stop, verbose=0)
    assert len(history.history["loss"]) == 2  # stopped by the one callback given


@pytest.mark.parametrize("method", ["fit", "evaluate", "gradients"])
def test_targets_of_none_are_named(method):
    model = an.Sequential([an.layers.Dense(1)], input_dim=3, seed=0)
    model.compile("mse", "sgd")
    call = {"fit": lambda: model.fit(X, None, verbose=0)}.get(
        method, lambda: getattr(model, method)(X, None)
    )
    with pytest.raises(TypeError, match="^y: expected targets.* got None"):
        call()


@pytest.mark.parametrize("schedule", [False, True])
def test_a_refused_learning_rate_does_not_build_the_model(schedule):
    lr = an.optimizers.ExponentialDecay(1e300, 10, 0.5) if schedule else 1e300
    model = _unbuilt()
    model.compile("mse", an.optimizers.SGD(lr=lr))
    with pytest.raises(ValueError, match="^lr: expected a learning rate that float32 can hold"):
        model.fit(np.ones((12, 5)), np.ones(12), verbose=0)
    assert model.input_dim is None
