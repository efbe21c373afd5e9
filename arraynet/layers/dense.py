"""Dense layer: ``Y = act(X @ W + b)`` over the last axis, its hand-written backward beside it."""

from __future__ import annotations

from .. import activations, initializers, regularizers
from ..validation import check_count, check_flag
from .base import TRAINING, Context, Layer, Param


class Dense(Layer):
    """A fully connected layer. ``W`` has shape (inputs, units), ``b`` shape (units,).

    Inputs of any rank ``(rows, ..., inputs)``: the product is over the last axis, as Keras.
    Regularizers as Keras: ``kernel_regularizer`` and ``bias_regularizer`` penalize the
    weights; ``activity_regularizer`` penalizes the output ``Y``, its value divided by the
    batch's rows (Keras 3), its gradient added to the delta arriving at ``Y``.
    """

    supports_masking = True  # the output keeps the input's mask (Keras)

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
    ):
        self.units = check_count(units, "units", minimum=1)
        self.activation = activations.get(activation)
        self.use_bias = check_flag(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer, "bias_regularizer")
        self.activity_regularizer = regularizers.get(activity_regularizer, "activity_regularizer")

    @property
    def independent_rows(self) -> bool:
        """Each row's output depends on that row alone; not so for the activity penalty,
        taken over the batch (and divided by its rows)."""
        return self.activity_regularizer is None

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
        if self.activity_regularizer is not None:  # its delta at Y, taken back to Z
            _, Z, A = cache
            dZ = dZ + self.activation.backward(xp, Z, A, self._activity_delta(xp, A))
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
        return self.kernel_regularizer is not None or (
            self.use_bias and self.bias_regularizer is not None
        )

    def penalty(self, xp, weights):
        """``(value, grads)`` of the kernel and bias regularizers, or None without one."""
        if not self.penalized:
            return None
        value, grads = 0.0, []
        regularized = (self.kernel_regularizer, self.bias_regularizer)[: len(weights)]
        for regularizer, w in zip(regularized, weights):
            if regularizer is None:
                grads.append(xp.zeros_like(w))
            else:
                v, g = regularizer.penalty(xp, w)
                value, grads = value + v, [*grads, g]
        return value, tuple(grads)

    @property
    def activity_penalized(self) -> bool:
        return self.activity_regularizer is not None

    def activity_penalty(self, xp, cache):
        """The activity regularizer's value on this call's output, over its rows."""
        A = cache[2]
        return self.activity_regularizer.penalty(xp, A)[0] / A.shape[0]

    def _activity_delta(self, xp, A):
        return self.activity_regularizer.penalty(xp, A)[1] / A.shape[0]

    def check_differentiable(self, index: int) -> None:
        if not self.activation.trainable:
            raise ValueError(
                f"activation: layer {index} uses {self.activation.name!r}, which has no "
                "derivative; expected a trainable activation (relu, sigmoid, tanh, ...)"
            )

    def get_config(self) -> dict:
        def saved(regularizer):
            return regularizer.get_config() if regularizer else None

        return {
            "class": "Dense",
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.name_of(self.kernel_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
            "kernel_regularizer": saved(self.kernel_regularizer),
            "bias_regularizer": saved(self.bias_regularizer),
            "activity_regularizer": saved(self.activity_regularizer),
        }

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.name!r}, use_bias={self.use_bias})"
