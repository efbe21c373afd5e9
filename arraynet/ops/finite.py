"""Small portable helpers over any Array API namespace ``xp``, shared by the training math."""

from __future__ import annotations

import functools
import operator


def all_finite(xp, arrays):
    """A 0-d bool array: no NaN or inf in any of ``arrays``. (Not ``isfinite`` of their sum:
    finite weights near the dtype's largest value sum to inf.)"""
    return functools.reduce(operator.and_, [xp.all(xp.isfinite(a)) for a in arrays])


def keep_where(xp, ok, new, old) -> tuple:
    """``new`` where the 0-d bool ``ok`` holds, else ``old``, array by array."""
    return tuple(xp.where(ok, n, o) for n, o in zip(new, old))
