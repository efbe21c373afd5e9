"""Backend selection: which array library runs the math, in which dtype.

The math (layers, losses, optimizers, the step) never names an array library: it receives
the namespace ``xp`` from here. Library-specific choices live here and in the loop strategy
(``training.py``); the device data generators and ``arraynet info`` name libraries too.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import importlib
import os
import platform
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .validation import check_count

BACKENDS = ("numpy", "cupy", "jax", "torch", "array_api_strict")
DTYPES = ("float32", "float64")
_EXTRA = {"numpy": "", "cupy": "cupy", "jax": "jax", "torch": "torch", "array_api_strict": "strict"}


@dataclass(frozen=True)
class Backend:
    """The selected array library: its namespace ``xp``, float dtype name and device."""

    name: str
    xp: ModuleType
    dtype: str = "float32"
    device: Any = None
    memory_limit: int | None = None  # bytes; a simulated device size, checked before training

    def __hash__(self) -> int:  # devices need not be hashable (CuPy's are compared by id)
        return hash((self.name, self.dtype, str(self.device), self.memory_limit))

    @property
    def float_dtype(self):
        return getattr(self.xp, self.dtype)

    def asarray(self, a, dtype=None):
        """Move a host (NumPy) array onto this backend, as float unless ``dtype`` is given."""
        dtype = self.float_dtype if dtype is None else dtype
        if self.name == "numpy":
            return np.asarray(a, dtype=dtype)
        host = np.asarray(a, order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
        if self.name == "torch" and not host.flags.writeable:
            host = host.copy()  # torch on the CPU would share it, warning it is read-only
        return self.xp.asarray(host, dtype=dtype, device=self.device)

    @property
    def on_host(self) -> bool:
        """True when arrays live in host memory, so reading a value back costs no transfer."""
        if self.name == "torch":
            return self.device.type == "cpu"
        return self.name in ("numpy", "array_api_strict")

    def owns(self, a) -> bool:
        """True when ``a`` is an array of this backend's library."""
        return library_of(a) == self.name

    def detached(self, a):
        """``a`` outside any autograd graph: a torch tensor that requires grad would tie every
        new weight to the graph of the last (training never uses autograd here)."""
        if self.name == "torch" and a.requires_grad:
            return a.detach()
        return a

    @contextlib.contextmanager
    def copy_stream(self):
        """Around moving a streamed chunk to the device. On CuPy the copy is queued on a
        second CUDA stream, so it overlaps the kernels still queued on the current one, and
        the current stream waits for it before the chunk is used (CuPy stages a host array
        through pinned memory itself, so the copy does not block the host). Elsewhere it
        changes nothing: JAX's transfers are already asynchronous, the rest are in memory."""
        if self.name != "cupy":
            yield
            return
        import cupy

        with self.device:
            compute = cupy.cuda.get_current_stream()
            side = _COPY_STREAMS.get(self.device.id)
            if side is None:
                side = _COPY_STREAMS[self.device.id] = cupy.cuda.Stream(non_blocking=True)
            with side:
                yield
            compute.wait_event(side.record())

    def quiet_overflow(self):
        """Around training: NumPy's overflow and invalid-value warnings are not printed, since
        ``fit`` reports a NaN or infinite loss or weight itself (``DivergenceError``), and
        float16 loss scaling overflows on purpose. NumPy's state covers array-api-strict,
        which computes through NumPy, and changes nothing for the other libraries."""
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")


_COPY_STREAMS: dict = {}  # CuPy device id -> the stream streamed chunks are copied on


