"""Input validation: bad arguments fail early, with a clear message, and change nothing.

Every failing call is checked to raise the documented exception type, to name the offending
argument (and, where it is a scalar or a count, the value that was given), and to leave both the
model's weights and the caller's input arrays untouched.  Data-dependent problems are put in the
*last* row and ``fit`` runs in stochastic mode without shuffling, so an implementation that only
validates each sample/batch as it gets to it (after earlier updates) is caught.
"""

import copy
import re

import numpy as np
import pytest

import arraynet as an

N, D = 8, 3


@pytest.fixture
def be(backend):
    """Run the test body on ``backend`` in float64."""
    with an.use(backend, dtype="float64"):
        yield backend


def _data(k=1):
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, D)), rng.normal(size=(N, k))


def _model(out=1, loss="squared_error", hidden="relu", compile=True):
    model = an.Sequential(
        [an.layers.Dense(4, activation=hidden), an.layers.Dense(out)], input_dim=D, seed=0
    )
    if compile:
        model.compile(loss=loss, optimizer=an.optimizers.SGD(lr=0.1))
    return model


def _call(model, method, X, y=None, **fit_kwargs):
    if method == "fit":
        kw = {"mode": "stochastic", "epochs": 2, "shuffle": False, "verbose": 0}
        kw.update(fit_kwargs)
        return model.fit(X, y, **kw)
    if method == "predict":
        return model.predict(X)
    if method == "evaluate":
        return model.evaluate(X, y)
    if method == "gradients":
        return model.gradients(X, y)
    raise AssertionError(method)


def _snapshot(obj):
    if isinstance(obj, np.ndarray):
        return obj.copy()
    return copy.deepcopy(obj)


def _same(a, b):
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    return a == b


def _weights(model):
    return [np.array(w, copy=True) for w in model.get_weights()]


def _check_message(msg, names=(), values=()):
    """``names``: at least one must appear as a whole word; ``values``: all must appear."""
    if names:
        assert any(
            re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", msg) for n in names
        ), f"message does not name any of {names}: {msg!r}"
    for v in values:
        assert v in msg, f"message does not contain {v!r}: {msg!r}"


def _expect_failure(model, fn, exc, names=(), values=(), inputs=()):
    """Call ``fn`` and check: raises ``exc``, message content, weights and inputs unchanged."""
    before = _weights(model) if model is not None else None
    saved = [_snapshot(a) for a in inputs]
    with pytest.raises(exc) as info:
        fn()
    _check_message(str(info.value), names, values)
    if model is not None:
        after = model.get_weights()
        assert len(after) == len(before)
        for b, a in zip(before, after, strict=True):
            assert np.array_equal(b, np.asarray(a)), "weights changed by a call that failed"
    for s, a in zip(saved, inputs, strict=True):
        assert _same(s, a), "caller's input was modified"
    return info.value


# ---------------------------------------------------------------------------------------------
# Sanity: the valid versions of the calls used below succeed (so failures are due to the bad arg)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fit", "predict", "evaluate", "gradients"])
def test_valid_call_succeeds(be, method):
    X, y = _data()
    model = _model()
    _call(model, method, X, y)


# ---------------------------------------------------------------------------------------------
# X problems (fit / predict / evaluate / gradients)
# ---------------------------------------------------------------------------------------------


def _set_last(X, value, dtype=None):
    X = X.astype(dtype) if dtype is not None else X.copy()
    X[-1, -1] = value
    return X


