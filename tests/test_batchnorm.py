"""BatchNormalization (Keras semantics) on every backend in float64.

Training forward and backward against ``torch.nn.functional.batch_norm(training=True)``
with autograd; inference (the moving statistics) against it with ``training=False`` and a
NumPy closed form; the moving statistics after ``fit`` against a NumPy closed form with
Keras's momentum (``moving * momentum + batch * (1 - momentum)``; torch's momentum means the
opposite) and the biased batch variance, in every mode, shuffled or not; Keras's weight
order ``[gamma, beta, moving_mean, moving_variance]``; the state saved, loaded and moved
between backends (fit on NumPy, then on another backend, continues as an all-NumPy run);
central differences; configs and refusals.
"""

import numpy as np
import pytest
from conv_reference import assert_close, through_protocol, torch_autograd

import arraynet as an
from arraynet.layers import BatchNormalization, Conv2D, Dense, Flatten, from_config

EPS = 1e-3
VARIANTS = [(True, True), (False, True), (True, False), (False, False)]  # (center, scale)
SHAPES = [(4,), (5, 3), (4, 3, 2)]  # dense features, steps x features, H x W x C


def _weights(layer, shape, rng):
    """Random trainable params (gamma near 1) and a positive moving variance."""
    features = shape[-1]
    params = [
        1 + 0.3 * rng.normal(size=features) if p.name == "gamma" else rng.normal(size=features)
        for p in layer.params(shape)
    ]
    return params, [rng.normal(size=features), rng.uniform(0.5, 2.0, features)]


def _torch_batch_norm(layer, training, moving=(None, None)):
    """``fn(X, [gamma], [beta])`` through F.batch_norm on channels-last X."""
    F = pytest.importorskip("torch").nn.functional

    def fn(X, *params):
        params = list(params)
        gamma = params.pop(0) if layer.scale else None
        beta = params.pop(0) if layer.center else None
        x = X.movedim(-1, 1)  # channels last -> channels first
        running = [None if m is None else X.new_tensor(m) for m in moving]
        y = F.batch_norm(x, *running, gamma, beta, training=training, eps=layer.epsilon)
        return y.movedim(1, -1)

    return fn


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("center", "scale"), VARIANTS, ids=str)
def test_training_forward_and_backward_match_torch(backend, shape, center, scale):
    rng = np.random.default_rng(len(shape) + 2 * center + scale)
    layer = BatchNormalization(center=center, scale=scale)
    params, state = _weights(layer, shape, rng)
    X = 3 + 2 * rng.normal(size=(6, *shape))
    dY = rng.normal(size=X.shape)
    with an.use(backend, dtype="float64"):
        Y, dX, grads = through_protocol(layer, [*params, *state], X, dY, training=True)
    tY, tdX, tgrads = torch_autograd(_torch_batch_norm(layer, True), X, params, dY)
    assert_close("batchnorm training forward", Y, tY)
    assert_close("batchnorm training dX", dX, tdX)
    assert len(grads) == len(params)
    for g, t in zip(grads, tgrads, strict=True):
        assert_close("batchnorm training dgamma/dbeta", g, t)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("center", "scale"), VARIANTS[:2], ids=str)
def test_inference_uses_the_moving_statistics(backend, shape, center, scale):
    rng = np.random.default_rng(len(shape))
    layer = BatchNormalization(center=center, scale=scale, epsilon=0.01)
    params, state = _weights(layer, shape, rng)
    X, dY = rng.normal(size=(5, *shape)), rng.normal(size=(5, *shape))
    with an.use(backend, dtype="float64"):
        Y, dX, grads = through_protocol(layer, [*params, *state], X, dY, training=False)
    fn = _torch_batch_norm(layer, False, state)
    tY, tdX, tgrads = torch_autograd(fn, X, params, dY)
    gamma = params[0] if scale else 1.0
    beta = params[-1] if center else 0.0
    closed = (X - state[0]) / np.sqrt(state[1] + 0.01) * gamma + beta
    assert_close("batchnorm inference forward", Y, tY)
    assert_close("batchnorm inference closed form", Y, closed)
    assert_close("batchnorm inference dX", dX, tdX)
    for g, t in zip(grads, tgrads, strict=True):
        assert_close("batchnorm inference dgamma/dbeta", g, t)


