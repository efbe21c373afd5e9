"""Regression metrics (Keras's MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError)
and Keras's loss functions used as metrics (the mean of their per-sample losses)."""

from __future__ import annotations

from .base import MeanMetric, Metric, check_name, rows_kept


class MeanSquaredError(MeanMetric):
    ARGS: dict = {}

    def __init__(self, name=None, dtype=None):
        self.name = check_name(name, "mean_squared_error")

    def values(self, xp, P, Y):
        D = P - Y
        return xp.mean(D * D, axis=-1)


class MeanAbsoluteError(MeanMetric):
    ARGS: dict = {}

    def __init__(self, name=None, dtype=None):
        self.name = check_name(name, "mean_absolute_error")

    def values(self, xp, P, Y):
        return xp.mean(xp.abs(P - Y), axis=-1)


class RootMeanSquaredError(Metric):
    """``sqrt(mean((P − Y)²))`` over every entry of the epoch: no mean of batch values.
    State: the sum of squared errors and their count."""

    masks_rows = True
    ARGS: dict = {}

    def __init__(self, name=None, dtype=None):
        self.name = check_name(name, "root_mean_squared_error")

    def state_shapes(self) -> tuple:
        return ((), ())

    def batch(self, xp, P, Y, keep=None) -> tuple:
        D = P - Y
        count = 1
        for d in D.shape:
            count *= d
        if keep is None:
            total = xp.sum(D * D)
            return total, xp.full_like(total, float(count))
        kept = rows_kept(xp, keep, D)
        squares = xp.sum(xp.where(kept, D * D, xp.zeros_like(D)))
        return squares, xp.sum(xp.astype(kept, D.dtype))

    def result(self, xp, state):
        total, count = state
        return xp.sqrt(total / count)


class LossMetric(MeanMetric):
    """The mean of a loss's per-sample values (Keras's ``metrics=["mape"]`` or
    ``metrics=[keras.metrics.poisson]``)."""

    def __init__(self, loss, name: str):
        self.loss, self.name = loss, check_name(name, loss.name)

    def get_config(self) -> dict:
        return {"name": self.name}

    def values(self, xp, P, Y):
        return self.loss.per_sample(xp, P, Y)
