"""Dropout: zero a share ``rate`` of the inputs while training, scale the rest by 1/(1-rate).

The masks are drawn on the host from the fit's seeded generator, one epoch at a time, so
every backend drops the same units; they reach the layer as ``ctx.noise``. At inference
(no noise) the layer passes its input through.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_count, check_fraction
from .base import TRAINING, Context, Layer


class Dropout(Layer):
    """``noise_shape`` (Keras's, the batch axis first: ``(None, 1, channels)``) shares one
    mask along its axes of size 1; None there means the input's size. ``seed`` is Keras's,
    recorded: arraynet's masks come from the fit's seeded generator, the same on every
    backend."""

    supports_masking = True  # the output keeps the input's mask (Keras)

    draws_noise = True
    independent_rows = True

    def __init__(self, rate: float, noise_shape=None, seed=None):
        self.rate = check_fraction(rate, "rate")
        if noise_shape is not None and not (
            isinstance(noise_shape, (tuple, list))
            and all(n is None or (isinstance(n, int) and n >= 1) for n in noise_shape)
        ):
            raise ValueError(
                f"noise_shape: expected a tuple of sizes or None, the batch axis first; "
                f"got {noise_shape!r}"
            )
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = None if seed is None else check_count(seed, "seed")

    def mask_shape(self, input_shape: tuple) -> tuple:
        """A mask's per-example shape: ``noise_shape`` without its batch axis, checked."""
        if self.noise_shape is None:
            return tuple(input_shape)
        shape = self.noise_shape[1:]
        if len(shape) != len(input_shape) or any(
            n not in (None, 1, d) for n, d in zip(shape, input_shape)
        ):
            raise ValueError(
                f"noise_shape: expected (batch, ...) with each size 1, None or the input's, "
                f"for inputs of per-example shape {tuple(input_shape)}; got {self.noise_shape}"
            )
        return tuple(d if n is None else n for n, d in zip(shape, input_shape))

    def output_shape(self, input_shape: tuple) -> tuple:
        self.mask_shape(input_shape)  # a noise_shape that does not fit: refused at build
        return tuple(input_shape)

    def noise(self, rng, rows: int, input_shape: tuple) -> np.ndarray:
        """A host mask for ``rows`` examples (see :func:`dropout_mask`)."""
        return dropout_mask(rng, (rows, *self.mask_shape(input_shape)), self.rate)

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        if ctx.noise is None:
            return X, None
        return X * ctx.noise, ctx.noise

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return (dY if cache is None else dY * cache), ()

    def get_config(self) -> dict:
        config = {"class": "Dropout", "rate": self.rate}
        if self.noise_shape is not None:
            config["noise_shape"] = list(self.noise_shape)
        return {**config, **({"seed": self.seed} if self.seed is not None else {})}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"


def dropout_mask(rng, shape: tuple, rate: float) -> np.ndarray:
    """A host mask of ``shape``: 0, or 1/(1 - rate) with probability 1 - rate."""
    return (rng.random(shape) >= rate) / (1.0 - rate)


def gate_masks(rng, rows: int, gates: int, features: int, units: int, dropout: float,
               recurrent_dropout: float) -> np.ndarray:  # fmt: skip
    """A recurrent layer's masks with recurrent dropout, ``(rows, gates, features + units)``:
    per row and gate, the input's mask, then the previous state's."""
    inputs = dropout_mask(rng, (rows, gates, features), dropout)
    states = dropout_mask(rng, (rows, gates, units), recurrent_dropout)
    return np.concatenate([inputs, states], axis=2)
