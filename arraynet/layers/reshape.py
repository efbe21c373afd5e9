"""Flatten, Reshape and RepeatVector (Keras semantics): the numbers in another shape.

Row-major (C order) as Keras; the backward reshapes the delta back (RepeatVector's sums
its copies). No weights.
"""

from __future__ import annotations

import math

from ..validation import check_count, product
from .base import TRAINING, Context, Layer


class Flatten(Layer):
    """``(rows, d1, d2, ...)`` to ``(rows, d1 * d2 * ...)``."""

    independent_rows = True

    def output_shape(self, input_shape: tuple) -> tuple:
        return (product(input_shape),)

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return xp.reshape(X, (X.shape[0], -1)), X.shape

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return (xp.reshape(dY, cache) if ctx.need_dX else None), ()

    def get_config(self) -> dict:
        return {"class": "Flatten"}

    def __repr__(self) -> str:
        return "Flatten()"


class Reshape(Layer):
    """Each example to ``target_shape`` (one entry may be -1: inferred, as in Keras)."""

    independent_rows = True

    def __init__(self, target_shape):
        if isinstance(target_shape, int) and not isinstance(target_shape, bool):
            target_shape = (target_shape,)
        valid = isinstance(target_shape, (tuple, list)) and all(
            isinstance(d, int) and not isinstance(d, bool) and (d >= 1 or d == -1)
            for d in target_shape
        )
        if not valid or list(target_shape).count(-1) > 1 or not target_shape:
            raise ValueError(
                "target_shape: expected a tuple of positive integers, at most one -1; "
                f"got {target_shape!r}"
            )
        self.target_shape = tuple(target_shape)

    def output_shape(self, input_shape: tuple) -> tuple:
        size, known = product(input_shape), math.prod(d for d in self.target_shape if d != -1)
        if size is None:  # an axis of any size: checked on the data
            return tuple(None if d == -1 else d for d in self.target_shape)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(self._mismatch(input_shape))
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(self._mismatch(input_shape))
        return self.target_shape

    def _mismatch(self, input_shape) -> str:
        return (
            f"Reshape: expected an input of {math.prod(d for d in self.target_shape if d != -1)}"
            f" entries per example (or a multiple, with -1) for target_shape "
            f"{self.target_shape}; got input shape {tuple(input_shape)}"
        )

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return xp.reshape(X, (X.shape[0], *self.target_shape)), X.shape

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return (xp.reshape(dY, cache) if ctx.need_dX else None), ()

    def get_config(self) -> dict:
        return {"class": "Reshape", "target_shape": list(self.target_shape)}

    def __repr__(self) -> str:
        return f"Reshape({self.target_shape})"


class RepeatVector(Layer):
    """``(rows, features)`` to ``(rows, n, features)``: each row repeated ``n`` times (as
    Keras's encoder-decoder feeds a code to every decoder step); the delta sums the copies."""

    independent_rows = True

    def __init__(self, n: int):
        self.n = check_count(n, "n", minimum=1)

    def output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 1:
            raise ValueError(
                f"RepeatVector: expected inputs of shape (rows, features); got per-example "
                f"shape {tuple(input_shape)}"
            )
        return (self.n, input_shape[0])

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return xp.broadcast_to(X[:, None, :], (X.shape[0], self.n, X.shape[1])), ()

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return (xp.sum(dY, axis=1) if ctx.need_dX else None), ()

    def get_config(self) -> dict:
        return {"class": "RepeatVector", "n": self.n}


class Permute(Layer):
    """Each example's axes permuted by ``dims`` (1-based, the batch axis stays first, as
    Keras); the delta goes back by the inverse permutation."""

    independent_rows = True

    def __init__(self, dims):
        values = tuple(dims) if isinstance(dims, (tuple, list)) else None
        if values is None or sorted(values) != list(range(1, len(values) + 1)):
            raise ValueError(
                f"dims: expected a permutation of 1, ..., rank (1-based axes); got {dims!r}"
            )
        self.dims = values

    def output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != len(self.dims):
            raise ValueError(
                f"Permute: expected inputs of per-example rank {len(self.dims)} for dims "
                f"{self.dims}; got per-example shape {tuple(input_shape)}"
            )
        return tuple(input_shape[d - 1] for d in self.dims)

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return xp.permute_dims(X, (0, *self.dims)), ()

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        inverse = sorted(range(len(self.dims)), key=lambda i: self.dims[i])
        return xp.permute_dims(dY, (0, *(i + 1 for i in inverse))), ()

    def get_config(self) -> dict:
        return {"class": "Permute", "dims": list(self.dims)}

    def __repr__(self) -> str:
        return f"Permute({self.dims})"
