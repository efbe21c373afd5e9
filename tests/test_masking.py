"""Keras's masking: ``Embedding(mask_zero=True)`` and ``Masking`` mark padded steps; the
recurrent layers keep their states through them, GlobalAveragePooling1D averages over the
others, and the layers acting on each step alone pass the mask on.

References, each independent of the code under test: torch autograd on packed sequences
(post-padding: each row's state at its own length), each row run alone without its padding
(pre- and post-padding, every backend, predictions and gradients), Keras 3's output rules
written out in NumPy, and central differences.
"""

import numpy as np
import pytest
import torch_rnn
from array_api_compat import device
from test_recurrent import FEATURES, KINDS, ROWS, UNITS, draw_weights, rel_error, run_layer

import arraynet as an
from arraynet.layers import (
    GRU,
    LSTM,
    TRAINING,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    GlobalAveragePooling1D,
    Masking,
    SimpleRNN,
)

RTOL = 1e-10
LENGTHS = [6, 2, 4]  # the real steps of each row, of 6
STEPS = 6


def used_steps(lengths, steps, pre: bool = False) -> np.ndarray:
    """``(rows, steps)`` booleans: each row's real steps first (or last, with ``pre``)."""
    at = np.arange(steps)
    used = np.array([at < n for n in lengths])
    return used[:, ::-1].copy() if pre else used


