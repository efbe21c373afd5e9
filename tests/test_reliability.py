"""Reliability contracts: bad input fails early and changes nothing, divergence is caught with
the last good weights kept, arrays of another library or device are refused, and a seed
gives the same numbers twice."""

import copy
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import arraynet as an
from arraynet.callbacks import EarlyStopping, ModelCheckpoint
from arraynet.layers import Dense, Dropout
from arraynet.optimizers import SGD, Adam, AdamW, RMSprop

N, D = 8, 3
ROOT = Path(__file__).resolve().parents[1]


def _data(seed=0, k=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, D)), rng.normal(size=(N, k))


def _model(out=1, activation=None, loss="squared_error", input_dim=D):
    model = an.Sequential(
        [Dense(4, activation="tanh"), Dense(out, activation=activation)],
        input_dim=input_dim,
        seed=0,
    )
    model.compile(loss=loss, optimizer=SGD(lr=0.1))
    return model


# -- bad input: one table, every backend -----------------------------------------------------
# Each case: (id, make(X, y) -> (model or None, thunk, inputs), exception, argument names (any
# must appear as a word), further words that must appear).


def _fit(X=None, y=None, model=None, **kw):
    def make(X0, y0):
        m = model() if model else _model()
        Xb, yb = (X0 if X is None else X(X0)), (y0 if y is None else y(y0))
        args = {"epochs": 2, "batch_size": 4, "shuffle": False, "verbose": 0, **kw}
        return m, lambda: m.fit(Xb, yb, **args), (Xb, yb)

    return make


def _call(method, X=None, y=None, model=None):
    def make(X0, y0):
        m = model() if model else _model()
        Xb, yb = (X0 if X is None else X(X0)), (y0 if y is None else y(y0))
        args = (Xb,) if method == "predict" else (Xb, yb)
        return m, lambda: getattr(m, method)(*args), args

    return make


def _refit_wider(X0, y0):
    m = _model()
    m.fit(X0, y0, epochs=1, verbose=0)
    wide = np.hstack([X0, X0[:, :1]])
    return m, lambda: m.fit(wide, y0, epochs=1, verbose=0), (wide, y0)


def _unbuilt_predict(X0, y0):
    m = an.Sequential([Dense(1)])
    m.compile()
    return m, lambda: m.predict(X0), (X0,)


def _nan(a):
    a = a.copy()
    a[-1, -1] = np.nan
    return a


def _inf(a):
    a = a.copy()
    a[-1, 0] = -np.inf
    return a


def _sparse(a):
    import scipy.sparse

    return scipy.sparse.csr_matrix(a)


def _object(a):
    a = a.astype(object)
    a[-1, -1] = "x"
    return a


