"""``model(x, training=True)`` (Keras 3): the layers run as in training, the weights stay.

Dropout draws its mask from the model's seeded generator on the host (the same numbers on
every backend); BatchNormalization normalizes with the batch's statistics (biased variance,
epsilon 1e-3) and moves its moving statistics by ``momentum`` (0.99), as Keras's ``call``
does, unless the layer does not train (then it normalizes with the moving statistics and
keeps them). References: the formulas in float64 NumPy, by hand.
"""

import numpy as np

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import BatchNormalization, Dense, Dropout

X = np.random.default_rng(5).standard_normal((16, 3)) * 2.0 + 1.0


def _dropped(backend, seed=3):
    an.use(backend, dtype="float64")
    model = an.Sequential([Dropout(0.5)], input_shape=(1000,), seed=seed)
    ones = np.ones((4, 1000))
    return [to_numpy(model(ones, training=True)) for _ in range(2)], to_numpy(model(ones))


def test_dropout_draws_a_new_seeded_mask_each_call(backend):
    (first, second), inference = _dropped(backend)
    assert set(np.unique(first)) == {0.0, 2.0}  # dropped, or kept and scaled by 1 / (1 - 0.5)
    assert 0.45 < np.mean(first == 0) < 0.55
    assert 0.4 < np.mean(first != second) < 0.6  # a new mask each call
    np.testing.assert_array_equal(inference, np.ones((4, 1000)))
    (reference, _), _ = _dropped("numpy")
    np.testing.assert_array_equal(first, reference)  # one seed, the same mask everywhere


def test_batch_normalization_uses_and_moves_batch_statistics(backend):
    an.use(backend, dtype="float64")
    model = an.Sequential([BatchNormalization(), Dense(2)], input_shape=(3,), seed=0)
    dense = model.layers[1].get_weights()
    out = to_numpy(model(X, training=True))
    mean, var = X.mean(axis=0), X.var(axis=0)
    W, b = dense
    np.testing.assert_allclose(out, (X - mean) / np.sqrt(var + 1e-3) @ W + b, rtol=1e-12)
    gamma, beta, moving_mean, moving_var = model.layers[0].get_weights()
    np.testing.assert_allclose(moving_mean, 0.01 * mean, rtol=1e-12)
    np.testing.assert_allclose(moving_var, 0.99 + 0.01 * var, rtol=1e-12)
    np.testing.assert_array_equal(gamma, np.ones(3))
    np.testing.assert_array_equal(beta, np.zeros(3))
    for got, want in zip(model.layers[1].get_weights(), dense):
        np.testing.assert_array_equal(got, want)  # only the state moves
    inference = to_numpy(model(X))
    expected = (X - moving_mean) / np.sqrt(moving_var + 1e-3) @ W + b
    np.testing.assert_allclose(inference, expected, rtol=1e-12)


def test_a_frozen_batch_normalization_keeps_its_statistics(backend):
    an.use(backend, dtype="float64")
    layer = BatchNormalization(trainable=False)
    model = an.Sequential([layer], input_shape=(3,))
    out = to_numpy(model(X, training=True))
    np.testing.assert_allclose(out, X / np.sqrt(1.0 + 1e-3), rtol=1e-12)  # moving: 0 and 1
    np.testing.assert_array_equal(layer.get_weights()[2:], [np.zeros(3), np.ones(3)])
