"""Backend selection: an.use(), the context manager, dtypes, available_backends(), input interop."""

import importlib.util

import numpy as np
import pytest

import arraynet as an

KNOWN = ("numpy", "cupy", "jax", "torch", "array_api_strict")
N, D = 8, 3


def _installed(module):
    return importlib.util.find_spec(module) is not None


@pytest.fixture(autouse=True)
def _restore_global_choice():
    """Tests here call an.use() without a context; put the global choice back afterwards."""
    prev = an.current_backend()
    name, dtype = prev.name, prev.dtype
    yield
    an.use(name, dtype=dtype)


def _state():
    cur = an.current_backend()
    return cur.name, cur.dtype


def _to_numpy(a):
    if isinstance(a, np.ndarray):
        return a
    if type(a).__module__.startswith("torch"):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _model(seed=1):
    model = an.Sequential(
        [an.layers.Dense(4, activation="tanh"), an.layers.Dense(1)], input_dim=D, seed=seed
    )
    model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=0.1))
    return model


def _data():
    # Small integers: exactly representable in every dtype, so converted inputs are identical.
    rng = np.random.default_rng(0)
    X = rng.integers(-3, 4, size=(N, D)).astype(np.float64)
    y = rng.integers(-2, 3, size=(N, 1)).astype(np.float64)
    return X, y


# ---------------------------------------------------------------------------------------------
# an.use(): names and dtypes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tensorflow", "np", "mxnet", ""])
def test_unknown_backend_lists_known_names(name):
    an.use("numpy", dtype="float64")
    with pytest.raises(ValueError) as info:
        an.use(name)
    msg = str(info.value)
    for known in KNOWN:
        assert known in msg, f"{known!r} missing from {msg!r}"
    assert _state() == ("numpy", "float64"), "failed use() changed the current backend"


@pytest.mark.parametrize("name", [None, 3])
def test_non_string_backend_rejected(name):
    an.use("numpy", dtype="float64")
    with pytest.raises((TypeError, ValueError)):
        an.use(name)
    assert _state() == ("numpy", "float64")


@pytest.mark.skipif(_installed("cupy"), reason="cupy is installed here")
@pytest.mark.parametrize("as_context", [False, True], ids=["call", "with"])
def test_known_but_missing_backend_names_extra(as_context):
    an.use("numpy", dtype="float64")
    with pytest.raises(ImportError) as info:
        if as_context:
            with an.use("cupy", dtype="float32"):
                pass
        else:
            an.use("cupy")
    assert "arraynet[cupy]" in str(info.value), str(info.value)
    assert _state() == ("numpy", "float64")


@pytest.mark.parametrize("dtype", ["float16", "int32", "float128", "double", "bogus"])
def test_bad_dtype(backend, dtype):
    an.use("numpy", dtype="float64")
    with pytest.raises(ValueError) as info:
        an.use(backend, dtype=dtype)
    assert "dtype" in str(info.value), str(info.value)
    assert dtype in str(info.value), str(info.value)
    assert _state() == ("numpy", "float64"), "failed use() changed the current backend"


@pytest.mark.parametrize("dtype", [np.dtype("float64"), np.float64, 64])
def test_non_string_dtype_rejected_or_normalised(backend, dtype):
    """A dtype given as a NumPy object is either refused or stored as the string name."""
    X, _ = _data()
    try:
        ctx = an.use(backend, dtype=dtype)
    except (TypeError, ValueError) as err:
        assert "dtype" in str(err), str(err)
        return
    with ctx:
        assert _state() == (backend, "float64")
        assert _to_numpy(_model().predict(X)).dtype == np.float64


def test_default_dtype_is_float32(backend):
    an.use(backend)
    assert _state() == (backend, "float32")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_applies_to_model(backend, dtype):
    X, y = _data()
    with an.use(backend, dtype=dtype):
        assert _state() == (backend, dtype)
        model = _model()
        assert _to_numpy(model.predict(X)).dtype == np.dtype(dtype)
        ws = model.get_weights()  # host copies; their dtype is not part of the contract
        assert all(isinstance(w, np.ndarray) and w.dtype.kind == "f" for w in ws), ws
        _, grads = model.gradients(X, y)
        assert all(_to_numpy(g).dtype == np.dtype(dtype) for g in grads)


def test_plain_call_switches(backend):
    an.use(backend, dtype="float64")
    assert _state() == (backend, "float64")
    an.use("numpy")
    assert _state() == ("numpy", "float32")


# ---------------------------------------------------------------------------------------------
# an.use() as a context manager
# ---------------------------------------------------------------------------------------------


def test_context_restores(backend):
    an.use("numpy", dtype="float32")
    with an.use(backend, dtype="float64") as be:
        assert (be.name, be.dtype) == (backend, "float64")
        assert _state() == (backend, "float64")
    assert _state() == ("numpy", "float32")


def test_context_restores_on_exception(backend):
    an.use("numpy", dtype="float32")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), an.use(backend, dtype="float64"):
        assert _state() == (backend, "float64")
        raise Boom
    assert _state() == ("numpy", "float32")


def test_context_nested(backend):
    an.use("numpy", dtype="float32")
    with an.use(backend, dtype="float64"):
        with an.use("numpy", dtype="float64"):
            assert _state() == ("numpy", "float64")
            with an.use(backend, dtype="float32"):
                assert _state() == (backend, "float32")
            assert _state() == ("numpy", "float64")
        assert _state() == (backend, "float64")
    assert _state() == ("numpy", "float32")


