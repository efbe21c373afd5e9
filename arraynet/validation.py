"""Argument checks: each error names the argument, what was expected and what was got."""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_count(value, argument: str, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (bools are not counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{argument}: expected an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{argument}: expected an integer >= {minimum}; got {value}")
    return int(value)


def check_flag(value, argument: str) -> bool:
    """A bool (NumPy's included); strings such as "no" are refused rather than read as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{argument}: expected True or False; got {value!r}")
    return bool(value)


def check_choice(value, argument: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{argument}: expected one of {', '.join(choices)}; got {value!r}")
    return value


def check_positive(value, argument: str) -> float:
    """A finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argument}: expected a number > 0; got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{argument}: expected a finite number > 0; got {value}")
    return float(value)


def check_fraction(value, argument: str) -> float:
    """A real number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argument}: expected a number in [0, 1); got {value!r}")
    if not 0 <= value < 1:
        raise ValueError(f"{argument}: expected a number in [0, 1); got {value}")
    return float(value)


def check_unit_interval(value, argument: str, open_low: bool = False) -> float:
    """A real number in [0, 1] (``open_low``: in (0, 1])."""
    interval = "(0, 1]" if open_low else "[0, 1]"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argument}: expected a number in {interval}; got {value!r}")
    if not 0 <= value <= 1 or (open_low and value == 0):
        raise ValueError(f"{argument}: expected a number in {interval}; got {value}")
    return float(value)


def check_numeric(a: np.ndarray, argument: str) -> np.ndarray:
    """A host array of real numbers (bool, int or float), all finite."""
    if a.dtype.kind not in "biuf":
        hint = " (convert it with .astype(float) first)" if a.dtype.kind == "O" else ""
        raise TypeError(f"{argument}: expected real numbers; got dtype {a.dtype}{hint}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{argument}: expected finite numbers; got {bad} NaN or inf values")
    return a


def check_real(value, argument: str) -> float:
    """A finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argument}: expected a number; got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{argument}: expected a finite number; got {value}")
    return float(value)


def check_non_negative(value, argument: str) -> float:
    """A finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{argument}: expected a number >= 0; got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{argument}: expected a finite number >= 0; got {value}")
    return float(value)


def fits(shape: tuple, declared: tuple) -> bool:
    """Whether a concrete ``shape`` has the ``declared`` one (None there: any size)."""
    return len(shape) == len(declared) and all(d is None or d == n for n, d in zip(shape, declared))


def any_size(shape) -> bool:
    """Whether ``shape`` (or a tuple of shapes) has an axis of any size (None)."""
    return any(any_size(d) if isinstance(d, (tuple, list)) else d is None for d in shape)


def product(shape: tuple):
    """The number of entries of ``shape``; None if an axis's size is unknown (None)."""
    return None if None in shape else math.prod(shape)
