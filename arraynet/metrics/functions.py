"""Keras's metric functions: ``an.metrics.binary_accuracy(y_true, y_pred)`` returns the
per-sample values on the selected backend, as Keras does; passed to ``compile`` they stand
for their metric class. (Keras's loss functions, ``an.metrics.mean_squared_error`` and the
rest, are the same objects as in ``an.losses``.)"""

from __future__ import annotations

from ..backend.direct import on_backend
from .accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)


def _function(cls, name: str, sparse: bool = False):
    def function(y_true, y_pred, **kwargs):
        xp, (Y, P) = on_backend(y_true, y_pred)
        if not sparse and Y.ndim == P.ndim - 1:
            Y = Y[..., None]
        return cls(**kwargs).values(xp, P, Y)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (
        f"Keras's ``{name}(y_true, y_pred, ...)``: per-sample values of :class:`{cls.__name__}`."
    )
    function.metric_class = cls
    return function


accuracy = _function(Accuracy, "accuracy")
binary_accuracy = _function(BinaryAccuracy, "binary_accuracy")
categorical_accuracy = _function(CategoricalAccuracy, "categorical_accuracy")
sparse_categorical_accuracy = _function(
    SparseCategoricalAccuracy, "sparse_categorical_accuracy", sparse=True
)
top_k_categorical_accuracy = _function(TopKCategoricalAccuracy, "top_k_categorical_accuracy")
sparse_top_k_categorical_accuracy = _function(
    SparseTopKCategoricalAccuracy, "sparse_top_k_categorical_accuracy", sparse=True
)
