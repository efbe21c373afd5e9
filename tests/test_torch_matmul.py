"""The torch backend's matmul: large 2-D float32 CPU products go to oneDNN, the rest to
torch.matmul. Checked against NumPy float64 products and a float64 training reference."""

import numpy as np
import pytest
from reference import train_reference

import arraynet as an
from arraynet.backend import torch_matmul as backend_module

torch = pytest.importorskip("torch")

BIG = 200  # 200**3 multiply-adds: above ONEDNN_MIN_PRODUCT


@pytest.fixture
def linear():
    found = backend_module._onednn_linear()
    if found is None:
        pytest.skip("torch has no working oneDNN linear here: torch.matmul serves every product")
    return found


def _spy(linear):
    calls = []

    def recording(*args):
        calls.append(tuple(a.shape for a in args[:2]))
        return linear(*args)

    return recording, calls


def _operands(layout):
    """``(A, B)`` torch float32 views of one layout, products above the threshold."""
    rng = np.random.default_rng(3)
    A = torch.from_numpy(rng.standard_normal((2 * BIG, BIG + 30), np.float32))
    B = torch.from_numpy(rng.standard_normal((BIG + 30, BIG + 20), np.float32))
    return {
        "contiguous": (A, B),
        "A transposed": (A.mT.contiguous().mT, B),  # X.mT @ dZ, as in dW
        "B transposed": (A, B.mT.contiguous().mT),  # dZ @ W.mT, as in dX
        "strided rows": (A[::2], B),
        "offset slices": (A[7:, 3:], B[3:, 11:]),
        "one row": (A[:1], torch.from_numpy(rng.standard_normal((BIG + 30, 6000), np.float32))),
    }[layout]


@pytest.mark.parametrize(
    "layout",
    ["contiguous", "A transposed", "B transposed", "strided rows", "offset slices", "one row"],
)
def test_routed_product_matches_float64(linear, layout):
    A, B = _operands(layout)
    recording, calls = _spy(linear)
    matmul = backend_module._routed_matmul(torch.matmul, recording)
    got = matmul(A, B)
    want = A.double().numpy() @ B.double().numpy()
    assert calls, "the product should have gone to oneDNN"
    assert got.dtype == torch.float32 and tuple(got.shape) == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=2e-6 * np.abs(want).max())


@pytest.mark.parametrize(
    "case", ["small product", "float64", "requires grad", "batched 3-D", "int"]
)
def test_other_products_go_to_torch_matmul(linear, case):
    rng = np.random.default_rng(4)
    A = torch.from_numpy(rng.standard_normal((BIG, BIG), np.float32))
    B = torch.from_numpy(rng.standard_normal((BIG, BIG), np.float32))
    if case == "small product":
        A, B = A[:16, :16], B[:16, :16]
    elif case == "float64":
        A, B = A.double(), B.double()
    elif case == "requires grad":
        A = A.requires_grad_()
    elif case == "batched 3-D":
        A, B = A.reshape(8, 25, BIG), B.reshape(1, BIG, BIG).expand(8, BIG, BIG)
    else:
        A, B = (A * 10).to(torch.int64), (B * 10).to(torch.int64)
    recording, calls = _spy(linear)
    got = backend_module._routed_matmul(torch.matmul, recording)(A, B)
    assert not calls
    assert torch.equal(got, torch.matmul(A, B))


def test_backend_namespace_routes_when_onednn_works(linear, monkeypatch):
    recording, calls = _spy(linear)
    monkeypatch.setattr(backend_module, "_onednn_linear", lambda: recording)
    xp = backend_module._lean_torch()
    import array_api_compat.torch as compat

    A, B = _operands("contiguous")
    assert torch.equal(xp.matmul(A, B), linear(A, B.mT, None, "none", [], "")) and calls
    assert xp.matmul.__doc__ == compat.matmul.__doc__
    assert xp.sum is compat.sum  # everything else is array-api-compat's


def test_env_switch_turns_routing_off(monkeypatch):
    monkeypatch.setenv("ARRAYNET_ONEDNN", "0")
    assert backend_module._onednn_linear() is None
    A, B = _operands("contiguous")
    assert torch.equal(backend_module._lean_torch().matmul(A, B), torch.matmul(A, B))


def test_mixed_dtypes_are_promoted_as_compat_does():
    matmul = backend_module._lean_torch().matmul
    A, B = torch.ones(3, 4, dtype=torch.float32), torch.ones(4, 2, dtype=torch.float64)
    got = matmul(A, B)
    assert got.dtype == torch.float64 and torch.equal(
        got, torch.full((3, 2), 4.0, dtype=torch.float64)
    )


@pytest.mark.parametrize("wrong", ["raises", "wrong values", "wrong for a transposed input"])
def test_broken_onednn_is_not_used(monkeypatch, wrong):
    def broken(X, W, *rest):
        if wrong == "raises":
            raise RuntimeError("no oneDNN kernel for this CPU")
        if wrong == "wrong values" or not X.is_contiguous():
            return torch.zeros(X.shape[0], W.shape[0])
        return X @ W.mT

    monkeypatch.setattr(torch.ops.mkldnn, "_linear_pointwise", broken, raising=False)
    assert backend_module._onednn_linear() is None


def test_training_through_onednn_matches_float64_reference(linear, monkeypatch):
    """Two minibatch epochs of a 160-wide relu network, products above the threshold."""
    recording, calls = _spy(linear)
    monkeypatch.setattr(backend_module, "_onednn_linear", lambda: recording)
    backend_module.torch_namespace.cache_clear()
    try:
        history, model, start = _train_on_torch()
    finally:
        backend_module.torch_namespace.cache_clear()
    assert calls, "the products should have gone to oneDNN"
    X, Y = _data()
    spec = [("relu", True), ("relu", True), (None, True)]
    weights, losses = train_reference(start, spec, "squared_error", X, Y, 0.05, "minibatch", 2, 64)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-4)
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * np.abs(want).max())


def _data():
    rng = np.random.default_rng(5)
    return rng.standard_normal((128, 160)), rng.standard_normal((128, 3))


def _train_on_torch():
    model = an.Sequential(
        [an.layers.Dense(160, "relu"), an.layers.Dense(160, "relu"), an.layers.Dense(3)],
        input_dim=160,
        seed=2,
    )
    model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=0.05))
    start = model.get_weights()
    with an.use("torch"):
        history = model.fit(
            *_data(), mode="minibatch", batch_size=64, epochs=2, shuffle=False, verbose=0
        )
    return history, model, start


def test_other_machines_keep_torch_matmul(monkeypatch):
    """oneDNN's route was measured on x86-64 only."""
    monkeypatch.setattr(backend_module.platform, "machine", lambda: "aarch64")
    assert backend_module._onednn_linear() is None


@pytest.mark.parametrize("switch, says", [("1", "oneDNN"), ("0", "matmuls: torch.matmul")])
def test_info_says_where_torch_matmuls_run(capsys, monkeypatch, linear, switch, says):
    from arraynet.cli import main

    monkeypatch.setenv("ARRAYNET_ONEDNN", switch)
    backend_module.torch_namespace.cache_clear()
    try:
        assert main(["info"]) == 0
    finally:
        backend_module.torch_namespace.cache_clear()
    torch_line = next(line for line in capsys.readouterr().out.splitlines() if "  torch " in line)
    assert says in torch_line


def test_training_through_onednn_is_deterministic(linear):
    """Same seed, same backend: bitwise-equal weights twice, with products above the threshold."""
    first = _train_on_torch()[1].get_weights()
    second = _train_on_torch()[1].get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
