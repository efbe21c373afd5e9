"""One precision setting for float32 matrix products: ``use(..., matmul_precision=)``.

"highest" is the default on every backend; bad values are refused naming the argument; the
setting reaches JAX's compiled training program (its products' precision config), torch's
and CuPy's process-wide switches for each product on a GPU (checked here with stand-ins),
and on the CPU every backend computes float32 products in full float32 whatever the setting.
"""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import MATMUL_PRECISIONS, computed_as, matmul
from arraynet.train.cache import COMPILED


def _state():
    backend = an.current_backend()
    return backend.name, backend.dtype, backend.matmul_precision


def test_highest_is_the_default_on_every_backend(backend):
    with an.use(backend) as selected:
        assert selected.matmul_precision == "highest"
        assert computed_as(selected).startswith("full float32")


@pytest.mark.parametrize("value", ["fast", "HIGH", "tf32", "", None, 1, 32.0])
def test_a_bad_value_is_refused_naming_the_argument(backend, value):
    with an.use("numpy", dtype="float64"):
        with pytest.raises(ValueError, match=r"^matmul_precision: expected one of 'highest'"):
            an.use(backend, matmul_precision=value)
        assert _state() == ("numpy", "float64", "highest")


@pytest.mark.parametrize("precision", MATMUL_PRECISIONS)
def test_on_the_cpu_products_are_full_float32_at_any_setting(backend, precision):
    """Against float64 NumPy: full float32 sums of 512 products agree to ~1e-6; TF32
    (10-bit mantissas) or bfloat16 inputs would miss by ~1e-3."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((64, 512)), rng.standard_normal((512, 48))
    A, B = A.astype(np.float32), B.astype(np.float32)
    expected = A.astype(np.float64) @ B.astype(np.float64)
    with an.use(backend, matmul_precision=precision) as selected:
        assert selected.matmul_precision == precision
        if matmul.on_gpu(selected):
            pytest.skip("a GPU device: the setting changes the products there")
        got = an.backend.to_numpy(selected.xp.matmul(selected.asarray(A), selected.asarray(B)))
    assert got.dtype == np.float32
    error = np.abs(got - expected).max() / np.abs(expected).max()
    assert error < 2e-6, f"{backend} at {precision!r}: relative error {error:.2e}"


def _record_jax_programs(monkeypatch):
    """Every program arraynet compiles with ``jax.jit`` from now on: its StableHLO text,
    lowered with the arguments of its first call."""
    jax = pytest.importorskip("jax")
    texts, jit = [], jax.jit

    def recording(fun, **options):
        compiled = jit(fun, **options)

        def call(*args, **kwargs):
            texts.append(compiled.lower(*args, **kwargs).as_text())
            return compiled(*args, **kwargs)

        return call

    monkeypatch.setattr(jax, "jit", recording)
    return texts


def _train_small_model():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((64, 5)), rng.integers(0, 3, 64)
    model = an.Sequential([an.layers.Dense(8, activation="relu"), an.layers.Dense(3)], seed=2)
    model.compile(loss="softmax_cross_entropy", optimizer="adam")
    model.fit(X, y, batch_size=16, epochs=2, verbose=0)


@pytest.mark.parametrize(
    "precision, config", [("highest", "HIGHEST"), ("high", "HIGH"), ("medium", "DEFAULT")]
)
def test_jax_training_program_carries_the_setting(monkeypatch, precision, config):
    """The products of the compiled training program (forward and backward) carry the
    precision asked for, whatever JAX's own default; a program compiled for another
    setting is not reused (the compiled-runner cache keys on it)."""
    texts = _record_jax_programs(monkeypatch)
    COMPILED.clear()
    with an.use("jax", matmul_precision="highest" if precision != "highest" else "high"):
        _train_small_model()  # a cached program at another setting
    texts.clear()
    with an.use("jax", matmul_precision=precision):
        _train_small_model()
    products = [line for text in texts for line in text.splitlines() if "dot_general" in line]
    assert len(products) >= 5, "expected 2 forward products, 3 backward (no dX for layer 1)"
    assert all(f"precision = [{config}, {config}]" in line for line in products), products[0]


def test_jax_setting_holds_against_jax_default(monkeypatch):
    """JAX's process default (TF32-like on GPUs) does not change arraynet's products."""
    jax = pytest.importorskip("jax")
    with an.use("jax") as selected, jax.default_matmul_precision("bfloat16"):
        text = jax.jit(selected.xp.matmul).lower(np.ones((2, 3)), np.ones((3, 2))).as_text()
    assert "precision = [HIGHEST, HIGHEST]" in text


class _FakeCudaTensor:
    is_cuda, is_cpu, ndim, requires_grad = True, False, 2, False

    def __init__(self, dtype):
        self.dtype = dtype


@pytest.mark.parametrize("precision", MATMUL_PRECISIONS)
def test_torch_cuda_products_run_at_the_setting_and_put_torch_back(monkeypatch, precision):
    torch = pytest.importorskip("torch")
    from arraynet.backend import torch_matmul

    seen = []
    monkeypatch.setattr(
        torch, "matmul", lambda a, b: seen.append(torch.get_float32_matmul_precision())
    )
    before = torch.get_float32_matmul_precision()
    product = torch_matmul._routed_matmul(None, None, precision)
    product(_FakeCudaTensor(torch.float32), _FakeCudaTensor(torch.float32))
    product(_FakeCudaTensor(torch.float64), _FakeCudaTensor(torch.float64))
    assert seen == [precision, before]  # float64 products: torch's setting untouched
    assert torch.get_float32_matmul_precision() == before


def test_torch_cpu_products_ignore_the_setting(monkeypatch):
    torch = pytest.importorskip("torch")
    seen = []
    real = torch.matmul
    monkeypatch.setattr(
        torch,
        "matmul",
        lambda a, b: seen.append(torch.get_float32_matmul_precision()) or real(a, b),
    )
    with an.use("torch", device="cpu", matmul_precision="medium") as selected:
        selected.xp.matmul(torch.ones((2, 3)), torch.ones((3, 2)))
    assert seen == ["highest"]


class _FakeCupyLinalg:
    """Stands for ``cupy._core._routines_linalg``: a process-wide compute type per dtype."""

    def __init__(self):
        self.types = {}

    def get_compute_type(self, dtype):
        return self.types.get(np.dtype(dtype), 1)

    def set_compute_type(self, dtype, value):
        self.types[np.dtype(dtype)] = value


@pytest.mark.parametrize("wanted", [1, 7])
def test_cupy_products_run_at_the_compute_type_and_put_it_back(wanted):
    linalg, seen = _FakeCupyLinalg(), []

    def product(a, b):
        seen.append(linalg.get_compute_type(np.float32))
        return a @ b

    switched = matmul.switched_matmul(product, linalg, wanted, np)
    a32 = np.ones((2, 2), np.float32)
    np.testing.assert_array_equal(switched(a32, a32), a32 @ a32)
    switched(a32.astype(np.float64), a32.astype(np.float64))
    assert seen == [wanted, 1]
    assert linalg.get_compute_type(np.float32) == 1


def test_cupy_compute_codes_by_constant_by_name_or_from_its_source():
    exported = type("Linalg", (), {"COMPUTE_TYPE_TF32": 9})
    assert matmul.cupy_compute_code(exported, "TF32") == 9
    names = {1: "COMPUTE_TYPE_DEFAULT", 8: "COMPUTE_TYPE_TF32"}
    named = type("Linalg", (), {"compute_type_to_str": staticmethod(lambda c: names.get(c, c))})
    assert matmul.cupy_compute_code(named, "TF32") == 8
    assert matmul.cupy_compute_code(named, "DEFAULT") == 1
    assert matmul.cupy_compute_code(object(), "TF32") == 7  # CuPy 13-14's value


def test_info_states_the_setting(capsys):
    from arraynet import cli

    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "matmul precision: 'highest' (full float32 products) by default" in out
    assert "on the CPU every backend computes float32 products in full float32" in out
