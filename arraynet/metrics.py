"""Metrics: batch means computed on the device, ``metric(xp, P, Y) -> 0-d array``.

Training metrics are taken on each batch's output before its update (as Keras does),
accumulated on the device and read back once per epoch.
"""

from __future__ import annotations


def accuracy(xp, P, Y):
    """Share of rows whose largest output is the target class (Y one-hot; labels are
    one-hot encoded on the way in). With one output unit, the same as binary_accuracy."""
    if P.shape[-1] == 1:
        return binary_accuracy(xp, P, Y)
    hits = xp.argmax(P, axis=-1) == xp.argmax(Y, axis=-1)
    return xp.mean(xp.astype(hits, P.dtype))


def binary_accuracy(xp, P, Y, threshold: float = 0.5):
    """Share of outputs on the target's side of ``threshold``."""
    hits = xp.astype(threshold < P, P.dtype) == xp.astype(threshold < Y, P.dtype)
    return xp.mean(xp.astype(hits, P.dtype))


def mse(xp, P, Y):
    D = P - Y
    return xp.mean(D * D)


def mae(xp, P, Y):
    return xp.mean(xp.abs(P - Y))


METRICS = {f.__name__: f for f in (accuracy, binary_accuracy, mse, mae)}
_ALIASES = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}


def get(metric, loss=None) -> tuple[str, object]:
    """``(name, function)`` for a metric name; the name keys the History (``val_`` prefixed).

    As in Keras, "accuracy" under a loss of probability targets (``binary_cross_entropy``)
    is binary accuracy (each output its own yes/no), not the argmax over outputs."""
    name = _ALIASES.get(metric, metric)
    if name not in METRICS:
        raise ValueError(f"metrics: expected names from {', '.join(METRICS)}; got {metric!r}")
    if name == "accuracy" and getattr(loss, "targets", None) == "probabilities":
        return name, binary_accuracy
    return name, METRICS[name]
