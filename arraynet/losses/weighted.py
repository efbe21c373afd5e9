"""Sample weights in a loss, as Keras's default reduction ("sum_over_batch_size") takes them.

Each row's per-sample losses are multiplied by its weight, summed, and divided by the
number of per-sample losses (the batch's rows, times any axes between), *not* by the sum of
the weights; the delta is the unweighted one times each row's weight (a loss is the mean of
its rows' losses, so row ``i``'s delta depends on row ``i`` alone). Penalties (regularizers)
are not weighted, as in Keras.
"""

from __future__ import annotations

from .base import Loss, size


def weighable(loss) -> bool:
    """Whether ``loss`` gives per-sample values (and, fused, per-sample values from logits)."""
    if type(loss).per_sample is Loss.per_sample:
        return False
    fused = [callable(getattr(loss, name, None)) for name in ("fused_rows", "fused_per_sample")]
    return loss.fuses_with is None or any(fused)


def check_weighable(loss) -> None:
    """Refuse sample or class weights for a loss without per-sample values."""
    if not weighable(loss):
        raise TypeError(
            f"sample_weight: expected a loss with per-sample values (a per_sample method, "
            f"and fused_per_sample where it fuses with the output); got {loss!r}"
        )


class Weighted:
    """``loss`` with the rows weighted by ``W`` (shape ``(rows,)``, the batch's weights)."""

    def __init__(self, loss, W):
        self.loss, self.W = loss, W
        self.fuses_with = loss.fuses_with

    def __getattr__(self, name):  # name, targets, ... as the loss's
        return getattr(self.loss, name)

    def __call__(self, xp, P, Y):
        _, dP = self.loss(xp, P, Y)
        return self._value(xp, self.loss.per_sample(xp, P, Y)), self._delta(xp, dP)

    def fused(self, xp, Z, A, Y):
        if callable(getattr(self.loss, "fused_rows", None)):  # both from one log-sum-exp
            rows, dZ = self.loss.fused_rows(xp, Z, A, Y)
        else:
            rows, dZ = self.loss.fused_per_sample(xp, Z, A, Y), self.loss.fused(xp, Z, A, Y)[1]
        return self._value(xp, rows), self._delta(xp, dZ)

    def _by_row(self, xp, like):
        W = xp.astype(self.W, like.dtype, copy=False)
        return xp.reshape(W, (W.shape[0],) + (1,) * (like.ndim - 1))

    def _value(self, xp, values):
        return xp.sum(values * self._by_row(xp, values)) / size(values)

    def _delta(self, xp, delta):
        return delta * self._by_row(xp, delta)
