"""Optional: masks and attention against Keras 3 itself (skipped where Keras is not
installed: ``pip install keras``, on its JAX backend).

Each case builds the same model in Keras and in arraynet, moves Keras's weights across
with ``get_weights``/``set_weights`` (the layouts are Keras's) and compares predictions
in float32: Embedding(mask_zero) and Masking before recurrent layers (pre- and
post-padding, Keras's outputs at unused steps, an initial state, Bidirectional),
GlobalAveragePooling1D over a mask, and MultiHeadAttention (self- and cross-attention
with the inputs' masks, a separate key, the causal mask, a Transformer block).
"""

import os

import numpy as np
import pytest

import arraynet as an

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
K, A = keras.layers, an.layers
RNG = np.random.default_rng(0)


def tokens(rows, steps, pre=False):
    lengths = RNG.integers(1, steps + 1, rows)
    used = np.array([np.arange(steps) < n for n in lengths])
    used = used[:, ::-1] if pre else used
    return np.where(used, RNG.integers(1, 9, (rows, steps)), 0)


def same(build, X):
    """``build(L, Input, Model)`` in Keras and in arraynet, Keras's weights in both: the
    two predictions."""
    keras_model = build(K, keras.Input, keras.Model)
    ours = build(A, an.Input, an.Model)
    ours.set_weights(keras_model.get_weights())
    with an.use("numpy", dtype="float32"):
        got = ours.predict(X, verbose=0)
    want = keras_model.predict(X, verbose=0)
    if isinstance(want, list):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pre", [False, True])
@pytest.mark.parametrize("cell", ["LSTM", "GRU", "SimpleRNN"])
def test_embedding_mask_before_a_recurrent_layer(cell, pre):
    def build(L, Input, Model):
        x = Input((6,))
        h = L.Embedding(9, 4, mask_zero=True)(x)
        h = L.Dense(5, activation="tanh")(h)
        return Model(x, L.Dense(2)(getattr(L, cell)(3)(h)))

    same(build, tokens(5, 6, pre))


@pytest.mark.parametrize("zero_output", [False, True])
def test_outputs_at_unused_steps_and_the_final_states(zero_output):
    """Masking before an LSTM of sequences and states: the output at an unused step is the
    last used one's (zeros before any), or zeros with ``zero_output_for_mask``; the states
    carry over. (Given an initial state, Keras 3 drops the mask: its call then takes the
    inputs as a list; arraynet keeps it, tests/test_masking.py.)"""
    X = RNG.standard_normal((3, 5, 2)).astype("float32")
    X[0, :2] = 0.0
    X[1, 3] = 0.0
    X[2] = 0.0

    def build(L, Input, Model):
        x = Input((5, 2))
        layer = L.LSTM(4, return_sequences=True, return_state=True,
                       zero_output_for_mask=zero_output)  # fmt: skip
        return Model(x, list(layer(L.Masking()(x))))

    same(build, X)


def test_bidirectional_and_average_pooling_over_a_mask():
    def build(L, Input, Model):
        x = Input((6,))
        h = L.Embedding(9, 4, mask_zero=True)(x)
        h = L.Bidirectional(L.GRU(3, return_sequences=True))(h)
        pooled = L.GlobalAveragePooling1D()(L.Embedding(9, 4, mask_zero=True)(x))
        last = L.Bidirectional(L.SimpleRNN(2), merge_mode="sum")(
            L.Embedding(9, 3, mask_zero=True)(x)
        )
        return Model(x, [h, pooled, last])

    same(build, tokens(4, 6, pre=True))


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_over_a_mask(causal):
    def build(L, Input, Model):
        x = Input((5,))
        h = L.Embedding(9, 6, mask_zero=True)(x)
        attended = L.MultiHeadAttention(num_heads=2, key_dim=3)(h, h, use_causal_mask=causal)
        h = L.LayerNormalization()(L.Add()([h, attended]))
        return Model(x, L.Dense(2)(L.GlobalAveragePooling1D()(L.Dense(4, activation="relu")(h))))

    same(build, tokens(4, 5))


def test_cross_attention_with_a_key_and_each_inputs_mask():
    def build(L, Input, Model):
        q_in, v_in = Input((4,)), Input((6,))
        q = L.Embedding(9, 5, mask_zero=True)(q_in)
        v = L.Embedding(9, 3, mask_zero=True)(v_in)
        k = L.Dense(2)(v)
        out = L.MultiHeadAttention(num_heads=3, key_dim=2, output_shape=7)(q, v, k)
        return Model([q_in, v_in], L.GlobalAveragePooling1D()(out))  # (value_dim = key_dim:
        # Keras's JAX backend takes no other; tests/test_attention.py checks one)

    same(build, [tokens(3, 4), tokens(3, 6)])


def test_depthwise_and_separable_convolutions():
    def build(L, Input, Model):
        x = Input((9, 8, 3))
        h = L.DepthwiseConv2D((3, 2), strides=2, padding="same", depth_multiplier=2,
                              activation="relu")(x)  # fmt: skip
        h = L.SeparableConv2D(4, 3, depth_multiplier=2, activation="tanh")(h)
        return Model(x, L.Dense(2)(L.Flatten()(h)))

    same(build, RNG.standard_normal((3, 9, 8, 3)).astype("float32"))


def test_group_normalization():
    def build(L, Input, Model):
        x = Input((5, 4, 6))
        h = L.GroupNormalization(groups=3, epsilon=1e-3)(L.Conv2D(6, 2)(x))
        h = L.GroupNormalization(groups=-1, center=False)(h)
        return Model(x, L.Dense(2)(L.Flatten()(h)))

    same(build, RNG.standard_normal((3, 5, 4, 6)).astype("float32"))


def test_returned_attention_scores():
    def build(L, Input, Model):
        x = Input((5,))
        h = L.Embedding(9, 6, mask_zero=True)(x)
        out, scores = L.MultiHeadAttention(2, 3)(h, h, return_attention_scores=True)
        return Model(x, [L.GlobalAveragePooling1D()(out), scores])

    same(build, tokens(4, 5))
