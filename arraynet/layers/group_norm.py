"""GroupNormalization (Keras 3): each example's channels in ``groups`` groups, each group
normalized over its channels and every other axis but the batch's.

``X`` ``(rows, ..., C)`` is seen as ``(rows, positions, groups, C / groups)``; each
``(row, group)`` has its mean and biased variance, ``Xhat = (X - mean) / sqrt(var +
epsilon)``, then ``Y = gamma * Xhat + beta`` per channel: weights ``[gamma (C,), beta
(C,)]``, epsilon 1e-3, as Keras. ``groups=-1`` puts each channel in a group of its own
(instance normalization). The same in training and inference: LayerNormalization's
forward and backward (``(dXhat - mean(dXhat) - Xhat * mean(dXhat * Xhat)) / std``) over
each group, on the grouped view ``_grouped`` gives.
"""

from __future__ import annotations

import math

from ..validation import check_count
from .normalization import LayerNormalization


class GroupNormalization(LayerNormalization):
    """Normalization over groups of channels (see the module docstring)."""

    supports_masking = False  # Keras takes masked moments: arraynet ends the mask instead
    norm_axes = (1, 3)  # the positions and the channels of a group

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

    def get_config(self) -> dict:
        return {**super().get_config(), "class": "GroupNormalization", "groups": self.groups}
