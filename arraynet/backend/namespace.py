"""Namespaces: copies of an array library's namespace with some functions replaced by
faster ones that give the same results."""

from __future__ import annotations

import functools
import math
from types import ModuleType

import numpy as np


def lean_numpy() -> ModuleType:
    """NumPy's namespace with ``sum``, ``mean`` and ``astype`` going straight to what they
    wrap: their Python layers cost 0.8, 5 and 2 µs a call, a tenth to a half of a tiny
    stochastic update. Same results, bit for bit (tested)."""
    return namespace_with(
        np, sum=functools.partial(np.add.reduce, axis=None), mean=_mean, astype=_astype
    )


def _mean(x, /, *, axis=None, keepdims=False):
    """``np.mean`` of float32 and float64 arrays as its own sum and division; other
    dtypes (float16 sums in float32 there) and other arguments go to ``np.mean``."""
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
        return np.mean(x, axis=axis, keepdims=keepdims)
    if axis is None:
        count = x.size
    else:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        count = math.prod(x.shape[a] for a in axes)
    if count == 0:
        return np.mean(x, axis=axis, keepdims=keepdims)  # NaN, with NumPy's warning
    total = np.add.reduce(x, axis=axis, keepdims=keepdims)
    return total / count if isinstance(total, np.ndarray) else total.dtype.type(total / count)


def _astype(x, dtype, /, *, copy=True, device=None):
    """``np.astype`` as the method it calls (``device`` must be the CPU's, as there)."""
    if device is None and type(x) is np.ndarray:
        return x.astype(dtype, copy=copy)
    return np.astype(x, dtype, copy=copy, device=device)


def namespace_with(module: ModuleType, **functions) -> ModuleType:
    """A copy of ``module``'s namespace with ``functions`` put in place of its own."""
    xp = ModuleType(module.__name__, module.__doc__)
    xp.__dict__.update(vars(module))
    xp.__dict__.update(functions)
    return xp
