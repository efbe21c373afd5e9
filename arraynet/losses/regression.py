"""Regression losses: the book's squared error and Keras's mean squared, absolute,
absolute percentage and squared logarithmic errors, Huber, log-cosh and cosine similarity.
Each per-sample loss is a mean over the last axis (cosine similarity: a sum over ``axis``);
the batch loss is their mean, and each delta is written out beside its value."""

from __future__ import annotations

import math

from ..validation import check_positive
from .base import KERAS_EPSILON, KerasLoss, Loss, samples, size, where_zero


class SquaredError(Loss):
    """Per example ½‖P − Y‖², averaged over the batch: the book's delta ``P - Y``."""

    name = "squared_error"

    def __call__(self, xp, P, Y):
        D, n = P - Y, P.shape[0]
        return xp.sum(D * D) * (0.5 / n), (D if n == 1 else D / n)  # one row: the book's delta

    def per_sample(self, xp, P, Y):
        D = P - Y
        return 0.5 * xp.sum(D * D, axis=-1)


class MeanSquaredError(KerasLoss):
    """Mean of (P − Y)² (over all entries, the per-sample means averaged)."""

    name = "mean_squared_error"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def __call__(self, xp, P, Y):
        D = P - Y
        return xp.mean(D * D), D * (2.0 / size(P))

    def per_sample(self, xp, P, Y):
        D = P - Y
        return xp.mean(D * D, axis=-1)


class MeanAbsoluteError(KerasLoss):
    """Mean of |P − Y|; its delta ``sign(P - Y) / size``."""

    name = "mean_absolute_error"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def per_sample(self, xp, P, Y):
        return xp.mean(xp.abs(P - Y), axis=-1)

    def gradient(self, xp, P, Y):
        return xp.sign(P - Y) / size(P)


class MeanAbsolutePercentageError(KerasLoss):
    """``100 * mean(|Y − P| / max(|Y|, 1e-7))``."""

    name = "mean_absolute_percentage_error"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def per_sample(self, xp, P, Y):
        return 100.0 * xp.mean(xp.abs(Y - P) / xp.maximum(xp.abs(Y), KERAS_EPSILON), axis=-1)

    def gradient(self, xp, P, Y):
        return xp.sign(P - Y) * (100.0 / size(P)) / xp.maximum(xp.abs(Y), KERAS_EPSILON)


class MeanSquaredLogarithmicError(KerasLoss):
    """``mean((log(max(P, 1e-7) + 1) − log(max(Y, 1e-7) + 1))²)``; no gradient where
    ``P`` is below 1e-7 (the max cuts it, as in Keras)."""

    name = "mean_squared_logarithmic_error"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def _difference(self, xp, P, Y):
        Pp = xp.maximum(P, KERAS_EPSILON) + 1.0
        return xp.log(Pp) - xp.log(xp.maximum(Y, KERAS_EPSILON) + 1.0), Pp

    def per_sample(self, xp, P, Y):
        D, _ = self._difference(xp, P, Y)
        return xp.mean(D * D, axis=-1)

    def gradient(self, xp, P, Y):
        D, Pp = self._difference(xp, P, Y)
        return where_zero(xp, P > KERAS_EPSILON, D * (2.0 / size(P)) / Pp)


class Huber(KerasLoss):
    """Per entry ½x² where ``|x| <= delta``, else ``delta (|x| − delta/2)``, ``x = P − Y``;
    its delta ``clip(x, -delta, delta) / size``."""

    name = "huber_loss"
    ARGS = {"delta": 1.0}

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)
        self.delta = check_positive(delta, "delta")

    def per_sample(self, xp, P, Y):
        x, d = P - Y, self.delta
        a = xp.abs(x)
        return xp.mean(xp.where(a <= d, 0.5 * x * x, d * a - 0.5 * d * d), axis=-1)

    def gradient(self, xp, P, Y):
        return xp.clip(P - Y, -self.delta, self.delta) / size(P)


_LOG2 = math.log(2.0)


class LogCosh(KerasLoss):
    """``mean(log(cosh(P − Y)))``, as ``x + softplus(−2x) − log 2``; its delta
    ``tanh(x) / size``."""

    name = "log_cosh"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def per_sample(self, xp, P, Y):
        x = P - Y
        softplus = xp.maximum(-2.0 * x, 0.0) + xp.log1p(xp.exp(-xp.abs(2.0 * x)))
        return xp.mean(x + softplus - _LOG2, axis=-1)

    def gradient(self, xp, P, Y):
        return xp.tanh(P - Y) / size(P)


class CosineSimilarity(KerasLoss):
    """``-Σ normalize(Y) * normalize(P)`` along ``axis``, ``normalize(x) = x /
    sqrt(max(Σx², 1e-14))`` (Keras's l2 normalization, epsilon 1e-7): from -1 (same
    direction) to 1; 0 when either is a zero vector."""

    name = "cosine_similarity"
    ARGS = {"axis": -1}

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)
        self.axis = int(axis)

    def _normalized(self, xp, X):
        squares = xp.sum(X * X, axis=self.axis, keepdims=True)
        inverse = 1.0 / xp.sqrt(xp.maximum(squares, KERAS_EPSILON * KERAS_EPSILON))
        return X * inverse, inverse, squares

    def per_sample(self, xp, P, Y):
        Pn, Yn = self._normalized(xp, P)[0], self._normalized(xp, Y)[0]
        return -xp.sum(Yn * Pn, axis=self.axis)

    def gradient(self, xp, P, Y):
        Pn, inverse, squares = self._normalized(xp, P)
        Yn = self._normalized(xp, Y)[0]
        along = Yn - Pn * xp.sum(Yn * Pn, axis=self.axis, keepdims=True)
        # below the epsilon the norm is a constant: only the numerator varies
        grad = xp.where(squares > KERAS_EPSILON * KERAS_EPSILON, along, Yn)
        return -grad * inverse / samples(P, self.axis)
