"""Dense layer: ``Y = act(X @ W + b)`` over the last axis, its hand-written backward beside it."""

from __future__ import annotations

from .. import activations, initializers, regularizers
from ..validation import check_count, check_flag
from .base import TRAINING, Context, Layer, Param


class Dense(Layer):
    """A fully connected layer. ``W`` has shape (inputs, units), ``b`` shape (units,).

    Inputs of any rank ``(rows, ..., inputs)``: the product is over the last axis, as Keras.
    """

    independent_rows = True

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
    ):
        self.units = check_count(units, "units", minimum=1)
        self.activation = activations.get(activation)
        self.use_bias = check_flag(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)

    def output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.units)

    def params(self, input_shape: tuple) -> list[Param]:
        kernel = Param("kernel", (input_shape[-1], self.units), self.kernel_initializer, "W")
        if not self.use_bias:
            return [kernel]
        return [kernel, Param("bias", (self.units,), self.bias_initializer, "b")]

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        Z = xp.matmul(X, weights[0])
        if self.use_bias:
            Z = Z + weights[1]
        A = self.activation.forward(xp, Z)
        return A, (X, Z, A)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        _, Z, A = cache
        dZ = self.activation.backward(xp, Z, A, dY)
        return self.backward_from_preactivation(xp, weights, cache, dZ, ctx)

    def pre_activation(self, cache):
        return cache[1], cache[2]

    def backward_from_preactivation(self, xp, weights, cache, dZ, ctx: Context = TRAINING):
        X = cache[0]
        if X.ndim == 2:
            grads = (xp.matmul(X.mT, dZ),)
        else:  # every leading axis is a batch axis of the product
            flat_X = xp.reshape(X, (-1, X.shape[-1]))
            grads = (xp.matmul(flat_X.mT, xp.reshape(dZ, (-1, self.units))),)
        if self.use_bias:
            bias_axes = tuple(range(dZ.ndim - 1))
            grads = (*grads, xp.sum(dZ, axis=bias_axes[0] if len(bias_axes) == 1 else bias_axes))
        dX = xp.matmul(dZ, weights[0].mT) if ctx.need_dX else None
        return dX, grads

    @property
    def penalized(self) -> bool:
        return self.kernel_regularizer is not None

    def penalty(self, xp, weights):
        """``(value, grads)`` of the kernel regularizer, or None without one."""
        if self.kernel_regularizer is None:
            return None
        value, dW = self.kernel_regularizer.penalty(xp, weights[0])
        grads = (dW, xp.zeros_like(weights[1])) if self.use_bias else (dW,)
        return value, grads

    def check_differentiable(self, index: int) -> None:
        if not self.activation.trainable:
            raise ValueError(
                f"activation: layer {index} uses {self.activation.name!r}, which has no "
                "derivative; expected a trainable activation (relu, sigmoid, tanh, ...)"
            )

    def get_config(self) -> dict:
        regularizer = self.kernel_regularizer
        return {
            "class": "Dense",
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.name_of(self.kernel_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
            "kernel_regularizer": regularizer.get_config() if regularizer else None,
        }

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.name!r}, use_bias={self.use_bias})"
