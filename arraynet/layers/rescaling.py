"""``Rescaling(scale, offset=0.0)`` (Keras): ``Y = X * scale + offset``, e.g. pixels to
[0, 1] with ``Rescaling(1 / 255)``. ``scale`` and ``offset`` are numbers, or one per entry
of the last axis; no weights. The delta is ``dY * scale``."""

from __future__ import annotations

import math

from array_api_compat import device

from .base import TRAINING, Context, Layer


def _constant(value, argument: str):
    """A finite number, or a tuple of finite numbers (one per entry of the last axis)."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise ValueError(f"{argument}: expected a finite number or a list of them; got {value!r}")
    return tuple(float(v) for v in values) if isinstance(value, (list, tuple)) else float(value)


class Rescaling(Layer):
    """``X * scale + offset`` (see the module docstring)."""

    independent_rows = True
    supports_masking = True  # the output keeps the input's mask (Keras)

    def __init__(self, scale, offset=0.0):
        self.scale = _constant(scale, "scale")
        self.offset = _constant(offset, "offset")

    def output_shape(self, input_shape: tuple) -> tuple:
        for name, value in (("scale", self.scale), ("offset", self.offset)):
            if isinstance(value, tuple) and len(value) not in (1, input_shape[-1]):
                raise ValueError(
                    f"Rescaling: {name} of {len(value)} entries, expected 1 or "
                    f"{input_shape[-1]} (the last axis); got input shape {tuple(input_shape)}"
                )
        return tuple(input_shape)

    def _on(self, xp, value, like):
        if isinstance(value, float):
            return value
        return xp.asarray(value, dtype=like.dtype, device=device(like))

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return X * self._on(xp, self.scale, X) + self._on(xp, self.offset, X), ()

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return (dY * self._on(xp, self.scale, dY) if ctx.need_dX else None), ()

    def get_config(self) -> dict:
        def saved(value):
            return list(value) if isinstance(value, tuple) else value

        return {"class": "Rescaling", "scale": saved(self.scale), "offset": saved(self.offset)}
