"""Losses. Each returns ``(value, delta)``: the batch loss and its gradient for the output.

``loss(xp, P, Y)`` takes the network output ``P``. A loss whose ``fuses_with`` names the
output activation also has ``fused(xp, Z, A, Y) -> (value, dZ)``, computed from the
pre-activation ``Z`` by log-sum-exp: the delta becomes the book's ``P - Y`` without the
division by a saturated derivative.
"""

from __future__ import annotations

import math

from .activations import Softmax
from .activations import log_softmax_of as log_softmax


def _rows(P) -> int:
    return P.shape[0]


def _size(P) -> int:
    return math.prod(P.shape)


class Loss:
    name = ""
    fuses_with: str | None = None
    accepts_labels = False  # integer class labels are one-hot encoded for this loss
    # What targets it takes: any "values", "probabilities" in [0, 1] (each output a yes/no),
    # or "distributions" (rows of probabilities summing to 1).
    targets = "values"

    def __call__(self, xp, P, Y):
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<loss {self.name}>"


class SquaredError(Loss):
    """Per example ½‖P − Y‖², averaged over the batch: the book's delta ``P - Y``."""

    name = "squared_error"

    def __call__(self, xp, P, Y):
        D, n = P - Y, P.shape[0]
        return xp.sum(D * D) * (0.5 / n), (D if n == 1 else D / n)  # one row: the book's delta


class MeanSquaredError(Loss):
    """Mean of (P − Y)² over all elements (Keras' ``mse``)."""

    name = "mse"

    def __call__(self, xp, P, Y):
        D = P - Y
        return xp.mean(D * D), D * (2.0 / _size(P))


class BinaryCrossEntropy(Loss):
    """Mean binary cross-entropy of sigmoid outputs, clipped away from 0 and 1."""

    name = "binary_cross_entropy"
    fuses_with = "sigmoid"
    targets = "probabilities"

    def __call__(self, xp, P, Y):
        eps = xp.finfo(P.dtype).eps
        Pc = xp.clip(P, eps, 1.0 - eps)
        value = -xp.mean(Y * xp.log(Pc) + (1.0 - Y) * xp.log(1.0 - Pc))
        return value, (Pc - Y) / (Pc * (1.0 - Pc) * _size(P))

    def fused(self, xp, Z, A, Y):
        # log(1 + exp(-|z|)) + max(z, 0) - y z  ==  -(y log σ(z) + (1 - y) log(1 - σ(z)))
        value = xp.mean(xp.maximum(Z, 0.0) - Z * Y + xp.log1p(xp.exp(-xp.abs(Z))))
        return value, (A - Y) / _size(Z)


class CategoricalCrossEntropy(Loss):
    """Cross-entropy of softmax outputs against one-hot (or integer) targets."""

    name = "categorical_cross_entropy"
    fuses_with = "softmax"
    accepts_labels = True
    targets = "distributions"

    def __call__(self, xp, P, Y):
        Pc = xp.clip(P, xp.finfo(P.dtype).eps, 1.0)
        n = _rows(P)
        return -xp.sum(Y * xp.log(Pc)) / n, -Y / (Pc * n)

    def fused(self, xp, Z, A, Y):
        n = _rows(Z)
        value = -xp.sum(Y * log_softmax(xp, Z)) / n
        return value, (A * xp.sum(Y, axis=-1, keepdims=True) - Y) / n


class SoftmaxCrossEntropy(Loss):
    """Softmax and cross-entropy fused, from logits (use an identity output layer)."""

    name = "softmax_cross_entropy"
    accepts_labels = True
    targets = "distributions"

    def __call__(self, xp, L, Y):
        return CategoricalCrossEntropy.fused(self, xp, L, Softmax().forward(xp, L), Y)


LOSSES = {
    cls.name: cls()
    for cls in (
        SquaredError,
        MeanSquaredError,
        BinaryCrossEntropy,
        CategoricalCrossEntropy,
        SoftmaxCrossEntropy,
    )
}


# Keras' names for the same losses (Keras' cross-entropies take probabilities by default).
_ALIASES = {
    "mean_squared_error": "mse",
    "binary_crossentropy": "binary_cross_entropy",
    "categorical_crossentropy": "categorical_cross_entropy",
    "sparse_categorical_crossentropy": "categorical_cross_entropy",
}


def get(loss) -> Loss:
    """A loss by name (Keras' names too, such as "binary_crossentropy"), or the given
    :class:`Loss`."""
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss: expected a name or a Loss; got {type(loss).__name__}")
    name = _ALIASES.get(loss, loss)
    if name not in LOSSES:
        raise ValueError(f"loss: expected one of {', '.join(LOSSES)}; got {loss!r}")
    return LOSSES[name]