X_CASES = [
    # id, make bad X from good X, exception, names (any), values (all)
    ("1d", lambda X: X[0].copy(), ValueError, ("X",), ()),
    ("1d-long", lambda X: X[:, 0].copy(), ValueError, ("X",), ()),
    ("3d", lambda X: X[:, :, None].copy(), ValueError, ("X",), ()),
    ("too-many-features", lambda X: np.ones((N, D + 1)), ValueError, ("X",), ("3", "4")),
    ("too-few-features", lambda X: X[:, :2].copy(), ValueError, ("X",), ("3", "2")),
    ("str-array", lambda X: X.astype(str), TypeError, ("X",), ()),
    ("str-list", lambda X: [["a", "b", "c"]] * N, TypeError, ("X",), ()),
    ("object-with-str", lambda X: _set_last(X, "a", object), TypeError, ("X",), ()),
    ("object-with-dict", lambda X: _set_last(X, {}, object), TypeError, ("X",), ()),
    ("object-with-None", lambda X: _set_last(X, None, object), (TypeError, ValueError), ("X",), ()),
    ("None", lambda X: None, (TypeError, ValueError), ("X",), ()),
    ("ragged-list", lambda X: [[1.0, 2.0, 3.0], [1.0, 2.0]], (TypeError, ValueError), ("X",), ()),
    ("complex", lambda X: X.astype(complex), TypeError, ("X",), ()),
    ("empty", lambda X: X[:0].copy(), ValueError, ("X",), ()),
    ("nan", lambda X: _set_last(X, np.nan), ValueError, ("X",), ()),
    ("inf", lambda X: _set_last(X, np.inf), ValueError, ("X",), ()),
    ("-inf", lambda X: _set_last(X, -np.inf), ValueError, ("X",), ()),
]


@pytest.mark.parametrize("method", ["fit", "predict", "evaluate", "gradients"])
@pytest.mark.parametrize(
    ("make", "exc", "names", "values"),
    [c[1:] for c in X_CASES],
    ids=[c[0] for c in X_CASES],
)
def test_bad_X(be, method, make, exc, names, values):
    X, y = _data()
    model = _model()
    bad = make(X)
    _expect_failure(model, lambda: _call(model, method, bad, y), exc, names, values, (bad, y))


# ---------------------------------------------------------------------------------------------
# y problems (fit / evaluate / gradients)
# ---------------------------------------------------------------------------------------------

Y_CASES = [
    ("fewer-rows", lambda y: y[: N - 1].copy(), ValueError, ("X", "y"), ("7", "8")),
    ("more-rows", lambda y: np.vstack([y, y[:2]]), ValueError, ("X", "y"), ("10", "8")),
    ("too-wide", lambda y: np.hstack([y, y]), ValueError, ("y",), ("2",)),
    ("None", lambda y: None, (TypeError, ValueError), ("y",), ()),
    ("str-array", lambda y: y.astype(str), TypeError, ("y",), ()),
    ("object-with-str", lambda y: _set_last(y, "a", object), TypeError, ("y",), ()),
    ("nan", lambda y: _set_last(y, np.nan), ValueError, ("y",), ()),
    ("inf", lambda y: _set_last(y, np.inf), ValueError, ("y",), ()),
    ("-inf", lambda y: _set_last(y, -np.inf), ValueError, ("y",), ()),
]


@pytest.mark.parametrize("method", ["fit", "evaluate", "gradients"])
@pytest.mark.parametrize(
    ("make", "exc", "names", "values"),
    [c[1:] for c in Y_CASES],
    ids=[c[0] for c in Y_CASES],
)
def test_bad_y(be, method, make, exc, names, values):
    X, y = _data()
    model = _model()
    bad = make(y)
    _expect_failure(model, lambda: _call(model, method, X, bad), exc, names, values, (X, bad))


def _native(kind, a):
    """``a`` as another array library's array (skipped when that library is missing)."""
    if kind == "torch":
        torch = pytest.importorskip("torch")
        return torch.from_numpy(np.ascontiguousarray(a))
    if kind == "jax":
        jnp = pytest.importorskip("jax.numpy")
        return jnp.asarray(a)
    xp = pytest.importorskip("array_api_strict")
    return xp.asarray(a)


