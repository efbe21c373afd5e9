"""Keras 3's ``dropout=`` and ``recurrent_dropout=`` of the recurrent layers, masks drawn on
the host like Dropout's, the same at every step.

``dropout`` alone: one mask per row and input feature; the reference is Dropout with
``noise_shape=(None, 1, features)`` before the same layer (the same masks, drawn the same
way, so the same training). With ``recurrent_dropout``, Keras's "implementation 1": each
gate's block of the kernel reads the input times its own mask and each block of the
recurrent kernel the previous state times its own; the reference is that loop written
out in NumPy from Keras 3's cells, and central differences for the backward."""

import numpy as np
import pytest

import arraynet as an
from arraynet import layers
from arraynet.backend import to_numpy

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
    assert (
        layers.from_config(layers.GRU(4, recurrent_dropout=0.2).get_config()).get_config()[
            "recurrent_dropout"
        ]
        == 0.2
    )
    with pytest.raises(ValueError, match="recurrent_dropout"):
        layers.GRU(4, recurrent_dropout=-0.1)
    with pytest.raises(ValueError, match="dropout"):
        layers.LSTM(4, dropout=1.5)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def keras_loop(layer, weights, X, masks):
    """Keras 3's cell call with dropout masks (implementation 1), step by step in NumPy."""
    F, U = X.shape[-1], layer.units
    m_in, m_h = masks[:, :, :F], masks[:, :, F:]
    W, R = weights[0], weights[1]
    k = m_in.shape[1]
    b = weights[2] if len(weights) > 2 else np.zeros(W.shape[1])
    b_in, b_rec = (b[0], b[1]) if b.ndim == 2 else (b, np.zeros(W.shape[1]))
    h = np.zeros((X.shape[0], U))
    c = np.zeros_like(h)

    def side(x, h, g):
        """Gate ``g``'s input side and masked previous state, and its columns."""
        cols = slice(g * U, (g + 1) * U)
        xm, hm = x * m_in[:, g if k > 1 else 0], h * m_h[:, g if k > 1 else 0]
        return xm @ W[:, cols] + b_in[cols], hm, cols

    for t in range(X.shape[1]):
        x = X[:, t]

        if isinstance(layer, layers.LSTM):
            parts = [side(x, h, g) for g in range(4)]
            zs = [xw + hm @ R[:, cols] for xw, hm, cols in parts]
            i, f, o = sigmoid(zs[0]), sigmoid(zs[1]), sigmoid(zs[3])
            c = f * c + i * np.tanh(zs[2])
            h = o * np.tanh(c)
        elif isinstance(layer, layers.GRU):
            (xz, hz, cz), (xr, hr, cr), (xh, hh_, ch) = (side(x, h, g) for g in range(3))
            z = sigmoid(xz + hz @ R[:, cz] + b_rec[cz])
            r = sigmoid(xr + hr @ R[:, cr] + b_rec[cr])
            after = layer.reset_after  # the reset gate after the product, or before it
            rec = r * (hh_ @ R[:, ch] + b_rec[ch]) if after else (r * hh_) @ R[:, ch]
            h = z * h + (1 - z) * np.tanh(xh + rec)
        else:
            xw, hm, _ = side(x, h, 0)
            h = np.tanh(xw + hm @ R)
    return h


CELLS = [
    lambda: layers.LSTM(3, dropout=0.3, recurrent_dropout=0.4),
    lambda: layers.GRU(3, dropout=0.3, recurrent_dropout=0.4),
    lambda: layers.GRU(3, recurrent_dropout=0.4, reset_after=False),
    lambda: layers.SimpleRNN(3, dropout=0.2, recurrent_dropout=0.5),
]


@pytest.mark.parametrize("make", CELLS, ids=["lstm", "gru", "gru-reset-before", "simple"])
def test_recurrent_dropout_is_kerass_loop(backend, make):
    layer = make()
    X = RNG.standard_normal((5, 4, FEATURES))
    model = an.Sequential([an.Input((4, FEATURES)), layer], seed=6)
    weights = [w.astype(np.float64) for w in model.get_weights()]
    masks = layer.noise(np.random.default_rng(7), 5, (4, FEATURES))
    gates = 4 if isinstance(layer, layers.LSTM) else 3 if isinstance(layer, layers.GRU) else 1
    assert masks.shape == (5, gates, FEATURES + 3)
    with an.use(backend, dtype="float64") as b:
        ctx = layers.TRAINING._replace(noise=b.asarray(masks))
        Y, _ = layer.forward(b.xp, tuple(b.asarray(w) for w in weights), b.asarray(X), ctx)
    assert np.allclose(to_numpy(Y), keras_loop(layer, weights, X, masks), rtol=1e-12)


@pytest.mark.parametrize("make", CELLS, ids=["lstm", "gru", "gru-reset-before", "simple"])
def test_recurrent_dropout_backward_against_central_differences(backend, make):
    X, y = RNG.standard_normal((3, 4, FEATURES)), RNG.standard_normal((3, 3))
    with an.use(backend):
        report = an.gradcheck(make(), X, y)
    assert report.passed, str(report)


def test_recurrent_dropout_trains_the_same_on_every_backend(backend):
    X, y = data()
    body = [layers.LSTM(4, dropout=0.2, recurrent_dropout=0.3, return_sequences=True),
            layers.Bidirectional(layers.GRU(3, recurrent_dropout=0.2))]  # fmt: skip
    ours, on_numpy = trained(backend, body, X, y), trained("numpy", body, X, y)
    for a, b in zip(ours.get_weights(), on_numpy.get_weights()):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-12)
