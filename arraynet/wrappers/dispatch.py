"""Where an estimator trains: under ``sklearn.set_config(array_api_dispatch=True)``, data of
another array library (torch, JAX, CuPy, array-api-strict) is trained on and predicted on
that library's arraynet backend, on its device, in its float dtype, and the estimator
answers in that library's arrays. Otherwise data is checked into NumPy and trained on the
backend selected with ``arraynet.use``."""

from __future__ import annotations

import contextlib

import array_api_compat
import numpy as np
import sklearn

from ..backend import library_of, use


def dispatched_library(X) -> str | None:
    """The arraynet backend named by ``X``'s library when array-API dispatch is on and ``X``
    is not NumPy's (None otherwise)."""
    if not sklearn.get_config().get("array_api_dispatch", False):
        return None
    name = library_of(X)
    return None if name in (None, "numpy") else name


def float_dtypes(X) -> list:
    """The float dtypes ``validate_data`` may leave ``X`` in: float64 and float32 of its
    namespace when dispatched, NumPy's otherwise."""
    if dispatched_library(X) is None:
        return [np.float64, np.float32]
    xp = array_api_compat.array_namespace(X)
    return [xp.float64, xp.float32]


@contextlib.contextmanager
def backend_for(X):
    """Select ``X``'s backend for the block when dispatched (yields True), else change
    nothing (yields False)."""
    name = dispatched_library(X)
    if name is None:
        yield False
        return
    with use(name, dtype=_dtype_name(X), device=_device_of(name, X)):
        yield True


def _dtype_name(X) -> str:
    xp = array_api_compat.array_namespace(X)
    return "float64" if X.dtype == xp.float64 else "float32"


def _device_of(name: str, X):
    """``X``'s device as ``arraynet.use`` names it (None: the library's default)."""
    if name == "torch":
        return str(X.device)
    if name == "jax":
        return next(iter(X.devices()))
    if name == "cupy":
        return X.device.id
    return None


def like(values: np.ndarray, reference):
    """``values`` (host NumPy) as an array of ``reference``'s library and device; NumPy
    values for a NumPy (or non-array) reference, or for strings no other library holds."""
    if library_of(reference) in (None, "numpy") or values.dtype.kind not in "biuf":
        return values
    xp = array_api_compat.array_namespace(reference)
    return xp.asarray(values, device=array_api_compat.device(reference))