NATIVE_X_CASES = [
    ("1d", lambda X: X[:, 0], ValueError),
    ("3d", lambda X: X[:, :, None], ValueError),
    ("too-many-features", lambda X: np.ones((N, D + 1)), ValueError),
    ("complex", lambda X: X.astype(np.complex128), TypeError),
    ("nan", lambda X: _set_last(X, np.nan), ValueError),
    ("inf", lambda X: _set_last(X, np.inf), ValueError),
]


@pytest.mark.parametrize("kind", ["torch", "jax", "array_api_strict"])
@pytest.mark.parametrize("method", ["fit", "predict"])
@pytest.mark.parametrize(
    ("make", "exc"), [c[1:] for c in NATIVE_X_CASES], ids=[c[0] for c in NATIVE_X_CASES]
)
def test_bad_X_as_library_array(be, kind, method, make, exc):
    """Arrays of the selected backend (checked on device) and of other libraries alike."""
    X, y = _data()
    bad = _native(kind, make(X))
    model = _model()
    _expect_failure(model, lambda: _call(model, method, bad, y), exc, ("X",))


@pytest.mark.parametrize("kind", ["torch", "jax", "array_api_strict"])
@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_bad_y_as_library_array(be, kind, method):
    X, y = _data()
    bad = _native(kind, _set_last(y, np.nan))
    model = _model()
    _expect_failure(model, lambda: _call(model, method, X, bad), ValueError, ("y",))


# softmax_cross_entropy with integer labels (n,) in [0, k) or one-hot (n, k); k = 3 here.
LABEL_CASES = [
    ("label-equal-k", np.array([0, 1, 2, 0, 1, 2, 0, 3]), ValueError, ("y",), ("3",)),
    ("label-negative", np.array([0, 1, 2, 0, 1, 2, 0, -1]), ValueError, ("y",), ("-1",)),
    ("label-fractional", np.array([0, 1, 2, 0, 1, 2, 0, 1.5]), (TypeError, ValueError), ("y",), ()),
    ("one-hot-too-narrow", np.eye(2)[[0, 1, 0, 1, 0, 1, 0, 1]], ValueError, ("y",), ("2",)),
    ("labels-wrong-count", np.array([0, 1, 2, 0, 1, 2, 0]), ValueError, ("X", "y"), ("7", "8")),
]


@pytest.mark.parametrize("method", ["fit", "evaluate", "gradients"])
@pytest.mark.parametrize(
    ("labels", "exc", "names", "values"),
    [c[1:] for c in LABEL_CASES],
    ids=[c[0] for c in LABEL_CASES],
)
def test_bad_softmax_labels(be, method, labels, exc, names, values):
    X, _ = _data()
    model = _model(out=3, loss="softmax_cross_entropy")
    _expect_failure(model, lambda: _call(model, method, X, labels), exc, names, values, (X, labels))


