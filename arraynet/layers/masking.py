"""Masking (Keras 3): steps whose features all equal ``mask_value`` are skipped downstream.

``Y = X`` at each step with some feature other than ``mask_value``, else zeros; the output
carries the mask ``any(X != mask_value, axis=-1)`` (True: a step to use) to the layers after
it, as Embedding's ``mask_zero`` does: a recurrent layer keeps its state through the masked
steps, GlobalAveragePooling1D averages over the others (``layers/base.py``, Masks).
"""

from __future__ import annotations

from ..validation import check_real
from .base import TRAINING, Context, Layer


class Masking(Layer):
    """Zeros at the steps whose features all equal ``mask_value``, and their mask."""

    supports_masking = True
    independent_rows = True

    def __init__(self, mask_value: float = 0.0):
        self.mask_value = check_real(mask_value, "mask_value")

    def output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) < 2:
            raise ValueError(
                f"Masking: expected inputs of shape (rows, time, features); got per-example "
                f"shape {tuple(input_shape)}"
            )
        return tuple(input_shape)

    def output_masked(self, input_masked: bool) -> bool:
        return True

    def used(self, xp, steps, keepdims: bool = False):
        """Where a step has some feature other than ``mask_value``."""
        return xp.any(steps != self.mask_value, axis=-1, keepdims=keepdims)

    def compute_mask(self, xp, X, mask):
        return self.used(xp, X)

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        keep = self.used(xp, X, keepdims=True)
        return xp.where(keep, X, xp.zeros_like(X)), keep

    def backward(self, xp, weights, keep, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        return xp.where(keep, dY, xp.zeros_like(dY)), ()

    def get_config(self) -> dict:
        return {"class": "Masking", "mask_value": self.mask_value}


def all_of(xp, masks):
    """Where every mask of ``masks`` (None among them: none) is True, broadcast; None when
    there is none (Keras ANDs the masks a layer combines)."""
    found = [m for m in masks if m is not None]
    if not found:
        return None
    both = found[0]
    for more in found[1:]:
        both = xp.logical_and(both, more)
    return both
