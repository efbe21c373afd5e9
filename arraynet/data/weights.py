"""Sample and class weights (Keras's ``fit(sample_weight=, class_weight=)``), checked and
turned into one weight per row on the host, before any weight of the model changes.

As Keras: a class weight maps a class index to a weight; each row's class is its integer
label, the argmax of a one-hot row, or a single output rounded; classes absent from the map
weigh 1. Keras refuses ``class_weight`` and ``sample_weight`` together, and so does arraynet.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .checks import to_host


def sample_weights(sample_weight, rows: int, argument: str = "sample_weight"):
    """``sample_weight`` as a float64 host array of shape ``(rows,)`` (``(rows, 1)`` is
    flattened), finite and >= 0; None stays None."""
    if sample_weight is None:
        return None
    W = to_host(sample_weight, argument)
    if W.ndim == 2 and W.shape[1] == 1:
        W = W.reshape(-1)
    if W.ndim != 1 or W.shape[0] != rows:
        raise ValueError(
            f"{argument}: expected shape ({rows},), one weight per row; got shape {W.shape}"
        )
    W = W.astype(np.float64)
    if not np.all(np.isfinite(W)):
        raise ValueError(f"{argument}: expected finite weights; got NaN or inf values")
    if W.size and float(W.min()) < 0:
        raise ValueError(f"{argument}: expected weights >= 0; got {float(W.min())}")
    return W


def class_table(class_weight) -> dict | None:
    """``class_weight`` checked: ``{class index: weight}`` with integer keys >= 0 (or
    strings of them, as Keras reads them) and finite weights >= 0."""
    if class_weight is None:
        return None
    if not hasattr(class_weight, "items") or not hasattr(class_weight, "get"):
        raise ValueError(
            f"class_weight: expected a dict {{class index: weight}}; got {class_weight!r}"
        )
    table = {}
    for key, value in class_weight.items():
        index = _class_index(key)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"class_weight: expected a number as the weight of class {key!r}; got {value!r}"
            )
        if not math.isfinite(value) or value < 0:
            raise ValueError(
                f"class_weight: expected a finite weight >= 0 for class {key!r}; got {value}"
            )
        table[index] = float(value)
    return table


def _class_index(key) -> int:
    if isinstance(key, str):
        try:
            key = int(key)
        except ValueError:
            key = None
    whole = isinstance(key, numbers.Real) and not isinstance(key, bool) and key == int(key)
    if not whole or key < 0:
        raise ValueError(f"class_weight: expected integer class indices >= 0 as keys; got {key!r}")
    return int(key)


def class_weights(table: dict, y, argument: str = "y") -> np.ndarray:
    """One float64 weight per row of the targets ``y`` (host or device) from ``table``."""
    Y = to_host(y, argument)
    if Y.ndim > 2:
        raise ValueError(
            f"class_weight: expected targets with one class per row; got shape {Y.shape}"
        )
    if Y.ndim == 2:
        Y = np.argmax(Y, axis=-1) if Y.shape[1] != 1 else Y[:, 0]
    labels = np.round(Y.astype(np.float64))
    W = np.ones(labels.shape[0])
    for index, weight in table.items():
        W[labels == index] = weight
    return W


def refuse_both(sample_weight, class_weight) -> None:
    if sample_weight is not None and class_weight is not None:
        raise ValueError(
            "class_weight, sample_weight: expected one of them (Keras refuses both at once: "
            "multiply the class weights into sample_weight); got both"
        )
