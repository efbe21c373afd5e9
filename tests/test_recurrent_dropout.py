"""Keras 3's ``dropout=`` of the recurrent layers: one mask per row and input feature, the
same at every step (Keras's LSTM, GRU and SimpleRNN without recurrent dropout), drawn on
the host like Dropout's. The reference is Dropout with ``noise_shape=(None, 1, features)``
before the same layer: the same masks, drawn the same way, so the same training."""

import numpy as np
import pytest

import arraynet as an
from arraynet import layers

RNG = np.random.default_rng(0)
STEPS, FEATURES = 5, 3


def data():
    return RNG.standard_normal((12, STEPS, FEATURES)), RNG.standard_normal((12, 2))


def trained(backend, body, X, y, mode="minibatch"):
    with an.use(backend, dtype="float64"):
        model = an.Sequential([an.Input((STEPS, FEATURES)), *body, layers.Dense(2)], seed=1)
        model.compile("sgd", "mse")
        model.fit(X, y, epochs=2, batch_size=4, seed=2, verbose=0, mode=mode)
        return model


@pytest.mark.parametrize("cell", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_dropout_trains_as_a_dropout_of_whole_steps_before_the_layer(backend, cell):
    X, y = data()
    ours = trained(backend, [cell(4, dropout=0.4, go_backwards=cell is layers.GRU)], X, y)
    mask_first = [layers.Dropout(0.4, noise_shape=(None, 1, FEATURES)),
                  cell(4, go_backwards=cell is layers.GRU)]  # fmt: skip
    reference = trained(backend, mask_first, X, y)
    plain = trained(backend, [cell(4, go_backwards=cell is layers.GRU)], X, y)
    for a, b in zip(ours.get_weights(), reference.get_weights()):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-14)
    assert not all(np.allclose(a, c) for a, c in zip(ours.get_weights(), plain.get_weights()))
    with an.use(backend, dtype="float64"):  # inference: no dropout
        assert np.array_equal(ours.predict(X, verbose=0), reference.predict(X, verbose=0))


def test_bidirectional_draws_a_mask_per_direction_the_same_on_every_backend(backend):
    X, y = data()
    body = [layers.Bidirectional(layers.LSTM(3, dropout=0.5, return_sequences=True)),
            layers.Flatten()]  # fmt: skip
    ours = trained(backend, body, X, y, mode="stochastic")
    on_numpy = trained("numpy", body, X, y, mode="stochastic")
    for a, b in zip(ours.get_weights(), on_numpy.get_weights()):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-12)
    layer = layers.Bidirectional(layers.LSTM(3, dropout=0.5))
    masks = layer.noise(np.random.default_rng(3), 4, (STEPS, FEATURES))
    assert masks.shape == (4, 2, FEATURES) and not np.array_equal(masks[:, 0], masks[:, 1])


def test_dropout_configs_and_refusals():
    lstm = layers.LSTM(4, dropout=0.25, seed=3)
    assert lstm.get_config()["dropout"] == 0.25
    assert layers.from_config(lstm.get_config()).dropout == 0.25
    with pytest.raises(ValueError, match="recurrent_dropout: expected 0"):
        layers.GRU(4, recurrent_dropout=0.2)
    with pytest.raises(ValueError, match="dropout"):
        layers.LSTM(4, dropout=1.5)
