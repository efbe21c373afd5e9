"""Transfer: which library an array belongs to, and copying any backend's array to NumPy."""

from __future__ import annotations

import numpy as np


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
    if library == "jax" and not a.is_fully_addressable:  # split over several processes
        from .mesh import local_rows

        return local_rows(a)  # this process's rows (all of a replicated array)
    return np.array(a)