class DeviceMemoryError(MemoryError):
    """A batch did not fit in device memory. The weights are unchanged: training can go on
    with a smaller ``batch_size`` (or streamed chunks)."""

    def __init__(self, batch_size: int, needed: int, device, limit: int | None = None):
        self.batch_size, self.needed, self.limit = batch_size, needed, limit
        room = "" if limit is None else f" of the {limit:,} allowed"
        smaller = max(1, batch_size // 2)
        super().__init__(
            f"batch_size={batch_size}: training needs about {needed:,} bytes on {device}{room}; "
            f"try batch_size={smaller}, or stream the data with fit(..., chunk_rows=...)"
        )


def out_of_memory(err: BaseException) -> bool:
    """True when ``err`` is a backend's out-of-memory error."""
    if isinstance(err, MemoryError):
        return True
    if type(err).__name__ == "OutOfMemoryError":  # cupy's and torch's
        return True
    text = str(err)  # JAX's RESOURCE_EXHAUSTED; torch's CPU allocator raises a RuntimeError
    return type(err).__name__.endswith("RuntimeError") and (
        "RESOURCE_EXHAUSTED" in text or "DefaultCPUAllocator: can't allocate memory" in text
    )


_ALLOCATOR = {"tuned": False}
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
KEEP_FREED_BYTES = 1 << 30


def reuse_freed_host_memory() -> bool:
    """Let glibc keep freed blocks up to 1 GiB for reuse; True once it is set in this process.

    Pure steps make new weight arrays at every update. glibc gives a freed block over
    32 MiB back to the OS, so the next one page-faults in freshly zeroed pages: 8-15 % of
    an update of a 4096-wide layer on the CPU. Raising its mmap and trim thresholds to
    ``KEEP_FREED_BYTES`` lets freed blocks be reused, as the GPU libraries' caching
    allocators do; up to that much freed memory may stay with the process. Nothing is done
    off glibc, or where ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` is set
    (the user's choice stands).
    """
    if _ALLOCATOR["tuned"]:
        return True
    if {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"} & set(os.environ):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    tuned = mallopt(_M_MMAP_THRESHOLD, KEEP_FREED_BYTES) == 1
    tuned = tuned and mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES) == 1
    _ALLOCATOR["tuned"] = tuned
    return tuned


def library_of(a) -> str | None:
    """The array library ``a`` belongs to (a BACKENDS name), or None for lists and scalars."""
    module = type(a).__module__.split(".")[0]
    return {
        "numpy": "numpy",
        "cupy": "cupy",
        "jax": "jax",
        "jaxlib": "jax",
        "torch": "torch",
        "array_api_strict": "array_api_strict",
    }.get(module)


def host_array(a) -> np.ndarray:
    """A plain NumPy array of ``a``: NumPy's own (memory-mapped ones, ``np.matrix``) as a
    view, any other library's array, list or scalar copied (``to_numpy``)."""
    return np.asarray(a) if isinstance(a, np.ndarray) else to_numpy(a)


def to_numpy(a) -> np.ndarray:
    """A host NumPy copy of any backend's array (or list, or scalar)."""
    library = library_of(a)
    if library == "cupy":
        return a.get()
    if library == "torch":
        return a.detach().cpu().numpy().copy()
    if library == "array_api_strict":
        return np.array(np.from_dlpack(a))
    return np.array(a)


def _load(name: str, dtype: str, device=None) -> Backend:
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}; got {name!r}")
    dtype = _dtype_name(dtype)
    try:
        importlib.import_module(name)
    except ImportError as err:
        extra = _EXTRA[name]
        raise ImportError(
            f"backend {name!r} is not installed: pip install arraynet[{extra}]"
        ) from err
    backend = _LOADERS[name](dtype, device)
    _check_dtype_on_device(backend)
    return backend


def _check_dtype_on_device(backend: Backend) -> None:
    """Refuse a float dtype the device lacks (array-api-strict's "no_float64", say)."""
    try:
        info = backend.xp.__array_namespace_info__()
        floats = info.dtypes(device=backend.device, kind="real floating")
    except (AttributeError, TypeError, ValueError):
        return  # the library cannot tell: it has every dtype we use
    if backend.dtype not in floats:
        raise ValueError(
            f"dtype: expected one of {', '.join(floats)} on device {backend.device}; "
            f"got {backend.dtype!r}"
        )


def _dtype_name(dtype) -> str:
    """ "float32"/"float64" from a name or a NumPy dtype (``np.float64`` works too); None is
    the default, float32 (NumPy would read it as float64)."""
    if dtype is None:
        return "float32"
    try:
        name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(f"dtype: expected one of {', '.join(DTYPES)}; got {dtype!r}")
    return name


def _lean_numpy() -> ModuleType:
    """NumPy's namespace with ``sum`` as the ufunc reduction it wraps: ``np.sum``'s Python
    layer costs 0.8 µs a call, a tenth of a tiny stochastic update. Same results."""
    return _namespace_with(np, sum=functools.partial(np.add.reduce, axis=None))


