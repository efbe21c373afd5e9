"""The training loop: updates per mode, one compiled JAX epoch, no read-back inside an epoch,
seeded determinism, dtypes, and weights following the selected backend."""

import numpy as np
import pytest

import arraynet as an
from arraynet.network import Network

RNG = np.random.default_rng(7)
X = RNG.normal(size=(10, 3))
Y = RNG.normal(size=(10, 2))


def _model(seed=3, momentum=0.0):
    model = an.Sequential(
        [an.layers.Dense(5, activation="tanh"), an.layers.Dense(2)], input_dim=3, seed=seed
    )
    model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=0.05, momentum=momentum))
    return model


@pytest.mark.parametrize(
    "mode, batch_size, updates_per_epoch",
    [("full", 32, 1), ("minibatch", 4, 3), ("stochastic", 32, 10)],
)
def test_updates_per_epoch_and_one_compiled_epoch_on_jax(
    backend, monkeypatch, mode, batch_size, updates_per_epoch
):
    calls = []
    original = Network.loss_and_grads
    monkeypatch.setattr(Network, "loss_and_grads", lambda *a: calls.append(1) or original(*a))
    with an.use(backend, dtype="float64"):
        _model().fit(X, Y, mode=mode, batch_size=batch_size, epochs=4, verbose=0)
    if backend == "jax":  # traced once for the scan body, once for a partial last batch
        assert len(calls) <= 2
    else:
        assert len(calls) == 4 * updates_per_epoch


def test_a_jax_epoch_is_traced_code_with_no_transfers():
    """Under jit a float()/item() in the step would fail at trace time; the guard also forbids
    any host-to-device transfer once the epoch is compiled."""
    jax = pytest.importorskip("jax")
    from arraynet.train import make_runner

    with an.use("jax", dtype="float32") as be:
        model = _model()
        params = model.variables.on(be)
        run = make_runner(be, model.network, model.optimizer, [], batch_size=4)
        Xd, Yd = be.asarray(X), be.asarray(Y)
        orders = be.asarray(np.stack([np.arange(10)[::-1]] * 3), be.xp.int32)
        state = model.optimizer.init(be.xp, params)
        run(params, state, Xd, Yd, orders, (), 3)  # compile
        with jax.transfer_guard("disallow"):
            params, _, (loss,), failed = run(params, state, Xd, Yd, orders, (), 3)
            with pytest.raises(Exception, match="[Dd]isallowed"):
                be.xp.asarray(np.ones(2))  # the guard is live
    assert loss.shape == (3,) and np.all(np.isfinite(np.asarray(loss))) and int(failed) == -1


def test_same_seed_gives_bitwise_equal_weights_twice(backend):
    runs = []
    for _ in range(2):
        with an.use(backend, dtype="float32"):
            model = _model(seed=11)
            model.fit(X, Y, mode="minibatch", batch_size=3, epochs=3, seed=5, verbose=0)
            runs.append(model.get_weights())
    for a, b in zip(*runs):
        assert np.array_equal(a, b)


def test_initial_weights_come_from_the_seed_not_the_backend(backend):
    with an.use("numpy"):
        expected = _model(seed=21).get_weights()
    with an.use(backend, dtype="float32"):
        model = _model(seed=21)
        model.fit(X, Y, epochs=0, verbose=0)
        for a, b in zip(model.get_weights(), expected):
            np.testing.assert_array_equal(a, b.astype(np.float32))


def test_dtype_follows_use(backend):
    for dtype in ("float32", "float64"):
        with an.use(backend, dtype=dtype):
            model = _model()
            model.fit(X, Y, epochs=1, verbose=0)
            assert {w.dtype for w in model.get_weights()} == {np.dtype(dtype)}
            assert model.predict(X).dtype == np.dtype(dtype)


def test_weights_follow_the_backend_between_calls(backend):
    with an.use("numpy", dtype="float64"):
        whole = _model(momentum=0.9)
        whole.fit(X, Y, epochs=4, seed=1, verbose=0)
        split = _model(momentum=0.9)
        split.fit(X, Y, epochs=2, seed=1, verbose=0)
    rng_state = np.random.default_rng(1)
    rng_state.permutation(10), rng_state.permutation(10)  # the two epochs already run
    with an.use(backend, dtype="float64"):
        split.rng = rng_state
        split.fit(X, Y, epochs=2, verbose=0)  # optimizer state travels too
    for a, b in zip(split.get_weights(), whole.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_momentum_by_hand():
    model = an.Sequential([an.layers.Dense(1, use_bias=False)], input_dim=2)
    model.set_weights([np.array([[0.5], [-0.3]])])
    model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=0.1, momentum=0.9))
    x, t = np.array([[1.0, 2.0]]), np.array([[1.0]])
    with an.use("numpy", dtype="float64"):
        model.fit(x, t, mode="stochastic", epochs=2, verbose=0)
    W, v = np.array([[0.5], [-0.3]]), 0.0
    for _ in range(2):
        g = x.T @ (x @ W - t)
        v = 0.9 * v - 0.1 * g
        W = W + v
    np.testing.assert_allclose(model.get_weights()[0], W, rtol=1e-14)
