"""Regularizers: a penalty added to the loss, pulling weights with conflicting pressure
towards 0 (the seeds' lesson). Keras' definitions: ``l1 * Σ|W|`` and ``l2 * Σ W²``.

Keras's names: the classes ``L1L2(l1=0.0, l2=0.0)``, ``L1(l1=0.01)``, ``L2(l2=0.01)`` and
their lower-case aliases ``l1``, ``l2``, ``l1_l2``; the strings "l1", "l2" and "l1_l2"
(arraynet's "l1_l2" is ``L1L2(0.01, 0.01)``, Keras 2's; Keras 3's string gives zeros). A
regularizer is also Keras's callable: ``an.regularizers.L2(0.1)(W)`` is the penalty's value
on the selected backend. On a layer it may regularize the kernel, the bias, or the layer's
output (``activity_regularizer``: Keras 3 divides that penalty by the batch size).
"""

from __future__ import annotations

from .backend.direct import on_backend
from .validation import check_non_negative


class L1L2:
    """``l1 * Σ|W| + l2 * Σ W²``; ``penalty(xp, W) -> (value, dW)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = check_non_negative(l1, "l1")
        self.l2 = check_non_negative(l2, "l2")

    def penalty(self, xp, W):
        value, dW = 0.0, 0.0
        if self.l1:
            value, dW = self.l1 * xp.sum(xp.abs(W)), self.l1 * xp.sign(W)
        if self.l2:
            value, dW = value + self.l2 * xp.sum(W * W), dW + (2 * self.l2) * W
        return value, dW

    def __call__(self, x):
        """Keras's form: the penalty's value on ``x``, on the selected backend."""
        xp, (x,) = on_backend(x)
        return self.penalty(xp, x)[0]

    def __eq__(self, other) -> bool:
        return isinstance(other, L1L2) and (other.l1, other.l2) == (self.l1, self.l2)

    def __hash__(self) -> int:
        return hash((self.l1, self.l2))

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self) -> str:
        return f"L1L2(l1={self.l1}, l2={self.l2})"


def L1(l1: float = 0.01) -> L1L2:  # noqa: N802 - Keras' names
    return L1L2(l1=l1)


def L2(l2: float = 0.01) -> L1L2:  # noqa: N802
    return L1L2(l2=l2)


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's lower-case aliases


def get(regularizer, argument: str = "kernel_regularizer"):
    """None, an :class:`L1L2` (or the class), a config dict, or a name: "l1", "l2",
    "l1_l2" (defaults 0.01)."""
    if regularizer in (L1L2, L1, L2):  # Keras takes the classes themselves
        return regularizer()
    if regularizer is None or isinstance(regularizer, L1L2):
        return regularizer
    if isinstance(regularizer, dict):
        return L1L2(**regularizer)
    named = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}
    if regularizer not in named:
        raise ValueError(
            f"{argument}: expected None, L1L2 or one of {', '.join(named)}; got {regularizer!r}"
        )
    return named[regularizer]()