def padded_indices(rng, lengths, steps, pre: bool = False) -> np.ndarray:
    """Token rows in 1..9 with zeros (padding) where the row has no step."""
    return np.where(used_steps(lengths, steps, pre), rng.integers(1, 10, (len(lengths), steps)), 0)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "go_backwards"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_masked_steps_match_torch_packed_sequences(backend, kind, go_backwards):
    """Post-padded rows with their mask: the last output, the input delta and the weight
    gradients equal torch's module on the packed sequences (each row's state at its own
    length; read backwards, from its last real step). 1e-10 relative, float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    layer = KINDS[kind](UNITS, go_backwards=go_backwards)
    weights = draw_weights(layer, STEPS, rng)
    X = rng.standard_normal((ROWS, STEPS, FEATURES))
    used = used_steps(LENGTHS, STEPS)
    X = np.where(used[..., None], X, 7.0)  # padding values the mask must hide
    dY = rng.standard_normal((ROWS, UNITS))

    masked = _MaskedCall(layer, used)
    Y, dX, grads = run_layer(backend, masked, weights, X, dY)

    m = torch_rnn.module(kind, weights, FEATURES, UNITS)
    Xt = torch.tensor(X, requires_grad=True)
    rows = [Xt[i, :n].flip(0) if go_backwards else Xt[i, :n] for i, n in enumerate(LENGTHS)]
    packed = torch.nn.utils.rnn.pack_sequence(rows, enforce_sorted=False)
    _, state = m(packed)
    last = (state[0] if kind == "LSTM" else state)[0]
    (last * torch.from_numpy(dY)).sum().backward()
    assert rel_error(Y, last.detach().numpy()) < RTOL
    assert rel_error(dX, Xt.grad.numpy()) < RTOL
    assert not dX[~used].any()  # the padding has no effect
    for got, want in zip(grads, torch_rnn.grads(kind, m, UNITS)):
        assert rel_error(got, want) < RTOL


class _MaskedCall(an.layers.Layer):
    """``layer`` called as a model calls it after a layer that made ``used`` its mask."""

    def __init__(self, layer, used):
        self.layer, self.used = layer, used

    def forward(self, xp, weights, X, ctx=TRAINING):
        mask = xp.asarray(self.used, device=device(X))
        return self.layer.forward(xp, weights, X, ctx._replace(mask=mask))

    def backward(self, xp, weights, cache, dY, ctx=TRAINING):
        return self.layer.backward(xp, weights, cache, dY, ctx)


def embedding_model(cell):
    """Embedding(mask_zero) -> Dropout -> recurrent layer -> Dense, on sequences of any
    length."""
    return an.Sequential(
        [
            Embedding(10, 3, mask_zero=True),
            Dropout(0.0),  # passes the mask on
            cell(UNITS),
            Dense(2),
        ],
        input_shape=(None,),
        seed=4,
    )


@pytest.mark.parametrize("pre", [False, True], ids=["post-padding", "pre-padding"])
@pytest.mark.parametrize("cell", [SimpleRNN, LSTM, GRU, lambda u: Bidirectional(LSTM(u))],
                         ids=["SimpleRNN", "LSTM", "GRU", "Bidirectional"])  # fmt: skip
def test_a_padded_batch_equals_each_row_alone(backend, cell, pre):
    """Predictions, loss and gradients of a padded batch (mean squared error) equal those of
    each row run alone without its padding (the gradients: their mean)."""
    rng = np.random.default_rng(8)
    X = padded_indices(rng, LENGTHS, STEPS, pre)
    y = rng.standard_normal((len(LENGTHS), 2))
    with an.use(backend, dtype="float64"):
        model = embedding_model(cell)
        model.compile(loss="mse", optimizer="sgd")
        assert_rows_alone(model, X, y, rtol=1e-12)


def assert_rows_alone(model, X, y, rtol):
    """The predictions, loss and gradients (mean squared error) of the padded token rows
    ``X`` equal those of each row alone without its padding (the gradients: their mean)."""
    batch, (loss, grads) = model.predict(X, verbose=0), model.gradients(X, y)
    alone = [X[i : i + 1, X[i] != 0] for i in range(len(X))]
    rows = [model.predict(x, verbose=0)[0] for x in alone]
    each = [model.gradients(x, y[i : i + 1]) for i, x in enumerate(alone)]
    np.testing.assert_allclose(batch, rows, rtol=rtol, atol=rtol / 100)
    assert loss == pytest.approx(np.mean([e[0] for e in each]), rel=rtol)
    for k, grad in enumerate(grads):
        np.testing.assert_allclose(grad, np.mean([e[1][k] for e in each], axis=0), atol=rtol / 10)


def keras_outputs(H, used, zero_output_for_mask):
    """Keras 3's outputs of a masked recurrent layer from its carried states ``H`` (rows,
    time, units), written as its loop does: at an unused step the previous output (zeros
    before any), or zeros with ``zero_output_for_mask``."""
    out, previous = np.zeros_like(H), np.zeros_like(H[:, 0])
    for t in range(H.shape[1]):
        shown = np.zeros_like(H[:, t]) if zero_output_for_mask else previous
        out[:, t] = np.where(used[:, t, None], H[:, t], shown)
        previous = out[:, t]
    return out


@pytest.mark.parametrize("zero_output", [False, True])
def test_outputs_follow_keras_with_an_initial_state(backend, zero_output):
    """With an initial state and leading padding, Keras shows zeros until the first used
    step (the state carried until then is the initial one), or at every unused step with
    ``zero_output_for_mask``; ``return_state`` gives the carried states. The reference: the
    unmasked layer run one step at a time, its states kept where a step is unused."""
    rng = np.random.default_rng(2)
    used = np.array([[0, 1, 1, 0, 1], [0, 0, 0, 0, 0], [1, 0, 1, 1, 0]], bool)
    X = np.where(used[..., None], rng.standard_normal((3, 5, FEATURES)), 0.0)
    h0, c0 = rng.standard_normal((2, 3, UNITS))
    with an.use(backend, dtype="float64"):
        x, states = an.Input((5, FEATURES)), [an.Input((UNITS,)) for _ in range(2)]
        layer = LSTM(UNITS, return_sequences=True, return_state=True,
                     zero_output_for_mask=zero_output)  # fmt: skip
        out, h_T, c_T = layer(Masking()(x), initial_state=states)
        model = an.Model([x, *states], [out, h_T, c_T])
        seq, h_T, c_T = model.predict([X, h0, c0], verbose=0)
        x1 = an.Input((1, FEATURES))
        step = an.Model([x1, *states], LSTM(UNITS, return_state=True)(x1, initial_state=states))
        step.set_weights(model.get_weights())
        H, h, c = np.empty((3, 5, UNITS)), h0, c0
        for t in range(5):
            _, h1, c1 = step.predict([X[:, t : t + 1], h, c], verbose=0)
            h, c = np.where(used[:, t, None], h1, h), np.where(used[:, t, None], c1, c)
            H[:, t] = h
    np.testing.assert_allclose(seq, keras_outputs(H, used, zero_output), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_T, h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_T, c, rtol=1e-12, atol=1e-14)
    assert np.array_equal(h_T[1], h0[1]) and not seq[1].any()  # nothing used


def test_masked_gradients_pass_central_differences(backend):
    """Masking -> Bidirectional(GRU, sequences) -> GlobalAveragePooling1D -> Dense, an
    initial-state-free model whose every masked path is differentiated: central
    differences at 1e-7."""
    rng = np.random.default_rng(6)
    used = used_steps([4, 1, 3], 4, pre=False)
    used[0, 1] = False  # a gap inside a row too
    X = np.where(used[..., None], rng.standard_normal((3, 4, 2)), -1.0)
    y = rng.standard_normal((3, 2))
    with an.use(backend, dtype="float64"):
        model = an.Sequential(
            [Masking(-1.0), Bidirectional(GRU(3, return_sequences=True)),
             GlobalAveragePooling1D(), Dense(2)],
            input_shape=(4, 2), seed=3,
        )  # fmt: skip
        model.compile(loss="mse", optimizer="sgd")
        report = an.gradcheck(model, X, y)
    assert report.passed, report


def test_global_average_pooling_and_bidirectional_follow_keras(backend):
    """GlobalAveragePooling1D averages the used steps only (a row with none gives zeros,
    where Keras divides 0 by 0); Bidirectional with sequences shows zeros at unused steps
    in both directions (Keras forces zero_output_for_mask there)."""
    rng = np.random.default_rng(9)
    used = np.array([[1, 1, 0, 1], [0, 0, 0, 0], [0, 1, 1, 1]], bool)
    X = np.where(used[..., None], rng.standard_normal((3, 4, 2)), 0.0)
    with an.use(backend, dtype="float64"):
        pooled = an.Sequential([Masking(), GlobalAveragePooling1D()], input_shape=(4, 2))
        got = pooled.predict(X, verbose=0)
        bi = an.Sequential([Masking(), Bidirectional(SimpleRNN(2, return_sequences=True))],
                           input_shape=(4, 2), seed=1)  # fmt: skip
        seq = bi.predict(X, verbose=0)
    counts = used.sum(axis=1, keepdims=True)
    want = (X * used[..., None]).sum(axis=1) / np.maximum(counts, 1)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert not got[1].any()
    assert not seq[~used].any() and np.all(seq[used] != 0)


def test_the_mask_passes_through_the_layers_that_keep_it():
    """Dense, Activation, Dropout keep the mask (Keras's supports_masking); a recurrent
    layer ends it, as do the layers that do not support masking (Conv1D, Flatten). Per
    value: the input, then each layer's output."""
    from arraynet.layers import Activation, Conv1D, Flatten

    def masked(layers):
        model = an.Sequential([Embedding(5, 2, mask_zero=True), *layers, Dense(1)],
                              input_shape=(4,))  # fmt: skip
        return model.graph.masked

    kept = masked([Dense(3), Activation("tanh"), Dropout(0.1), LSTM(2)])
    assert kept == (False, True, True, True, True, False, False)
    assert masked([Conv1D(2, 2), Flatten()]) == (False, True, False, False, False)
    assert an.Sequential([LSTM(2)], input_shape=(3, 2)).graph.masked == ()


def test_a_masked_output_is_refused_naming_the_layer():
    """The loss does not weigh by a mask (Keras would): a model whose output still carries
    one is refused when built, naming its last layer."""
    with pytest.raises(ValueError, match=r"Dense .*expected a model output without a mask"):
        an.Sequential([Embedding(5, 2, mask_zero=True), Dense(1)], input_shape=(4,))


def test_configs_round_trip_and_arguments_are_checked(tmp_path):
    model = an.Sequential(
        [Embedding(10, 3, mask_zero=True), LSTM(2, zero_output_for_mask=True), Dense(1)],
        input_shape=(5,), seed=0,
    )  # fmt: skip
    model.compile(loss="mse", optimizer="sgd")
    path = tmp_path / "masked.arraynet"
    model.save(path)
    loaded = an.load(path)
    X = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 6, 7]])
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert loaded.layers[0].mask_zero and loaded.layers[1].zero_output_for_mask
    assert repr(Masking(-1.0)) == "Masking(mask_value=-1.0)"
    with pytest.raises(TypeError, match="mask_value: expected a number"):
        Masking("0")
    with pytest.raises(ValueError, match="Masking: expected inputs of shape"):
        an.Sequential([Masking()], input_shape=(4,))
    with pytest.raises(TypeError, match="mask_zero"):
        Embedding(3, 2, mask_zero=1)


@pytest.mark.parametrize("mode, batch_size", [("full", None), ("minibatch", 3),
                                              ("stochastic", None)])  # fmt: skip
def test_masked_training_agrees_with_numpy(backend, mode, batch_size):
    """Embedding(mask_zero) -> Dense -> Bidirectional(LSTM) -> GRU trains the same weights
    on every backend in each mode (float64, rtol 1e-9; on JAX, the compiled epoch)."""
    rng = np.random.default_rng(4)
    X = padded_indices(rng, [5, 2, 4, 1, 3, 5, 2], 5, pre=True)
    y = rng.standard_normal((7, 2))

    def train(name):
        with an.use(name, dtype="float64"):
            model = an.Sequential(
                [Embedding(10, 3, mask_zero=True), Dense(4, activation="tanh"),
                 Bidirectional(LSTM(2, return_sequences=True)), GRU(3), Dense(2)],
                input_shape=(5,), seed=0,
            )  # fmt: skip
            model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.1, momentum=0.9))
            model.fit(X, y, mode=mode, batch_size=batch_size, epochs=3, seed=1, verbose=0)
            return model.get_weights()

    for got, want in zip(train(backend), train("numpy")):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
