"""Dense layer: ``Y = act(X @ W + b)``, its hand-written backward beside it."""

from __future__ import annotations

from .. import activations, initializers, regularizers
from ..validation import check_count, check_flag


class Dense:
    """A fully connected layer. ``W`` has shape (inputs, units), ``b`` shape (units,)."""

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

    @property
    def param_count(self) -> int:
        return 2 if self.use_bias else 1

    def output_dim(self, input_dim: int) -> int:
        return self.units

    def param_shapes(self, input_dim: int) -> list[tuple[int, ...]]:
        shapes = [(input_dim, self.units)]
        return [*shapes, (self.units,)] if self.use_bias else shapes

    def init(self, rng, input_dim: int) -> list:
        """Initial host (NumPy float64) parameters, drawn from ``rng``."""
        W = self.kernel_initializer(rng, (input_dim, self.units))
        if not self.use_bias:
            return [W]
        return [W, self.bias_initializer(rng, (self.units,))]

    def forward(self, xp, params, X, mask=None):
        """``(A, cache)``: the output and what backward needs."""
        Z = xp.matmul(X, params[0])
        if self.use_bias:
            Z = Z + params[1]
        A = self.activation.forward(xp, Z)
        return A, (X, Z, A)

    def backward(self, xp, params, cache, dA, need_dX=True):
        """``(dX, grads)`` from the delta at the layer's output."""
        _, Z, A = cache
        dZ = self.activation.backward(xp, Z, A, dA)
        return self.backward_linear(xp, params, cache, dZ, need_dX)

    def backward_linear(self, xp, params, cache, dZ, need_dX=True):
        """``(dX, grads)`` from the delta at the pre-activation ``Z``."""
        X = cache[0]
        grads = (xp.matmul(X.mT, dZ),)
        if self.use_bias:
            grads = (*grads, xp.sum(dZ, axis=0))
        dX = xp.matmul(dZ, params[0].mT) if need_dX else None
        return dX, grads

    def penalty(self, xp, params):
        """``(value, grads)`` of the kernel regularizer, or None without one."""
        if self.kernel_regularizer is None:
            return None
        value, dW = self.kernel_regularizer.penalty(xp, params[0])
        grads = (dW, xp.zeros_like(params[1])) if self.use_bias else (dW,)
        return value, grads

    def get_config(self) -> dict:
        regularizer = self.kernel_regularizer
        return {
            "class": "Dense",
            "units": self.units,
            "activation": self.activation.name,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.name_of(self.kernel_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
            "kernel_regularizer": regularizer.get_config() if regularizer else None,
        }

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.name!r}, use_bias={self.use_bias})"
