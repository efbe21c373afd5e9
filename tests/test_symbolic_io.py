"""Keras's ``layer.input``/``layer.output``, ``model.input``/``model.output`` and a
Sequential's ``inputs``/``outputs``: the feature extractor of Keras's Sequential guide,
checked against models of the same layers' weights."""

import numpy as np
import pytest

import arraynet as an
from arraynet import layers

RNG = np.random.default_rng(0)


def convs():
    return [layers.Conv2D(4, 5, strides=2, activation="relu"), layers.Conv2D(3, 3),
            layers.Conv2D(2, 3, activation="tanh")]  # fmt: skip


def test_feature_extractor_of_a_sequential(backend):
    with an.use(backend, dtype="float64"):
        initial = an.Sequential([an.Input(shape=(15, 15, 3)), *convs()], seed=1)
        extractor = an.Model(
            inputs=initial.inputs, outputs=[layer.output for layer in initial.layers]
        )
        assert all(np.array_equal(a, b) for a, b in zip(extractor.get_weights(),
                                                         initial.get_weights()))  # fmt: skip
        X = RNG.random((2, 15, 15, 3))
        features = extractor.predict(X, verbose=0)
        assert [f.shape for f in features] == [(2, 6, 6, 4), (2, 4, 4, 3), (2, 2, 2, 2)]
        assert np.allclose(features[-1], initial.predict(X, verbose=0), rtol=1e-12)
        first = an.Sequential([an.Input(shape=(15, 15, 3)), convs()[0]])
        first.set_weights(initial.get_weights()[:2])
        assert np.allclose(features[0], first.predict(X, verbose=0), rtol=1e-12)


def test_model_and_layer_tensors():
    a, b = an.Input((4,), name="a"), an.Input((2,), name="b")
    dense = layers.Dense(3)
    h = dense(a)
    joined = layers.Concatenate()([h, b])
    model = an.Model([a, b], layers.Dense(1)(joined))
    assert model.input == [a, b] and model.output is model.outputs[0]
    assert dense.input is a and dense.output is h
    dense(an.Input((4,)))  # a second call: input and output stay the first call's
    assert dense.output is h
    single = an.Model(a, h)
    assert single.input is a and single.output is h


def test_sequential_tensors_follow_add_and_pop_and_need_a_shape():
    model = an.Sequential([an.Input((6,)), layers.Dense(4)])
    assert model.output.shape == (None, 4)
    model.add(layers.Dense(2))
    assert model.output.shape == (None, 2) and model.input.shape == (None, 6)
    model.pop()
    assert model.output.shape == (None, 4)
    with pytest.raises(AttributeError, match="has no defined inputs yet"):
        an.Sequential([layers.Dense(2)]).inputs  # noqa: B018
    with pytest.raises(AttributeError, match="has never been called"):
        layers.Dense(2).output  # noqa: B018
