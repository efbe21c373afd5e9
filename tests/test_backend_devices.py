"""Device identity: an array on the selected device is accepted however the device was named
(torch's "cuda" is its current CUDA device, "cuda:0" by default; CuPy's device objects by
id; JAX devices and shardings), and one on another device is refused. The CUDA cases run on
the CPU with torch's current-device query replaced, and stand-ins for CuPy's devices."""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import same_device


class FakeCupyDevice:
    """Stands for ``cupy.cuda.Device``: one object per call, the same device by ``id``."""

    __module__ = "cupy.cuda.device"

    def __init__(self, index):
        self.id = index


class FakeSharding:
    """Stands for a JAX sharding: what ``array.device`` is for an array on several devices."""

    def __init__(self, *devices):
        self.device_set = set(devices)


@pytest.fixture
def current_cuda(monkeypatch):
    """``set(i)`` makes torch's current CUDA device ``i`` (as ``torch.cuda.set_device``)."""
    torch = pytest.importorskip("torch")

    def set_current(index):
        monkeypatch.setattr(torch.cuda, "current_device", lambda: index)

    set_current(0)
    return set_current


@pytest.mark.parametrize("as_object", [False, True])
def test_torch_cuda_is_the_current_cuda_device(current_cuda, as_object):
    import torch

    name = torch.device if as_object else str
    assert same_device(torch.device("cuda:0"), name("cuda"))
    assert same_device(torch.device("cuda"), name("cuda:0"))
    assert not same_device(torch.device("cuda:1"), name("cuda"))
    current_cuda(1)  # torch.cuda.set_device(1): "cuda" now means the second GPU
    assert same_device(torch.device("cuda:1"), name("cuda"))
    assert not same_device(torch.device("cuda:0"), name("cuda"))
    assert not same_device(torch.device("cpu"), name("cuda"))
    assert not same_device(torch.device("cuda:0"), name("cpu"))


def test_torch_cpu_with_or_without_an_index():
    torch = pytest.importorskip("torch")
    assert torch.device("cpu") != torch.device("cpu:0")  # why a plain == was wrong
    assert same_device(torch.device("cpu"), torch.device("cpu:0"))
    assert same_device(torch.zeros(1).device, "cpu")


def test_torch_device_without_cuda_in_this_build():
    """Where torch has no CUDA (this CPU build), "cuda" is read as "cuda:0", not an error."""
    torch = pytest.importorskip("torch")
    assert same_device(torch.device("cuda:0"), torch.device("cuda"))


def test_cupy_devices_are_the_same_by_id():
    assert same_device(FakeCupyDevice(0), FakeCupyDevice(0))
    assert not same_device(FakeCupyDevice(1), FakeCupyDevice(0))


def test_jax_devices_and_shardings():
    jax = pytest.importorskip("jax")
    device = jax.devices()[0]
    assert same_device(jax.numpy.zeros(2).device, device)
    sharding = jax.sharding.SingleDeviceSharding(device)
    assert same_device(sharding, device)
    assert same_device(FakeSharding(FakeCupyDevice(3), device), device)
    assert not same_device(FakeSharding(FakeCupyDevice(3)), device)


def test_a_jax_mesh_takes_arrays_on_its_devices():
    """``use("jax", devices=...)``'s device is a sharding over the mesh: arrays on its devices
    (one, or spread over some of them) are on it, others are not."""
    a, b, c = FakeCupyDevice(0), FakeCupyDevice(1), FakeCupyDevice(2)
    mesh = FakeSharding(a, b)
    assert same_device(a, mesh) and same_device(FakeSharding(a, b), mesh)
    assert not same_device(c, mesh) and not same_device(FakeSharding(a, c), mesh)
    jax = pytest.importorskip("jax")
    device = jax.devices()[0]
    assert same_device(device, jax.sharding.SingleDeviceSharding(device))


def test_array_api_strict_devices():
    xp = pytest.importorskip("array_api_strict")
    assert same_device(xp.Device("device1"), xp.Device("device1"))
    assert not same_device(xp.Device("device1"), xp.__array_namespace_info__().default_device())


def test_nothing_selected_accepts_any_device():
    assert same_device("cuda:3", None)
    assert same_device(FakeCupyDevice(2), None)


def test_torch_tensor_on_the_device_named_with_an_index_is_accepted():
    """The issue's crash, on the CPU: ``use("torch", device="cpu:0")`` then ``fit`` and
    ``predict`` on tensors whose device reads ``cpu`` (as "cuda" and ``cuda:0`` on a GPU)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    model = an.Sequential([an.layers.Dense(2, activation="tanh"), an.layers.Dense(1)], seed=1)
    model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=0.1))
    with an.use("torch", device="cpu:0"):
        Xt = torch.asarray(X, dtype=torch.float32)
        model.fit(Xt, torch.asarray(y, dtype=torch.float32), epochs=2, verbose=0)
        got = an.backend.to_numpy(model.predict(Xt))
    with an.use("torch", device="cpu"):
        expected = an.backend.to_numpy(model.predict(X))
    np.testing.assert_array_equal(got, expected)


def test_an_array_on_another_device_is_still_refused():
    xp = pytest.importorskip("array_api_strict")
    with an.use("array_api_strict", device="device1"):
        model = an.Sequential([an.layers.Dense(1)], input_dim=2, seed=1)
        model.compile(loss="squared_error", optimizer="sgd")
        X = xp.asarray(np.ones((4, 2), np.float32))  # on the default device, not device1
        with pytest.raises(ValueError, match="X: expected an array on device"):
            model.predict(X)


def test_jax_arrays_train_on_a_mesh_of_the_devices_here():
    """``use("jax", devices="all")``: arrays already on a device of the mesh are taken."""
    jax = pytest.importorskip("jax")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 3)).astype(np.float32)
    on_device = [jax.device_put(a, jax.devices()[0]) for a in (X, X[:, :1].copy())]
    with an.use("jax", devices="all"):
        model = an.Sequential([an.layers.Dense(1)], input_dim=3, seed=0)
        model.compile(loss="mse", optimizer="sgd")
        model.fit(*on_device, batch_size=8, verbose=0)
        got = an.backend.to_numpy(model.predict(on_device[0]))
        np.testing.assert_array_equal(got, an.backend.to_numpy(model.predict(X)))
