"""The book's activations (identity, relu, sigmoid, tanh, softmax, step) and Keras's
piecewise-linear ones (leaky_relu, relu6, hard_sigmoid, hard_silu), each with its
derivative beside it."""

from __future__ import annotations

from ..validation import check_non_negative
from .base import Activation, sigmoid_of


class Identity(Activation):
    """``A = Z`` (Keras's ``linear``)."""

    name = "identity"


class ReLU(Activation):
    """``max(Z, 0)``; with Keras's arguments, ``Z`` above ``threshold`` (else 0), capped at
    ``max_value``, plus ``negative_slope * (Z - threshold)`` below ``threshold``."""

    name = "relu"
    ARGS = {"negative_slope": 0.0, "max_value": None, "threshold": 0.0}

    def __init__(self, negative_slope: float = 0.0, max_value=None, threshold: float = 0.0):
        self.negative_slope = check_non_negative(negative_slope, "negative_slope")
        self.max_value = None if max_value is None else check_non_negative(max_value, "max_value")
        self.threshold = float(threshold)
        self.plain = self.is_default

    def forward(self, xp, Z):
        if self.plain:
            return xp.maximum(Z, 0.0)
        slope, top, cut = self.negative_slope, self.max_value, self.threshold
        if slope and top is None and cut == 0:  # Keras: leaky relu
            return xp.where(Z >= 0, Z, slope * Z)
        A = xp.where(cut < Z, Z, xp.zeros_like(Z)) if cut else xp.maximum(Z, 0.0)
        if top is not None:
            A = xp.clip(A, 0.0, top)
        if slope:
            A = A - slope * xp.maximum(cut - Z, 0.0)
        return A

    def backward(self, xp, Z, A, dA):
        if self.plain:
            return dA * xp.astype(A > 0, dA.dtype)  # the book's relu2deriv(output)
        if Z is None:
            raise ValueError(f"activation {self!r}: its derivative needs the pre-activation")
        slope, top, cut = self.negative_slope, self.max_value, self.threshold
        if slope and top is None and cut == 0:
            return xp.where(Z >= 0, dA, slope * dA)
        passes = cut < Z
        if top is not None:
            passes = passes & (Z > 0) & (top > Z)
        dZ = xp.where(passes, dA, xp.zeros_like(dA))
        if slope:
            dZ = dZ + xp.where(cut > Z, slope * dA, xp.zeros_like(dA))
        return dZ


class LeakyReLU(Activation):
    """``Z`` where ``Z >= 0``, else ``negative_slope * Z`` (Keras's default slope 0.2)."""

    name = "leaky_relu"
    ARGS = {"negative_slope": 0.2}

    def __init__(self, negative_slope: float = 0.2):
        self.negative_slope = check_non_negative(negative_slope, "negative_slope")

    def forward(self, xp, Z):
        return xp.where(Z >= 0, Z, self.negative_slope * Z)

    def backward(self, xp, Z, A, dA):
        return xp.where(Z >= 0, dA, self.negative_slope * dA)


class ReLU6(Activation):
    """``min(max(Z, 0), 6)``."""

    name = "relu6"

    def forward(self, xp, Z):
        return xp.clip(Z, 0.0, 6.0)

    def backward(self, xp, Z, A, dA):
        return xp.where((Z > 0) & (Z < 6), dA, xp.zeros_like(dA))


class HardSigmoid(Activation):
    """Keras 3's ``relu6(Z + 3) / 6``: 0 below -3, 1 above 3, ``Z/6 + 1/2`` between."""

    name = "hard_sigmoid"

    def forward(self, xp, Z):
        return xp.clip(Z + 3.0, 0.0, 6.0) / 6.0

    def backward(self, xp, Z, A, dA):
        return xp.where((Z > -3) & (Z < 3), dA / 6.0, xp.zeros_like(dA))


class HardSiLU(Activation):
    """``Z * hard_sigmoid(Z)`` (Keras's ``hard_silu``, alias ``hard_swish``)."""

    name = "hard_silu"

    def forward(self, xp, Z):
        return Z * (xp.clip(Z + 3.0, 0.0, 6.0) / 6.0)

    def backward(self, xp, Z, A, dA):
        inner = xp.where((Z > -3) & (Z < 3), (2.0 * Z + 3.0) / 6.0, xp.zeros_like(Z))
        return dA * xp.where(Z >= 3, xp.ones_like(Z), inner)


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, xp, Z):
        return sigmoid_of(xp, Z)

    def backward(self, xp, Z, A, dA):
        return dA * A * (1.0 - A)


class Tanh(Activation):
    name = "tanh"

    def forward(self, xp, Z):
        return xp.tanh(Z)

    def backward(self, xp, Z, A, dA):
        return dA * (1.0 - A * A)


class Step(Activation):
    """The book's step function: 1 where Z > 0, else 0. Forward only."""

    name = "step"
    trainable = False

    def forward(self, xp, Z):
        return xp.astype(Z > 0, Z.dtype)

    def backward(self, xp, Z, A, dA):
        raise ValueError("activation 'step' has no useful derivative; it cannot be trained")
