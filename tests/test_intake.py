"""The data intake checks a call's data once: streamed chunks are checked in the pass before
training and only converted when each epoch loads them."""

import numpy as np
import pytest

import arraynet as an
from arraynet.data import checks
from arraynet.data.intake import hold_out


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


@pytest.mark.parametrize(
    ("split", "multiple", "cut"), [(0.12, 1, 211), (0.12, 4, 208), (0.2, 4, 192), (0.5, 8, 120)]
)
def test_hold_out_cuts_at_a_multiple_of_the_devices(split, multiple, cut):
    """Keras's cut, floor(n * (1 - split)), rounded down to a multiple of a process's
    devices over several processes; the weights go with their rows."""
    X, Y, W = np.arange(240.0)[:, None], np.arange(240.0)[:, None] + 1, np.arange(240.0) + 2
    X_train, Y_train, W_train, (X_val, Y_val, W_val) = hold_out(X, Y, split, W, multiple=multiple)
    assert X_train.shape[0] == cut and X_val.shape[0] == 240 - cut
    assert np.array_equal(np.concatenate([X_train, X_val]), X)
    assert np.array_equal(Y_val, X_val + 1) and np.array_equal(W_val, X_val[:, 0] + 2)
    assert np.array_equal(W_train, X_train[:, 0] + 2)


def test_hold_out_refuses_a_cut_that_leaves_no_rows():
    with pytest.raises(ValueError, match="validation_split: expected a share"):
        hold_out(np.zeros((6, 1)), np.zeros((6, 1)), 0.2, multiple=8)


@pytest.mark.parametrize("several", [False, "list", "dict"])
def test_own_hold_out_cuts_each_input_and_target_alike(monkeypatch, several):
    """Over several processes (4 devices here, faked) the hold-out runs on the host rows,
    before they join the mesh, for one input or several."""
    from arraynet.data import intake

    monkeypatch.setattr(intake, "process_devices", lambda backend: 4)
    X, y = np.arange(60.0).reshape(30, 2), list(range(30))  # y: plain labels
    data = {False: X, "list": [X, X + 100], "dict": {"a": X, "b": X + 100}}[several]
    W = np.arange(30.0)
    train_X, train_y, train_W, (held_X, held_y, held_W) = intake.own_hold_out(
        None, data, y, 0.25, W, keep=True
    )  # floor(30 * 0.75) = 22, rounded down to 20
    first = lambda d: d if several is False else (d[0] if several == "list" else d["a"])  # noqa: E731
    assert np.array_equal(first(train_X), X[:20]) and np.array_equal(first(held_X), X[20:])
    assert np.array_equal(train_y, np.arange(20)) and np.array_equal(held_y, np.arange(20, 30))
    assert np.array_equal(train_W, W[:20]) and np.array_equal(held_W, W[20:])
    if several:
        second = train_X[1] if several == "list" else train_X["b"]
        assert np.array_equal(second, X[:20] + 100)
