"""Embedding: the lookup, a gradient that adds up repeated indices (one-hot product and the
gather path alike) against torch autograd and ``np.add.at``, and indices checked before
any weight changes."""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import LSTM, TRAINING, Dense, Embedding, TimeDistributed

VOCAB, WIDTH = 7, 3


def lookup_and_grad(backend, layer, table, X, dY):
    with an.use(backend, dtype="float64") as b:
        E = (b.asarray(table),)
        Y, cache = layer.forward(b.xp, E, b.asarray(X), TRAINING)
        dX, (dE,) = layer.backward(b.xp, E, cache, b.asarray(dY), TRAINING)
        return to_numpy(Y), to_numpy(dX), to_numpy(dE)


@pytest.mark.parametrize("path", ["one-hot", "gathers"])
def test_gradient_adds_repeated_indices(backend, path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    layer = Embedding(VOCAB, WIDTH)
    if path == "gathers":
        layer.one_hot_max = 0  # every product is "too large": the sorted-gather path
    table = rng.standard_normal((VOCAB, WIDTH))
    X = np.array([[0, 3, 3, 6], [3, 1, 0, 3], [6, 6, 6, 6]], dtype=np.float64)  # 2, 4, 5 unused
    dY = rng.standard_normal((3, 4, WIDTH))
    Y, dX, dE = lookup_and_grad(backend, layer, table, X, dY)

    E = torch.tensor(table, requires_grad=True)
    out = torch.nn.functional.embedding(torch.from_numpy(X.astype(np.int64)), E)
    (out * torch.from_numpy(dY)).sum().backward()
    by_hand = np.zeros_like(table)
    np.add.at(by_hand, X.astype(int).ravel(), dY.reshape(-1, WIDTH))
    assert np.array_equal(Y, table[X.astype(int)])
    assert np.allclose(dE, E.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert np.allclose(dE, by_hand, rtol=1e-12, atol=1e-14)
    assert not dE[[2, 4, 5]].any() and not dX.any()


def test_out_of_range_or_fractional_indices_are_refused_before_any_change(backend):
    rng = np.random.default_rng(1)
    X = rng.integers(0, VOCAB, size=(12, 5)).astype(np.float64)
    y = rng.standard_normal((12, 1))
    with an.use(backend):
        model = an.Sequential([Embedding(VOCAB, WIDTH), LSTM(4), Dense(1)], seed=0)
        model.compile("mse", "sgd")
        model.fit(X, y, epochs=1, verbose=0)
        before = model.get_weights()
        for bad, says in [(VOCAB, r"\[0, 7\).*to 7"), (-1, "from -1"), (2.5, "whole numbers")]:
            Xbad = X.copy()
            Xbad[7, 3] = bad
            with pytest.raises(ValueError, match=says):
                model.fit(Xbad, y, epochs=1, verbose=0)
            with pytest.raises(ValueError, match=says):
                model.predict(Xbad)
            with pytest.raises(ValueError, match="validation_data"):
                model.fit(X, y, validation_data=(Xbad, y), verbose=0)
        for w, v in zip(before, model.get_weights()):
            assert np.array_equal(w, v)


def test_keras_layout_and_default_initializer():
    """embeddings (input_dim, output_dim), drawn on [-0.05, 0.05) as Keras's RandomUniform."""
    (param,) = Embedding(1000, 8).params((5,))
    assert (param.name, param.shape) == ("embeddings", (1000, 8))
    table = param.initializer(np.random.default_rng(0), param.shape)
    assert -0.05 <= table.min() < -0.049 and 0.049 < table.max() < 0.05
    assert Embedding(10, 4).output_shape((6,)) == (6, 4)
    assert TimeDistributed(Embedding(10, 4)).output_shape((3, 6)) == (3, 6, 4)
    config = Embedding(10, 4).get_config()
    assert an.layers.from_config(config).get_config() == config


def test_a_model_learns_through_the_table(backend):
    """Which of two tokens came first: only the embeddings and the LSTM can tell."""
    rng = np.random.default_rng(2)
    X = rng.integers(2, 6, size=(64, 6)).astype(np.float64)
    first = rng.integers(0, 2, size=64)
    X[:, 0] = first
    with an.use(backend, dtype="float64"):
        model = an.Sequential([Embedding(6, 4), LSTM(8), Dense(2)], seed=0)
        model.compile("softmax_cross_entropy", an.optimizers.Adam(lr=0.05), ["accuracy"])
        history = model.fit(X, first, epochs=30, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] == 1.0


def test_a_16_bit_input_that_would_round_indices_is_refused():
    """Mixed precision casts the inputs to 16 bits: bfloat16 holds whole numbers to 256,
    float16 to 2048. A table past that is refused (at trace time, before any update)."""
    pytest.importorskip("jax")
    X, y = np.tile([[1.0, 2.0, 255.0]], (8, 1)), np.ones((8, 1))
    for precision, fits, too_large in [("mixed_bfloat16", 257, 258), ("mixed_float16", 2049, 2050)]:
        with an.use("jax"):
            for vocabulary in (fits, too_large):
                model = an.Sequential(
                    [Embedding(vocabulary, 2), an.layers.Flatten(), Dense(1)], seed=0
                )
                model.compile("mse", "sgd", precision=precision)
                if vocabulary == fits:
                    model.fit(X, y, verbose=0)
                    continue
                model.build((3,))
                before = model.get_weights()
                with pytest.raises(ValueError, match="holds whole numbers only up to"):
                    model.fit(X, y, verbose=0)
                for w, v in zip(before, model.get_weights()):
                    assert np.array_equal(w, v)
