"""scikit-learn estimators around arraynet models (Keras 3's ``keras.wrappers``).

``SKLearnClassifier``, ``SKLearnRegressor`` and ``SKLearnTransformer`` take ``model=`` (a
compiled arraynet model, or a callable building one from ``X``, ``y`` and ``model_kwargs``),
``warm_start``, ``model_kwargs``, ``fit_kwargs`` and ``random_state``. They need
scikit-learn >= 1.6 (``pip install arraynet[sklearn]``), imported on first use of a name
here: ``import arraynet`` does not load scikit-learn.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "SKLearnClassifier": "estimators",
    "SKLearnRegressor": "estimators",
    "SKLearnTransformer": "estimators",
    "SKLBase": "base",
    "EXPECTED_FAILED_CHECKS": "checks",
    "expected_failed_checks": "checks",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module 'arraynet.wrappers' has no attribute {name!r}")
    try:
        import sklearn  # noqa: F401
    except ImportError as err:
        raise ImportError(
            f"arraynet.wrappers.{name} needs scikit-learn >= 1.6: pip install 'arraynet[sklearn]'"
        ) from err
    return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_NAMES])