def _namespace_with(module: ModuleType, **functions) -> ModuleType:
    """A copy of ``module``'s namespace with ``functions`` put in place of its own."""
    xp = ModuleType(module.__name__, module.__doc__)
    xp.__dict__.update(vars(module))
    xp.__dict__.update(functions)
    return xp


_NUMPY = _lean_numpy()


def _numpy(dtype, device):
    if device not in (None, "cpu"):
        raise ValueError(f"device: expected None or 'cpu' for numpy; got {device!r}")
    # NumPy 2 implements the standard itself, and its functions skip the compat wrappers'
    # Python overhead (a few microseconds per call, which the tiny stochastic case feels).
    if np.lib.NumpyVersion(np.__version__) >= "2.1.0":
        return Backend("numpy", _NUMPY, dtype)
    import array_api_compat.numpy as xp

    return Backend("numpy", xp, dtype)


ONEDNN_MIN_PRODUCT = 1 << 20  # m*k*n above which oneDNN beats torch.matmul here (measured)
X86_64 = ("x86_64", "AMD64")


def _lean_torch() -> ModuleType:
    """array-api-compat's torch namespace, with large 2-D float32 CPU matmuls done by oneDNN.

    torch.matmul runs MKL's GEMM on the CPU, which picks its kernels by CPU vendor and
    leaves AVX-512 unused on AMD CPUs; oneDNN (shipped inside torch) picks them by
    instruction set: 461-497 GFLOP/s against MKL's 226-234 on the AVX-512 AMD CPU the
    benchmarks ran on. Same float32 math, other rounding order. Only on x86-64, where it
    was measured. ``ARRAYNET_ONEDNN=0`` turns it off; so does a torch without a working
    oneDNN.
    """
    import array_api_compat.torch as compat

    return _namespace_with(compat, matmul=_routed_matmul(compat.matmul, _onednn_linear()))


def _onednn_linear():
    """torch's oneDNN ``linear`` (``X @ W.mT``), or None when it is off, absent or wrong."""
    import torch

    off = os.environ.get("ARRAYNET_ONEDNN", "1") == "0" or platform.machine() not in X86_64
    if off or not torch.backends.mkldnn.is_available():
        return None
    linear = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    if linear is None:
        return None
    A = torch.linspace(-1.0, 1.0, 96 * 80).reshape(96, 80)
    B = torch.linspace(1.0, -2.0, 80 * 112).reshape(80, 112)
    # the layouts the dense layers pass: X @ W, X.mT @ dZ, dZ @ W.mT
    products = [(A, B), (A.mT.contiguous().mT, B), (A, B.mT.contiguous().mT)]
    try:
        agrees = all(
            torch.allclose(linear(a, b.mT, None, "none", [], ""), a @ b, rtol=1e-5, atol=1e-4)
            for a, b in products
        )
    except (RuntimeError, TypeError, NotImplementedError):
        return None
    return linear if agrees else None


def _routed_matmul(matmul, linear):
    """``matmul`` (array-api-compat's, which promotes mixed dtypes) with its same-dtype
    products sent straight to torch: large 2-D float32 CPU ones to oneDNN's ``linear`` (if
    not None), the rest to ``torch.matmul`` (compat's promotion check costs 3 µs a call)."""
    import torch

    def routed(x1, x2, /):
        if x1.dtype != x2.dtype:
            return matmul(x1, x2)
        if (
            linear is not None
            and x1.dtype == torch.float32
            and x1.is_cpu
            and x2.is_cpu
            and x1.ndim == 2 == x2.ndim
            and x1.numel() * x2.shape[1] > ONEDNN_MIN_PRODUCT
            and not (x1.requires_grad or x2.requires_grad)
        ):
            return linear(x1, x2.mT, None, "none", [], "")
        return torch.matmul(x1, x2)

    routed.__doc__ = matmul.__doc__
    routed.onednn = linear is not None  # shown by ``arraynet info``
    return routed