def test_context_nested_exception_restores_all_levels(backend):
    an.use("numpy", dtype="float32")
    with pytest.raises(KeyError):  # noqa: SIM117 - levels kept apart on purpose
        with an.use(backend, dtype="float64"):
            with an.use("numpy", dtype="float64"):
                raise KeyError("inner")
    assert _state() == ("numpy", "float32")


def test_failed_use_inside_context_keeps_context(backend):
    with an.use(backend, dtype="float64"):
        with pytest.raises(ValueError):
            an.use(backend, dtype="float16")
        with pytest.raises(ValueError):
            an.use("not-a-backend")
        assert _state() == (backend, "float64")


@pytest.mark.skipif(not _installed("jax"), reason="jax not installed")
def test_jax_float64_enables_x64():
    import jax
    import jax.numpy as jnp

    with an.use("jax", dtype="float64"):
        assert jax.config.jax_enable_x64 is True
        assert jnp.asarray(1.0).dtype == jnp.float64
        assert all(w.dtype == np.float64 for w in _model().get_weights())


# ---------------------------------------------------------------------------------------------
# available_backends()
# ---------------------------------------------------------------------------------------------


def test_available_backends_contents():
    names = list(an.available_backends())
    assert all(isinstance(n, str) for n in names), names
    assert "numpy" in names
    assert set(names) <= set(KNOWN), names
    assert len(set(names)) == len(names), names
    if not _installed("cupy"):
        assert "cupy" not in names


@pytest.mark.parametrize("name", ["jax", "torch", "array_api_strict"])
def test_installed_cpu_backends_are_available(name):
    if not _installed(name):
        pytest.skip(f"{name} not installed")
    assert name in an.available_backends()


def test_every_available_backend_is_usable():
    X, _ = _data()
    for name in an.available_backends():
        with an.use(name, dtype="float32"):
            out = _to_numpy(_model().predict(X))
            assert out.shape == (N, 1)
            assert np.all(np.isfinite(out))


# ---------------------------------------------------------------------------------------------
# Input data from lists, numpy (any float/int dtype) and other libraries' arrays
# ---------------------------------------------------------------------------------------------


def _convert(kind, a):
    if kind == "list":
        return a.tolist()
    if kind == "int-list":
        return a.astype(int).tolist()
    if kind == "numpy-float32":
        return a.astype(np.float32)
    if kind == "numpy-int64":
        return a.astype(np.int64)
    if kind.startswith("torch"):
        torch = pytest.importorskip("torch")
        t = torch.from_numpy(a.copy())
        return t.to(torch.float32) if kind == "torch-float32" else t
    if kind == "jax":
        jnp = pytest.importorskip("jax.numpy")
        return jnp.asarray(a)
    if kind == "array_api_strict":
        xp = pytest.importorskip("array_api_strict")
        return xp.asarray(a)
    raise AssertionError(kind)


INPUT_KINDS = [
    "list",
    "int-list",
    "numpy-float32",
    "numpy-int64",
    "torch",
    "torch-float32",
    "jax",
    "array_api_strict",
]


@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_foreign_inputs_predict_like_numpy(backend, kind):
    X, _ = _data()
    with an.use(backend, dtype="float64"):
        model = _model()
        expected = _to_numpy(model.predict(X))
        got = _to_numpy(model.predict(_convert(kind, X)))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_foreign_inputs_fit_like_numpy(backend, kind):
    X, y = _data()
    with an.use(backend, dtype="float64"):
        ref = _model()
        ref.fit(X, y, mode="minibatch", batch_size=4, epochs=3, shuffle=False, verbose=0)
        model = _model()
        Xk, yk = _convert(kind, X), _convert(kind, y)
        model.fit(Xk, yk, mode="minibatch", batch_size=4, epochs=3, shuffle=False, verbose=0)
        ref_eval = float(ref.evaluate(X, y))
        got_eval = float(model.evaluate(Xk, yk))
    for w_ref, w in zip(ref.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_eval, ref_eval, rtol=1e-12)


@pytest.mark.parametrize(
    "values, kwargs",
    [
        (np.arange(12, dtype=np.float32).reshape(3, 4) / 7, {}),
        (np.arange(12, dtype=np.float32).reshape(3, 4) / 7, {"axis": 0}),
        (np.arange(12, dtype=np.float64).reshape(3, 4) / 7, {"axis": 1, "keepdims": True}),
        (np.arange(12, dtype=np.float32).reshape(3, 4), {"axis": (0, 1), "dtype": np.float64}),
        (np.array([True, True, False]), {}),
        (np.array([100, 100], dtype=np.int8), {}),
        (np.ones((0, 3), dtype=np.float32), {"axis": 0}),
    ],
)
def test_numpy_namespace_sum_is_numpy_sum(values, kwargs):
    """The numpy backend's lean ``sum`` gives np.sum's value, dtype and shape."""
    an.use("numpy")
    xp = an.current_backend().xp
    got, want = xp.sum(values, **kwargs), np.sum(values, **kwargs)
    assert got.dtype == want.dtype and np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(got, want)


def test_dtype_none_is_the_default_float32(backend):
    with an.use(backend, dtype=None):
        assert _state() == (backend, "float32")


@pytest.mark.parametrize("device", ["meta", "cuda:7"])
def test_a_torch_device_that_cannot_hold_the_weights_is_refused(device):
    """ "meta" tensors hold no data, and this build has no 8th CUDA device: ``use`` refuses
    both, naming the device, before any model's weights move there."""
    pytest.importorskip("torch")
    X, _ = _data()
    model = _model()
    expected = model.predict(X)
    with pytest.raises(ValueError, match=rf"^device: expected a torch device .* got '{device}'"):
        an.use("torch", device=device)
    assert _state() == ("numpy", "float32")
    np.testing.assert_array_equal(model.predict(X), expected)
