"""Activation layers (Keras's ``Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``,
``Softmax``): an activation function as a layer of its own, no weights; and ``PReLU``, whose
negative slope ``alpha`` is a trained weight.

The backward is the activation's hand-written derivative. Each exposes its function as
``activation`` (the Layer protocol's fused output), so ``Dense(10), Activation("softmax")``
with a categorical cross-entropy takes the loss's delta at the softmax's input, by
log-sum-exp, exactly as ``Dense(10, activation="softmax")`` does. (A softmax over another
axis than the last does not fuse.)
"""

from __future__ import annotations

from .. import activations, initializers, regularizers
from .base import TRAINING, Context, Layer, Param


class Activation(Layer):
    """``activations.get(activation)`` applied to the input: a name, an activation object
    (``an.activations.gelu``) or class, or a config from ``activations.serialize``."""

    supports_masking = True  # the output keeps the input's mask (Keras)

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


class ELU(Activation):
    """Keras's ``ELU(alpha=1.0)`` layer."""

    def __init__(self, alpha: float = 1.0):
        super().__init__(activations.ELU(alpha))
        self.alpha = self.function.alpha

    def get_config(self) -> dict:
        return {"class": "ELU", "alpha": self.alpha}


class PReLU(Layer):
    """Keras's ``PReLU``: ``relu(X) - alpha * relu(-X)`` with ``alpha`` trained, one per input
    entry, shared along ``shared_axes`` (1-based, as Keras: ``(1, 2)`` for one per channel of
    images). ``alpha`` starts at ``alpha_initializer`` (zeros: a ReLU)."""

    supports_masking = True  # the output keeps the input's mask (Keras)

    independent_rows = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None):  # fmt: skip
        if alpha_constraint is not None:
            raise ValueError(f"alpha_constraint: expected None; got {alpha_constraint!r}")
        self.alpha_initializer = initializers.get(alpha_initializer, "alpha_initializer")
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        axes = (shared_axes,) if isinstance(shared_axes, int) else shared_axes
        if axes is not None and not all(isinstance(a, int) and a >= 1 for a in axes):
            raise ValueError(
                f"shared_axes: expected axes counted from 1 (the batch axis is 0); "
                f"got {shared_axes!r}"
            )
        self.shared_axes = None if axes is None else tuple(axes)

    def params(self, input_shape: tuple) -> list[Param]:
        shape = list(input_shape)
        for axis in self.shared_axes or ():
            if axis > len(shape):
                raise ValueError(
                    f"shared_axes: expected axes of inputs of per-example shape "
                    f"{tuple(input_shape)}; got {self.shared_axes}"
                )
            shape[axis - 1] = 1
        return [Param("alpha", tuple(shape), self.alpha_initializer, "alpha")]

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        negative = xp.minimum(X, 0.0)  # -relu(-X)
        return xp.maximum(X, 0.0) + weights[0] * negative, (X, negative)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        X, negative = cache
        axes = (0, *(self.shared_axes or ()))
        dalpha = xp.sum(dY * negative, axis=axes, keepdims=True)[0, ...]
        if not ctx.need_dX:
            return None, (dalpha,)
        below = xp.astype(X < 0, dY.dtype)
        return dY * (xp.astype(X > 0, dY.dtype) + weights[0] * below), (dalpha,)

    @property
    def penalized(self) -> bool:
        return self.alpha_regularizer is not None

    def penalty(self, xp, weights):
        value, grad = self.alpha_regularizer.penalty(xp, weights[0])
        return value, (grad,)

    def get_config(self) -> dict:
        return {
            "class": "PReLU",
            "alpha_initializer": initializers.name_of(self.alpha_initializer),
            "alpha_regularizer": (
                None if self.alpha_regularizer is None else self.alpha_regularizer.get_config()
            ),
            "shared_axes": None if self.shared_axes is None else list(self.shared_axes),
        }
