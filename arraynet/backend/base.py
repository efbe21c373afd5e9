"""The ``Backend`` record: an array library's namespace ``xp``, float dtype and device, and
what training asks of it (moving host arrays in, copy streams, overflow warnings)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .transfer import library_of


@dataclass(frozen=True)
class Backend:
    """The selected array library: its namespace ``xp``, float dtype name and device."""

    name: str
    xp: ModuleType
    dtype: str = "float32"
    device: Any = None
    memory_limit: int | None = None  # bytes; a simulated device size, checked before training
    matmul_precision: str = "highest"  # float32 products: "highest", "high", "medium"

    def __hash__(self) -> int:  # devices need not be hashable (CuPy's are compared by id)
        where = (self.name, self.dtype, str(self.device))
        return hash((*where, self.memory_limit, self.matmul_precision))

    @property
    def float_dtype(self):
        return getattr(self.xp, self.dtype)

    def asarray(self, a, dtype=None):
        """Move a host (NumPy) array onto this backend, as float unless ``dtype`` is given."""
        dtype = self.float_dtype if dtype is None else dtype
        if self.name == "numpy":
            return np.asarray(a, dtype=dtype)
        host = np.asarray(a, order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
        if self.name == "jax":  # converted here, then a transfer: no program per shape
            import jax

            return jax.device_put(host.astype(np.dtype(dtype), copy=False), self.device)
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
