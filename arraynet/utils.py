"""Keras's ``keras.utils`` helpers: ``set_random_seed``, ``to_categorical`` and (from
``sequences.py``) ``pad_sequences`` and ``normalize``.

arraynet draws every random number on the host (initial weights, shuffles, dropout masks)
from NumPy generators. A model given ``seed=`` has its own; a model without one draws its
generator's seed from arraynet's host generator, which :func:`set_random_seed` seeds, so
models made after ``set_random_seed(s)`` start from the same weights and train the same
way in every run (and on every backend).
"""

from __future__ import annotations

import random
import sys
import threading

import numpy as np

from .sequences import normalize, pad_sequences

_LOCK = threading.Lock()
_HOST = [np.random.default_rng()]  # arraynet's host generator (fresh entropy until seeded)


def set_random_seed(seed: int) -> None:
    """Seed arraynet's host generator, Python's ``random`` and NumPy's global generator
    (and torch's, if torch is loaded), as ``keras.utils.set_random_seed`` seeds Python's,
    NumPy's and the backend's."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(
            f"Expected `seed` argument to be an integer. Received: seed={seed} (of type "
            f"{type(seed)})"
        )
    if seed < 0:
        raise ValueError(f"seed: expected an integer >= 0; got {seed}")
    with _LOCK:
        _HOST[0] = np.random.default_rng(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def new_generator(seed: int | None = None) -> np.random.Generator:
    """A model's host generator: ``default_rng(seed)``, or without a seed one seeded from
    arraynet's host generator (see :func:`set_random_seed`)."""
    if seed is not None:
        return np.random.default_rng(seed)
    with _LOCK:
        child = int(_HOST[0].integers(2**63))
    return np.random.default_rng(child)


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows for the class indices ``x`` (Keras's ``to_categorical``): shape
    ``x.shape + (num_classes,)`` (a last axis of 1 is dropped first), float64. Without
    ``num_classes``, ``max(x) + 1``."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)) or np.any(x != np.round(x)):
            raise ValueError("x: expected whole-number class indices; got fractions or NaN")
    elif x.dtype.kind not in "iub":
        raise ValueError(f"x: expected integer class indices; got dtype {x.dtype}")
    x = x.astype(np.int64)
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if x.size and x.min() < 0:
        raise ValueError(f"x: expected class indices >= 0; got {int(x.min())}")
    if not num_classes:
        num_classes = int(np.max(x)) + 1 if x.size else 0
    elif x.size and x.max() >= num_classes:
        raise ValueError(
            f"x: expected class indices below num_classes={num_classes}; got {int(x.max())}"
        )
    categorical = np.zeros((x.shape[0], num_classes))
    categorical[np.arange(x.shape[0]), x] = 1
    return categorical.reshape(shape + (num_classes,))


__all__ = ["normalize", "pad_sequences", "set_random_seed", "to_categorical"]
