"""Keras's smooth activations (elu, selu, gelu, softplus, softsign, silu, mish, exponential)
and the normalizing ones (softmax, log_softmax), each with its derivative beside it."""

from __future__ import annotations

import math

from ..validation import check_flag
from .base import Activation, log_softmax_of, sigmoid_of, softmax_of, softplus_of
from .special import erf


class ELU(Activation):
    """``Z`` where ``Z > 0``, else ``alpha * (exp(Z) - 1)``."""

    name = "elu"
    ARGS = {"alpha": 1.0}

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def forward(self, xp, Z):
        return xp.where(Z > 0, Z, self.alpha * xp.expm1(xp.minimum(Z, 0.0)))

    def backward(self, xp, Z, A, dA):
        return xp.where(Z > 0, dA, dA * (A + self.alpha))  # alpha e^Z = A + alpha


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class SELU(Activation):
    """``scale * elu(Z, alpha)`` with Klambauer et al.'s constants, as Keras."""

    name = "selu"

    def forward(self, xp, Z):
        return SELU_SCALE * xp.where(Z > 0, Z, SELU_ALPHA * xp.expm1(xp.minimum(Z, 0.0)))

    def backward(self, xp, Z, A, dA):
        return xp.where(Z > 0, SELU_SCALE * dA, dA * (A + SELU_SCALE * SELU_ALPHA))


_SQRT_HALF = math.sqrt(0.5)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)
_ONE_OVER_SQRT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)


class GELU(Activation):
    """``Z Φ(Z)``: with ``approximate=False`` (Keras's default) ``Φ(Z) = (1 + erf(Z/√2))/2``
    (erf from ``activations/special.py``); with ``approximate=True`` the tanh form
    ``(1 + tanh(√(2/π) (Z + 0.044715 Z³)))/2``."""

    name = "gelu"
    ARGS = {"approximate": False}

    def __init__(self, approximate: bool = False):
        self.approximate = check_flag(approximate, "approximate")

    def forward(self, xp, Z):
        if self.approximate:
            return 0.5 * Z * (1.0 + xp.tanh(_SQRT_TWO_OVER_PI * (Z + 0.044715 * Z * Z * Z)))
        return 0.5 * Z * (1.0 + erf(xp, Z * _SQRT_HALF))

    def backward(self, xp, Z, A, dA):
        if self.approximate:
            T = xp.tanh(_SQRT_TWO_OVER_PI * (Z + 0.044715 * Z * Z * Z))
            inner = _SQRT_TWO_OVER_PI * (1.0 + 3 * 0.044715 * Z * Z)
            return dA * (0.5 * (1.0 + T) + 0.5 * Z * (1.0 - T * T) * inner)
        cdf = 0.5 * (1.0 + erf(xp, Z * _SQRT_HALF))
        return dA * (cdf + Z * _ONE_OVER_SQRT_TWO_PI * xp.exp(-0.5 * Z * Z))


class Softplus(Activation):
    """``log(1 + exp(Z))``, its derivative the sigmoid."""

    name = "softplus"

    def forward(self, xp, Z):
        return softplus_of(xp, Z)

    def backward(self, xp, Z, A, dA):
        return dA * sigmoid_of(xp, Z)


class Softsign(Activation):
    """``Z / (1 + |Z|)``."""

    name = "softsign"

    def forward(self, xp, Z):
        return Z / (1.0 + xp.abs(Z))

    def backward(self, xp, Z, A, dA):
        D = 1.0 + xp.abs(Z)
        return dA / (D * D)


class SiLU(Activation):
    """``Z sigmoid(Z)`` (Keras's ``silu``, alias ``swish``)."""

    name = "silu"

    def forward(self, xp, Z):
        return Z * sigmoid_of(xp, Z)

    def backward(self, xp, Z, A, dA):
        S = sigmoid_of(xp, Z)
        return dA * (S + Z * S * (1.0 - S))


class Mish(Activation):
    """``Z tanh(softplus(Z))``."""

    name = "mish"

    def forward(self, xp, Z):
        return Z * xp.tanh(softplus_of(xp, Z))

    def backward(self, xp, Z, A, dA):
        T = xp.tanh(softplus_of(xp, Z))
        return dA * (T + Z * (1.0 - T * T) * sigmoid_of(xp, Z))


class Exponential(Activation):
    """``exp(Z)``."""

    name = "exponential"

    def forward(self, xp, Z):
        return xp.exp(Z)

    def backward(self, xp, Z, A, dA):
        return dA * A


class Softmax(Activation):
    """``exp(Z) / Σ exp(Z)`` along ``axis`` (the last by default)."""

    name = "softmax"
    ARGS = {"axis": -1}

    def __init__(self, axis: int = -1):
        self.axis = int(axis)

    def forward(self, xp, Z):
        return softmax_of(xp, Z, self.axis)

    def backward(self, xp, Z, A, dA):
        return A * (dA - xp.sum(dA * A, axis=self.axis, keepdims=True))


class LogSoftmax(Activation):
    """``Z - log Σ exp(Z)`` along ``axis``."""

    name = "log_softmax"
    ARGS = {"axis": -1}

    def __init__(self, axis: int = -1):
        self.axis = int(axis)

    def forward(self, xp, Z):
        return log_softmax_of(xp, Z, self.axis)

    def backward(self, xp, Z, A, dA):
        return dA - xp.exp(A) * xp.sum(dA, axis=self.axis, keepdims=True)