def _cupy(dtype, device):
    import array_api_compat.cupy as xp
    import cupy

    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no driver, or driver too old
        count = 0
    if count < 1:
        raise RuntimeError("backend 'cupy' needs a CUDA device, and none is visible here")
    index = cupy.cuda.runtime.getDevice() if device is None else device  # None: the current
    if not isinstance(index, int) or not 0 <= index < count:
        raise ValueError(f"device: expected a CUDA device index below {count}; got {device!r}")
    selected = cupy.cuda.Device(index)
    if device is not None:
        selected.use()  # CuPy runs kernels on the current device: make it the chosen one
    return Backend("cupy", xp, dtype, device=selected)


def _jax(dtype, device):
    import jax
    import jax.numpy as xp

    if dtype == "float64" and not jax.config.jax_enable_x64:
        # x64 stays on once turned on: float32 code paths pass dtypes explicitly.
        jax.config.update("jax_enable_x64", True)
    devices = jax.devices()
    if device is None:
        device = devices[0]
    elif isinstance(device, int) and not isinstance(device, bool):
        if not 0 <= device < len(devices):
            raise ValueError(f"device: expected an index below {len(devices)}; got {device}")
        device = devices[device]
    elif device not in devices:
        raise ValueError(f"device: expected an index or one of {devices}; got {device!r}")
    # Arrays placed on an explicit device are "committed", as jit outputs are: the same
    # compiled epoch then serves the first call and the next ones.
    return Backend("jax", xp, dtype, device=device)


@functools.cache
def _torch_namespace() -> ModuleType:
    return _lean_torch()


def _torch(dtype, device):
    import torch

    xp = _torch_namespace()

    try:
        device = torch.device("cpu" if device is None else device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device: expected a torch device such as 'cpu'; got {device!r}") from err
    try:  # the weights will move there: the device must exist here and hold data
        torch.zeros(1, device=device).cpu()
    except Exception as err:  # no CUDA build or device ("meta" holds no data)
        raise ValueError(
            f"device: expected a torch device that is present and holds data; got "
            f"{str(device)!r} ({' '.join(str(err).split()) or type(err).__name__})"
        ) from err
    return Backend("torch", xp, dtype, device=device)


def _array_api_strict(dtype, device):
    import array_api_strict as xp

    if device is None:
        device = xp.__array_namespace_info__().default_device()
    elif isinstance(device, str):
        try:
            device = xp.Device(device)
        except ValueError as err:
            raise ValueError(
                f"device: expected an array-api-strict device; got {device!r}"
            ) from err
    return Backend("array_api_strict", xp, dtype, device=device)


_LOADERS = {
    "numpy": _numpy,
    "cupy": _cupy,
    "jax": _jax,
    "torch": _torch,
    "array_api_strict": _array_api_strict,
}

_current = _load("numpy", "float32")


def numpy_backend(dtype: str = "float64") -> Backend:
    """NumPy on the host, for checking data without moving it."""
    return _numpy(_dtype_name(dtype), None)


def current_backend() -> Backend:
    """The backend chosen by the last :func:`use` (NumPy float32 by default)."""
    return _current


class use:  # noqa: N801 - reads as a verb: ``arraynet.use("jax")``
    """Select the backend: ``use("jax")``, ``use("numpy", dtype="float64")``.

    ``device``: None for the library's default, else an index (jax, cupy), a torch device
    ("cpu", "cuda:1") or an array-api-strict device name ("device1", "no_float64").
    ``memory_limit``: bytes the device may hold for training (simulates a smaller device;
    ``fit`` refuses a batch whose estimate is over it with a :class:`DeviceMemoryError`).
    Takes effect at once. As a context manager it restores the previous choice on exit.
    """

    def __init__(self, name: str = "numpy", dtype: str = "float32", device=None, memory_limit=None):
        global _current
        backend = _load(name, dtype, device)
        if memory_limit is not None:
            limit = check_count(memory_limit, "memory_limit", minimum=1)
            backend = dataclasses.replace(backend, memory_limit=limit)
        self.previous, _current = _current, backend
        self.backend = backend

    def __enter__(self) -> Backend:
        return self.backend

    def __exit__(self, *exc) -> None:
        global _current
        _current = self.previous

    def __repr__(self) -> str:
        return f"use({self.backend.name!r}, dtype={self.backend.dtype!r})"


def available_backends() -> list[str]:
    """Names of the backends that import and have a usable device here."""
    names = []
    for name in BACKENDS:
        try:
            _load(name, "float32")
        except (ImportError, RuntimeError):
            continue
        names.append(name)
    return names
