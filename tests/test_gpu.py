"""On a GPU (cupy, jax on CUDA, torch on "cuda"): arrays already on the selected device are
taken however the device was named, the matmul precision changes the products there and
"highest" agrees with float64 NumPy, a batch larger than the device is one
DeviceMemoryError before any update, and a model trained there saves and loads on the host.
These skip where the backend has no GPU. The GPU selection itself (tests/gpu_selection.py)
is checked everywhere: each entry names a collected test, and pytest-xdist's workers
collect the same tests.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gpu_selection import GPU_TESTS

import arraynet as an
from arraynet.backend import on_gpu, to_numpy

TESTS = Path(__file__).parent


@pytest.fixture
def gpu(backend):
    """``use()`` keywords that put ``backend`` on a GPU here; skips where there is none."""
    keywords = {"device": "cuda"} if backend == "torch" else {}
    try:
        with an.use(backend, **keywords) as selected:
            if on_gpu(selected):
                return keywords
    except (ImportError, RuntimeError, ValueError):
        pass
    pytest.skip(f"backend {backend!r} has no GPU here")


def _on_device(backend, a):
    """``a`` as an array of ``backend``'s library on its GPU, made by the library itself."""
    if backend == "torch":
        import torch

        return torch.asarray(a).to("cuda:0")
    if backend == "cupy":
        import cupy

        with cupy.cuda.Device(0):
            return cupy.asarray(a)
    import jax

    return jax.device_put(a, jax.devices()[0])


def _model(units=8):
    model = an.Sequential([an.layers.Dense(units, activation="tanh"), an.layers.Dense(1)], seed=3)
    model.compile(loss="mse", optimizer="adam")
    return model


def test_arrays_on_the_selected_gpu_are_taken_however_it_was_named(backend, gpu):
    """The issue's crash: ``use("torch", device="cuda")`` refused tensors on ``cuda:0``."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 4)).astype(np.float32), rng.normal(size=(64, 1))
    named = {"torch": "cuda", "cupy": 0, "jax": 0}[backend]
    with an.use(backend, device=named):
        model = _model()
        model.fit(_on_device(backend, X), _on_device(backend, y.astype(np.float32)), verbose=0)
        on_device = to_numpy(model.predict(_on_device(backend, X)))
        from_host = to_numpy(model.predict(X))
    np.testing.assert_array_equal(on_device, from_host)


def _product_error(backend, gpu, precision):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((256, 2048)).astype(np.float32)
    B = rng.standard_normal((2048, 256)).astype(np.float32)
    expected = A.astype(np.float64) @ B.astype(np.float64)
    with an.use(backend, matmul_precision=precision, **gpu) as selected:
        got = to_numpy(selected.xp.matmul(selected.asarray(A), selected.asarray(B)))
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def test_matmul_precision_is_what_the_gpu_computes(backend, gpu):
    """ "highest" is full float32 (what float32 agreement needs: JAX's own default on a GPU
    missed it by 1e-4); "medium" is TF32 or bfloat16, an order of magnitude further off."""
    errors = {p: _product_error(backend, gpu, p) for p in ("highest", "high", "medium")}
    print(f"{backend}: relative error of a 2048-deep float32 product, by setting: {errors}")
    assert errors["highest"] < 3e-6, errors
    assert errors["medium"] > 10 * errors["highest"], errors
    assert errors["high"] < 1e-2 and errors["medium"] < 5e-2, errors


def test_a_batch_larger_than_the_gpu_is_one_device_memory_error(backend, gpu):
    """A full batch of 10^6 rows through 65,536 units needs 262 GB at once: the library's
    own out-of-memory error becomes one DeviceMemoryError, the weights stay as they were,
    and a smaller batch then trains."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((1_000_000, 16), dtype=np.float32)
    y = X[:, :1].copy()
    with an.use(backend, **gpu):
        model = _model(units=65_536)
        model.fit(X[:256], y[:256], batch_size=256, verbose=0)
        before = model.get_weights()
        with pytest.raises(an.DeviceMemoryError):
            model.fit(X, y, batch_size=len(X), verbose=0)
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)
        model.fit(X[:2048], y[:2048], batch_size=256, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_trained_on_the_gpu_saved_and_loaded_on_the_host(backend, gpu, tmp_path):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(128, 5)), rng.normal(size=(128, 1))
    with an.use(backend, dtype="float64", **gpu):
        model = _model()
        model.fit(X, y, epochs=3, verbose=0)
        expected = to_numpy(model.predict(X))
        model.save(tmp_path / "gpu.arraynet")
    with an.use("numpy", dtype="float64"):
        on_host = an.models.load_model(tmp_path / "gpu.arraynet")
        np.testing.assert_allclose(on_host.predict(X), expected, rtol=1e-12, atol=1e-14)
        on_host.fit(X, y, epochs=1, verbose=0)
        on_host.save(tmp_path / "host.arraynet")
    with an.use(backend, dtype="float64", **gpu):
        again = an.models.load_model(tmp_path / "host.arraynet")
        np.testing.assert_allclose(to_numpy(again.predict(X)), on_host.predict(X), rtol=1e-12)


# -- the selection, checked everywhere ----------------------------------------------------------


def _pytest(*args):
    env = {**os.environ, "ARRAYNET_BACKEND": "numpy"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=TESTS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _selected_files():
    return sorted({entry.split("::")[0] for entry in GPU_TESTS})


def test_every_selection_entry_names_a_collected_test():
    import re

    from conftest import _selection_pattern

    run = _pytest("--collect-only", "-q", "-m", "gpu", *(f"tests/{f}" for f in _selected_files()))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    ids = [line for line in run.stdout.splitlines() if "::" in line]
    unmatched = [e for e in GPU_TESTS if not any(_selection_pattern(e).fullmatch(i) for i in ids)]
    assert not unmatched, f"entries naming no collected test: {unmatched}"
    per_file = {f: sum(i.startswith(f"tests/{f}") for i in ids) for f in _selected_files()}
    assert 25 <= len(ids) <= 60, per_file  # about a minute per GPU backend
    assert not [i for i in ids if re.search(r"0x[0-9a-f]{6,}", i)], "ids with addresses"


def test_xdist_workers_collect_the_same_gpu_tests():
    pytest.importorskip("xdist")
    files = [f"tests/{f}" for f in _selected_files()]
    run = _pytest("--collect-only", "-q", "-m", "gpu", "-n", "2", *files)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Different tests were collected" not in run.stdout + run.stderr