# -- weights, state, moving statistics -----------------------------------------------------------


@pytest.mark.parametrize(
    ("center", "scale", "names"),
    [
        (True, True, ["gamma", "beta", "moving_mean", "moving_variance"]),
        (False, True, ["gamma", "moving_mean", "moving_variance"]),
        (True, False, ["beta", "moving_mean", "moving_variance"]),
        (False, False, ["moving_mean", "moving_variance"]),
    ],
)
def test_weights_in_keras_order_with_keras_starts(center, scale, names):
    layer = BatchNormalization(center=center, scale=scale)
    assert [p.name for p in layer.params((4, 4, 3)) + layer.states((4, 4, 3))] == names
    model = an.Sequential([Conv2D(2, 1), layer], input_shape=(4, 4, 3), seed=0)
    weights = model.get_weights()[2:]
    starts = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}
    assert [w.shape for w in weights] == [(2,)] * len(names)
    for name, w in zip(names, weights, strict=True):
        np.testing.assert_array_equal(w, np.full(2, starts[name]))


def _bn_model(momentum=0.99, shape=(3, 3, 2), seed=0):
    model = an.Sequential(
        [BatchNormalization(momentum=momentum), Flatten(), Dense(2)], input_shape=shape, seed=seed
    )
    model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.05))
    return model


def _moving_closed_form(X, batch, epochs, momentum, orders=None):
    """Keras: per batch, moving = moving * momentum + stat * (1 - momentum), the batch's
    mean and biased variance over every axis but the last."""
    mean, var = np.zeros(X.shape[-1]), np.ones(X.shape[-1])
    axes = tuple(range(X.ndim - 1))
    for e in range(epochs):
        rows = X if orders is None else X[orders[e]]
        for start in range(0, len(X), batch):
            B = rows[start : start + batch]
            mean = mean * momentum + B.mean(axis=axes) * (1 - momentum)
            var = var * momentum + B.var(axis=axes) * (1 - momentum)  # ddof=0: biased
    return mean, var


MOVING = [  # (mode, batch_size, momentum, shuffle seed or None)
    ("minibatch", 4, 0.99, None),  # 10 rows: the last batch has 2
    ("minibatch", 3, 0.9, 7),
    ("full", None, 0.9, None),
    ("stochastic", 1, 0.8, 3),
]


@pytest.mark.parametrize(("mode", "batch", "momentum", "seed"), MOVING, ids=str)
def test_moving_statistics_follow_keras_momentum_and_the_biased_variance(
    backend, mode, batch, momentum, seed
):
    rng = np.random.default_rng(11)
    X = 2 + 3 * rng.normal(size=(10, 3, 3, 2))
    y = rng.normal(size=(10, 2))
    with an.use(backend, dtype="float64"):
        model = _bn_model(momentum)
        model.fit(
            X, y, mode=mode, batch_size=batch, epochs=3, shuffle=seed is not None, seed=seed,
            verbose=0,
        )  # fmt: skip
        weights = model.get_weights()
        predicted = model.predict(X)
    orders = None
    if seed is not None:
        generator = np.random.default_rng(seed)
        orders = [generator.permutation(10) for _ in range(3)]
    mean, var = _moving_closed_form(X, batch or 10, 3, momentum, orders)
    assert_close("moving mean after fit", weights[2], mean)
    assert_close("moving variance after fit", weights[3], var)
    gamma, beta, W, b = weights[0], weights[1], weights[4], weights[5]
    normalized = (X - mean) / np.sqrt(var + EPS) * gamma + beta
    assert_close(
        "predict with the moving statistics", predicted, normalized.reshape(10, -1) @ W + b
    )


