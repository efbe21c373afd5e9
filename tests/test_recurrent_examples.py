"""The recurrent examples: the adding problem (LSTM and GRU solve it, an MLP does not),
the noisy-sine forecast (a GRU beats the last value and linear autoregression) and the
character model on the shipped text (below the unigram entropy), at reduced sizes."""

import numpy as np
import pytest
from examples_loader import load_example

import arraynet as an
from arraynet import texts


def test_the_shipped_text_loads_encodes_and_windows():
    text = texts.load()
    assert 4000 < len(text) < 8000 and text.startswith("When in the Course of human events")
    assert text.isascii()
    indices, vocabulary = texts.encode(text)
    assert "".join(vocabulary[i] for i in indices) == text
    assert list(vocabulary) == sorted(set(text))
    X, y = texts.windows(indices, 5, step=2)
    assert X.shape == (len(range(0, len(indices) - 5, 2)), 5)
    assert np.array_equal(X[3], indices[6:11]) and y[3] == indices[11]
    with pytest.raises(ValueError, match="expected one of public_domain"):
        texts.load("nope")


def test_adding_problem_needs_memory():
    """30 steps: LSTM and GRU far below the 1/6 of answering 1; the MLP near it. On JAX
    (the epochs compile once: seconds instead of a minute on NumPy)."""
    pytest.importorskip("jax")
    example = load_example("adding_problem")
    with an.use("jax"):
        scores = example.run(steps=30, rows=4096, epochs=10)
    assert scores["lstm"] < 0.01 and scores["gru"] < 0.01
    assert scores["mlp"] > 0.1


def test_sine_forecast_beats_both_baselines():
    example = load_example("sine_forecast")
    mse, base = example.run(epochs=8, series=300)
    assert base["linear autoregression"] < base["last value"]
    assert mse < base["linear autoregression"]


def test_char_model_learns_the_text_and_samples_from_it():
    example = load_example("char_model")
    model, history, bits, unigram, indices, vocabulary = example.run(epochs=3, units=32)
    text = example.sample(model, indices[: example.WINDOW], vocabulary, 20)
    assert unigram > 4.0 and bits < unigram - 0.4
    assert len(text) == 20 and set(text) <= set(vocabulary)
