"""Activation layers (Keras's ``Activation``, ``ReLU``, ``LeakyReLU``, ``Softmax``): an
activation function as a layer of its own, no weights.

The backward is the activation's hand-written derivative. Each exposes its function as
``activation`` (the Layer protocol's fused output), so ``Dense(10), Activation("softmax")``
with a categorical cross-entropy takes the loss's delta at the softmax's input, by
log-sum-exp, exactly as ``Dense(10, activation="softmax")`` does. (A softmax over another
axis than the last does not fuse.)
"""

from __future__ import annotations

from .. import activations
from .base import TRAINING, Context, Layer


class Activation(Layer):
    """``activations.get(activation)`` applied to the input: a name, an activation object
    (``an.activations.gelu``) or class, or a config from ``activations.serialize``."""

    def __init__(self, activation):
        self.function = activations.get(activation)
        self.activation = (
            self.function if self.function.get_config().get("axis", -1) == -1 else None
        )

    @property
    def independent_rows(self) -> bool:
        """Rows are independent unless a softmax normalizes over the batch axis (0)."""
        return self.function.get_config().get("axis", -1) != 0

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        Y = self.function.forward(xp, X)
        return Y, (X, Y)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        X, Y = cache
        return self.function.backward(xp, X, Y, dY), ()

    def pre_activation(self, cache):
        return cache

    def backward_from_preactivation(self, xp, weights, cache, dZ, ctx: Context = TRAINING):
        return (dZ if ctx.need_dX else None), ()

    def check_differentiable(self, index: int) -> None:
        if not self.function.trainable:
            raise ValueError(
                f"activation: layer {index} uses {self.function.name!r}, which has no "
                "derivative; expected a trainable activation (relu, sigmoid, tanh, ...)"
            )

    def get_config(self) -> dict:
        return {"class": "Activation", "activation": activations.serialize(self.function)}


class ReLU(Activation):
    """Keras's ``ReLU(max_value=None, negative_slope=0.0, threshold=0.0)`` layer."""

    def __init__(self, max_value=None, negative_slope: float = 0.0, threshold: float = 0.0):
        super().__init__(activations.ReLU(negative_slope, max_value, threshold))
        f = self.function
        self.max_value, self.negative_slope, self.threshold = (
            f.max_value,
            f.negative_slope,
            f.threshold,
        )

    def get_config(self) -> dict:
        return {
            "class": "ReLU",
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(Activation):
    """Keras's ``LeakyReLU(negative_slope=0.3)`` layer (the function's default is 0.2)."""

    def __init__(self, negative_slope: float = 0.3):
        super().__init__(activations.LeakyReLU(negative_slope))
        self.negative_slope = self.function.negative_slope

    def get_config(self) -> dict:
        return {"class": "LeakyReLU", "negative_slope": self.negative_slope}


class Softmax(Activation):
    """Keras's ``Softmax(axis=-1)`` layer; ``axis`` counts the batch axis, as in Keras."""

    def __init__(self, axis: int = -1):
        super().__init__(activations.Softmax(axis))
        self.axis = self.function.axis

    def get_config(self) -> dict:
        return {"class": "Softmax", "axis": self.axis}
