"""Backend selection: which array library runs the math, in which dtype.

The math (layers, losses, optimizers, the step) never names an array library: it receives
the namespace ``xp`` from here. Library-specific choices live here and in the loop strategy
(``train/loops.py``, ``train/jax_loop.py``); the device data generators and ``arraynet
info`` name libraries too.

Modules, each importing only those above it:

- ``transfer``: which library an array belongs to; copies to NumPy.
- ``memory``: ``DeviceMemoryError``, out-of-memory errors, the host allocator setting.
- ``devices``: whether an array's device is the selected one (torch's "cuda" is "cuda:0").
- ``base``: the ``Backend`` record (namespace, dtype, device).
- ``namespace``: library namespaces with faster functions put in.
- ``matmul``: the precision of float32 matrix products (``use(..., matmul_precision=)``).
- ``torch_matmul``: torch's matmul routed to oneDNN for large float32 CPU products.
- ``libraries``: ``BACKENDS``, ``DTYPES`` and one loader per array library.
- ``select``: ``use``, ``current_backend``, ``numpy_backend``, ``available_backends``.
- ``session``: Keras's automatic names and ``clear_session``.
- ``scan``: the loop over time of the recurrent layers (``jax.lax.scan`` on JAX), and
  ``compiling``: whether the math is traced for a compiler.
"""

from .base import Backend
from .devices import same_device
from .libraries import BACKENDS, DTYPES
from .matmul import MATMUL_PRECISIONS, computed_as, on_gpu
from .memory import (
    ALLOCATOR,
    KEEP_FREED_BYTES,
    DeviceMemoryError,
    out_of_memory,
    reuse_freed_host_memory,
)
from .scan import compiling, scan
from .select import available_backends, current_backend, numpy_backend, use
from .session import clear_session
from .torch_matmul import ONEDNN_MIN_PRODUCT, X86_64
from .transfer import host_array, library_of, to_numpy

__all__ = [
    "ALLOCATOR",
    "BACKENDS",
    "DTYPES",
    "KEEP_FREED_BYTES",
    "MATMUL_PRECISIONS",
    "ONEDNN_MIN_PRODUCT",
    "X86_64",
    "Backend",
    "DeviceMemoryError",
    "available_backends",
    "clear_session",
    "compiling",
    "computed_as",
    "current_backend",
    "host_array",
    "library_of",
    "numpy_backend",
    "on_gpu",
    "out_of_memory",
    "reuse_freed_host_memory",
    "same_device",
    "scan",
    "to_numpy",
    "use",
]
