"""Where an estimator trains: under ``sklearn.set_config(array_api_dispatch=True)``, data of
another array library (torch, JAX, CuPy, array-api-strict) is trained on and predicted on
that library's arraynet backend, on its device, in the selected float dtype (float32 unless
``arraynet.use(..., dtype="float64")``), and the estimator answers in that library's
arrays. Otherwise data is checked into NumPy and trained on the backend selected with
``arraynet.use``."""

from __future__ import annotations

import contextlib

import array_api_compat
import numpy as np
import sklearn

from ..backend import current_backend, library_of, use


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
    with use(name, dtype=current_backend().dtype, device=_device_of(name, X)):
        yield True


def _device_of(name: str, X):
    """``X``'s device as ``arraynet.use`` names it (None: the library's default)."""
    if name == "torch":
        return str(X.device)
    if name == "jax":
        return next(iter(X.devices()))
    if name == "cupy":
        return X.device.id
    return X.device  # array-api-strict's Device


def placement(X) -> tuple[str, str]:
    """``X``'s library and device, as dispatch sees them (lists and NumPy: host NumPy)."""
    name = library_of(X)
    if name in (None, "numpy"):
        return "numpy", "cpu"
    return name, str(array_api_compat.device(X))


def check_same_placement(estimator, X, method: str) -> None:
    """Under dispatch, refuse ``X`` of another library or device than the fit's data (as
    scikit-learn's array-API estimators do)."""
    if not sklearn.get_config().get("array_api_dispatch", False):
        return
    fitted, given = getattr(estimator, "fitted_placement_", None), placement(X)
    if fitted is not None and given != fitted:
        raise ValueError(
            f"X: {type(estimator).__name__}.{method}() must use the same namespace and device "
            f"as fit under array-API dispatch: fitted on {fitted[0]} ({fitted[1]}); "
            f"got {given[0]} ({given[1]})"
        )


def like(values: np.ndarray, reference):
    """``values`` (host NumPy) as an array of ``reference``'s library and device; NumPy
    values for a NumPy (or non-array) reference, or for strings no other library holds."""
    if library_of(reference) in (None, "numpy") or values.dtype.kind not in "biuf":
        return values
    xp = array_api_compat.array_namespace(reference)
    return xp.asarray(values, device=array_api_compat.device(reference))