def _onehot(rows):
    return lambda y: np.array(rows * (N // len(rows)), dtype=float)


def _bce():
    return _model(1, "sigmoid", "binary_cross_entropy")


def _cce():
    return _model(3, "softmax", "categorical_cross_entropy")


def _sce():
    return _model(3, None, "softmax_cross_entropy")


DATA_CASES = [
    ("X-nan", _fit(X=_nan), ValueError, "X", ()),
    ("X-inf-predict", _call("predict", X=_inf), ValueError, "X", ()),
    ("y-nan", _fit(y=_nan), ValueError, "y", ()),
    ("y-inf-evaluate", _call("evaluate", y=_inf), ValueError, "y", ()),
    ("X-1d", _fit(X=lambda X: X[:, 0].copy()), ValueError, "X", ()),
    ("X-3d-predict", _call("predict", X=lambda X: X[..., None].copy()), ValueError, "X", ()),
    ("X-0-rows", _fit(X=lambda X: X[:0].copy(), y=lambda y: y[:0].copy()), ValueError, "X", ()),
    ("X-0-features", _call("predict", X=lambda X: X[:, :0].copy()), ValueError, "X", ()),
    ("y-fewer-rows", _fit(y=lambda y: y[:-1].copy()), ValueError, "y", ("7", "8")),
    ("X-width-predict", _call("predict", X=lambda X: X[:, :2].copy()), ValueError, "X", ("3",)),
    ("X-width-refit", _refit_wider, ValueError, "X", ("3", "4")),
    ("y-too-wide", _fit(y=lambda y: np.hstack([y, y])), ValueError, "y", ()),
    ("bce-y-above-1", _fit(y=lambda y: np.full((N, 1), 2.0), model=_bce), ValueError, "y", ()),
    ("bce-y-negative", _call("evaluate", y=lambda y: -np.abs(y), model=_bce), ValueError, "y", ()),
    ("cce-y-above-1", _fit(y=_onehot([[2, 0, 0], [0, 2, 0]]), model=_cce), ValueError, "y", ()),
    ("cce-y-rowsum", _fit(y=_onehot([[0.5, 0.2, 0.1]]), model=_cce), ValueError, "y", ()),
    ("sce-y-negative", _fit(y=_onehot([[-1, 1, 1]]), model=_sce), ValueError, "y", ()),
    ("sce-y-rowsum", _call("gradients", y=_onehot([[1, 1, 0]]), model=_sce), ValueError, "y", ()),
    ("labels-out-of-range", _fit(y=lambda y: np.arange(N) % 4, model=_sce), ValueError, "y", ()),
    ("X-str", _fit(X=lambda X: X.astype(str)), TypeError, "X", ()),
    ("X-object", _call("predict", X=_object), TypeError, "X", ()),
    ("X-complex", _fit(X=lambda X: X + 1j), TypeError, "X", ()),
    ("y-complex", _call("evaluate", y=lambda y: y.astype(complex)), TypeError, "y", ()),
    ("y-str", _fit(y=lambda y: y.astype(str)), TypeError, "y", ()),
    ("X-sparse", _fit(X=_sparse), TypeError, "X", ("sparse", "toarray")),
    ("X-sparse-predict", _call("predict", X=_sparse), TypeError, "X", ("sparse", "toarray")),
    ("y-sparse", _fit(y=_sparse), TypeError, "y", ("sparse",)),
    ("predict-no-weights", _unbuilt_predict, ValueError, ("weights", "model"), ("weights",)),
]


def _no_model(build):
    return lambda X0, y0: (None, build, ())


HYPER_CASES = [
    ("sgd-lr-0", _no_model(lambda: SGD(lr=0)), ValueError, "lr", ("0",)),
    ("adam-lr-negative", _no_model(lambda: Adam(lr=-0.1)), ValueError, "lr", ("-0.1",)),
    ("rmsprop-lr-0", _no_model(lambda: RMSprop(lr=0.0)), ValueError, "lr", ()),
    ("adamw-lr-negative", _no_model(lambda: AdamW(lr=-1)), ValueError, "lr", ("-1",)),
    ("momentum-1", _no_model(lambda: SGD(momentum=1.0)), ValueError, "momentum", ("1.0",)),
    ("momentum-negative", _no_model(lambda: SGD(momentum=-0.1)), ValueError, "momentum", ()),
    ("rmsprop-momentum", _no_model(lambda: RMSprop(momentum=1.5)), ValueError, "momentum", ()),
    ("batch_size-0", _fit(batch_size=0), ValueError, "batch_size", ("0",)),
    ("batch_size--1", _fit(batch_size=-1), ValueError, "batch_size", ("-1",)),
    ("batch_size-2.5", _fit(batch_size=2.5), TypeError, "batch_size", ("2.5",)),
    ("batch_size-True", _fit(batch_size=True), TypeError, "batch_size", ("True",)),
    ("epochs--1", _fit(epochs=-1), ValueError, "epochs", ("-1",)),
    ("epochs-1.5", _fit(epochs=1.5), TypeError, "epochs", ("1.5",)),
    ("patience--1", _no_model(lambda: EarlyStopping(patience=-1)), ValueError, "patience", ()),
    ("patience-1.5", _no_model(lambda: EarlyStopping(patience=1.5)), TypeError, "patience", ()),
    ("activation", _no_model(lambda: Dense(2, activation="relux")), ValueError, "activation", ()),
    (
        "loss",
        _no_model(lambda: _model().compile(loss="hingeless")),
        ValueError,
        "loss",
        ("hingeless",),
    ),
    (
        "optimizer",
        _no_model(lambda: _model().compile(optimizer="sgdd")),
        ValueError,
        "optimizer",
        ("sgdd",),
    ),
    (
        "metric",
        _no_model(lambda: _model().compile(metrics=["acc2"])),
        ValueError,
        ("metric", "metrics"),
        ("acc2",),
    ),
    ("mode", _fit(mode="online"), ValueError, "mode", ("online",)),
    ("backend", _no_model(lambda: an.use("numpyy")), ValueError, "backend", ("numpyy",)),
    (
        "initializer",
        _no_model(lambda: Dense(2, kernel_initializer="glorut")),
        ValueError,
        ("initializer", "kernel_initializer"),
        ("glorut",),
    ),
    (
        "regularizer",
        _no_model(lambda: Dense(2, kernel_regularizer="l3")),
        ValueError,
        ("regularizer", "kernel_regularizer"),
        ("l3",),
    ),
]


def _same(a, b) -> bool:
    if hasattr(a, "toarray"):
        a, b = a.toarray(), b.toarray()
    a, b = np.asarray(a), np.asarray(b)
    nan = a.dtype.kind in "fc"
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=nan)


def _check_refused(make, exc, names, words, X, y):
    model, thunk, inputs = make(X, y)
    before = [w.copy() for w in model.get_weights()] if model is not None else []
    copies = [copy.deepcopy(a) for a in inputs]
    with pytest.raises((ValueError, TypeError)) as info:
        thunk()
    message = str(info.value)
    assert isinstance(info.value, exc), f"{type(info.value).__name__}: {message}"
    names = (names,) if isinstance(names, str) else names
    assert any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", message) for n in names), message
    assert "expected" in message and "got" in message, message
    for word in words:
        assert word in message, message
    after = model.get_weights() if model is not None else []
    assert len(after) == len(before) and all(np.array_equal(a, b) for a, b in zip(after, before))
    assert all(_same(c, a) for c, a in zip(copies, inputs)), "an input was modified"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("make", "exc", "names", "words"), [c[1:] for c in DATA_CASES], ids=[c[0] for c in DATA_CASES]
)
def test_bad_data_is_refused(backend, dtype, make, exc, names, words):
    X, y = _data()
    with an.use(backend, dtype=dtype):
        _check_refused(make, exc, names, words, X, y)


