"""Pooling (Keras semantics, channels last): max and average over windows, and global.

Windows come from ``ops.windows`` as one ``(rows, Ho, Wo, C)`` strided slice per window
entry; the backward sends each entry's delta back through their adjoint. Max pooling pads
with -inf and gives a window's delta to its first largest entry (as torch and TensorFlow);
"same" average pooling divides by the real, unpadded entries of each window (as Keras). The
1-D layers are the 2-D ones on width 1.
"""

from __future__ import annotations

from array_api_compat import device

from ..ops.windows import (
    axis_windows,
    out_size,
    same_counts,
    spread,
    stack_taps,
    stacked_taps_adjoint,
    tap_slices,
)
from ..validation import check_choice
from .base import TRAINING, Context, Layer
from .conv import PADDINGS, check_unsupported, pair


class _Pooling2D(Layer):
    """Shared by max and average pooling over ``(rows, H, W, C)``."""

    independent_rows = True

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", data_format=None):
        check_unsupported(data_format, 1)
        self.pool_size = self._tuple(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else self._tuple(strides, "strides")
        self.padding = check_choice(padding, "padding", PADDINGS)

    def _tuple(self, value, argument):
        return pair(value, argument)

    def _as_2d(self, shape):
        return tuple(shape)

    def _from_2d(self, shape):
        return tuple(shape)

    def _plan(self, shape):
        if len(shape) != 3:
            raise ValueError(
                f"{type(self).__name__}: expected inputs of shape (rows, H, W, channels); "
                f"got per-example shape {tuple(shape)}"
            )
        try:
            return tuple(
                axis_windows(n, k, s, 1, self.padding)
                for n, k, s in zip(shape[:2], self.pool_size, self.strides)
            )
        except ValueError as err:
            raise ValueError(f"{type(self).__name__}: {err}") from None

    def output_shape(self, input_shape: tuple) -> tuple:
        shape = self._as_2d(input_shape)
        rows, cols = self._plan(shape)
        return self._from_2d((out_size(rows), out_size(cols), shape[2]))

    def memory(self, input_shape: tuple) -> int:
        shape = self._as_2d(input_shape)
        rows, cols = self._plan(shape)
        return rows.out * cols.out * shape[2] * (3 + rows.size * cols.size)

    def _taps(self, xp, X, value):
        """``(per window entry (N, Ho, Wo, C), plan)`` of ``X``, padded with ``value``."""
        X4 = xp.reshape(X, (X.shape[0], *self._as_2d(tuple(X.shape[1:]))))
        plan = self._plan(tuple(X4.shape[1:]))
        return tap_slices(xp, X4, *plan, value), plan

    def _back(self, xp, dT, plan, in_shape):
        """A delta per window entry (laid out as ``stack_taps``) back to the input."""
        return xp.reshape(stacked_taps_adjoint(xp, dT, *plan), in_shape)

    def _out(self, xp, Y):
        return xp.reshape(Y, (Y.shape[0], *self._from_2d(tuple(Y.shape[1:]))))

    def _delta_2d(self, xp, dY, plan, shape):
        rows, cols = plan
        return xp.reshape(dY, (shape[0], rows.out, cols.out, shape[-1]))

    def get_config(self) -> dict:
        return {
            "class": type(self).__name__,
            "pool_size": self._saved(self.pool_size),
            "strides": self._saved(self.strides),
            "padding": self.padding,
        }

    def _saved(self, value):
        return list(value)

    def __repr__(self) -> str:
        size, strides = tuple(self._saved(self.pool_size)), tuple(self._saved(self.strides))
        extra = "" if strides == size else f", strides={strides}"
        extra += "" if self.padding == "valid" else f", padding={self.padding!r}"
        return f"{type(self).__name__}({size}{extra})"


class MaxPooling2D(_Pooling2D):
    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        taps, plan = self._taps(xp, X, -float("inf"))
        Y = taps[0]
        for entry in taps[1:]:
            Y = xp.maximum(Y, entry)
        chosen, taken = [], xp.zeros(Y.shape, dtype=xp.bool, device=device(Y))
        for entry in taps:  # per entry, where it is its window's first largest
            largest = entry == Y
            chosen.append(xp.logical_and(largest, xp.logical_not(taken)))
            taken = xp.logical_or(taken, largest)
        return self._out(xp, Y), (stack_taps(xp, chosen, *plan), plan, tuple(X.shape))

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        chosen, plan, in_shape = cache
        dY = spread(self._delta_2d(xp, dY, plan, in_shape), *plan)
        return self._back(xp, xp.astype(chosen, dY.dtype) * dY, plan, in_shape), ()


class AveragePooling2D(_Pooling2D):
    def _counts(self, xp, plan, like):
        """Real entries per window, ``(1, Ho, Wo, 1)`` ("same" divides by these)."""
        rows, cols = plan
        if self.padding == "valid":
            return float(rows.size * cols.size)
        counts = xp.asarray(same_counts(rows, cols), dtype=like.dtype, device=device(like))
        return xp.reshape(counts, (1, rows.out, cols.out, 1))

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        taps, plan = self._taps(xp, X, 0.0)
        Y = taps[0]
        for entry in taps[1:]:
            Y = Y + entry
        return self._out(xp, Y / self._counts(xp, plan, Y)), (plan, tuple(X.shape))

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        plan, in_shape = cache
        dY = self._delta_2d(xp, dY, plan, in_shape) / self._counts(xp, plan, dY)
        taps = [dY] * (plan[0].size * plan[1].size)
        return self._back(xp, stack_taps(xp, taps, *plan), plan, in_shape), ()


class _Pooling1D:
    """Mixin: the 2-D pooling on ``(rows, steps, 1, channels)``."""

    def _tuple(self, value, argument):
        if isinstance(value, (tuple, list)) and len(value) == 1:
            value = value[0]
        return (pair(value, argument)[0], 1)

    def _as_2d(self, shape):
        if len(shape) != 2:
            raise ValueError(
                f"{type(self).__name__}: expected inputs of shape (rows, steps, channels); "
                f"got per-example shape {tuple(shape)}"
            )
        return (shape[0], 1, shape[1])

    def _from_2d(self, shape):
        return (shape[0], shape[2])

    def _saved(self, value):
        return [value[0]]


class MaxPooling1D(_Pooling1D, MaxPooling2D):
    pass


class AveragePooling1D(_Pooling1D, AveragePooling2D):
    pass


class _GlobalPooling2D(Layer):
    """Over ``(rows, H, W, C)`` to ``(rows, C)``."""

    independent_rows = True

    def __init__(self, data_format=None, keepdims: bool = False):
        check_unsupported(data_format, 1)
        if keepdims:
            raise ValueError(f"keepdims: expected False (not supported); got {keepdims!r}")

    def output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__}: expected inputs of shape (rows, H, W, channels); "
                f"got per-example shape {tuple(input_shape)}"
            )
        return (input_shape[2],)

    def get_config(self) -> dict:
        return {"class": type(self).__name__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class GlobalAveragePooling2D(_GlobalPooling2D):
    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return xp.mean(X, axis=(1, 2)), tuple(X.shape)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        n, h, w, c = cache
        return xp.broadcast_to(dY[:, None, None, :] / (h * w), cache), ()


class GlobalMaxPooling2D(_GlobalPooling2D):
    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        n, h, w, c = X.shape
        flat = xp.reshape(X, (n, h * w, c))
        return xp.max(flat, axis=1), (xp.argmax(flat, axis=1), tuple(X.shape))

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        first, (n, h, w, c) = cache
        positions = xp.reshape(xp.arange(h * w, device=device(dY)), (1, h * w, 1))
        chosen = xp.astype(positions == first[:, None, :], dY.dtype)
        return xp.reshape(chosen * dY[:, None, :], (n, h, w, c)), ()


class _GlobalPooling1D:
    """Mixin: the 2-D global pooling on ``(rows, steps, 1, channels)``."""

    def output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__}: expected inputs of shape (rows, steps, channels); "
                f"got per-example shape {tuple(input_shape)}"
            )
        return (input_shape[1],)

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        n, steps, c = X.shape
        return super().forward(xp, weights, xp.reshape(X, (n, steps, 1, c)), ctx)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        dX, grads = super().backward(xp, weights, cache, dY, ctx)
        return (None if dX is None else xp.reshape(dX, (dX.shape[0], dX.shape[1], -1))), grads


class GlobalAveragePooling1D(_GlobalPooling1D, GlobalAveragePooling2D):
    """The mean over the steps: ``(rows, steps, channels)`` to ``(rows, channels)``; with a
    mask (Embedding's ``mask_zero``, Masking), the mean over the steps it marks used, as
    Keras (a row with none gives zeros, where Keras divides 0 by 0)."""

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        if ctx.mask is None:
            return xp.mean(X, axis=1), (X.shape, None)
        used = ctx.mask[..., None]  # (rows, steps, 1)
        count = xp.clip(xp.sum(xp.astype(used, X.dtype), axis=1), min=1.0)  # (rows, 1)
        share = xp.astype(used, X.dtype) / count[:, None, :]
        return xp.sum(xp.where(used, X, xp.zeros_like(X)), axis=1) / count, (X.shape, share)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        shape, share = cache
        if share is None:
            return xp.broadcast_to(dY[:, None, :] / shape[1], shape), ()
        return dY[:, None, :] * share, ()


class GlobalMaxPooling1D(_GlobalPooling1D, GlobalMaxPooling2D):
    """The largest over the steps (its delta to the first largest)."""
