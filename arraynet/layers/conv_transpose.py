"""Conv2DTranspose (Keras semantics, channels last): the adjoint of a Conv2D.

``Conv2DTranspose(filters, kernel_size, strides, padding)`` maps ``(rows, H, W, C)`` to
``(rows, Ho, Wo, filters)`` as the input delta of the Conv2D that maps ``(Ho, Wo,
filters)`` to ``(H, W, C)`` with the same kernel, strides and padding (TensorFlow's and
Keras's definition): ``Ho = H * s`` with "same", ``H * s + max(k - s, 0)`` with "valid".
Keras's kernel is ``(kh, kw, filters, C)``, that Conv2D's own layout, so the forward pass is
``ops.windows.conv_input_delta`` and the backward pass the Conv2D's forward windows: the
input's delta is the output delta's windows times the kernel, the kernel's gradient their
transpose times the input.
"""

from __future__ import annotations

from ..ops.sums import sum_rows
from ..ops.windows import axis_windows, conv_input_delta, conv_windows
from .base import TRAINING, Context
from .conv import Conv2D


def transposed_length(n, size: int, stride: int, padding: str):
    """Keras's output length of a transposed convolution (None for an axis of any size)."""
    if n is None:
        return None
    return n * stride + (max(size - stride, 0) if padding == "valid" else 0)


class Conv2DTranspose(Conv2D):
    """Transposed 2-D convolution: kernel ``(kh, kw, filters, C)``, bias ``(filters,)``."""

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 output_padding=None, data_format=None, dilation_rate=1,
                 **kwargs):  # fmt: skip
        if output_padding is not None:
            raise ValueError(
                f"output_padding: expected None (Keras's default; other output lengths are "
                f"not supported); got {output_padding!r}"
            )
        super().__init__(
            filters,
            kernel_size,
            strides,
            padding,
            dilation_rate,
            data_format=data_format,
            **kwargs,
        )
        if max(self.dilation_rate) > 1:
            raise ValueError(
                f"dilation_rate: expected 1 for Conv2DTranspose; got {self.dilation_rate}"
            )

    def _kernel_shape(self, channels: int) -> tuple:
        return (*self.kernel_size, self.filters, channels)

    def _out_sizes(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3:
            raise ValueError(
                f"Conv2DTranspose: expected inputs of shape (rows, H, W, channels); got "
                f"per-example shape {tuple(input_shape)}"
            )
        return tuple(
            transposed_length(n, k, s, self.padding)
            for n, k, s in zip(input_shape[:2], self.kernel_size, self.strides)
        )

    def _adjoint_plan(self, input_shape: tuple):
        """The row and column windows of the Conv2D this layer is the adjoint of."""
        return tuple(
            axis_windows(n, k, s, 1, self.padding)
            for n, k, s in zip(self._out_sizes(input_shape), self.kernel_size, self.strides)
        )

    def output_shape(self, input_shape: tuple) -> tuple:
        return (*self._out_sizes(input_shape), self.filters)

    def memory(self, input_shape: tuple) -> int:
        height, width = self._out_sizes(input_shape)  # outputs, and the input kept
        return 3 * height * width * self.filters + input_shape[0] * input_shape[1] * input_shape[2]

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        (kh, kw, f, c), n = weights[0].shape, X.shape[0]
        rows, cols = self._adjoint_plan(tuple(X.shape[1:]))
        flat = xp.reshape(X, (-1, c))
        Z = conv_input_delta(xp, flat, xp.reshape(weights[0], (kh * kw * f, c)), n, rows, cols)
        if self.use_bias:
            Z = Z + weights[1]
        A = self.activation.forward(xp, Z)
        return A, (flat, Z, A, tuple(X.shape))

    def backward_from_preactivation(self, xp, weights, cache, dZ, ctx: Context = TRAINING):
        flat, _, _, shape = cache
        (kh, kw, f, c), K = weights[0].shape, weights[0]
        rows, cols = self._adjoint_plan(shape[1:])
        windows = conv_windows(xp, dZ, rows, cols)  # (rows * H * W, kh * kw * filters)
        grads = (xp.reshape(xp.matmul(windows.mT, flat), K.shape),)
        if self.use_bias:
            grads = (*grads, sum_rows(xp, xp.reshape(dZ, (-1, f))))
        if not ctx.need_dX:
            return None, grads
        dX = xp.matmul(windows, xp.reshape(K, (kh * kw * f, c)))
        return xp.reshape(dX, shape), grads

    def get_config(self) -> dict:
        config = super().get_config()
        return {**config, "class": "Conv2DTranspose", "output_padding": None}
