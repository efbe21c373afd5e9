"""Noise while training, as Keras 3: GaussianNoise, GaussianDropout, SpatialDropout1D/2D.

Like Dropout's masks, the noise is drawn on the host from the fit's seeded generator
(``noise(rng, rows, input_shape)``), so every backend gets the same numbers; it reaches the
layer as ``ctx.noise``. At inference (no noise) each layer passes its input through.

- GaussianNoise(stddev): ``X + N(0, stddev**2)``; the delta passes unchanged.
- GaussianDropout(rate): ``X * N(1, rate / (1 - rate))``; the delta times the same noise.
- SpatialDropout1D(rate) on ``(rows, steps, channels)``, SpatialDropout2D(rate) on ``(rows,
  H, W, channels)``: Dropout of whole channels, one mask per row and channel kept over the
  steps or pixels (Keras's ``noise_shape`` of ``(rows, 1, channels)``).
"""

from __future__ import annotations

import math

import numpy as np

from ..validation import check_non_negative
from .base import TRAINING, Context, Layer
from .dropout import Dropout


class GaussianNoise(Layer):
    draws_noise = True
    independent_rows = True
    supports_masking = True  # the output keeps the input's mask (Keras)

    def __init__(self, stddev: float, seed=None):
        self.stddev = check_non_negative(stddev, "stddev")
        self.seed = seed  # Keras's; arraynet draws from the fit's seeded generator

    def noise(self, rng, rows: int, input_shape: tuple) -> np.ndarray:
        return self.stddev * rng.standard_normal((rows, *input_shape))

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return (X if ctx.noise is None else X + ctx.noise), None

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return dY, ()

    def get_config(self) -> dict:
        return {"class": "GaussianNoise", "stddev": self.stddev, "seed": self.seed}

    def __repr__(self) -> str:
        return f"GaussianNoise({self.stddev})"


class GaussianDropout(Dropout):
    """Dropout's math (``X * noise``, the delta times the same noise) with Gaussian noise."""

    def __init__(self, rate: float, seed=None):
        super().__init__(rate, seed=seed)

    def noise(self, rng, rows: int, input_shape: tuple) -> np.ndarray:
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return 1.0 + stddev * rng.standard_normal((rows, *input_shape))

    def get_config(self) -> dict:
        return {"class": "GaussianDropout", "rate": self.rate, "seed": self.seed}

    def __repr__(self) -> str:
        return f"GaussianDropout({self.rate})"


class SpatialDropout1D(Dropout):
    """Dropout of whole channels of ``(rows, steps, channels)``."""

    rank = 2

    def __init__(self, rate: float, seed=None):
        super().__init__(rate, seed=seed)

    def mask_shape(self, input_shape: tuple) -> tuple:
        """One mask entry per channel (Dropout's ``noise`` and ``output_shape`` ask this)."""
        if len(input_shape) != self.rank:
            raise ValueError(
                f"{type(self).__name__}: expected inputs of rank {self.rank + 1} (rows, ..., "
                f"channels); got per-example shape {tuple(input_shape)}"
            )
        return (*[1] * (self.rank - 1), input_shape[-1])

    def get_config(self) -> dict:
        return {"class": type(self).__name__, "rate": self.rate, "seed": self.seed}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.rate})"


class SpatialDropout2D(SpatialDropout1D):
    """Dropout of whole channels of ``(rows, H, W, channels)``."""

    rank = 3

    def __init__(self, rate: float, data_format=None, seed=None):
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"data_format: expected 'channels_last' (arraynet is channels-last); "
                f"got {data_format!r}"
            )
        super().__init__(rate, seed=seed)
