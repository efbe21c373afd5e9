"""A weight can overflow while every loss stays finite (tanh saturates): the divergence is
still found at the exact update, and the weights from just before it are kept."""

import numpy as np
import pytest

import arraynet as an

# Row 1 (x = 0) moves only the output bias; row 2 (x = 1e300) sends the hidden weight to
# inf, yet tanh(±inf) = ±1 keeps that row's loss (and the next) finite.
X = np.array([[0.0], [1e300]])
Y = np.array([-5.0, -5.0])
LR = 1e10


def _by_hand():
    """The weights after the first (good) update, in float64."""
    W1, W2, b2 = 1e-300, 1.0, 0.0
    delta = W2 * np.tanh(W1 * X[0, 0]) + b2 - Y[0]
    return np.array([[W1]]), np.array([[W2]]), np.array([b2 - LR * delta])


@pytest.mark.parametrize("mode", ["stochastic", "minibatch"])
def test_a_hidden_overflow_is_found_at_its_update(backend, mode):
    with an.use(backend, dtype="float64"), np.errstate(all="ignore"):
        model = an.Sequential(
            [an.layers.Dense(1, activation="tanh", use_bias=False), an.layers.Dense(1)],
            input_dim=1,
        )
        model.set_weights([np.array([[1e-300]]), np.array([[1.0]]), np.array([0.0])])
        model.compile(optimizer=an.optimizers.SGD(lr=LR))
        with pytest.raises(an.DivergenceError) as info:
            model.fit(X, Y, mode=mode, batch_size=1, epochs=3, shuffle=False, verbose=0)
        weights = model.get_weights()
    assert (info.value.epoch, info.value.batch) == (0, 1)
    for got, expected in zip(weights, _by_hand()):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_finite_weights_whose_sum_overflows_are_not_divergence(backend):
    """Two float32 weights of 3e38 sum to inf, yet every weight and the loss are finite:
    training goes on (zero inputs and targets leave the weights as they are)."""
    with an.use(backend):
        model = an.Sequential([an.layers.Dense(1, use_bias=False)], input_dim=2, seed=0)
        model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.1))
        model.set_weights([np.array([[3e38], [3e38]])])
        history = model.fit(np.zeros((4, 2)), np.zeros(4), epochs=2, verbose=0)
        assert history.history["loss"] == [0.0, 0.0]
        np.testing.assert_array_equal(model.get_weights()[0], np.float32([[3e38], [3e38]]))


@pytest.mark.parametrize("library", ["numpy", "array_api_strict"])  # both compute in NumPy
def test_divergence_raises_without_numpy_warnings(recwarn, library):
    if library not in an.available_backends():
        pytest.skip(f"{library} is not available here")
    with an.use(library):
        model = an.Sequential([an.layers.Dense(8, activation="relu"), an.layers.Dense(1)], seed=0)
        model.compile(optimizer=an.optimizers.SGD(lr=1e20))
        X = np.random.default_rng(0).normal(size=(64, 4))
        with pytest.raises(an.DivergenceError):
            model.fit(X, X.sum(axis=1) * 1e3, epochs=5, verbose=0)
    assert [str(w.message) for w in recwarn if issubclass(w.category, RuntimeWarning)] == []
