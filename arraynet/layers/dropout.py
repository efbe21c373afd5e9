"""Dropout: zero a share ``rate`` of the inputs while training, scale the rest by 1/(1-rate).

The masks are drawn on the host from the fit's seeded generator, one epoch at a time, so
every backend drops the same units; they reach the layer as ``ctx.noise``. At inference
(no noise) the layer passes its input through.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_fraction
from .base import TRAINING, Context, Layer


class Dropout(Layer):
    draws_noise = True
    independent_rows = True

    def __init__(self, rate: float):
        self.rate = check_fraction(rate, "rate")

    def noise(self, rng, rows: int, input_shape: tuple) -> np.ndarray:
        """A host mask for ``rows`` examples: 0 or 1/(1-rate), kept with probability 1-rate."""
        keep = rng.random((rows, *input_shape)) >= self.rate
        return keep / (1.0 - self.rate)

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        if ctx.noise is None:
            return X, None
        return X * ctx.noise, ctx.noise

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return (dY if cache is None else dY * cache), ()

    def get_config(self) -> dict:
        return {"class": "Dropout", "rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"