@pytest.mark.parametrize(
    ("make", "exc", "names", "words"), [c[1:] for c in HYPER_CASES], ids=[c[0] for c in HYPER_CASES]
)
def test_bad_hyperparameter_is_refused(backend, make, exc, names, words):
    X, y = _data()
    with an.use(backend):
        _check_refused(make, exc, names, words, X, y)
        assert an.current_backend().name == backend  # a refused use() selects nothing


# -- divergence ------------------------------------------------------------------------------

X_DIV = np.array([[2.0], [2.5], [3.0], [2.0]])  # the book's input 2, and neighbours
Y_DIV = np.array([[0.8], [0.5], [1.0], [0.8]])
LR, W0 = 0.75, 0.5
BATCH = {"full": 4, "minibatch": 3, "stochastic": 1}


def _diverging(mode, callbacks=()):
    model = an.Sequential([Dense(1, use_bias=False)], input_dim=1)
    model.compile(loss="squared_error", optimizer=SGD(lr=LR))
    model.set_weights([np.array([[W0]])])
    fit = {"mode": mode, "batch_size": 3, "shuffle": False, "verbose": 0, "callbacks": callbacks}
    return model, lambda: model.fit(X_DIV, Y_DIV, epochs=2000, **fit)


def _divergence_reference(mode):
    """NumPy float64 SGD by hand: ``(epoch, batch, weights)`` at the first step whose loss
    is not finite, and at the step after it. Where a sum of squares crosses float64's
    largest value depends on the order of the summation (XLA may reduce differently from
    NumPy), so the step after the first overflow here is a correct answer too."""
    w, size, found = np.array([[W0]]), BATCH[mode], []
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(2000):
            for batch, start in enumerate(range(0, len(X_DIV), size)):
                Xb, Yb = X_DIV[start : start + size], Y_DIV[start : start + size]
                delta = Xb @ w - Yb
                if found or not np.isfinite(np.sum(delta * delta) / (2 * len(Xb))):
                    found.append((epoch, batch, w))
                    if len(found) == 2:
                        return found
                w = w - LR * (Xb.T @ (delta / len(Xb)))
    raise AssertionError("no divergence")


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
@pytest.mark.parametrize("mode", ["full", "minibatch", "stochastic"])
def test_divergence_raises_and_keeps_the_last_good_weights(backend, mode):
    divergence_error = an.DivergenceError
    assert issubclass(divergence_error, FloatingPointError)
    candidates = _divergence_reference(mode)
    with an.use(backend, dtype="float64"):
        model, fit = _diverging(mode)
        with pytest.raises(divergence_error) as info:
            fit()
        weights = model.get_weights()
    err, message = info.value, str(info.value)
    steps = [(epoch, batch, LR) for epoch, batch, _ in candidates]
    assert (err.epoch, err.batch, err.lr) in steps
    epoch, batch, expected = candidates[steps.index((err.epoch, err.batch, err.lr))]
    assert re.search(rf"epoch\D{{0,3}}({epoch}|{epoch + 1})\b", message), message
    assert re.search(rf"batch\D{{0,3}}({batch}|{batch + 1})\b", message), message
    assert "0.75" in message and "learning rate" in message and "smaller" in message, message
    assert model.epoch == epoch  # the epochs before it completed
    assert all(np.all(np.isfinite(w)) for w in weights)
    np.testing.assert_allclose(weights[0], expected, rtol=1e-10)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_checkpoint_never_holds_non_finite_weights(backend, tmp_path):
    path = tmp_path / "ckpt.arraynet"
    with an.use(backend, dtype="float64"):
        model, fit = _diverging("stochastic", [ModelCheckpoint(path)])
        with pytest.raises(an.DivergenceError) as info:
            fit()
        saved = an.load(path)
        weights = saved.get_weights()  # float64: the weights are huge, past float32's range
    assert 0 < saved.epoch <= info.value.epoch
    assert all(w.dtype == np.float64 and np.all(np.isfinite(w)) for w in weights)


