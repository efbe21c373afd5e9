"""Embedding (Keras 3): integer indices to rows of a learned table, and a backward without
scatter.

``X`` holds indices in ``[0, input_dim)``, of any per-example shape; as the data intake
gives the layers float arrays, they come as whole-number floats (exact to 2**24 in
float32) and are rounded to int32 here. ``check_input`` refuses anything else (not whole
numbers, out of range) with a ValueError before any math runs, so a bad index never
changes a weight: the data intake calls it on every ``fit``/``predict``/``evaluate`` input.
(Called directly, ``forward`` itself does no host check: that would cost a read-back, and
under ``jax.jit`` be impossible; a gather out of range is the library's behaviour.)

With ``mask_zero=True`` index 0 is padding: the output carries the mask ``X != 0`` for
the layers after it (a recurrent layer skips those steps; Keras's masking).

The gradient adds up the deltas of repeated indices without a scatter (the standard has
none, and ``at[].add`` differs across libraries on repeats):

- a one-hot product ``onehot(idx)^T @ dY`` (``(V, N) @ (N, d)``), when the one-hot has at
  most ``one_hot_max`` entries (V indices times N looked-up rows): the char-model case;
- otherwise gathers: the indices sorted (``argsort``), the deltas gathered in that order and
  summed cumulatively, and each table row's sum the difference of two gathered cumulative
  sums at its run's ends (``searchsorted``): O(N d + V d) memory for any vocabulary. In
  float32 its rounding grows with N (a cumulative sum's, about 1e-7 * sqrt(N) of the delta
  size), far below what a training step notices.
"""

from __future__ import annotations

from array_api_compat import device

from .. import initializers
from ..validation import check_count, check_flag
from .base import TRAINING, Context, Layer, Param


class Embedding(Layer):
    """``Y[..., :] = embeddings[X[...]]``: ``(rows, *shape)`` to ``(rows, *shape, output_dim)``;
    ``embeddings`` of shape ``(input_dim, output_dim)``, Keras's name and layout."""

    one_hot_max = 1 << 22  # entries of the one-hot past which the backward gathers instead
    independent_rows = True

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="random_uniform",
                 mask_zero: bool = False):  # fmt: skip
        self.input_dim = check_count(input_dim, "input_dim", minimum=1)
        self.mask_zero = check_flag(mask_zero, "mask_zero")
        self.output_dim = check_count(output_dim, "output_dim", minimum=1)
        self.embeddings_initializer = initializers.get(
            embeddings_initializer, "embeddings_initializer"
        )

    def output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape, self.output_dim)

    def output_masked(self, input_masked: bool) -> bool:
        return self.mask_zero

    def compute_mask(self, xp, X, mask):
        """With ``mask_zero``, index 0 marks padding: the mask ``X != 0`` (Keras)."""
        return X != 0 if self.mask_zero else None

    def params(self, input_shape: tuple) -> list[Param]:
        shape = (self.input_dim, self.output_dim)
        return [Param("embeddings", shape, self.embeddings_initializer, "E")]

    def check_input(self, xp, X, argument: str = "X") -> None:
        """Whole numbers in ``[0, input_dim)``, or a ValueError saying what was found."""
        low, high = float(xp.min(X)), float(xp.max(X))
        if low < 0 or high >= self.input_dim:
            raise ValueError(
                f"{argument}: expected integer indices in [0, {self.input_dim}) for "
                f"Embedding(input_dim={self.input_dim}); got values from {low:g} to {high:g}"
            )
        if xp.isdtype(X.dtype, "real floating") and not bool(xp.all(xp.round(X) == X)):
            raise ValueError(
                f"{argument}: expected integer indices for Embedding; got values that are "
                "not whole numbers"
            )

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        index = xp.reshape(X, (-1,))
        if not xp.isdtype(index.dtype, "integral"):
            self._check_exact(xp, X.dtype)
            index = xp.round(index)
        index = xp.astype(index, xp.int32)
        rows = xp.take(weights[0], index, axis=0)
        return xp.reshape(rows, (*X.shape, self.output_dim)), (X, index)

    def _check_exact(self, xp, dtype) -> None:
        """Refuse a float dtype that cannot hold every index (mixed precision's 16 bits hold
        whole numbers up to 2048 in float16, 256 in bfloat16): a rounded index would read
        another row without a word. The dtype is known when tracing: no read-back."""
        exact = 2.0 / float(xp.finfo(dtype).eps)
        if self.input_dim - 1 > exact:
            raise ValueError(
                f"Embedding(input_dim={self.input_dim}): its inputs arrive as {dtype}, which "
                f"holds whole numbers only up to {exact:g}; use full precision for this model"
            )

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        X, index = cache
        dY = xp.reshape(dY, (index.shape[0], self.output_dim))
        if index.shape[0] * self.input_dim <= self.one_hot_max:
            table = xp.arange(self.input_dim, dtype=xp.int32, device=device(index))
            one_hot = xp.astype(xp.expand_dims(index, axis=1) == table, dY.dtype)
            grad = xp.matmul(one_hot.mT, dY)
        else:
            grad = self._gathered(xp, index, dY)
        # the indices have no derivative: zero, as central differences of a rounding see
        return (xp.zeros_like(X) if ctx.need_dX else None), (grad,)

    def _gathered(self, xp, index, dY):
        """Each table row's sum of the deltas at its indices, by sorting and gathers."""
        order = xp.argsort(index, stable=True)
        ordered = xp.take(index, order)
        sums = xp.cumulative_sum(xp.take(dY, order, axis=0), axis=0, include_initial=True)
        table = xp.arange(self.input_dim, dtype=ordered.dtype, device=device(index))
        ends = xp.searchsorted(ordered, table, side="right")
        starts = xp.searchsorted(ordered, table, side="left")
        return xp.take(sums, ends, axis=0) - xp.take(sums, starts, axis=0)

    def get_config(self) -> dict:
        return {
            "class": "Embedding",
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.name_of(self.embeddings_initializer),
            "mask_zero": self.mask_zero,
        }

    def __repr__(self) -> str:
        extra = ", mask_zero=True" if self.mask_zero else ""
        return f"Embedding({self.input_dim}, {self.output_dim}{extra})"