def test_softmax_integer_labels_match_one_hot(be):
    X, _ = _data()
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 2])
    model = _model(out=3, loss="softmax_cross_entropy")
    loss_int, grads_int = model.gradients(X, labels)
    loss_hot, grads_hot = model.gradients(X, np.eye(3)[labels])
    loss_list, _ = model.gradients(X, labels.tolist())
    np.testing.assert_allclose(float(loss_list), float(loss_hot), rtol=1e-10)
    np.testing.assert_allclose(float(loss_int), float(loss_hot), rtol=1e-10)
    for gi, gh in zip(grads_int, grads_hot, strict=True):
        np.testing.assert_allclose(np.asarray(gi), np.asarray(gh), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# fit() keyword arguments
# ---------------------------------------------------------------------------------------------

BOOL_OR_FLOAT = (TypeError, ValueError)
FIT_ARG_CASES = [
    ("mode-unknown", {"mode": "sgd"}, ValueError, ("mode",), ("sgd", "minibatch")),
    ("mode-unknown-2", {"mode": "online"}, ValueError, ("mode",), ("online",)),
    ("mode-None", {"mode": None}, (TypeError, ValueError), ("mode",), ()),
    ("batch_size-0", {"mode": "minibatch", "batch_size": 0}, ValueError, ("batch_size",), ("0",)),
    (
        "batch_size--1",
        {"mode": "minibatch", "batch_size": -1},
        ValueError,
        ("batch_size",),
        ("-1",),
    ),
    (
        "batch_size-2.5",
        {"mode": "minibatch", "batch_size": 2.5},
        BOOL_OR_FLOAT,
        ("batch_size",),
        ("2.5",),
    ),
    (
        "batch_size-True",
        {"mode": "minibatch", "batch_size": True},
        BOOL_OR_FLOAT,
        ("batch_size",),
        ("True",),
    ),
    (
        "batch_size-str",
        {"mode": "minibatch", "batch_size": "4"},
        BOOL_OR_FLOAT,
        ("batch_size",),
        (),
    ),
    ("epochs--1", {"epochs": -1}, ValueError, ("epochs",), ("-1",)),
    ("epochs-1.5", {"epochs": 1.5}, BOOL_OR_FLOAT, ("epochs",), ("1.5",)),
    ("epochs-True", {"epochs": True}, BOOL_OR_FLOAT, ("epochs",), ("True",)),
    ("epochs-str", {"epochs": "2"}, BOOL_OR_FLOAT, ("epochs",), ()),
]


@pytest.mark.parametrize(
    ("kwargs", "exc", "names", "values"),
    [c[1:] for c in FIT_ARG_CASES],
    ids=[c[0] for c in FIT_ARG_CASES],
)
def test_bad_fit_argument(be, kwargs, exc, names, values):
    X, y = _data()
    model = _model()
    _expect_failure(model, lambda: _call(model, "fit", X, y, **kwargs), exc, names, values, (X, y))


def _losses(history):
    h = getattr(history, "history", history)
    return list(h["loss"]) if isinstance(h, dict) else list(h.loss)


@pytest.mark.parametrize("mode", ["full", "minibatch", "stochastic"])
def test_epochs_zero_changes_nothing(be, mode):
    X, y = _data()
    model = _model()
    before = _weights(model)
    history = model.fit(X, y, mode=mode, epochs=0, batch_size=4, shuffle=False, verbose=0)
    assert _losses(history) == []
    for b, a in zip(before, model.get_weights(), strict=True):
        assert np.array_equal(b, np.asarray(a))


def test_numpy_integer_counts_accepted(be):
    X, y = _data()
    model = _model()
    history = model.fit(
        X, y, mode="minibatch", epochs=np.int64(2), batch_size=np.int32(4), shuffle=False, verbose=0
    )
    assert len(_losses(history)) == 2


# ---------------------------------------------------------------------------------------------
# Construction-time errors: activation, loss, optimizer
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "exc", "values"),
    [
        ("relux", ValueError, ("relux",)),
        ("soft_max", ValueError, ("soft_max",)),
        ("", ValueError, ()),
        (3, (TypeError, ValueError), ()),
    ],
    ids=["relux", "soft_max", "empty", "int"],
)
def test_unknown_activation(be, activation, exc, values):
    _expect_failure(
        None, lambda: an.layers.Dense(4, activation=activation), exc, ("activation",), values
    )


@pytest.mark.parametrize(
    ("loss", "exc", "values"),
    [
        ("hinge_loss", ValueError, ("hinge_loss",)),  # not a Keras name
        ("squared-error", ValueError, ("squared-error",)),
        (None, (TypeError, ValueError), ()),
        (3, (TypeError, ValueError), ()),
    ],
    ids=["unknown name", "squared-error", "None", "int"],
)
def test_unknown_loss(be, loss, exc, values):
    model = _model(compile=False)
    _expect_failure(
        model,
        lambda: model.compile(loss=loss, optimizer=an.optimizers.SGD(lr=0.1)),
        exc,
        ("loss",),
        values,
    )


