"""The scikit-learn estimator checks arraynet's estimators are expected to fail, with the
reason: ``parametrize_with_checks(estimators, expected_failed_checks=expected_failed_checks)``.

On NumPy float64 (``an.use("numpy", dtype="float64")``) every check passes. On the default
float32 backend, four checks ask for float64 results or agreement to a relative 1e-7:
"""

from __future__ import annotations

_WEIGHTS = (
    "whole-number sample weights train as repeated rows up to float32 rounding (1 ulp, "
    "above the check's rtol of 1e-7); the check passes on a float64 backend"
)

FLOAT32_FAILURES: dict[str, dict[str, str]] = {
    "SKLearnClassifier": {"check_sample_weight_equivalence_on_dense_data": _WEIGHTS},
    "SKLearnRegressor": {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS,
        "check_regressor_multioutput": (
            "predictions come in the backend's dtype, float32 by default (the check asks "
            "for float64, which a float64 backend gives)"
        ),
    },
    "SKLearnTransformer": {"check_sample_weight_equivalence_on_dense_data": _WEIGHTS},
}

EXPECTED_FAILED_CHECKS: dict[str, dict[str, dict[str, str]]] = {
    "float32": FLOAT32_FAILURES,
    "float64": {},
}


def expected_failed_checks(estimator, dtype: str | None = None) -> dict[str, str]:
    """``{check name: reason}`` for ``estimator``'s class on a backend of ``dtype`` (None:
    the selected backend's)."""
    if dtype is None:
        from ..backend import current_backend

        dtype = current_backend().dtype
    failures = EXPECTED_FAILED_CHECKS.get(dtype, FLOAT32_FAILURES)
    return dict(failures.get(type(estimator).__name__, {}))
