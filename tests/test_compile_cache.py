"""JAX compiles once per architecture, batch size and bucket of rows, not once per fit.

Compilations are counted with JAX's own monitoring events (one
``/jax/core/compile/backend_compile_duration`` per XLA compilation): a second fit with other
rows (in the same power-of-two bucket) or other epochs, a new model of the same config, a
learning-rate sweep and streamed chunks of uneven sizes compile nothing more, and the
numbers stay those of NumPy (float64, same seed: the same batches). Each architecture here
is its own (its widths), so the tests do not depend on the order they run in.
"""

import numpy as np
import pytest

import arraynet as an

jax = pytest.importorskip("jax")

COMPILES = [0]


def _count(event, duration, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
        COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


class compiles:
    """``with compiles() as c: ...``: ``c.count`` compilations happened inside."""

    def __enter__(self):
        self.start = COMPILES[0]
        return self

    def __exit__(self, *exc):
        self.count = COMPILES[0] - self.start


def _data(rows, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, features)), rng.integers(0, classes, rows)


def _model(width, seed=0, lr=0.05, dropout=False, momentum=0.0, norm=False):
    layers = [an.layers.Dense(width, activation="relu")]
    layers += [an.layers.Dropout(0.25)] if dropout else []
    layers += [an.layers.BatchNormalization()] if norm else []
    model = an.Sequential([*layers, an.layers.Dense(3)], input_dim=5, seed=seed)
    model.compile(
        "softmax_cross_entropy",
        an.optimizers.SGD(lr=lr, momentum=momentum),
        metrics=["accuracy"],
    )
    return model


def _fit(backend, width, X, y, seed=0, fit=None, **config):
    with an.use(backend, dtype="float64"):
        model = _model(width, seed=seed, **config)
        history = model.fit(X, y, verbose=0, **(fit or {}))
        return model.get_weights(), history.history


