"""``SKLearnClassifier``, ``SKLearnRegressor`` and ``SKLearnTransformer``: arraynet models in
scikit-learn's Pipelines, grid searches and cross-validation (Keras 3's names and
arguments; see :class:`~arraynet.wrappers.base.SKLBase`)."""

from __future__ import annotations

import array_api_compat
import numpy as np
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.utils.multiclass import type_of_target

from ..backend import to_numpy
from . import dispatch
from .base import SKLBase, output_width
from .outputs import decision_values, probabilities


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A classifier around an arraynet model (Keras 3's ``SKLearnClassifier``).

    Labels of any kind (ints, strings) are encoded as ``classes_`` (sorted); the network
    trains on one-hot rows of width ``len(classes_)`` (what a model-building callable gets
    as ``y``), or on a column of 0/1 for two classes when its output has width 1 (a
    sigmoid). ``predict_proba`` reads the output as probabilities (after a softmax or
    sigmoid when the compiled loss takes logits); ``decision_function`` gives log-odds
    (two classes, shape (n,)) or log-probabilities/logits (shape (n, classes)).
    ``partial_fit`` trains one epoch (``classes`` needed on the first call).
    """

    def target_checks(self) -> dict:
        return {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False  # one label per row
        tags.classifier_tags.poor_score = True  # small networks, few epochs
        return tags

    def encode_targets(self, y, reset: bool, classes=None) -> np.ndarray:
        """Class indices into ``classes_`` (set when ``reset``)."""
        y = np.asarray(to_numpy(y))
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"y: expected binary or multiclass labels; got {kind} targets"
                + (" (Unknown label type)" if kind == "unknown" else "")
            )
        if reset:
            found = np.unique(y if classes is None else to_numpy(classes))
            if len(found) < 2:
                raise ValueError(
                    f"y: expected at least 2 classes to train on; got 1 class ({found[0]!r})"
                )
            self.classes_ = found
        index = np.clip(np.searchsorted(self.classes_, y), 0, len(self.classes_) - 1)
        unseen = self.classes_[index] != y
        if np.any(unseen):
            raise ValueError(
                f"y: expected labels among classes_ {self.classes_.tolist()}; "
                f"got {np.unique(y[unseen]).tolist()}"
            )
        return index

    def builder_targets(self, encoded):
        return np.eye(len(self.classes_))[encoded]

    def fit_targets(self, model, X, encoded):
        width, count = output_width(model, X), len(self.classes_)
        if width == 1 and count == 2:
            return encoded.astype(np.float64).reshape(-1, 1)
        if width != count:
            raise ValueError(
                f"model: expected an output of width {count} (one per class), or 1 for two "
                f"classes; got {width}"
            )
        return np.eye(count)[encoded]

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``(X, y)``, from the fitted weights after the first call."""
        reuse = hasattr(self, "model_")
        if not reuse and classes is None:
            classes = np.unique(to_numpy(y))
        one_epoch = {"epochs": 1, "initial_epoch": 0}
        return self.train(X, y, sample_weight, one_epoch, reuse, classes)

    def from_logits(self) -> bool:
        return bool(getattr(self.model_.network.loss, "from_logits", False))

    def predict_proba(self, X):
        """Class probabilities, shape (n, classes), in ``X``'s library under dispatch."""
        out = self.raw_output(X, "predict_proba")
        return probabilities(out, len(self.classes_), self.from_logits())

    def decision_function(self, X):
        """Log-odds of ``classes_[1]`` (two classes, shape (n,)), else per-class
        log-probabilities (logits for a loss from logits), shape (n, classes)."""
        out = self.raw_output(X, "decision_function")
        return decision_values(out, len(self.classes_), self.from_logits())

    def predict(self, X):
        """The most probable class of each row (labels from ``classes_``)."""
        out = self.raw_output(X, "predict")
        proba = probabilities(out, len(self.classes_), self.from_logits())
        xp = array_api_compat.array_namespace(proba)
        index = xp.argmax(proba, axis=1)
        classes = dispatch.like(self.classes_, proba)
        if isinstance(classes, np.ndarray):
            return classes[to_numpy(index)]
        return xp.take(classes, index, axis=0)


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A regressor around an arraynet model (Keras 3's ``SKLearnRegressor``): ``y`` of
    shape (n,) trains a network of one output column and ``predict`` returns shape (n,);
    ``y`` of shape (n, k), k columns. ``partial_fit`` trains one epoch."""

    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``(X, y)``, from the fitted weights after the first call."""
        reuse = hasattr(self, "model_")
        return self.train(X, y, sample_weight, {"epochs": 1, "initial_epoch": 0}, reuse)

    def predict(self, X):
        out = self.raw_output(X, "predict")
        return out[:, 0] if self.target_ndim_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # small networks, few epochs
        return tags


class SKLearnTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, SKLBase):
    """A transformer around an arraynet model (Keras 3's ``SKLearnTransformer``):
    ``transform`` returns the network's output. ``fit(X, y)`` trains it to map ``X`` to
    ``y``; ``fit(X)`` (no ``y``) to reproduce ``X`` (an autoencoder's training). The
    output is the backend's float dtype, whatever the input's. ``get_feature_names_out``
    names the output columns ``sklearntransformer0``, ... (so ``set_output`` works)."""

    @property
    def _n_features_out(self) -> int:
        """The network's output columns (scikit-learn's feature-names mixin reads this)."""
        return int(self.model_.output_shape[-1])

    def fit(self, X, y=None, sample_weight=None, **kwargs):
        """Fit the model to ``(X, y)``, or to ``(X, X)`` without ``y``."""
        reuse = bool(self.warm_start) and hasattr(self, "model_")
        return self.train(X, y, sample_weight, kwargs, reuse)

    def partial_fit(self, X, y=None, sample_weight=None):
        """Train one epoch, from the fitted weights after the first call."""
        reuse = hasattr(self, "model_")
        return self.train(X, y, sample_weight, {"epochs": 1, "initial_epoch": 0}, reuse)

    def check_data(self, X, y="no_validation", reset: bool = False):
        if y is None:
            X, _ = super().check_data(X, reset=reset)
            return X, X
        return super().check_data(X, y, reset)

    def transform(self, X):
        """The network's output for ``X``, shape (n, outputs)."""
        return self.raw_output(X, "transform")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = []
        return tags