# -- arrays of two libraries, or of another device -------------------------------------------


def test_two_libraries_are_refused(backend):
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    X, y = _data()
    with an.use(backend, dtype="float64"):
        model = _model()
        _check_refused(
            lambda *_: (model, lambda: model.fit(torch.asarray(X), jnp.asarray(y), verbose=0), ()),
            ValueError,
            ("X", "y"),
            ("torch", "jax"),
            X,
            y,
        )


def _on_other_device(model, X, method):
    def make(*_):
        args = (X,) if method == "predict" else (X, np.zeros((N, 1)))
        return model, lambda: getattr(model, method)(*args), ()

    return make


@pytest.mark.parametrize(("selected", "other"), [("device1", "CPU_DEVICE"), (None, "device1")])
def test_array_api_strict_device_mismatch_is_refused(selected, other):
    xp = pytest.importorskip("array_api_strict")
    X, y = _data()
    with an.use("array_api_strict", dtype="float64", device=selected):
        model = _model()
        elsewhere = xp.asarray(X, device=xp.Device(other))
        for method in ("fit", "predict", "evaluate"):
            _check_refused(
                _on_other_device(model, elsewhere, method), ValueError, "X", ("device",), X, y
            )
        model.fit(X, y.tolist(), verbose=0)  # NumPy arrays and lists go anywhere
        assert np.all(np.isfinite(model.predict(X.tolist())))


JAX_TWO_DEVICES = """
import numpy as np, jax
import arraynet as an
X, y = np.ones((6, 2)), np.ones((6, 1))
with an.use("jax", dtype="float64", device=1):
    model = an.Sequential([an.layers.Dense(1)], input_dim=2, seed=0)
    model.compile()
    before = model.get_weights()
    try:
        model.fit(jax.device_put(X, jax.devices()[0]), y, verbose=0)
    except ValueError as err:
        same = all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
        print("REFUSED", "device" in str(err), same)
    model.fit(X, y.tolist(), verbose=0)
    model.fit(jax.device_put(X, jax.devices()[1]), y, verbose=0)
    print("ACCEPTED", np.isfinite(model.predict(X)).all())
"""


def test_jax_device_mismatch_is_refused():
    pytest.importorskip("jax")
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(JAX_TWO_DEVICES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "REFUSED True True" in run.stdout, run.stdout + run.stderr
    assert "ACCEPTED True" in run.stdout, run.stdout + run.stderr


def test_float32_only_device():
    pytest.importorskip("array_api_strict")
    X, y = _data()
    with an.use("array_api_strict", device="no_float64"):
        model = _model()
        model.fit(X, y, epochs=3, batch_size=4, verbose=0)
        assert model.predict(X).dtype == np.float32
        assert all(w.dtype == np.float32 and np.all(np.isfinite(w)) for w in model.get_weights())
    with pytest.raises(ValueError) as info:
        an.use("array_api_strict", dtype="float64", device="no_float64")
    assert "dtype" in str(info.value) and "device" in str(info.value)
    assert an.current_backend().name == "numpy"


# -- determinism -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_same_bits(backend, dtype):
    X, y = _data(1, k=2)
    runs = []
    for _ in range(2):
        with an.use(backend, dtype=dtype):
            model = an.Sequential(
                [Dense(8, activation="relu"), Dropout(0.3), Dense(2)], input_dim=D, seed=7
            )
            model.compile(loss="mse", optimizer=Adam(lr=0.01))
            model.fit(X, y, epochs=5, batch_size=3, shuffle=True, verbose=0)
            runs.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_predict_in_chunks_agrees(backend):
    X = np.random.default_rng(2).normal(size=(20, D))
    with an.use(backend, dtype="float64"):
        model = _model(out=2)
        full = model.predict(X, batch_size=20)
        for size in (1, 7):
            np.testing.assert_allclose(model.predict(X, batch_size=size), full, rtol=0, atol=1e-12)
