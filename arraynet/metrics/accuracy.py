"""Accuracy metrics (Keras's), as per-sample values: their batch mean is the metric.

``Y`` may hold one-hot rows (as the model's targets do once class labels are encoded) or,
for the sparse ones, class labels (shape ``P.shape[:-1]`` or with a last axis of 1).
"""

from __future__ import annotations

from array_api_compat import device as device_of

from ..validation import check_count
from .base import MeanMetric, check_name


def _float(xp, condition, like):
    return xp.astype(condition, like.dtype)


def class_labels(xp, P, Y):
    """``Y`` as class indices (floats) of shape ``P.shape[:-1]``: the argmax of one-hot rows,
    or the labels themselves."""
    if Y.ndim == P.ndim and Y.shape[-1] == P.shape[-1] and P.shape[-1] > 1:
        return xp.astype(xp.argmax(Y, axis=-1), P.dtype)
    return xp.reshape(xp.astype(Y, P.dtype), P.shape[:-1])


def exact_values(xp, P, Y):
    """Keras's ``accuracy``: 1 where the prediction equals the target exactly."""
    return _float(xp, Y == P, P)


def binary_values(xp, P, Y, threshold=0.5):
    """Per sample, the share of outputs ``P > threshold`` that equal their 0/1 target."""
    return xp.mean(_float(xp, _float(xp, threshold < P, P) == Y, P), axis=-1)


def sparse_categorical_values(xp, P, Y):
    """1 where the largest output is the target class."""
    predicted = xp.astype(xp.argmax(P, axis=-1), P.dtype)
    return _float(xp, predicted == class_labels(xp, P, Y), P)


def sparse_top_k_values(xp, P, Y, k=5):
    """1 where fewer than ``k`` outputs exceed the target class's (ties count as in, as
    Keras's ``in_top_k``)."""
    labels = class_labels(xp, P, Y)
    columns = xp.arange(P.shape[-1], dtype=P.dtype, device=device_of(P))
    at_label = xp.sum(xp.where(columns == labels[..., None], P, xp.zeros_like(P)), axis=-1)
    above = xp.sum(_float(xp, at_label[..., None] < P, P), axis=-1)
    return _float(xp, above < k, P)


def chosen_values(xp, P, Y):
    """arraynet's "accuracy" under a loss of values or distributions: the argmax over the
    outputs, or with one output unit, binary accuracy at 0.5."""
    if P.shape[-1] == 1:
        return binary_values(xp, P, Y)
    return _float(xp, xp.argmax(P, axis=-1) == xp.argmax(Y, axis=-1), P)


class Accuracy(MeanMetric):
    """Keras's ``Accuracy``: how often the prediction *equals* the target (use
    ``metrics=["accuracy"]`` to have the accuracy chosen by the loss)."""

    ARGS: dict = {}

    def __init__(self, name=None, dtype=None):
        self.name = check_name(name, "accuracy")

    def values(self, xp, P, Y):
        return exact_values(xp, P, Y)


class ChosenAccuracy(Accuracy):
    """The string "accuracy" of ``compile``: binary accuracy with one output unit, else
    the argmax (as Keras picks it by the loss and the output shape)."""

    def values(self, xp, P, Y):
        return chosen_values(xp, P, Y)


class BinaryAccuracy(MeanMetric):
    ARGS = {"threshold": 0.5}

    def __init__(self, name=None, dtype=None, threshold=0.5):
        self.name = check_name(name, "binary_accuracy")
        self.threshold = float(threshold)

    def values(self, xp, P, Y):
        return binary_values(xp, P, Y, self.threshold)


class CategoricalAccuracy(MeanMetric):
    ARGS: dict = {}

    def __init__(self, name=None, dtype=None):
        self.name = check_name(name, "categorical_accuracy")

    def values(self, xp, P, Y):
        return sparse_categorical_values(xp, P, Y)


class SparseCategoricalAccuracy(CategoricalAccuracy):
    def __init__(self, name=None, dtype=None):
        self.name = check_name(name, "sparse_categorical_accuracy")


class TopKCategoricalAccuracy(MeanMetric):
    ARGS = {"k": 5}

    def __init__(self, k=5, name=None, dtype=None):
        self.name = check_name(name, "top_k_categorical_accuracy")
        self.k = check_count(k, "k", minimum=1)

    def values(self, xp, P, Y):
        return sparse_top_k_values(xp, P, Y, self.k)


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    def __init__(self, k=5, name=None, dtype=None):
        super().__init__(k, check_name(name, "sparse_top_k_categorical_accuracy"), dtype)
