"""MultiHeadAttention (Keras 3): forward and hand-written backward against Keras's formulas
written in torch and differentiated by torch autograd (float64, every backend, jitted on
JAX), its masks (the inputs' Keras masks, use_causal_mask), Keras's weight layout, a
masked Transformer block equal to each row alone, and training alike on every backend.
"""

import numpy as np
import pytest
from array_api_compat import device
from test_masking import assert_rows_alone

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import (
    TRAINING,
    Add,
    Dense,
    Embedding,
    GlobalAveragePooling1D,
    LayerNormalization,
    MultiHeadAttention,
)

RTOL = 1e-10
ROWS, T, S = 2, 4, 3


def rel_error(a, b) -> float:
    """Norm-relative error of ``a`` against ``b``, over a scale of at least 1e-4: the key's
    bias has a gradient of exactly 0 (it shifts every logit of a query alike), which both
    sides give as rounding noise near 1e-16."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-4))


def torch_attention(torch, weights, query, value, key, heads, use_bias, allowed, kept=None):
    """Keras 3's MultiHeadAttention written in torch (einsum as Keras's EinsumDense)."""
    step = 2 if use_bias else 1
    pairs = [weights[i : i + step] for i in range(0, len(weights), step)]

    def dense(x, pair, equation):
        y = torch.einsum(equation, x, pair[0])
        return y + pair[1] if use_bias else y

    q = dense(query, pairs[0], "abc,cde->abde")
    k = dense(key, pairs[1], "abc,cde->abde")
    v = dense(value, pairs[2], "abc,cde->abde")
    q = q / np.sqrt(q.shape[-1])
    scores = torch.einsum("aecd,abcd->acbe", k, q)  # (rows, heads, T, S)
    if allowed is not None:
        mask = torch.from_numpy(allowed)[:, None]
        scores = torch.where(mask, scores, torch.tensor(-1e9, dtype=scores.dtype))
    attention = torch.softmax(scores, dim=-1)
    if allowed is not None:
        attention = torch.where(mask, attention, torch.zeros_like(attention))
    if kept is not None:  # the softmax's output, Keras's returned scores
        kept["A"] = attention
    out = torch.einsum("acbe,aecd->abcd", attention, v)
    return dense(out, pairs[3], "abcd,cde->abe")


def run(backend, layer, weights, X, dY, masks=None):
    """``(Y, dX, grads)`` of the layer's forward and backward on ``backend`` (float64),
    with the inputs' masks in its context; under ``jax.jit`` on JAX."""
    with an.use(backend, dtype="float64") as b:

        def compute(ws, X, dY):
            found = None
            if masks is not None:
                found = tuple(None if m is None else b.xp.asarray(m, device=device(X[0]))
                              for m in masks)  # fmt: skip
            ctx = TRAINING._replace(mask=found and found[0], masks=found)
            Y, cache = layer.forward(b.xp, ws, X, ctx)
            return Y, *layer.backward(b.xp, ws, cache, dY, ctx)

        if backend == "jax":
            import jax

            compute = jax.jit(compute)
        Y, dX, grads = compute(
            tuple(b.asarray(w) for w in weights), [b.asarray(x) for x in X], b.asarray(dY)
        )
        return to_numpy(Y), [to_numpy(d) for d in dX], [to_numpy(g) for g in grads]


