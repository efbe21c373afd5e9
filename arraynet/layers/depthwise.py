"""DepthwiseConv2D and SeparableConv2D (Keras semantics, channels last).

A depthwise convolution convolves each input channel with ``depth_multiplier`` kernels of
its own: kernel ``(kh, kw, C, m)``, output channel ``c * m + j`` from channel ``c`` and its
``j``-th kernel (TensorFlow's and Keras's order), bias ``(C * m,)``. Written with the same
windows as Conv2D (``ops.windows``): the windows ``(M, kh * kw, C)`` (``M`` output
positions) are multiplied channel by channel, as one product batched over the channels,
``(C, M, kh * kw) @ (C, kh * kw, m)``; backward is the two transposed products and the
windows' adjoint.

A separable convolution is a depthwise one (no bias) then a 1x1 convolution: Keras's
weights ``[depthwise_kernel (kh, kw, C, m), pointwise_kernel (1, 1, C * m, filters),
bias (filters,)]``.
"""

from __future__ import annotations

from .. import activations, initializers, regularizers
from ..ops.sums import sum_rows
from ..ops.windows import conv_windows, conv_windows_adjoint, out_size
from ..validation import check_count
from .base import TRAINING, Context, Param
from .conv import Conv2D


class DepthwiseConv2D(Conv2D):
    """Depthwise 2-D convolution over ``(rows, H, W, C)`` to ``(rows, Ho, Wo, C * m)``."""

    def __init__(self, kernel_size, strides=1, padding: str = "valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None):  # fmt: skip
        super().__init__(1, kernel_size, strides, padding, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, data_format)  # fmt: skip
        self.depth_multiplier = check_count(depth_multiplier, "depth_multiplier", minimum=1)

    def output_shape(self, input_shape: tuple) -> tuple:
        rows, cols = self._plan(tuple(input_shape))
        return (out_size(rows), out_size(cols), self._channels(input_shape))

    def _channels(self, input_shape) -> int:
        return input_shape[-1] * self.depth_multiplier

    def params(self, input_shape: tuple) -> list[Param]:
        shape = (*self.kernel_size, input_shape[-1], self.depth_multiplier)
        params = [Param("depthwise_kernel", shape, self.kernel_initializer, "W")]
        if self.use_bias:
            params.append(Param("bias", (self._channels(input_shape),), self.bias_initializer,
                                "b"))  # fmt: skip
        return params

    def memory(self, input_shape: tuple) -> int:
        rows, cols = self._plan(tuple(input_shape))
        positions = rows.out * cols.out
        return positions * (
            rows.size * cols.size * input_shape[-1] + 3 * self._channels(input_shape)
        )

    # -- math --------------------------------------------------------------------------

    def _depthwise(self, xp, K, X):
        """``(windows by channel (C, M, taps), the output rows (M, C * m))``."""
        rows, cols = self._plan(tuple(X.shape[1:]))
        kh, kw, c, m = K.shape
        flat = conv_windows(xp, X, rows, cols)  # (M, taps * C)
        G = xp.permute_dims(xp.reshape(flat, (flat.shape[0], kh * kw, c)), (2, 0, 1))
        D = xp.matmul(G, xp.permute_dims(xp.reshape(K, (kh * kw, c, m)), (1, 0, 2)))
        return G, xp.reshape(xp.permute_dims(D, (1, 0, 2)), (flat.shape[0], c * m))

    def _depthwise_back(self, xp, K, G, dD, shape, need_dX: bool):
        """``(dK, dX)`` from the delta ``dD`` (M, C * m) at the depthwise output."""
        kh, kw, c, m = K.shape
        dD = xp.permute_dims(xp.reshape(dD, (dD.shape[0], c, m)), (1, 0, 2))  # (C, M, m)
        dK = xp.matmul(xp.matrix_transpose(G), dD)  # (C, taps, m)
        dK = xp.reshape(xp.permute_dims(dK, (1, 0, 2)), K.shape)
        if not need_dX:
            return dK, None
        Kc = xp.permute_dims(xp.reshape(K, (kh * kw, c, m)), (1, 0, 2))  # (C, taps, m)
        dG = xp.matmul(dD, xp.matrix_transpose(Kc))  # (C, M, taps)
        dflat = xp.reshape(xp.permute_dims(dG, (1, 2, 0)), (dG.shape[1], kh * kw * c))
        rows, cols = self._plan(tuple(shape[1:]))
        return dK, conv_windows_adjoint(xp, dflat, shape[0], rows, cols)

    def _pre_activation(self, xp, weights, G, D):
        return D + weights[1] if self.use_bias else D

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        G, D = self._depthwise(xp, weights[0], X)
        Z2 = self._pre_activation(xp, weights, G, D)
        rows, cols = self._plan(tuple(X.shape[1:]))
        Z = xp.reshape(Z2, (X.shape[0], rows.out, cols.out, Z2.shape[-1]))
        A = self.activation.forward(xp, Z)
        return A, ((G, D), Z, A, tuple(X.shape))

    def backward_from_preactivation(self, xp, weights, cache, dZ, ctx: Context = TRAINING):
        (G, _), _, _, shape = cache
        dZ2 = xp.reshape(dZ, (-1, dZ.shape[-1]))
        dK, dX = self._depthwise_back(xp, weights[0], G, dZ2, shape, ctx.need_dX)
        grads = (dK, sum_rows(xp, dZ2)) if self.use_bias else (dK,)
        return dX, grads

    def get_config(self) -> dict:
        return {
            "class": type(self).__name__,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "depth_multiplier": self.depth_multiplier,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.name_of(self.kernel_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
            "depthwise_regularizer": _saved(self.kernel_regularizer),
            "bias_regularizer": _saved(self.bias_regularizer),
        }

    def __repr__(self) -> str:
        m = self.depth_multiplier
        return f"DepthwiseConv2D({tuple(self.kernel_size)}, depth_multiplier={m})"


class SeparableConv2D(DepthwiseConv2D):
    """A depthwise convolution then a 1x1 one to ``filters`` channels (Keras's weights)."""

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format=None, dilation_rate=1, depth_multiplier=1, activation=None,
                 use_bias: bool = True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None):  # fmt: skip
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer)  # fmt: skip
        self.filters = check_count(filters, "filters", minimum=1)
        self.pointwise_initializer = initializers.get(pointwise_initializer,
                                                      "pointwise_initializer")  # fmt: skip
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        if self.pointwise_regularizer is not None:
            raise ValueError("pointwise_regularizer: expected None (not supported); got "
                             f"{pointwise_regularizer!r}")  # fmt: skip

    def _channels(self, input_shape) -> int:
        return self.filters

    def params(self, input_shape: tuple) -> list[Param]:
        depth = input_shape[-1] * self.depth_multiplier
        depthwise = super().params(input_shape)[0]
        pointwise = Param("pointwise_kernel", (1, 1, depth, self.filters),
                          self.pointwise_initializer, "P")  # fmt: skip
        bias = [Param("bias", (self.filters,), self.bias_initializer, "b")] if self.use_bias else []
        return [depthwise, pointwise, *bias]

    def penalty(self, xp, weights):
        value, grads = super().penalty(xp, (weights[0], *weights[2:]))
        return value, (grads[0], xp.zeros_like(weights[1]), *grads[1:])

    def _pre_activation(self, xp, weights, G, D):
        Z = xp.matmul(D, xp.reshape(weights[1], (D.shape[-1], self.filters)))
        return Z + weights[2] if self.use_bias else Z

    def backward_from_preactivation(self, xp, weights, cache, dZ, ctx: Context = TRAINING):
        (G, D), _, _, shape = cache
        dZ2 = xp.reshape(dZ, (-1, self.filters))
        P = xp.reshape(weights[1], (D.shape[-1], self.filters))
        dP = xp.reshape(xp.matmul(D.mT, dZ2), weights[1].shape)
        dK, dX = self._depthwise_back(xp, weights[0], G, xp.matmul(dZ2, P.mT), shape, ctx.need_dX)
        grads = (dK, dP, sum_rows(xp, dZ2)) if self.use_bias else (dK, dP)
        return dX, grads

    def get_config(self) -> dict:
        config = super().get_config()
        config["filters"] = self.filters
        config["pointwise_initializer"] = initializers.name_of(self.pointwise_initializer)
        return config

    def __repr__(self) -> str:
        return f"SeparableConv2D({self.filters}, {tuple(self.kernel_size)})"


def _saved(regularizer):
    return regularizer.get_config() if regularizer else None
