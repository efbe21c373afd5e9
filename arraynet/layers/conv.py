"""Conv2D and Conv1D (Keras semantics, channels last), written with window gathers.

Forward: the input's windows (``ops.windows``) as rows ``(N * Ho * Wo, kh * kw * C)``,
multiplied by the kernel ``(kh, kw, C, filters)`` seen as ``(kh * kw * C, filters)``.
Backward: the kernel's gradient is the windows' transpose times the delta; the input's
delta is the delta times the kernel's transpose, sent back through the windows' adjoint.
The window buffer is kept for backward: ``kh * kw`` times the input.
"""

from __future__ import annotations

from .. import activations, initializers, regularizers
from ..ops.sums import sum_rows
from ..ops.windows import axis_windows, conv_input_delta, conv_windows, out_size, pad_axis
from ..validation import check_choice, check_count, check_flag
from .base import TRAINING, Context, Layer, Param

PADDINGS = ("valid", "same")


def pair(value, argument: str) -> tuple[int, int]:
    """An int or a pair of ints >= 1, as a pair."""
    values = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(values, (tuple, list)) or len(values) != 2:
        raise ValueError(f"{argument}: expected an int or a pair of ints; got {value!r}")
    return tuple(check_count(v, argument, minimum=1) for v in values)


def check_unsupported(data_format, groups) -> None:
    """Refuse the Keras options arraynet does not have, naming them."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"data_format: expected 'channels_last' (arraynet is channels-last, NHWC); "
            f"got {data_format!r}"
        )
    if groups != 1:
        raise ValueError(
            f"groups: expected 1 (grouped convolutions are not supported); got {groups!r}"
        )


class Conv2D(Layer):
    """2-D convolution over ``(rows, H, W, C)``: kernel ``(kh, kw, C, filters)``, bias
    ``(filters,)``; output ``(rows, Ho, Wo, filters)``."""

    independent_rows = True

    rank = 2
    paddings = PADDINGS

    @property
    def window_padding(self) -> str:
        """The padding of the windows themselves (Conv1D's "causal" pads its input)."""
        return self.padding

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 dilation_rate=1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, data_format=None,
                 groups: int = 1):  # fmt: skip
        check_unsupported(data_format, groups)
        self.filters = check_count(filters, "filters", minimum=1)
        self.kernel_size = self._tuple(kernel_size, "kernel_size")
        self.strides = self._tuple(strides, "strides")
        self.padding = check_choice(padding, "padding", self.paddings)
        self.dilation_rate = self._tuple(dilation_rate, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"strides: expected 1 with dilation_rate {self.dilation_rate} (as Keras); "
                f"got {self.strides}"
            )
        self.activation = activations.get(activation)
        self.use_bias = check_flag(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def _tuple(self, value, argument):
        return pair(value, argument)

    # -- shapes ------------------------------------------------------------------------

    def _plan(self, input_shape):
        """The row and column windows for ``(H, W, C)`` inputs."""
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__}: expected inputs of shape (rows, H, W, channels); "
                f"got per-example shape {tuple(input_shape)}"
            )
        try:
            return tuple(
                axis_windows(n, k, s, d, self.window_padding)
                for n, k, s, d in zip(
                    input_shape[:2], self.kernel_size, self.strides, self.dilation_rate
                )
            )
        except ValueError as err:
            raise ValueError(f"{type(self).__name__}: {err}") from None

    def output_shape(self, input_shape: tuple) -> tuple:
        rows, cols = self._plan(self._as_2d(input_shape))
        return self._from_2d((out_size(rows), out_size(cols), self.filters))

    def params(self, input_shape: tuple) -> list[Param]:
        channels = input_shape[-1]
        kernel = Param("kernel", self._kernel_shape(channels), self.kernel_initializer, "W")
        if not self.use_bias:
            return [kernel]
        return [kernel, Param("bias", (self.filters,), self.bias_initializer, "b")]

    def _kernel_shape(self, channels: int) -> tuple:
        return (*self.kernel_size, channels, self.filters)

    def memory(self, input_shape: tuple) -> int:
        """Entries per example held for backward: the window buffer and the outputs."""
        rows, cols = self._plan(self._as_2d(input_shape))
        windows = rows.out * cols.out * rows.size * cols.size * input_shape[-1]  # the buffer
        return windows + 3 * rows.out * cols.out * self.filters

    # 1-D convolutions reuse the 2-D math on (rows, steps, 1, channels)
    def _as_2d(self, shape):
        return tuple(shape)

    def _from_2d(self, shape):
        return tuple(shape)

    # -- math --------------------------------------------------------------------------

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        X4, K = self._input_2d(xp, X), self._kernel_2d(xp, weights[0])
        rows, cols = self._plan(tuple(X4.shape[1:]))
        n, (kh, kw, c, f) = X4.shape[0], K.shape
        flat = conv_windows(xp, X4, rows, cols)
        Z = xp.reshape(xp.matmul(flat, xp.reshape(K, (kh * kw * c, f))), (n, rows.out, cols.out, f))
        if self.use_bias:
            Z = Z + weights[1]
        Z = self._output(xp, Z)
        A = self.activation.forward(xp, Z)
        return A, (flat, Z, A, tuple(X4.shape))

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        _, Z, A, _ = cache
        return self.backward_from_preactivation(
            xp, weights, cache, self.activation.backward(xp, Z, A, dY), ctx
        )

    def pre_activation(self, cache):
        return cache[1], cache[2]

    def backward_from_preactivation(self, xp, weights, cache, dZ, ctx: Context = TRAINING):
        flat, _, _, shape = cache
        K = self._kernel_2d(xp, weights[0])
        kh, kw, c, f = K.shape
        dZ2 = xp.reshape(dZ, (-1, f))
        grads = (xp.reshape(xp.matmul(flat.mT, dZ2), weights[0].shape),)
        if self.use_bias:
            grads = (*grads, sum_rows(xp, dZ2))
        if not ctx.need_dX:
            return None, grads
        return self._input_back(xp, self._input_delta(xp, K, dZ2, shape)), grads

    def _input_delta(self, xp, K, dZ2, shape):
        """The delta ``(rows * Ho * Wo, filters)`` back to the input ``(N, H, W, C)``."""
        (kh, kw, c, f), (rows, cols) = K.shape, self._plan(shape[1:])
        return conv_input_delta(xp, dZ2, xp.reshape(K, (kh * kw * c, f)), shape[0], rows, cols)

    def _input_2d(self, xp, X):
        return X

    def _kernel_2d(self, xp, K):
        return K

    def _output(self, xp, Z):
        return Z

    def _input_back(self, xp, dX):
        return dX

    # -- the rest of the protocol ---------------------------------------------------------

    @property
    def penalized(self) -> bool:
        return self.kernel_regularizer is not None or self.bias_regularizer is not None

    def penalty(self, xp, weights):
        value, grads = 0.0, []
        for i, regularizer in enumerate((self.kernel_regularizer, self.bias_regularizer)):
            if i >= len(weights):
                break
            if regularizer is None:
                grads.append(xp.zeros_like(weights[i]))
                continue
            v, g = regularizer.penalty(xp, weights[i])
            value, grads = value + v, [*grads, g]
        return value, tuple(grads)

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
            "class": type(self).__name__,
            "filters": self.filters,
            "kernel_size": self._saved(self.kernel_size),
            "strides": self._saved(self.strides),
            "padding": self.padding,
            "dilation_rate": self._saved(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.name_of(self.kernel_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
            "kernel_regularizer": saved(self.kernel_regularizer),
            "bias_regularizer": saved(self.bias_regularizer),
        }

    def _saved(self, value):
        return list(value)

    def __repr__(self) -> str:
        size = self._saved(self.kernel_size)
        extra = "".join(
            f", {name}={value!r}"
            for name, value, default in (
                ("strides", self._saved(self.strides), self._saved((1, 1))),
                ("padding", self.padding, "valid"),
                ("dilation_rate", self._saved(self.dilation_rate), self._saved((1, 1))),
                ("activation", self.activation.name, "identity"),
            )
            if value != default
        )
        return f"{type(self).__name__}({self.filters}, {tuple(size)}{extra})"


class Conv1D(Conv2D):
    """1-D convolution over ``(rows, steps, channels)``: kernel ``(k, channels, filters)``;
    computed as a 2-D convolution of height ``steps`` and width 1 (``steps`` may be None:
    any length). ``padding="causal"`` (Keras's): ``dilation * (k - 1)`` zeros before the
    steps, then "valid", so no output sees a later step."""

    rank = 1
    paddings = (*PADDINGS, "causal")

    @property
    def window_padding(self) -> str:
        return "valid" if self.padding == "causal" else self.padding

    @property
    def causal_steps(self) -> int:
        """The zeros a causal convolution puts before the steps."""
        return self.dilation_rate[0] * (self.kernel_size[0] - 1) if self.padding == "causal" else 0

    def _tuple(self, value, argument):
        if isinstance(value, (tuple, list)) and len(value) == 1:
            value = value[0]
        return (check_count(value, argument, minimum=1), 1)

    def _as_2d(self, shape):
        if len(shape) != 2:
            raise ValueError(
                f"Conv1D: expected inputs of shape (rows, steps, channels); "
                f"got per-example shape {tuple(shape)}"
            )
        steps = None if shape[0] is None else shape[0] + self.causal_steps
        return (steps, 1, shape[1])

    def _from_2d(self, shape):
        return (shape[0], shape[2])

    def _kernel_shape(self, channels: int) -> tuple:
        return (self.kernel_size[0], channels, self.filters)

    def _input_2d(self, xp, X):
        X = pad_axis(xp, X, 1, self.causal_steps, 0)
        return xp.reshape(X, (X.shape[0], X.shape[1], 1, X.shape[2]))

    def _kernel_2d(self, xp, K):
        return xp.reshape(K, (K.shape[0], 1, K.shape[1], K.shape[2]))

    def _output(self, xp, Z):
        return xp.reshape(Z, (Z.shape[0], Z.shape[1], Z.shape[3]))

    def _input_back(self, xp, dX):
        dX = xp.reshape(dX, (dX.shape[0], dX.shape[1], dX.shape[3]))
        return dX[:, self.causal_steps :, :]

    def _saved(self, value):
        return [value[0]]