CASES = {
    "self": dict(key=False, use_bias=True, causal=False, masks=None, output_shape=None),
    "cross-key": dict(key=True, use_bias=True, causal=False, masks=None, output_shape=None),
    "no-bias-out": dict(key=False, use_bias=False, causal=False, masks=None, output_shape=6),
    "causal": dict(key=False, use_bias=True, causal=True, masks=None, output_shape=None),
    "masked": dict(key=True, use_bias=True, causal=True, masks="qvk", output_shape=None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_forward_and_gradients_match_torch_autograd(backend, case):
    torch = pytest.importorskip("torch")
    c = CASES[case]
    rng = np.random.default_rng(list(CASES).index(case))
    heads, key_dim, value_dim, dq, dv, dk = 3, 2, 4, 5, 3, 2
    steps = T if c["causal"] else S  # a causal self-attention reads the query's steps
    query = rng.standard_normal((ROWS, T, dq))
    value = rng.standard_normal((ROWS, steps, dv))
    key = rng.standard_normal((ROWS, steps, dk)) if c["key"] else None
    options = dict(use_bias=c["use_bias"], output_shape=c["output_shape"])
    layer = MultiHeadAttention(heads, key_dim, value_dim, use_causal_mask=c["causal"], **options)
    layer.output_shape((T, dq), (steps, dv), None if key is None else (steps, dk))
    weights = [p.initializer(rng, p.shape) + 0.1 * rng.standard_normal(p.shape)
               for p in layer.params((T, dq))]  # fmt: skip
    masks, allowed = None, np.ones((ROWS, T, steps), bool)
    if c["masks"]:
        q_mask = np.array([[1, 1, 0, 1], [1, 0, 1, 1]], bool)
        v_mask = np.array([[1, 0, 1, 1], [0, 1, 1, 1]], bool)[:, :steps]
        k_mask = np.array([[1, 1, 1, 0], [1, 1, 0, 1]], bool)[:, :steps]
        masks = (q_mask, v_mask, k_mask)
        allowed = q_mask[:, :, None] & v_mask[:, None, :] & k_mask[:, None, :]
    if c["causal"]:
        allowed = allowed & np.tril(np.ones((T, steps), bool))
    X = [query, value] + ([key] if key is not None else [])
    dY = rng.standard_normal((ROWS, T, c["output_shape"] or dq))
    Y, dX, grads = run(backend, layer, weights, X, dY, masks)

    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    tX = [torch.tensor(x, requires_grad=True) for x in X]
    tkey = tX[2] if key is not None else tX[1]
    ref = torch_attention(torch, tw, tX[0], tX[1], tkey, heads, c["use_bias"],
                          None if allowed.all() else allowed)  # fmt: skip
    (ref * torch.from_numpy(dY)).sum().backward()
    assert rel_error(Y, ref.detach().numpy()) < RTOL
    for got, want in zip(dX, tX):
        assert rel_error(got, want.grad.numpy()) < RTOL
    for got, want in zip(grads, tw):
        assert rel_error(got, want.grad.numpy()) < RTOL


@pytest.mark.parametrize("read", ["both", "scores only"])
def test_returned_scores_and_their_delta_match_torch(backend, read):
    """``return_attention_scores=True``: ``[output, scores]``, the scores Keras's masked
    softmax ``(rows, heads, T, S)``; a delta at the scores (alone, or with the output's)
    reaches the weights and inputs as torch autograd says (1e-10)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    layer = MultiHeadAttention(2, 3, use_causal_mask=True, return_attention_scores=True)
    layer.output_shape((T, 4), (T, 4))
    weights = [p.initializer(rng, p.shape) + 0.1 * rng.standard_normal(p.shape)
               for p in layer.params((T, 4))]  # fmt: skip
    X = rng.standard_normal((ROWS, T, 4))
    dY, dS = rng.standard_normal((ROWS, T, 4)), rng.standard_normal((ROWS, 2, T, T))
    with an.use(backend, dtype="float64") as b:
        ws, x = tuple(b.asarray(w) for w in weights), b.asarray(X)
        (Y, S), cache = layer.forward(b.xp, ws, [x, x], TRAINING)
        delta = [b.asarray(dY) if read == "both" else None, b.asarray(dS)]
        dX, grads = layer.backward(b.xp, ws, cache, delta, TRAINING)
        S, dX = to_numpy(S), [to_numpy(d) for d in dX]
        grads = [to_numpy(g) for g in grads]

    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    tX = torch.tensor(X, requires_grad=True)
    scores = {}
    out = torch_attention(torch, tw, tX, tX, tX, 2, True, np.tril(np.ones((ROWS, T, T), bool)),
                          scores)  # fmt: skip
    loss = (scores["A"] * torch.from_numpy(dS)).sum()
    if read == "both":
        loss = loss + (out * torch.from_numpy(dY)).sum()
    loss.backward()
    assert rel_error(S, scores["A"].detach().numpy()) < RTOL
    assert rel_error(dX[0] + dX[1], tX.grad.numpy()) < RTOL
    for got, want in zip(grads, tw):  # scores only: the output projection gets zeros
        want = np.zeros(got.shape) if want.grad is None else want.grad.numpy()
        assert rel_error(got, want) < RTOL


def test_keras_weight_layout_and_config_round_trip(tmp_path):
    """Keras's weights: query, key, value kernels (d, heads, key_dim or value_dim) and biases
    (heads, width), the output kernel (heads, value_dim, d) and bias; a model saves and
    loads with its causal flag."""
    q, v = an.Input((5, 8)), an.Input((3, 6))
    layer = MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3)
    model = an.Model([q, v], layer(q, v))
    assert [w.shape for w in model.get_weights()] == [
        (8, 2, 4), (2, 4), (6, 2, 4), (2, 4), (6, 2, 3), (2, 3), (2, 3, 8), (8,)
    ]  # fmt: skip
    x = an.Input((5, 8))
    causal = an.Model(x, MultiHeadAttention(2, 4)(x, x, use_causal_mask=True), seed=1)
    causal.compile(loss="mse", optimizer="sgd")
    causal.save(tmp_path / "causal.arraynet")
    loaded = an.load(tmp_path / "causal.arraynet")
    X = np.random.default_rng(0).standard_normal((2, 5, 8))
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), causal.predict(X, verbose=0))
    scored, scores = MultiHeadAttention(2, 4)(x, x, return_attention_scores=True)
    both = an.Model(x, [scored, scores])
    out, A = both.predict(X, verbose=0)
    assert out.shape == (2, 5, 8) and A.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(A.sum(axis=-1), 1.0, rtol=1e-6)
    later = X.copy()
    later[:, 3:] += 1.0  # a causal output at step t reads steps <= t only
    np.testing.assert_allclose(causal.predict(later, verbose=0)[:, :3],
                               causal.predict(X, verbose=0)[:, :3], rtol=1e-6)  # fmt: skip


def transformer(length):
    """Embedding(mask_zero) -> self-attention + residual -> LayerNormalization ->
    GlobalAveragePooling1D -> Dense: Keras's text-classification Transformer block."""
    tokens = an.Input((length,))
    x = Embedding(12, 6, mask_zero=True)(tokens)
    attended = MultiHeadAttention(num_heads=2, key_dim=3)(x, x)
    x = LayerNormalization()(Add()([x, attended]))
    x = Dense(6, activation="relu")(x)
    return an.Model(tokens, Dense(2)(GlobalAveragePooling1D()(x)), seed=7)


@pytest.mark.parametrize("pre", [False, True], ids=["post-padding", "pre-padding"])
def test_a_masked_transformer_block_sees_each_row_as_if_alone(backend, pre):
    """The padded steps neither attend nor are attended to, the residual and Dense keep the
    mask and the pooling averages the used steps: a padded batch predicts, and has the
    gradients of, each row alone without its padding."""
    rng = np.random.default_rng(3)
    lengths, steps = [5, 2, 4], 5
    used = np.array([np.arange(steps) < n for n in lengths])
    used = used[:, ::-1] if pre else used
    X = np.where(used, rng.integers(1, 12, (3, steps)), 0)
    y = rng.standard_normal((3, 2))
    with an.use(backend, dtype="float64"):
        model = transformer(None)
        model.compile(loss="mse", optimizer="sgd")
        assert_rows_alone(model, X, y, rtol=1e-11)


@pytest.mark.parametrize("mode, batch_size", [("full", None), ("minibatch", 2),
                                              ("stochastic", None)])  # fmt: skip
def test_training_agrees_with_numpy(backend, mode, batch_size):
    """The masked Transformer block trains the same weights on every backend in each mode
    (float64, rtol 1e-9; on JAX, the compiled epoch)."""
    rng = np.random.default_rng(1)
    X = np.where(rng.random((5, 4)) < 0.8, rng.integers(1, 12, (5, 4)), 0)
    y = rng.standard_normal((5, 2))

    def train(name):
        with an.use(name, dtype="float64"):
            model = transformer(4)
            model.compile(loss="mse", optimizer=an.optimizers.Adam(0.01))
            model.fit(X, y, mode=mode, batch_size=batch_size, epochs=3, seed=1, verbose=0)
            return model.get_weights()

    for got, want in zip(train(backend), train("numpy")):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_what_is_not_supported_is_refused_naming_the_argument():
    q = an.Input((4, 3))
    layer = MultiHeadAttention(2, 2)
    with pytest.raises(ValueError, match="attention_mask is not supported"):
        layer(q, q, attention_mask=q)
    with pytest.raises(ValueError, match="dropout: expected 0"):
        MultiHeadAttention(2, 2, dropout=0.1)
    with pytest.raises(ValueError, match="attention_axes: expected None"):
        MultiHeadAttention(2, 2, attention_axes=(1, 2))
    with pytest.raises(TypeError, match="num_heads"):
        MultiHeadAttention("2", 2)
    layer(q, q)
    with pytest.raises(ValueError, match="use_causal_mask=False, as at its first call"):
        layer(q, q, use_causal_mask=True)
    with pytest.raises(ValueError, match="return_attention_scores=False, as at its first"):
        layer(q, q, return_attention_scores=True)
    with pytest.raises(ValueError, match=r"shape \(rows, time, features\)"):
        MultiHeadAttention(2, 2)(an.Input((4,)), an.Input((4,)))


def test_the_order_example_needs_the_positions():
    """examples/order_transformer.py (numpy, shrunk): the masked Transformer block with
    position embeddings learns which of two tokens comes first; without them it is a bag of
    tokens at chance."""
    from examples_loader import load_example

    example = load_example("order_transformer")
    with an.use("numpy"):
        scores = example.run(rows=2000, epochs=10)
    assert scores["with positions"] >= 0.97
    assert scores["bag of tokens"] <= 0.6
