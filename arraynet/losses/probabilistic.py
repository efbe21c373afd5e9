"""Probabilistic losses: binary and categorical cross-entropies (Keras's and arraynet's
names), Kullback-Leibler divergence and Poisson.

Cross-entropies on probabilities, as Keras, clip them to [1e-7, 1 − 1e-7] (arraynet's own
``binary_cross_entropy`` and ``categorical_cross_entropy`` clip at the dtype's epsilon),
and their delta at a clipped probability is the log's derivative there (not the clip's
zero), so a saturated output is still pulled back. Keras's categorical cross-entropy first
divides each row by its sum; arraynet's ``categorical_cross_entropy`` does not.

Fused with the output activation (``fuses_with``: a sigmoid or softmax output) or given
logits (``from_logits=True``: use an identity output layer), the value is computed from the
logits by log-sum-exp and the delta is ``(A − Y) / n``: finite for any logits, where the
clipped form saturates at ``-log(1e-7)`` = 16.1 per entry. This differs from Keras, which
clips probabilities even after a sigmoid or softmax on most backends, only where an output
is within 1e-7 of 0 or 1.
"""

from __future__ import annotations

from ..activations import log_softmax_of, sigmoid_of, softmax_of
from ..validation import check_flag, check_fraction
from .base import KERAS_EPSILON, KerasLoss, samples, size, where_zero


class BinaryCrossentropy(KerasLoss):
    """Mean over entries of ``-(y log p + (1 − y) log(1 − p))``; ``label_smoothing`` moves
    the targets to ``y (1 − s) + s/2``."""

    name = "binary_crossentropy"
    targets = "probabilities"
    ARGS = {"from_logits": False, "label_smoothing": 0.0}
    epsilon: float | None = KERAS_EPSILON  # None: the dtype's machine epsilon

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None, dtype=None):  # fmt: skip
        self.keras_args(reduction, name, dtype)
        self.from_logits = check_flag(from_logits, "from_logits")
        self.label_smoothing = check_fraction(label_smoothing, "label_smoothing")
        if axis != -1:
            raise ValueError(f"axis: expected -1 (the last axis); got {axis!r}")
        self.fuses_with = None if self.from_logits else "sigmoid"

    def _targets(self, Y):
        s = self.label_smoothing
        return Y * (1.0 - s) + 0.5 * s if s else Y

    def _clipped(self, xp, P):
        eps = self.epsilon if self.epsilon is not None else xp.finfo(P.dtype).eps
        return xp.clip(P, eps, 1.0 - eps)

    def _entries(self, xp, P, Y):
        Y = self._targets(Y)
        if self.from_logits:
            return xp.maximum(P, 0.0) - P * Y + xp.log1p(xp.exp(-xp.abs(P)))
        Pc = self._clipped(xp, P)
        return -(Y * xp.log(Pc) + (1.0 - Y) * xp.log(1.0 - Pc))

    def per_sample(self, xp, P, Y):
        return xp.mean(self._entries(xp, P, Y), axis=-1)

    def __call__(self, xp, P, Y):
        if self.from_logits:
            return self.fused(xp, P, sigmoid_of(xp, P), Y)
        Y = self._targets(Y)
        Pc = self._clipped(xp, P)
        value = -xp.mean(Y * xp.log(Pc) + (1.0 - Y) * xp.log(1.0 - Pc))
        return value, (Pc - Y) / (Pc * (1.0 - Pc) * size(P))

    def fused_per_sample(self, xp, Z, A, Y):
        """The per-sample losses of the sigmoid output from its logits ``Z``."""
        return self.fused_rows(xp, Z, A, Y)[0]

    def fused_rows(self, xp, Z, A, Y):
        """``(per-sample losses, dZ)`` of the sigmoid output from its logits ``Z``."""
        Y = self._targets(Y)
        entries = xp.maximum(Z, 0.0) - Z * Y + xp.log1p(xp.exp(-xp.abs(Z)))
        return xp.mean(entries, axis=-1), (A - Y) / size(Z)

    def fused(self, xp, Z, A, Y):
        # log(1 + exp(-|z|)) + max(z, 0) - y z  ==  -(y log σ(z) + (1 - y) log(1 - σ(z)))
        Y = self._targets(Y)
        value = xp.mean(xp.maximum(Z, 0.0) - Z * Y + xp.log1p(xp.exp(-xp.abs(Z))))
        return value, (A - Y) / size(Z)


class BinaryCrossEntropy(BinaryCrossentropy):
    """arraynet's ``binary_cross_entropy``: clipped at the dtype's machine epsilon."""

    name = "binary_cross_entropy"
    epsilon = None


