"""Hinge losses (Keras's hinge, squared_hinge, categorical_hinge), with their deltas.

As Keras, targets that are all 0 or 1 (the batch's, checked on the device) become -1 and 1
for ``hinge`` and ``squared_hinge``; other targets are used as given.
"""

from __future__ import annotations

from .base import KerasLoss, samples, size, where_zero


def signed(xp, Y):
    """``2 Y − 1`` when every target is 0 or 1, else ``Y``."""
    binary = xp.all((Y == 0) | (Y == 1))
    return xp.where(binary, 2.0 * Y - 1.0, Y)


class Hinge(KerasLoss):
    """Mean of ``max(1 − y p, 0)``."""

    name = "hinge"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def per_sample(self, xp, P, Y):
        return xp.mean(xp.maximum(1.0 - signed(xp, Y) * P, 0.0), axis=-1)

    def gradient(self, xp, P, Y):
        Ys = signed(xp, Y)
        return where_zero(xp, 1.0 - Ys * P > 0, -Ys) / size(P)


class SquaredHinge(KerasLoss):
    """Mean of ``max(1 − y p, 0)²``."""

    name = "squared_hinge"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def per_sample(self, xp, P, Y):
        M = xp.maximum(1.0 - signed(xp, Y) * P, 0.0)
        return xp.mean(M * M, axis=-1)

    def gradient(self, xp, P, Y):
        Ys = signed(xp, Y)
        return -2.0 * Ys * xp.maximum(1.0 - Ys * P, 0.0) / size(P)


class CategoricalHinge(KerasLoss):
    """Per sample ``max(neg − pos + 1, 0)``, ``pos = Σ y p`` and ``neg = max((1 − y) p)``
    over the last axis (one-hot targets)."""

    name = "categorical_hinge"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def per_sample(self, xp, P, Y):
        pos = xp.sum(Y * P, axis=-1)
        neg = xp.max((1.0 - Y) * P, axis=-1)
        return xp.maximum(neg - pos + 1.0, 0.0)

    def gradient(self, xp, P, Y):
        others = (1.0 - Y) * P
        picked = xp.astype(others == xp.max(others, axis=-1, keepdims=True), P.dtype)
        active = self.per_sample(xp, P, Y) > 0
        return where_zero(xp, active[..., None], (1.0 - Y) * picked - Y) / samples(P)