@pytest.mark.parametrize(
    ("lr", "exc", "values"),
    [
        (0, ValueError, ("0",)),
        (0.0, ValueError, ("0",)),
        (-0.1, ValueError, ("-0.1",)),
        ("0.1", (TypeError, ValueError), ()),
    ],
    ids=["0", "0.0", "negative", "str"],
)
def test_bad_learning_rate(be, lr, exc, values):
    _expect_failure(None, lambda: an.optimizers.SGD(lr=lr), exc, ("lr",), values)


@pytest.mark.parametrize("method", ["fit", "evaluate", "gradients"])
def test_use_before_compile(be, method):
    X, y = _data()
    model = _model(compile=False)
    err = _expect_failure(
        model, lambda: _call(model, method, X, y), (RuntimeError, ValueError), inputs=(X, y)
    )
    assert "compile" in str(err).lower(), str(err)


# ---------------------------------------------------------------------------------------------
# step activation is forward-only
# ---------------------------------------------------------------------------------------------


def _step_model(where):
    acts = {"hidden": ("step", None), "output": ("relu", "step")}[where]
    model = an.Sequential(
        [an.layers.Dense(4, activation=acts[0]), an.layers.Dense(1, activation=acts[1])],
        input_dim=D,
        seed=0,
    )
    model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=0.1))
    return model


@pytest.mark.parametrize("where", ["hidden", "output"])
@pytest.mark.parametrize("method", ["fit", "gradients"])
def test_training_through_step_rejected(be, method, where):
    X, y = _data()
    model = _step_model(where)
    _expect_failure(model, lambda: _call(model, method, X, y), ValueError, ("step",), (), (X, y))


@pytest.mark.parametrize("where", ["hidden", "output"])
def test_step_forward_works(be, where):
    X, y = _data()
    out = np.asarray(_step_model(where).predict(X))
    assert out.shape == (N, 1)
    assert np.all(np.isfinite(out))


# ---------------------------------------------------------------------------------------------
# set_weights
# ---------------------------------------------------------------------------------------------


def _bad_weights(kind, ws):
    # Keras order for Dense(4) -> Dense(1) with biases: W1 (3, 4), b1 (4,), W2 (4, 1), b2 (1,)
    if kind == "missing-last":
        return ws[:-1]
    if kind == "extra":
        return [*ws, np.zeros(1)]
    if kind == "empty":
        return []
    if kind == "W1-transposed":
        return [ws[0].T.copy(), *ws[1:]]
    if kind == "b1-2d":
        return [ws[0], ws[1][None, :].copy(), *ws[2:]]
    if kind == "W2-too-wide":
        return [*ws[:2], np.zeros((4, 2)), ws[3]]
    if kind == "b2-too-long":  # only the *last* array is wrong: no partial update allowed
        return [*ws[:3], np.zeros(2)]
    raise AssertionError(kind)


SET_WEIGHT_CASES = [
    ("missing-last", ("4", "3")),
    ("extra", ("4", "5")),
    ("empty", ("4", "0")),
    ("W1-transposed", ()),
    ("b1-2d", ()),
    ("W2-too-wide", ()),
    ("b2-too-long", ()),
]


@pytest.mark.parametrize(("kind", "values"), SET_WEIGHT_CASES, ids=[c[0] for c in SET_WEIGHT_CASES])
def test_set_weights_bad(be, kind, values):
    model = _model()
    ws = [w + 1.0 for w in _weights(model)]  # different from current, so a partial set shows
    bad = _bad_weights(kind, ws)
    _expect_failure(
        model, lambda: model.set_weights(bad), ValueError, ("weights",), values, tuple(bad)
    )


def test_set_weights_not_a_list(be):
    model = _model()
    _expect_failure(
        model, lambda: model.set_weights(np.zeros((3, 4))), (TypeError, ValueError), ("weights",)
    )