class CategoricalCrossentropy(KerasLoss):
    """Per sample ``-Σ y log q`` over the last axis, ``q`` the row divided by its sum and
    clipped; ``label_smoothing`` moves the targets to ``y (1 − s) + s / classes``.
    Integer class labels are one-hot encoded on the way in."""

    name = "categorical_crossentropy"
    accepts_labels = True
    targets = "distributions"
    ARGS = {"from_logits": False, "label_smoothing": 0.0}

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None, dtype=None):  # fmt: skip
        self.keras_args(reduction, name, dtype)
        self.from_logits = check_flag(from_logits, "from_logits")
        self.label_smoothing = check_fraction(label_smoothing, "label_smoothing")
        if axis != -1:
            raise ValueError(f"axis: expected -1 (the last axis); got {axis!r}")
        self.fuses_with = None if self.from_logits else "softmax"

    def _targets(self, Y):
        s = self.label_smoothing
        return Y * (1.0 - s) + s / Y.shape[-1] if s else Y

    def _normalized(self, xp, P):
        S = xp.sum(P, axis=-1, keepdims=True)
        Q = P / S
        return Q, xp.clip(Q, KERAS_EPSILON, 1.0 - KERAS_EPSILON), S

    def per_sample(self, xp, P, Y):
        Y = self._targets(Y)
        if self.from_logits:
            return -xp.sum(Y * log_softmax_of(xp, P), axis=-1)
        return -xp.sum(Y * xp.log(self._normalized(xp, P)[1]), axis=-1)

    def __call__(self, xp, P, Y):
        if self.from_logits:
            return self.fused(xp, P, softmax_of(xp, P), Y)
        Y, n = self._targets(Y), samples(P)
        Q, Qc, S = self._normalized(xp, P)
        G = -Y / Qc  # d/dq of -y log q, at the clipped q
        value = -xp.sum(Y * xp.log(Qc)) / n
        return value, (G - xp.sum(G * Q, axis=-1, keepdims=True)) / (S * n)

    def fused_per_sample(self, xp, Z, A, Y):
        """The per-sample losses of the softmax output from its logits ``Z``."""
        return -xp.sum(self._targets(Y) * log_softmax_of(xp, Z), axis=-1)

    def fused_rows(self, xp, Z, A, Y):
        """``(per-sample losses, dZ)`` of the softmax output from its logits ``Z``."""
        Y, n = self._targets(Y), samples(Z)
        rows = -xp.sum(Y * log_softmax_of(xp, Z), axis=-1)
        return rows, (A * xp.sum(Y, axis=-1, keepdims=True) - Y) / n

    def fused(self, xp, Z, A, Y):
        Y, n = self._targets(Y), samples(Z)
        value = -xp.sum(Y * log_softmax_of(xp, Z)) / n
        return value, (A * xp.sum(Y, axis=-1, keepdims=True) - Y) / n


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy of integer class labels (one-hot encoded on the way in)."""

    name = "sparse_categorical_crossentropy"
    ARGS = {"from_logits": False}

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name=None, dtype=None):  # fmt: skip
        if ignore_class is not None:
            raise ValueError(f"ignore_class: expected None (not supported); got {ignore_class!r}")
        super().__init__(from_logits, 0.0, axis, reduction, name, dtype)

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits}


class CategoricalCrossEntropy(CategoricalCrossentropy):
    """arraynet's ``categorical_cross_entropy``: ``-Σ y log p`` of the outputs as they are
    (not divided by their sum), clipped at the dtype's machine epsilon."""

    name = "categorical_cross_entropy"
    ARGS = {}

    def __init__(self):
        super().__init__()

    def get_config(self) -> dict:
        return {}

    def per_sample(self, xp, P, Y):
        return -xp.sum(Y * xp.log(xp.clip(P, xp.finfo(P.dtype).eps, 1.0)), axis=-1)

    def __call__(self, xp, P, Y):
        Pc = xp.clip(P, xp.finfo(P.dtype).eps, 1.0)
        n = samples(P)
        return -xp.sum(Y * xp.log(Pc)) / n, -Y / (Pc * n)


class SoftmaxCrossEntropy(CategoricalCrossentropy):
    """arraynet's ``softmax_cross_entropy``: softmax and cross-entropy fused, from logits
    (Keras's ``CategoricalCrossentropy(from_logits=True)``; use an identity output layer)."""

    name = "softmax_cross_entropy"
    ARGS = {}

    def __init__(self):
        super().__init__(from_logits=True)

    def get_config(self) -> dict:
        return {}


class KLDivergence(KerasLoss):
    """Per sample ``Σ y log(y / p)`` over the last axis, both clipped to [1e-7, 1] (as
    Keras; no gradient where ``p`` is clipped)."""

    name = "kl_divergence"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def per_sample(self, xp, P, Y):
        Yc, Pc = xp.clip(Y, KERAS_EPSILON, 1.0), xp.clip(P, KERAS_EPSILON, 1.0)
        return xp.sum(Yc * xp.log(Yc / Pc), axis=-1)

    def gradient(self, xp, P, Y):
        Yc, Pc = xp.clip(Y, KERAS_EPSILON, 1.0), xp.clip(P, KERAS_EPSILON, 1.0)
        inside = (P > KERAS_EPSILON) & (P < 1.0)
        return where_zero(xp, inside, -Yc / Pc) / samples(P)


class Poisson(KerasLoss):
    """Mean over entries of ``p − y log(p + 1e-7)``."""

    name = "poisson"

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        self.keras_args(reduction, name, dtype)

    def per_sample(self, xp, P, Y):
        return xp.mean(P - Y * xp.log(P + KERAS_EPSILON), axis=-1)

    def gradient(self, xp, P, Y):
        return (1.0 - Y / (P + KERAS_EPSILON)) / size(P)
