"""Selection: the backend chosen by :func:`use` (NumPy float32 until then)."""

from __future__ import annotations

import dataclasses

from ..validation import check_count
from .base import Backend
from .libraries import BACKENDS, dtype_name, load_backend, numpy_backend_of

_current = load_backend("numpy", "float32")


def numpy_backend(dtype: str = "float64") -> Backend:
    """NumPy on the host, for checking data without moving it."""
    return numpy_backend_of(dtype_name(dtype), None)


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
        backend = load_backend(name, dtype, device)
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
            load_backend(name, "float32")
        except (ImportError, RuntimeError):
            continue
        names.append(name)
    return names
