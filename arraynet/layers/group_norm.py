"""GroupNormalization (Keras 3): each example's channels in ``groups`` groups, each group
normalized over its channels and every other axis but the batch's.

``X`` ``(rows, ..., C)`` is seen as ``(rows, positions, groups, C / groups)``; each
``(row, group)`` has its mean and biased variance, ``Xhat = (X - mean) / sqrt(var +
epsilon)``, then ``Y = gamma * Xhat + beta`` per channel: weights ``[gamma (C,), beta
(C,)]``, epsilon 1e-3, as Keras. ``groups=-1`` puts each channel in a group of its own
(instance normalization). The same in training and inference; the backward is
LayerNormalization's over each group: ``(dXhat - mean(dXhat) - Xhat * mean(dXhat * Xhat))
/ std``.
"""

from __future__ import annotations

import math

from ..validation import check_count
from .base import TRAINING, Context
from .normalization import LayerNormalization


class GroupNormalization(LayerNormalization):
    """Normalization over groups of channels (see the module docstring)."""

    supports_masking = False  # Keras takes masked moments: arraynet ends the mask instead

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True):  # fmt: skip
        super().__init__(axis, epsilon, center, scale)
        if groups != -1:
            check_count(groups, "groups", minimum=1)
        self.groups = groups

    def output_shape(self, input_shape: tuple) -> tuple:
        channels = input_shape[-1] if input_shape else None
        groups = channels if self.groups == -1 else self.groups
        if not input_shape or channels is None or channels % groups:
            raise ValueError(
                f"GroupNormalization: expected channels (the last axis) a multiple of groups "
                f"{groups}; got per-example shape {tuple(input_shape)}"
            )
        return tuple(input_shape)

    def _grouped(self, xp, A):
        """``A`` ``(rows, ..., C)`` as ``(rows, positions, groups, C / groups)``."""
        channels = A.shape[-1]
        groups = channels if self.groups == -1 else self.groups
        positions = math.prod(A.shape[1:-1])
        return xp.reshape(A, (A.shape[0], positions, groups, channels // groups))

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        G = self._grouped(xp, X)
        mean = xp.mean(G, axis=(1, 3), keepdims=True)
        inv_std = 1.0 / xp.sqrt(xp.mean((G - mean) ** 2, axis=(1, 3), keepdims=True) + self.epsilon)
        Xhat = xp.reshape((G - mean) * inv_std, X.shape)
        Y = Xhat * weights[0] if self.scale else Xhat
        if self.center:
            Y = Y + weights[-1]
        return Y, (Xhat, inv_std)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        Xhat, inv_std = cache
        axes = tuple(range(dY.ndim - 1))
        grads = ([xp.sum(dY * Xhat, axis=axes)] if self.scale else []) + (
            [xp.sum(dY, axis=axes)] if self.center else []
        )
        if not ctx.need_dX:
            return None, tuple(grads)
        dXhat = self._grouped(xp, dY * weights[0] if self.scale else dY)
        G = self._grouped(xp, Xhat)
        mean_d = xp.mean(dXhat, axis=(1, 3), keepdims=True)
        mean_dx = xp.mean(dXhat * G, axis=(1, 3), keepdims=True)
        dX = (dXhat - mean_d - G * mean_dx) * inv_std
        return xp.reshape(dX, dY.shape), tuple(grads)

    def get_config(self) -> dict:
        return {**super().get_config(), "class": "GroupNormalization", "groups": self.groups}