def _agree(jax_run, numpy_run):
    for a, b in zip(jax_run[0], numpy_run[0]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    for key, values in numpy_run[1].items():
        np.testing.assert_allclose(jax_run[1][key], values, rtol=1e-9, atol=1e-12)


def test_a_new_model_of_the_same_config_compiles_nothing():
    """Cross-validation, a search over seeds: one compilation serves every fresh model."""
    X, y = _data(300)
    _fit("jax", 11, X, y, seed=0)
    for seed in (1, 2, 3):
        X, y = _data(300, seed=seed)
        with compiles() as c:
            _fit("jax", 11, X, y, seed=seed)
        assert c.count == 0, seed


@pytest.mark.parametrize("dropout", [False, True])
def test_other_rows_and_epochs_in_a_bucket_run_the_same_program_with_numpys_numbers(dropout):
    """300, 257 and 500 rows (bucket 512, short last batches of 12, 1 and 20 rows), 1 to 4
    epochs, shuffled: no compilation after the first fit, and every fit equals NumPy's."""
    width = 12 + dropout
    runs = [(300, 1), (257, 3), (500, 2), (320, 4)]
    counted = []
    for k, (rows, epochs) in enumerate(runs):
        X, y = _data(rows, seed=k)
        fit = dict(epochs=epochs, batch_size=32)
        with compiles() as c:
            got = _fit("jax", width, X, y, fit=fit, dropout=dropout)
        counted.append(c.count)
        _agree(got, _fit("numpy", width, X, y, fit=fit, dropout=dropout))
    assert counted[1:] == [0, 0, 0]


def test_rows_compile_at_most_once_per_doubling():
    width = 14
    counted = []
    for rows in (600, 700, 1000, 1024, 1100, 2000):
        X, y = _data(rows)
        with compiles() as c:
            _fit("jax", width, X, y, fit=dict(epochs=1))
        counted.append(c.count)
    assert sum(counted[1:4]) == 0  # 600 .. 1024 share a bucket with the first
    assert counted[4] <= 1 and counted[5] == 0  # 1100 and 2000: the next bucket


def test_epochs_grouped_in_one_call_compile_nothing_more():
    """The book's streetlights: ``fit(epochs=2)`` then ``fit(epochs=500)`` (one call of
    500 epochs), and a new model's 500 epochs: the same program."""
    X = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 1], [1, 1, 1]], float)
    y = np.array([[1], [1], [0], [0]], float)

    def lights(seed):
        model = an.Sequential(
            [an.layers.Dense(4, activation="relu", use_bias=False), an.layers.Dense(1)],
            input_dim=3,
            seed=seed,
        )
        model.compile("squared_error", an.optimizers.SGD(lr=0.2))
        return model

    with an.use("jax", dtype="float64"):
        model = lights(1)
        model.fit(X, y, mode="stochastic", epochs=2, shuffle=False, verbose=0)
        with compiles() as c:
            model.fit(X, y, mode="stochastic", epochs=500, shuffle=False, verbose=0)
            lights(2).fit(X, y, mode="stochastic", epochs=500, verbose=0)  # shuffled
        got = model.get_weights()
    with an.use("numpy", dtype="float64"):
        reference = lights(1)
        for epochs in (2, 500):
            reference.fit(X, y, mode="stochastic", epochs=epochs, shuffle=False, verbose=0)
    assert c.count <= 1  # the shuffled fit adds the orders' program at most
    for a, b in zip(got, reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_a_learning_rate_sweep_compiles_once():
    """The learning rate is a value in the optimizer state, not a constant of the program."""
    X, y = _data(200)
    _fit("jax", 15, X, y, lr=0.5)
    for lr in (0.1, 0.01, 0.003):
        with compiles() as c:
            got = _fit("jax", 15, X, y, lr=lr)
        assert c.count == 0, lr
        _agree(got, _fit("numpy", 15, X, y, lr=lr))


def test_streaming_uneven_chunks_compiles_at_most_twice_per_fit():
    """Chunks of 37, 100, 64, 91 and 5 rows: one program for the largest chunk's bucket
    (every short batch inside it), where there was one per chunk size. (The first fit of
    an architecture also compiles JAX's small programs for its weights' shapes: the
    optimizer's zeros, the finiteness check.)"""
    rng = np.random.default_rng(3)
    sizes = (37, 100, 64, 91, 5)
    chunks = [(rng.normal(size=(m, 5)), rng.integers(0, 3, m)) for m in sizes]
    _fit("jax", 16, *_data(8), fit=dict(batch_size=16))  # the architecture's first fit
    with compiles() as c:
        got = _fit("jax", 16, chunks, None, fit=dict(epochs=2, batch_size=16))
    assert c.count <= 2
    _agree(got, _fit("numpy", 16, chunks, None, fit=dict(epochs=2, batch_size=16)))
    others = [(rng.normal(size=(m, 5)), rng.integers(0, 3, m)) for m in (70, 33, 101)]
    with compiles() as c:
        _fit("jax", 16, others, None, seed=4, fit=dict(epochs=1, batch_size=16))
    assert c.count == 0


def test_layers_that_mix_rows_compile_the_short_batch_by_size_and_share_across_models():
    """BatchNormalization's statistics are over the batch, so its short batch cannot be
    padded: it is compiled by its size, still once for every model of the config."""
    X, y = _data(250)
    fit = dict(epochs=2, batch_size=32)  # a short batch of 26 rows
    _fit("jax", 17, X, y, fit=fit, norm=True)
    with compiles() as c:
        got = _fit("jax", 17, X, y, seed=5, fit=fit, norm=True)
    assert c.count == 0
    _agree(got, _fit("numpy", 17, X, y, seed=5, fit=fit, norm=True))


def test_batch_callbacks_share_the_compiled_step():
    """With a batch hook the epochs run from Python; the step is the cached one."""

    class Count(an.callbacks.Callback):
        batches = 0

        def on_batch_end(self, batch, logs=None):
            Count.batches += 1

    X, y = _data(128)
    fit = dict(epochs=1, batch_size=32, callbacks=[Count()])
    _fit("jax", 18, X, y, fit=fit)
    with compiles() as c:
        _fit("jax", 18, X, y, seed=6, fit=fit)
    assert c.count == 0 and Count.batches == 8


def test_a_config_that_changes_the_math_gets_its_own_program():
    """Momentum, a loss scale's growth interval: each its own runner, each its own math."""
    from arraynet.precision import DynamicLossScale
    from arraynet.train.cache import COMPILED

    X, y = _data(64)
    misses = COMPILED.misses
    plain = _fit("jax", 19, X, y)
    heavy = _fit("jax", 19, X, y, momentum=0.9)
    assert COMPILED.misses == misses + 2
    _agree(heavy, _fit("numpy", 19, X, y, momentum=0.9))
    assert not np.allclose(plain[0][0], heavy[0][0])
    scales = []
    for interval in (2000, 3):
        with an.use("jax"):
            model = _model(20)
            model.compile(
                "softmax_cross_entropy", an.optimizers.SGD(lr=0.05), precision="mixed_float16"
            )
            model.optimizer = DynamicLossScale(model.optimizer.inner, 4.0, interval)
            model.fit(X, y, mode="full", epochs=7, verbose=0)
            scales.append(float(np.asarray(model.variables.opt_state[-2])))
    assert scales == [4.0, 16.0]