def test_the_moving_statistics_are_state_not_trained(backend):
    """``gradients`` returns one gradient per trainable weight; the state has none."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 3, 3, 2)), rng.normal(size=(6, 2))
    with an.use(backend, dtype="float64"):
        model = _bn_model()
        loss, grads = model.gradients(X, y)
    shapes = [(2,), (2,), (18, 2), (2,)]  # gamma, beta, Dense
    assert [g.shape for g in grads] == shapes and np.isfinite(loss)


def test_save_and_load_keep_the_moving_statistics(backend, tmp_path):
    rng = np.random.default_rng(1)
    X, y = 1 + rng.normal(size=(10, 3, 3, 2)), rng.normal(size=(10, 2))
    path = tmp_path / "bn.arraynet"
    with an.use(backend, dtype="float64"):
        model = _bn_model()
        model.fit(X, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        model.save(path)
        loaded = an.load(path)
        before, again = model.predict(X), loaded.predict(X)
        saved = model.get_weights()
        assert not np.array_equal(saved[2], np.zeros(2))  # the statistics moved
        for a, b in zip(loaded.get_weights(), saved, strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(again, before)
        model.fit(X, y, batch_size=4, epochs=3, initial_epoch=2, shuffle=False, verbose=0)
        loaded.fit(X, y, batch_size=4, epochs=3, initial_epoch=2, shuffle=False, verbose=0)
        for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def _cnn(seed=2):
    model = an.Sequential(
        [Conv2D(3, 2, activation="relu"), BatchNormalization(momentum=0.9), Flatten(), Dense(2)],
        input_shape=(4, 4, 2),
        seed=seed,
    )
    model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.05, momentum=0.5))
    return model


@pytest.mark.parametrize("first", ["numpy", "other"])
def test_the_state_moves_between_backends(backend, first):
    """Fit a CNN with BN one epoch on NumPy then one on ``backend`` (or the other way): the
    weights, moving statistics and momentum slots go along, and it ends as an all-NumPy run."""
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(12, 4, 4, 2)), rng.normal(size=(12, 2))
    order = ["numpy", backend] if first == "numpy" else [backend, "numpy"]
    runs = {}
    for name, backends in (("moved", order), ("numpy", ["numpy", "numpy"])):
        model = _cnn()
        for epoch, where in enumerate(backends):
            with an.use(where, dtype="float64"):
                model.fit(
                    X, y, batch_size=5, epochs=epoch + 1, initial_epoch=epoch, shuffle=False,
                    verbose=0,
                )  # fmt: skip
        runs[name] = model.get_weights()
    assert len(runs["moved"]) == 8  # kernel, bias, gamma, beta, moving mean/variance, W, b
    for i, (a, b) in enumerate(zip(runs["moved"], runs["numpy"], strict=True)):
        assert_close(f"weight {i} after moving backends", a, b, 1e-9)


# -- central differences, configs, refusals -------------------------------------------------------


@pytest.mark.parametrize("shape", [(3,), (3, 2, 2)], ids=str)
@pytest.mark.parametrize(("center", "scale"), VARIANTS[:3], ids=str)
def test_gradcheck_passes_on_batch_normalization(backend, shape, center, scale):
    layer = BatchNormalization(center=center, scale=scale)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, *shape)), rng.normal(size=(4, *shape))
    weights = [1 + 0.3 * rng.normal(size=shape[-1]) for _ in layer.params(shape)]
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(layer, X, y, weights=weights)
    assert report.passed, str(report)
    assert report.names[-1] == "X" and len(report.names) == len(weights) + 1
    state = [rng.normal(size=shape[-1]), rng.uniform(0.5, 2.0, shape[-1])]
    with an.use(backend, dtype="float64"):  # the state given too, and the initial weights
        assert an.gradcheck(layer, X, y, weights=[*weights, *state]).passed
        assert an.gradcheck(layer, X, y).passed


def test_config_round_trip():
    layer = BatchNormalization(momentum=0.9, epsilon=1e-5, center=False)
    again = from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    assert (again.momentum, again.epsilon, again.center, again.scale) == (0.9, 1e-5, False, True)
    default = BatchNormalization()
    assert (default.momentum, default.epsilon, default.center, default.scale) == (
        0.99,
        1e-3,
        True,
        True,
    )


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"axis": 1}, "axis"),
        ({"momentum": 1.5}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"center": "yes"}, "center"),
        ({"scale": None}, "scale"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, option):
    with pytest.raises((ValueError, TypeError), match=f"^{option}: expected"):
        BatchNormalization(**kwargs)
