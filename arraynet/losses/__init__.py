"""Losses. Each returns ``(value, delta)``: the batch loss and its gradient for the output.

``loss(xp, P, Y)`` takes the network output ``P``. A loss whose ``fuses_with`` names the
output activation also has ``fused(xp, Z, A, Y) -> (value, dZ)``, computed from the
pre-activation ``Z`` by log-sum-exp: the delta becomes the book's ``P - Y`` without the
division by a saturated derivative. ``losses/base.py`` says how to write your own.

Keras's classes (``an.losses.Huber(delta=2.0)``, ``BinaryCrossentropy(from_logits=True)``),
its function forms (``an.losses.mean_squared_error``, which also compute per-sample losses
on arrays) and its string names ("mse", "huber", "kld", ...) all work, beside arraynet's
own names (``squared_error``, ``binary_cross_entropy``, ``categorical_cross_entropy``,
``softmax_cross_entropy``).
"""

from __future__ import annotations

from .base import KERAS_EPSILON, KerasLoss, Loss
from .functions import (
    FUNCTIONS,
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from .hinges import CategoricalHinge, Hinge, SquaredHinge
from .probabilistic import (
    BinaryCrossEntropy,
    BinaryCrossentropy,
    CategoricalCrossEntropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SoftmaxCrossEntropy,
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
    SquaredError,
)

CLASSES = {
    cls.__name__: cls
    for cls in (
        SquaredError, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError, Huber, LogCosh, CosineSimilarity, BinaryCrossentropy,
        CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge,
        SquaredHinge, CategoricalHinge, BinaryCrossEntropy, CategoricalCrossEntropy,
        SoftmaxCrossEntropy,
    )
}  # fmt: skip
LOSSES = {cls.name: cls() for cls in CLASSES.values()}  # by name, default-configured

# Keras's short names and function names, and arraynet's older ones
_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "huber": "huber_loss",
    "logcosh": "log_cosh",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    **{name: cls.name for name, cls in CLASSES.items()},  # "MeanSquaredError", ...
}


def get(loss) -> Loss:
    """A loss from a name (Keras's too, such as "binary_crossentropy" or "Huber"), a
    :class:`Loss` or its class, a Keras function form (``an.losses.huber``), or a config
    from :func:`serialize`. A plain function is refused: see ``losses/base.py``."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if isinstance(loss, dict):
        name = _ALIASES.get(loss.get("name"), loss.get("name"))
        if name not in LOSSES:
            raise ValueError(f"loss: expected one of {', '.join(LOSSES)}; got {name!r}")
        return type(LOSSES[name])(**loss.get("config", {}))
    if callable(getattr(loss, "loss_class", None)):
        return loss.loss_class()
    if callable(loss):
        raise TypeError(
            f"loss: got the function {getattr(loss, '__name__', loss)!r}, whose derivative "
            "arraynet cannot take (it has no autodiff); subclass an.losses.Loss with "
            "__call__(self, xp, P, Y) returning (value, dP), the batch loss and its "
            "hand-written gradient (see an.losses.base), or pass a name"
        )
    if not isinstance(loss, str):
        raise TypeError(f"loss: expected a name or a Loss; got {type(loss).__name__}")
    name = _ALIASES.get(loss, loss)
    if name not in LOSSES:
        raise ValueError(f"loss: expected one of {', '.join(LOSSES)}; got {loss!r}")
    return LOSSES[name]


def serialize(loss: Loss):
    """The name of a default-configured registered loss, else ``{"name": ..., "config":
    {...}}`` (what :func:`get` rebuilds)."""
    if loss.is_default and LOSSES.get(loss.name) == loss:
        return loss.name
    return {"name": loss.name, "config": loss.get_config()}


__all__ = [
    "CLASSES",
    "FUNCTIONS",
    "KERAS_EPSILON",
    "LOSSES",
    "BinaryCrossEntropy",
    "BinaryCrossentropy",
    "CategoricalCrossEntropy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "Huber",
    "KLDivergence",
    "KerasLoss",
    "LogCosh",
    "Loss",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SoftmaxCrossEntropy",
    "SparseCategoricalCrossentropy",
    "SquaredError",
    "SquaredHinge",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
]
