"""Libraries: the backend names and dtypes, and one loader per array library, which checks
the device and dtype asked for and returns its ``Backend``."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import threading

import numpy as np

from . import matmul, torch_matmul
from .base import Backend
from .matmul import check_matmul_precision
from .namespace import lean_numpy

BACKENDS = ("numpy", "cupy", "jax", "torch", "array_api_strict")
DTYPES = ("float32", "float64")
_EXTRA = {"numpy": "", "cupy": "cupy", "jax": "jax", "torch": "torch", "array_api_strict": "strict"}


def load_backend(name: str, dtype: str, device=None, matmul_precision="highest") -> Backend:
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}; got {name!r}")
    dtype = dtype_name(dtype)
    precision = check_matmul_precision(matmul_precision)
    try:
        importlib.import_module(name)
    except ImportError as err:
        extra = _EXTRA[name]
        raise ImportError(
            f"backend {name!r} is not installed: pip install arraynet[{extra}]"
        ) from err
    backend = with_matmul_precision(_LOADERS[name](dtype, device), precision)
    with x64_scope(backend):  # JAX lists float64 only where x64 is on
        _check_dtype_on_device(backend)
    return backend


def with_matmul_precision(backend: Backend, precision: str) -> Backend:
    """``backend`` whose ``xp.matmul`` computes float32 products at ``precision`` (see
    ``backend.matmul``): JAX, CuPy and torch get a namespace per precision, made once."""
    namespaces = {
        "jax": matmul.jax_namespace,
        "cupy": matmul.cupy_namespace,
        "torch": torch_matmul.torch_namespace,
    }
    make = namespaces.get(backend.name)
    xp = backend.xp if make is None else make(precision)
    return dataclasses.replace(backend, xp=xp, matmul_precision=precision)


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


def dtype_name(dtype) -> str:
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


_NUMPY = lean_numpy()
# NumPy 2.1+ implements the standard itself (read once: parsing the version costs 10 us)
_NUMPY_IS_STANDARD = np.lib.NumpyVersion(np.__version__) >= "2.1.0"


def numpy_backend_of(dtype, device):
    if device not in (None, "cpu"):
        raise ValueError(f"device: expected None or 'cpu' for numpy; got {device!r}")
    # NumPy 2 implements the standard itself, and its functions skip the compat wrappers'
    # Python overhead (a few microseconds per call, which the tiny stochastic case feels).
    if _NUMPY_IS_STANDARD:
        return Backend("numpy", _NUMPY, dtype)
    import array_api_compat.numpy as xp

    return Backend("numpy", xp, dtype)


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

    devices = jax.devices()  # x64 is the selection's (select.py): see the JAX x64 helpers
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


def _torch(dtype, device):
    import torch

    xp = torch_matmul.torch_namespace()

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
    "numpy": numpy_backend_of,
    "cupy": _cupy,
    "jax": _jax,
    "torch": _torch,
    "array_api_strict": _array_api_strict,
}


# -- JAX's x64 flag: float64 JAX arrays exist only where it is on -----------------------------
# JAX lets it be set for the process (``jax.config.update``) or for one thread (the
# ``jax.enable_x64`` context); it has no per-task scope. Float32 code paths pass dtypes
# explicitly, so x64 left on changes nothing of arraynet's float32 math.

_X64 = threading.local()  # per thread: how many selections hold x64 here, and JAX's context


def needs_x64(backend: Backend) -> bool:
    return backend.name == "jax" and backend.dtype == "float64"


def x64_on() -> bool:
    """Whether JAX's x64 flag is on in this thread (False where JAX is not loaded)."""
    import sys

    jax = sys.modules.get("jax")
    return jax is not None and bool(jax.config.jax_enable_x64)


def hold_x64() -> int:
    """Turn x64 on in this thread until :func:`release_x64` (counted: the first hold enters
    JAX's thread-local context, the last release leaves it). Returns this thread's id."""
    import jax

    count = getattr(_X64, "count", 0)
    if count == 0:
        _X64.context = jax.enable_x64(True)
        _X64.context.__enter__()
    _X64.count = count + 1
    return threading.get_ident()


def release_x64(thread: int | None) -> None:
    """Undo one :func:`hold_x64` made in thread ``thread`` (where that is this thread: JAX's
    context can only be left in the thread that entered it; elsewhere the hold stays)."""
    if thread is None or thread != threading.get_ident() or not getattr(_X64, "count", 0):
        return
    _X64.count -= 1
    if _X64.count == 0:
        context, _X64.context = _X64.context, None
        context.__exit__(None, None, None)


def set_x64_everywhere(on: bool) -> bool:
    """Set JAX's process-wide x64 flag; whether it changed."""
    import jax

    state = jax.enable_x64  # its process-wide value, whatever this thread's context says
    now = state.get_global() if hasattr(state, "get_global") else jax.config.jax_enable_x64
    if bool(now) == on:
        return False
    jax.config.update("jax_enable_x64", on)
    return True


@contextlib.contextmanager
def x64_scope(backend: Backend):
    """x64 on in this thread for the block, where ``backend`` needs it."""
    if not needs_x64(backend) or x64_on():
        yield
        return
    thread = hold_x64()
    try:
        yield
    finally:
        release_x64(thread)
