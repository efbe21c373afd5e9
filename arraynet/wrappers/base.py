"""``SKLBase``: what arraynet's three scikit-learn estimators share (Keras 3's ``SKLBase``):
parameters, building or copying the model, seeding it, fitting it where the data lives,
and pickling it through arraynet's model archives."""

from __future__ import annotations

import copy
import numbers

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..backend import to_numpy
from ..models import Model
from . import archive, dispatch

ROUTES = ("model", "fit")  # set_params(model__units=8) -> model_kwargs, fit__epochs -> fit_kwargs


class SKLBase(BaseEstimator):
    """A scikit-learn estimator around an arraynet model.

    Args:
        model: a compiled arraynet ``Model``, or a callable returning one, called as
            ``model(X=X, y=y, **model_kwargs)`` with the checked data (``y`` as the network
            is trained on it: one-hot rows for a classifier). A model instance is copied
            with fresh weights (``from_config``) for each fit, unless ``warm_start``.
        warm_start: reuse the fitted model's weights in the next ``fit`` (a model instance
            is then trained itself, not a copy).
        model_kwargs: keyword arguments of a callable ``model``; ``set_params(model__name=v)``
            sets one (so grid searches reach them).
        fit_kwargs: keyword arguments of ``Model.fit`` (``epochs``, ``batch_size``, ...;
            ``verbose`` defaults to 0 here); ``set_params(fit__name=v)`` sets one, and
            ``fit(X, y, **kwargs)`` overrides them.
        random_state: None, an int or a ``numpy.random.RandomState``: the seed of the new
            model's generator (initial weights, shuffling order, dropout masks), so a fit
            is reproducible on every backend. None leaves the model's own seed.

    Attributes: ``model_`` (the fitted model), ``history_`` (``{"loss": [...], ...}``),
    ``n_features_in_``, ``feature_names_in_`` (DataFrame columns).
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None,
                 random_state=None):  # fmt: skip
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs
        self.random_state = random_state

    # -- parameters ---------------------------------------------------------------------

    def get_params(self, deep=True) -> dict:
        """The constructor's arguments; with ``deep``, also each ``model_kwargs`` entry as
        ``model__name`` and each ``fit_kwargs`` entry as ``fit__name``."""
        params = super().get_params(deep=deep)
        if deep:
            for route in ROUTES:
                given = getattr(self, f"{route}_kwargs")
                for name, value in given.items() if isinstance(given, dict) else ():
                    params[f"{route}__{name}"] = value
        return params

    def set_params(self, **params):
        """Set constructor arguments, and ``model__name``/``fit__name`` entries of
        ``model_kwargs``/``fit_kwargs`` (new dicts: the given ones are never changed)."""
        routed = {route: {} for route in ROUTES}
        plain = {}
        for key, value in params.items():
            route, sep, name = key.partition("__")
            if sep and route in routed and name:
                routed[route][name] = value
            else:
                plain[key] = value
        super().set_params(**plain)
        for route, values in routed.items():
            if values:
                current = getattr(self, f"{route}_kwargs")
                current = current if isinstance(current, dict) else {}
                setattr(self, f"{route}_kwargs", {**current, **values})
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.array_api_support = True  # dispatch: the data's library trains and answers
        tags.target_tags.multi_output = True  # a network has as many outputs as asked
        return tags

    def __sklearn_clone__(self):
        """An unfitted copy with the same parameters (``sklearn.clone``): a model instance
        copied through its state (weights and optimizer state kept, for
        ``warm_start``), the other parameters as scikit-learn copies them."""
        params = {
            name: archive.copy_model(value)
            if isinstance(value, Model)
            else clone(value, safe=False)
            for name, value in self.get_params(deep=False).items()
        }
        copied = type(self)(**params)
        for name in ("_metadata_request", "_sklearn_output_config"):  # as sklearn.clone does
            if name in vars(self):
                setattr(copied, name, copy.deepcopy(vars(self)[name]))
        return copied

    # -- pickling -------------------------------------------------------------------------

    def __getstate__(self):
        """The estimator's state with each model as arraynet's archive bytes."""
        return archive.pack(dict(super().__getstate__()))

    def __setstate__(self, state):
        super().__setstate__(archive.unpack(state))

    # -- the model --------------------------------------------------------------------------

    def seed(self) -> int | None:
        """The seed ``random_state`` gives a new model (None: the model's own)."""
        state = self.random_state
        if state is None:
            return None
        if isinstance(state, numbers.Integral) and not isinstance(state, bool) and state >= 0:
            return int(state)
        return int(check_random_state(state).randint(2**31 - 1))

    def new_model(self, X, Y) -> Model:
        """The model to fit from scratch: ``model`` itself (``warm_start``), a fresh copy
        of it, or what the callable builds; compiled, seeded by ``random_state``."""
        if isinstance(self.model, Model):
            model = self.model if self.warm_start else fresh_copy(self.model)
        elif callable(self.model):
            model = self.model(X=X, y=Y, **(self.model_kwargs or {}))
        else:
            raise TypeError(
                f"model: expected an arraynet Model or a callable building one; "
                f"got {type(self.model).__name__}"
            )
        if not isinstance(model, Model):
            raise TypeError(
                f"model: expected the callable to return an arraynet Model; "
                f"got {type(model).__name__}"
            )
        if model.optimizer is None:
            raise ValueError(
                "model: expected a compiled model (model.compile(loss=..., optimizer=...)); "
                "got one that is not compiled"
            )
        seed = self.seed()
        if seed is not None and not (self.warm_start and model is self.model):
            reseed(model, seed)
        return model

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Fit the model to ``(X, y)``; ``kwargs`` go to ``Model.fit`` over ``fit_kwargs``.
        With ``warm_start``, a fitted model trains on from its weights."""
        reuse = bool(self.warm_start) and hasattr(self, "model_")
        return self.train(X, y, sample_weight, kwargs, reuse)

    def train(self, X, y, sample_weight, kwargs: dict, reuse: bool, classes=None):
        """Check the data, build (unless ``reuse``) and fit the model where ``X`` lives."""
        with dispatch.backend_for(X):
            X, y = self.check_data(X, y, reset=not reuse)
            encoded = self.encode_targets(y, reset=not reuse, classes=classes)
            model = self.model_ if reuse else self.new_model(X, self.builder_targets(encoded))
            targets = self.fit_targets(model, X, encoded)
            options = {"verbose": 0, **(self.fit_kwargs or {}), **kwargs}
            if sample_weight is not None:
                options["sample_weight"] = frequency_weights(sample_weight, X)
            history = model.fit(X, targets, **options)
        self.model_ = model
        if not reuse:
            self.fitted_placement_ = dispatch.placement(X)
        logs = {key: list(values) for key, values in history.history.items()}
        if reuse and hasattr(self, "history_"):
            logs = {key: [*self.history_.get(key, []), *values] for key, values in logs.items()}
        self.history_ = logs
        return self

    def check_data(self, X, y="no_validation", reset: bool = False):
        """``X`` (and ``y``) checked by scikit-learn: finite numbers, 2-D, float dtype,
        ``n_features_in_`` and ``feature_names_in_`` set (``reset``) or compared; a
        missing ``y`` refused where the estimator needs one."""
        dtype = dispatch.float_dtypes(X)
        if isinstance(y, str) and y == "no_validation":
            return validate_data(self, X, reset=reset, dtype=dtype), None
        return validate_data(self, X, y, reset=reset, dtype=dtype, **self.target_checks())

    def target_checks(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def encode_targets(self, y, reset: bool, classes=None) -> np.ndarray:
        """``y`` as host float rows (regressors and transformers: 1-D as a column)."""
        y = np.asarray(to_numpy(y), dtype=np.float64)
        if reset:
            self.target_ndim_ = y.ndim
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def builder_targets(self, encoded):
        """What a model-building callable receives as ``y``."""
        return encoded

    def fit_targets(self, model: Model, X, encoded):
        """The targets the network trains on (checked against its output width)."""
        width = output_width(model, X)
        if width != encoded.shape[1]:
            raise ValueError(
                f"model: expected an output of width {encoded.shape[1]} (the targets' "
                f"columns); got {width}"
            )
        return encoded

    # -- inference ---------------------------------------------------------------------------

    def raw_output(self, X, method: str):
        """The network's output for ``X``: host NumPy, or under array-API dispatch an array
        of ``X``'s library on its device (the fit's: another is refused, naming ``method``)."""
        check_is_fitted(self)
        dispatch.check_same_placement(self, X, method)
        with dispatch.backend_for(X) as dispatched:
            X, _ = self.check_data(X, reset=False)
            if dispatched:
                return self.model_(X)
            return self.model_.predict(X, verbose=0)


def frequency_weights(sample_weight, X) -> np.ndarray:
    """``sample_weight`` checked (one number >= 0 per row, some > 0) and scaled to mean 1:
    ``Model.fit`` divides the weighted loss by the rows (Keras's reduction), so whole-number
    weights then act as repeated rows (exactly so in one batch), as scikit-learn expects."""
    weights = _check_sample_weight(to_numpy(sample_weight), np.empty((X.shape[0], 0)))
    weights = np.asarray(weights, dtype=np.float64)
    total = float(np.sum(weights))
    if not total > 0:
        raise ValueError(f"sample_weight: expected some weight > 0; got a sum of {total}")
    return weights * (weights.shape[0] / total)


def fresh_copy(model: Model) -> Model:
    """A compiled copy of ``model`` with new initial weights (Keras's ``clone_model``):
    from its config, so the weights come from its seed."""
    return type(model).from_config(model.get_config())


def reseed(model: Model, seed: int) -> None:
    """Give ``model`` the generator ``default_rng(seed)`` and, if built, initial weights
    drawn from it (an unbuilt model draws them from it at its first fit)."""
    model.rng = np.random.default_rng(seed)
    if model.built:
        model.build_per_example(model.example_shape)


def output_width(model: Model, X) -> int:
    """The network's output columns for inputs shaped like ``X``'s rows."""
    shape = model.output_shape_for(tuple(X.shape[1:]))
    if len(shape) != 1:
        raise ValueError(f"model: expected outputs of shape (n, k); got (n, *{shape})")
    return int(shape[0])
