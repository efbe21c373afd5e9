"""The data intake checks a call's data once: streamed chunks are checked in the pass before
training and only converted when each epoch loads them."""

import numpy as np

import arraynet as an
from arraynet.data import checks


def _data(rows=40):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 3))
    return X, (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.int64)


def _model():
    model = an.Sequential([an.layers.Dense(2, activation="softmax")], input_dim=3, seed=0)
    model.compile(loss="categorical_cross_entropy", optimizer=an.optimizers.SGD(lr=0.1))
    return model


def test_streamed_chunks_are_checked_once_per_fit(monkeypatch):
    seen = []
    original = checks.to_host
    monkeypatch.setattr(checks, "to_host", lambda a, name: seen.append(name) or original(a, name))
    X, y = _data()
    _model().fit(X, y, chunk_rows=10, epochs=3, verbose=0)
    assert len(seen) == 2 * 4  # X and y of 4 chunks, in the pass before training only


def test_converted_chunks_train_as_checked_ones():
    X, y = _data()
    checked, converted = _model(), _model()
    pairs = [(np.asarray(X[i : i + 10]).tolist(), y[i : i + 10].tolist()) for i in range(0, 40, 10)]
    checked.fit(pairs, None, epochs=3, seed=1, verbose=0)  # lists: checked on every load
    converted.fit(X, y, chunk_rows=10, epochs=3, seed=1, verbose=0)  # NumPy: converted only
    for a, b in zip(checked.get_weights(), converted.get_weights()):
        np.testing.assert_array_equal(a, b)
