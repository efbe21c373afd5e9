"""Normalization: Keras 3's preprocessing layer that standardizes features.

``Y = (X - mean) / max(sqrt(variance), 1e-7)`` (``invert=True``: ``mean + X * max(...)``),
the same in training and inference. ``mean`` and ``variance`` come from ``adapt(data)``
(over every axis but ``axis``, the variance biased, as Keras's ``np.var``) or are given to
the constructor. Adapted statistics are the layer's non-trainable state ``[mean, variance,
count]`` in Keras's order (``count`` stays 0, as in Keras 3): saved, loaded and moved with
the model. Given ones are constants in the config, and the layer then has no weights.

``axis`` counts the batch axis as Keras does: -1 is the last feature axis, None one mean and
variance for everything; the batch axis itself cannot be kept.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import device

from .. import initializers
from ..backend import to_numpy
from ..validation import check_flag
from .base import TRAINING, Context, Layer, Param
from .handle import WeightCopy

EPSILON = 1e-7  # Keras's backend.epsilon()


class Normalization(Layer):
    """Standardize with a mean and variance from ``adapt(data)`` or given (see the module)."""

    independent_rows = True
    supports_masking = True  # the output keeps the input's mask (Keras)

    def __init__(self, axis=-1, mean=None, variance=None, invert: bool = False):
        self.axis = _axes(axis)
        self.invert = check_flag(invert, "invert")
        if (mean is None) != (variance is None):
            raise ValueError(
                f"mean, variance: expected both or neither; got mean={mean!r}, "
                f"variance={variance!r}"
            )
        self.given = None
        if mean is not None:
            given = (np.asarray(mean, np.float64), np.asarray(variance, np.float64))
            if given[0].shape != given[1].shape or given[0].ndim > max(len(self.axis), 0):
                raise ValueError(
                    f"mean, variance: expected arrays of one shape, of rank at most "
                    f"{len(self.axis)} (the axes kept); got shapes {given[0].shape} and "
                    f"{given[1].shape}"
                )
            self.given = given
        self.adapted = None  # (mean, variance) of adapt's data, host float64
        self.seen_shape = None  # the per-example shape adapt's data had

    # -- shapes and weights -------------------------------------------------------------

    def kept(self, input_shape: tuple) -> tuple:
        """The kept axes, as indices of the per-example shape (sorted)."""
        rank = len(input_shape) + 1
        kept = []
        for a in self.axis:
            if not -rank <= a < rank or a % rank == 0:
                raise ValueError(
                    f"axis: expected feature axes of inputs of per-example shape "
                    f"{tuple(input_shape)} (from 1 or -1; the batch axis 0 is not one); "
                    f"got {self.axis}"
                )
            kept.append(a % rank - 1)
        return tuple(sorted(kept))

    def stats_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape[i] for i in self.kept(input_shape))

    def states(self, input_shape: tuple) -> list[Param]:
        if self.given is not None:
            return []
        shape = self.stats_shape(input_shape)
        if self.adapted is not None and self.adapted[0].shape != shape:
            raise ValueError(
                f"Normalization '{self.name}': adapted to features of shape "
                f"{self.adapted[0].shape}; got inputs of per-example shape {tuple(input_shape)}"
            )
        mean, variance = self.adapted or (None, None)
        return [
            Param("mean", shape, _value(mean, initializers.zeros), "mean"),
            Param("variance", shape, _value(variance, initializers.ones), "variance"),
            Param("count", (), initializers.zeros, "count"),
        ]

    def adapt(self, data) -> None:
        """Take the mean and variance of ``data`` (an array of any backend, rows first, or
        a list of such batches) over every axis but ``axis``; a model holding the layer
        gets them at once."""
        if self.given is not None:
            raise ValueError("adapt: this layer was given its mean and variance; got data")
        batches = data if isinstance(data, (list, tuple)) else [data]
        arrays = [np.asarray(to_numpy(b), np.float64) for b in batches]
        if not arrays or any(a.ndim < 1 or a.shape[1:] != arrays[0].shape[1:] for a in arrays):
            shapes = [a.shape for a in arrays]
            raise ValueError(f"data: expected batches of one per-example shape; got {shapes}")
        X = np.concatenate(arrays, axis=0)
        if not X.shape[0] or not np.all(np.isfinite(X)):
            raise ValueError(f"data: expected finite values, at least one row; got {X.shape}")
        kept = self.kept(X.shape[1:])
        reduced = tuple(i for i in range(X.ndim) if i - 1 not in kept)
        self.adapted = (X.mean(axis=reduced), X.var(axis=reduced))
        self.seen_shape = X.shape[1:]
        held = self.holder()
        if held is not None and held[0].built:
            self.set_weights([*self.adapted, np.zeros(())])

    @property
    def mean(self):
        """Keras's ``layer.mean``: a host copy, shaped to broadcast against a batch."""
        return self._statistic(0)

    @property
    def variance(self):
        """Keras's ``layer.variance``, as ``mean``."""
        return self._statistic(1)

    def _statistic(self, k: int):
        held = self.holder()
        shape = self.seen_shape
        if held is not None and held[0].built:
            model, index = held
            shape = model.graph.layer_input_shapes(model.example_shape)[index]
        if shape is None or (self.given is None and self.adapted is None and held is None):
            raise AttributeError(f"Normalization '{self.name}': not adapted or built yet")
        kept = self.kept(shape)
        spread = tuple(n if i in kept else 1 for i, n in enumerate(shape))
        if self.given is not None:
            value = _broadcast(self.given[k], kept, spread)
        elif held is not None and held[0].built:
            value = held[0].layer_weights(held[1])[k]
        else:
            value = self.adapted[k]
        return np.asarray(value, np.float64).reshape((1, *spread)).view(WeightCopy)

    # -- math ---------------------------------------------------------------------------

    def _stats(self, xp, weights, X):
        """``(mean, scale)`` shaped to broadcast against ``X``."""
        kept = self.kept(tuple(X.shape[1:]))
        shape = tuple(X.shape[i + 1] if i in kept else 1 for i in range(X.ndim - 1))
        if self.given is None:
            mean, variance = weights[0], weights[1]
        else:
            mean, variance = (
                xp.asarray(_broadcast(v, kept, shape), dtype=X.dtype, device=device(X))
                for v in self.given
            )
        mean, variance = xp.reshape(mean, (1, *shape)), xp.reshape(variance, (1, *shape))
        return mean, xp.maximum(xp.sqrt(variance), EPSILON)

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        mean, scale = self._stats(xp, weights, X)
        Y = mean + X * scale if self.invert else (X - mean) / scale
        return Y, scale

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        return (dY * cache if self.invert else dY / cache), ()

    def next_state(self, xp, weights, cache) -> tuple:
        return tuple(weights)  # training leaves the statistics as they are

    def memory(self, input_shape: tuple) -> int:
        return 2 * int(np.prod(input_shape))

    def get_config(self) -> dict:
        given = self.given or (None, None)
        return {
            "class": "Normalization",
            "axis": None if not self.axis else list(self.axis),
            "mean": None if given[0] is None else given[0].tolist(),
            "variance": None if given[1] is None else given[1].tolist(),
            "invert": self.invert,
        }

    def __repr__(self) -> str:
        return f"Normalization(axis={self.get_config()['axis']}, invert={self.invert})"


def _axes(axis) -> tuple:
    if axis is None:
        return ()
    values = (axis,) if isinstance(axis, int) else axis
    if not isinstance(values, (tuple, list)) or not all(
        isinstance(a, int) and not isinstance(a, bool) for a in values
    ):
        raise ValueError(f"axis: expected an int, a tuple of ints or None; got {axis!r}")
    return tuple(values)


def _value(array, default):
    """An initializer giving ``array`` (adapted statistics), or ``default``'s."""
    if array is None:
        return default
    return lambda rng, shape: np.asarray(array, np.float64).reshape(shape)


def _broadcast(value: np.ndarray, kept: tuple, shape: tuple) -> np.ndarray:
    """A given mean or variance laid out on ``shape``: a scalar everywhere, else aligned
    with the kept axes from the right (as Keras)."""
    if value.ndim == 0:
        return np.array(np.broadcast_to(value, shape))
    expanded = [1] * len(shape)
    for i in range(1, value.ndim + 1):
        expanded[kept[-i]] = value.shape[-i]
    return np.array(np.broadcast_to(value.reshape(expanded), shape))
