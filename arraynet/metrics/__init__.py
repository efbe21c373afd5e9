"""Metrics, computed on the device and read back once per epoch.

Keras's names work as strings (``metrics=["accuracy", "auc"]``), classes
(``an.metrics.AUC()``, ``Precision(thresholds=0.7)``) and functions
(``an.metrics.binary_accuracy``, also callable on arrays: per-sample values). A metric
keeps additive device state (``init``/``update``/``result``, see ``metrics/base.py``);
the mean metrics are also plain batch functions ``metric(xp, P, Y)``.

Your own metric: a function ``(y_true, y_pred) -> per-sample values`` written with Array
API calls (``xp = array_api_compat.array_namespace(y_pred)``) is the mean of its values,
computed on the device like the rest; it needs no derivative.
"""

from __future__ import annotations

from .. import losses

# Keras's loss functions double as metric functions
from ..losses import (  # noqa: E402, I001
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
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
from .accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    ChosenAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from .base import MeanMetric, Metric, divide_no_nan
from .confusion import AUC, Precision, Recall
from .functions import (
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from .regression import LossMetric, MeanAbsoluteError, MeanSquaredError, RootMeanSquaredError

CLASSES = {
    cls.__name__: cls
    for cls in (
        Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
        TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
        MeanAbsoluteError, RootMeanSquaredError, AUC, Precision, Recall,
    )
}  # fmt: skip

# string -> (History key, factory). arraynet's keys for its older names are kept.
_NAMED = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mse": lambda: MeanSquaredError(name="mse"),
    "mae": lambda: MeanAbsoluteError(name="mae"),
    "root_mean_squared_error": RootMeanSquaredError,
    "auc": AUC,
    "precision": Precision,
    "recall": Recall,
}
_ALIASES = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}


def get(metric, loss=None) -> tuple[str, Metric]:
    """``(name, metric)`` for a metric name, class, object or function; the name keys the
    History (``val_`` prefixed).

    As in Keras, "accuracy" under a loss of probability targets (binary cross-entropy) is
    binary accuracy (each output its own yes/no); otherwise the argmax over the outputs
    (binary accuracy with a single output unit)."""
    if isinstance(metric, Metric):
        return metric.name, metric
    if isinstance(metric, type) and issubclass(metric, Metric):
        metric = metric()
        return metric.name, metric
    if isinstance(metric, dict):
        cls = CLASSES.get(metric.get("class_name"))
        if cls is None:
            raise ValueError(
                f"metrics: expected class_name in {', '.join(CLASSES)}; got {metric!r}"
            )
        made = cls(**metric.get("config", {}))
        return made.name, made
    if callable(getattr(metric, "metric_class", None)):
        made = metric.metric_class()
        return made.name, made
    if callable(getattr(metric, "loss_class", None)):
        return metric.__name__, LossMetric(metric.loss_class(), metric.__name__)
    if callable(metric):
        made = _FunctionMetric(metric)
        return made.name, made
    if not isinstance(metric, str):
        raise TypeError(f"metrics: expected names, Metric objects or functions; got {metric!r}")
    name = _ALIASES.get(metric, metric)
    if name == "accuracy":
        if getattr(loss, "targets", None) == "probabilities":
            return name, BinaryAccuracy(name="accuracy")
        return name, ChosenAccuracy()
    if name in _NAMED:
        made = _NAMED[name]()
        return name, made
    if name in CLASSES:
        made = CLASSES[name]()
        return made.name, made
    if name in _LOSS_NAMES:
        return name, LossMetric(losses.get(name), name)
    known = ["accuracy", "acc", *_NAMED, *CLASSES, *_LOSS_NAMES]
    raise ValueError(f"metrics: expected names from {', '.join(known)}; got {metric!r}")


_LOSS_NAMES = ("mape", "msle", "kld", "logcosh", *losses.FUNCTIONS)


class _FunctionMetric(MeanMetric):
    """A user's ``fn(y_true, y_pred) -> per-sample values``, averaged."""

    def __init__(self, function):
        self.function, self.name = function, getattr(function, "__name__", "metric")

    def get_config(self) -> dict:
        return {"name": self.name}

    def values(self, xp, P, Y):
        return self.function(Y, P)


def serialize(metric: Metric) -> dict:
    """``{"class_name": ..., "config": {...}}`` of a metric class (what :func:`get` takes)."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def saved(name: str, metric: Metric, loss=None):
    """What a model's config keeps of a compiled ``(name, metric)``: the name where
    ``get(name, loss)`` makes the same metric again, else its :func:`serialize` config (a
    function of your own keeps its name, which loading cannot resolve)."""
    try:
        _, again = get(name, loss)
    except (TypeError, ValueError):
        again = None
    same = type(again) is type(metric) and again.get_config() == metric.get_config()
    if same or type(metric).__name__ not in CLASSES:
        return name
    return serialize(metric)


__all__ = [
    "AUC",
    "CLASSES",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "LossMetric",
    "MeanAbsoluteError",
    "MeanMetric",
    "MeanSquaredError",
    "Metric",
    "Precision",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "binary_crossentropy",
    "categorical_accuracy",
    "categorical_crossentropy",
    "categorical_hinge",
    "divide_no_nan",
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
    "saved",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "squared_hinge",
    "top_k_categorical_accuracy",
]
