"""Keras's loss functions: ``an.losses.mean_squared_error(y_true, y_pred)`` returns the
per-sample losses (shape ``y_pred.shape[:-1]``) on the selected backend, as Keras does.
Passed to ``compile`` they stand for their loss class (``loss_class``), defaults and all.
"""

from __future__ import annotations

from ..backend.direct import on_backend
from .hinges import CategoricalHinge, Hinge, SquaredHinge
from .probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from .regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
)


def _targets(xp, Y, P, sparse: bool):
    """``Y`` shaped like ``P``: labels one-hot encoded for the sparse loss, a missing last
    axis of size 1 added (Keras's ``squeeze_or_expand_to_same_rank``)."""
    if sparse and tuple(Y.shape) != tuple(P.shape):
        labels = xp.reshape(Y, (*P.shape[:-1], 1))
        return xp.astype(labels == xp.arange(P.shape[-1], dtype=P.dtype), P.dtype)
    if Y.ndim == P.ndim - 1:
        return Y[..., None]
    return Y


def _function(cls, name: str):
    sparse = cls is SparseCategoricalCrossentropy

    def function(y_true, y_pred, **kwargs):
        xp, (Y, P) = on_backend(y_true, y_pred)
        return cls(**kwargs).per_sample(xp, P, _targets(xp, Y, P, sparse))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (
        f"Keras's ``{name}(y_true, y_pred, ...)``: the per-sample losses of "
        f":class:`{cls.__name__}` (keyword arguments as its constructor's)."
    )
    function.loss_class = cls
    return function


mean_squared_error = _function(MeanSquaredError, "mean_squared_error")
mean_absolute_error = _function(MeanAbsoluteError, "mean_absolute_error")
mean_absolute_percentage_error = _function(
    MeanAbsolutePercentageError, "mean_absolute_percentage_error"
)
mean_squared_logarithmic_error = _function(
    MeanSquaredLogarithmicError, "mean_squared_logarithmic_error"
)
cosine_similarity = _function(CosineSimilarity, "cosine_similarity")
huber = _function(Huber, "huber")
log_cosh = _function(LogCosh, "log_cosh")
kl_divergence = _function(KLDivergence, "kl_divergence")
poisson = _function(Poisson, "poisson")
hinge = _function(Hinge, "hinge")
squared_hinge = _function(SquaredHinge, "squared_hinge")
categorical_hinge = _function(CategoricalHinge, "categorical_hinge")
binary_crossentropy = _function(BinaryCrossentropy, "binary_crossentropy")
categorical_crossentropy = _function(CategoricalCrossentropy, "categorical_crossentropy")
sparse_categorical_crossentropy = _function(
    SparseCategoricalCrossentropy, "sparse_categorical_crossentropy"
)

FUNCTIONS = {
    f.__name__: f
    for f in (
        mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
        mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, kl_divergence,
        poisson, hinge, squared_hinge, categorical_hinge, binary_crossentropy,
        categorical_crossentropy, sparse_categorical_crossentropy,
    )
}  # fmt: skip
