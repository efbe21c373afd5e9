"""ZeroPadding, Cropping and UpSampling, 1-D and 2-D (Keras semantics, channels last).

Each acts on the spatial axes of ``(rows, steps, channels)`` or ``(rows, H, W, channels)``
with concatenation, slicing, broadcasting and sums only. Backward: padding slices the
delta, cropping zero-pads it back, upsampling sums it over each repeated block. No weights.
"""

from __future__ import annotations

from ..ops.windows import pad_axis
from ..validation import check_count
from .base import TRAINING, Context, Layer
from .conv import check_unsupported, pair

SHAPES = {1: "(rows, steps, channels)", 2: "(rows, H, W, channels)"}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sides(value, argument: str, given=None) -> tuple[int, int]:
    """An int >= 0 (both sides) or a pair ``(before, after)`` of them, as a pair."""
    sides = (value, value) if _is_int(value) else value
    if (
        not isinstance(sides, (tuple, list))
        or len(sides) != 2
        or not all(_is_int(v) and v >= 0 for v in sides)
    ):
        raise ValueError(
            f"{argument}: expected an int >= 0 or a pair of them (before, after); "
            f"got {value if given is None else given!r}"
        )
    return (int(sides[0]), int(sides[1]))


def _sides_2d(value, argument: str) -> tuple:
    """An int (all four sides), ``(rows, cols)`` (each symmetric, or a pair) or
    ``((top, bottom), (left, right))``, as the latter."""
    if _is_int(value):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(
            f"{argument}: expected an int, a pair of ints or a pair of pairs "
            f"((top, bottom), (left, right)); got {value!r}"
        )
    return tuple(_sides(v, argument, value) for v in value)


class _Spatial(Layer):
    """Shared by the six layers: a per-axis rule over ``rank`` spatial axes."""

    independent_rows = True
    rank = 2

    def _checked(self, input_shape) -> tuple:
        if len(input_shape) != self.rank + 1:
            raise ValueError(
                f"{type(self).__name__}: expected inputs of shape {SHAPES[self.rank]}; "
                f"got per-example shape {tuple(input_shape)}"
            )
        return tuple(input_shape)

    def output_shape(self, input_shape: tuple) -> tuple:
        shape = self._checked(input_shape)
        sizes = (None if n is None else self._size(n, i) for i, n in enumerate(shape[:-1]))
        return (*sizes, shape[-1])

    def get_config(self) -> dict:
        return {"class": type(self).__name__, **self._config()}


class ZeroPadding2D(_Spatial):
    """Zeros added around ``H`` and ``W``: ``padding`` as ``((top, bottom), (left, right))``."""

    def __init__(self, padding=(1, 1), data_format=None):
        check_unsupported(data_format, 1)
        self.padding = _sides_2d(padding, "padding")

    def _size(self, n, axis):
        return n + sum(self.padding[axis])

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        for axis, (before, after) in enumerate(self.padding, start=1):
            X = pad_axis(xp, X, axis, before, after)
        return X, ()

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        kept = (slice(b, n - a) for (b, a), n in zip(self.padding, dY.shape[1:]))
        return dY[(slice(None), *kept, slice(None))], ()

    def _config(self) -> dict:
        return {"padding": [list(sides) for sides in self.padding]}


class ZeroPadding1D(ZeroPadding2D):
    """Zeros added before and after the steps: ``padding`` an int or ``(left, right)``."""

    rank = 1

    def __init__(self, padding=1, data_format=None):
        check_unsupported(data_format, 1)
        self.padding = (_sides(padding, "padding"),)

    def _config(self) -> dict:
        return {"padding": list(self.padding[0])}


class Cropping2D(_Spatial):
    """Rows and columns removed: ``cropping`` as ``((top, bottom), (left, right))``."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None):
        check_unsupported(data_format, 1)
        self.cropping = _sides_2d(cropping, "cropping")

    def _size(self, n, axis):
        return n - sum(self.cropping[axis])

    def output_shape(self, input_shape: tuple) -> tuple:
        shape = super().output_shape(input_shape)
        if any(n is not None and n < 1 for n in shape[:-1]):
            raise ValueError(
                f"{type(self).__name__}: expected an input larger than cropping "
                f"{self._config()['cropping']} along each cropped axis; got per-example shape "
                f"{tuple(input_shape)}, which it would leave empty"
            )
        return shape

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        self.output_shape(tuple(X.shape[1:]))  # nothing left: refused, not an empty output
        kept = (slice(b, n - a) for (b, a), n in zip(self.cropping, X.shape[1:]))
        return X[(slice(None), *kept, slice(None))], ()

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        for axis, (before, after) in enumerate(self.cropping, start=1):
            dY = pad_axis(xp, dY, axis, before, after)
        return dY, ()

    def _config(self) -> dict:
        return {"cropping": [list(sides) for sides in self.cropping]}


class Cropping1D(Cropping2D):
    """Steps removed at the start and the end: ``cropping`` an int or ``(left, right)``."""

    rank = 1

    def __init__(self, cropping=(1, 1)):
        self.cropping = (_sides(cropping, "cropping"),)

    def _config(self) -> dict:
        return {"cropping": list(self.cropping[0])}


def _blocks(shape, sizes) -> tuple:
    """``(n, h, w, c)`` and ``(sh, sw)`` to ``(n, h, sh, w, sw, c)`` (any rank)."""
    n, *spatial, c = shape
    return (n, *(d for dims in zip(spatial, sizes) for d in dims), c)


class UpSampling2D(_Spatial):
    """Each row repeated ``size[0]`` times and each column ``size[1]`` times (nearest)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation: str = "nearest"):
        check_unsupported(data_format, 1)
        if interpolation != "nearest":
            raise ValueError(
                f"interpolation: expected 'nearest' (the only one supported); got {interpolation!r}"
            )
        self.size = pair(size, "size")

    def _size(self, n, axis):
        return n * self.size[axis]

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        ones = (1,) * self.rank
        blocks = xp.broadcast_to(xp.reshape(X, _blocks(X.shape, ones)), _blocks(X.shape, self.size))
        out = (n * s for n, s in zip(X.shape[1:-1], self.size))
        return xp.reshape(blocks, (X.shape[0], *out, X.shape[-1])), ()

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        n, *spatial, c = dY.shape
        shape = (n, *(d // s for d, s in zip(spatial, self.size)), c)
        block_axes = tuple(2 + 2 * i for i in range(self.rank))
        return xp.sum(xp.reshape(dY, _blocks(shape, self.size)), axis=block_axes), ()

    def _config(self) -> dict:
        return {"size": list(self.size), "interpolation": "nearest"}


class UpSampling1D(UpSampling2D):
    """Each step repeated ``size`` times."""

    rank = 1

    def __init__(self, size=2):
        self.size = (check_count(size, "size", minimum=1),)

    def _config(self) -> dict:
        return {"size": self.size[0]}
