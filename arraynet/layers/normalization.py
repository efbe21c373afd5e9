"""BatchNormalization and LayerNormalization (Keras semantics).

BatchNormalization: batch statistics in training, moving ones after.

``Y = gamma * (X - mean) / sqrt(var + epsilon) + beta`` over the last axis' features, the
statistics taken over every other axis. Training uses the batch's mean and biased variance
and, through ``next_state``, moves ``moving = moving * momentum + batch * (1 - momentum)``
(Keras' momentum; torch's means the opposite). Inference uses the moving statistics.
Weights in Keras order: ``[gamma, beta, moving_mean, moving_variance]`` (the last two are
non-trainable state, saved and moved like weights).

LayerNormalization: each example normalized over its last axis by its own mean and biased
variance, ``Y = gamma * (X - mean) / sqrt(var + epsilon) + beta`` (epsilon 1e-3, Keras 3's
default), the same in training and inference; weights ``[gamma, beta]`` of the last axis.
"""

from __future__ import annotations

from .. import initializers
from ..validation import check_flag, check_fraction, check_positive
from .base import TRAINING, Context, Layer, Param


class BatchNormalization(Layer):
    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True):  # fmt: skip
        if axis != -1:
            raise ValueError(f"axis: expected -1 (the channels-last features); got {axis!r}")
        self.momentum = check_fraction(momentum, "momentum")
        self.epsilon = check_positive(epsilon, "epsilon")
        self.center = check_flag(center, "center")
        self.scale = check_flag(scale, "scale")

    def params(self, input_shape: tuple) -> list[Param]:
        features = (input_shape[-1],)
        params = []
        if self.scale:
            params.append(Param("gamma", features, initializers.ones, "gamma"))
        if self.center:
            params.append(Param("beta", features, initializers.zeros, "beta"))
        return params

    def states(self, input_shape: tuple) -> list[Param]:
        features = (input_shape[-1],)
        return [
            Param("moving_mean", features, initializers.zeros, "moving_mean"),
            Param("moving_variance", features, initializers.ones, "moving_variance"),
        ]

    def _split(self, weights):
        """``(gamma or None, beta or None, moving_mean, moving_variance)``."""
        weights = list(weights)
        gamma = weights.pop(0) if self.scale else None
        beta = weights.pop(0) if self.center else None
        return gamma, beta, weights[0], weights[1]

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        gamma, beta, moving_mean, moving_variance = self._split(weights)
        axes, training = tuple(range(X.ndim - 1)), ctx.training and self.trainable
        if training:
            mean = xp.mean(X, axis=axes)
            var = xp.mean((X - mean) ** 2, axis=axes)
        else:
            mean, var = moving_mean, moving_variance
        inv_std = 1.0 / xp.sqrt(var + self.epsilon)
        Xhat = (X - mean) * inv_std
        Y = Xhat if gamma is None else Xhat * gamma
        if beta is not None:
            Y = Y + beta
        return Y, (Xhat, inv_std, mean, var, training)

    def next_state(self, xp, weights, cache) -> tuple:
        _, _, moving_mean, moving_variance = self._split(weights)
        _, _, mean, var, _ = cache
        m = self.momentum
        return (moving_mean * m + mean * (1.0 - m), moving_variance * m + var * (1.0 - m))

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        gamma, _, _, _ = self._split(weights)
        Xhat, inv_std, _, _, training = cache
        axes = tuple(range(dY.ndim - 1))
        grads = []
        if self.scale:
            grads.append(xp.sum(dY * Xhat, axis=axes))
        if self.center:
            grads.append(xp.sum(dY, axis=axes))
        if not ctx.need_dX:
            return None, tuple(grads)
        dXhat = dY if gamma is None else dY * gamma
        if not training:  # fixed statistics: a per-feature affine map
            return dXhat * inv_std, tuple(grads)
        rows = 1
        for axis in axes:
            rows *= dY.shape[axis]
        mean_d = xp.sum(dXhat, axis=axes) / rows
        mean_dx = xp.sum(dXhat * Xhat, axis=axes) / rows
        return (dXhat - mean_d - Xhat * mean_dx) * inv_std, tuple(grads)

    def __repr__(self) -> str:
        return f"BatchNormalization(momentum={self.momentum}, epsilon={self.epsilon})"

    def get_config(self) -> dict:
        return {
            "class": "BatchNormalization",
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }


class LayerNormalization(Layer):
    """Normalization of each example over its last axis (see the module docstring)."""

    independent_rows = True
    supports_masking = True  # the output keeps the input's mask (Keras)

    def __init__(self, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, rms_scaling: bool = False):  # fmt: skip
        if axis not in (-1, [-1], (-1,)):  # Keras saves [-1]
            raise ValueError(f"axis: expected -1 (the last axis); got {axis!r}")
        if rms_scaling:
            raise ValueError(f"rms_scaling: expected False (not supported); got {rms_scaling!r}")
        self.epsilon = check_positive(epsilon, "epsilon")
        self.center = check_flag(center, "center")
        self.scale = check_flag(scale, "scale")

    def params(self, input_shape: tuple) -> list[Param]:
        features, params = (input_shape[-1],), []
        if self.scale:
            params.append(Param("gamma", features, initializers.ones, "gamma"))
        if self.center:
            params.append(Param("beta", features, initializers.zeros, "beta"))
        return params

    norm_axes = (-1,)  # of the grouped view, the axes each mean and variance are over

    def _grouped(self, xp, A):
        """``A`` as the statistics see it (GroupNormalization regroups the channels)."""
        return A

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        G, axes = self._grouped(xp, X), self.norm_axes
        mean = xp.mean(G, axis=axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(xp.mean((G - mean) ** 2, axis=axes, keepdims=True) + self.epsilon)
        Xhat = xp.reshape((G - mean) * inv_std, X.shape)
        Y = Xhat * weights[0] if self.scale else Xhat
        if self.center:
            Y = Y + weights[-1]
        return Y, (Xhat, inv_std)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        Xhat, inv_std = cache
        rows = tuple(range(dY.ndim - 1))
        grads = ([xp.sum(dY * Xhat, axis=rows)] if self.scale else []) + (
            [xp.sum(dY, axis=rows)] if self.center else []
        )
        if not ctx.need_dX:
            return None, tuple(grads)
        dXhat = self._grouped(xp, dY * weights[0] if self.scale else dY)
        G, axes = self._grouped(xp, Xhat), self.norm_axes
        mean_d = xp.mean(dXhat, axis=axes, keepdims=True)
        mean_dx = xp.mean(dXhat * G, axis=axes, keepdims=True)
        return xp.reshape((dXhat - mean_d - G * mean_dx) * inv_std, dY.shape), tuple(grads)

    def get_config(self) -> dict:
        return {
            "class": "LayerNormalization",
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }
