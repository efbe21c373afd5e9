"""scikit-learn's estimator checks on arraynet's three estimators, on NumPy float32 (the
default backend) and float64; the checks they cannot pass are the expected failures that
``arraynet.wrappers.expected_failed_checks`` lists with their reasons (none on float64)."""

import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import arraynet as an  # noqa: E402
from arraynet.wrappers import (  # noqa: E402
    SKLearnClassifier,
    SKLearnRegressor,
    SKLearnTransformer,
    expected_failed_checks,
)


class TinyNetwork:
    """Builds one small hidden layer and an output per target column (a class, not a
    function, for a repr without an address: pytest-xdist workers must agree on test ids)."""

    def __call__(self, X, y, hidden=8, loss="categorical_crossentropy", activation="softmax"):
        model = an.Sequential(
            [
                an.layers.Dense(hidden, activation="relu"),
                an.layers.Dense(y.shape[1], activation=activation),
            ]
        )
        model.compile(loss=loss, optimizer=an.optimizers.Adam(learning_rate=0.05))
        return model

    def __repr__(self) -> str:
        return "TinyNetwork()"


tiny_network = TinyNetwork()


ESTIMATORS = [
    SKLearnClassifier(tiny_network, fit_kwargs={"epochs": 5}),
    SKLearnRegressor(
        tiny_network, model_kwargs={"loss": "mse", "activation": None}, fit_kwargs={"epochs": 5}
    ),
    SKLearnTransformer(
        tiny_network, model_kwargs={"loss": "mse", "activation": None}, fit_kwargs={"epochs": 2}
    ),
]


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=lambda e: expected_failed_checks(e, "float32")
)
def test_sklearn_checks_float32(estimator, check):
    """The default backend: NumPy float32."""
    check(estimator)


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=lambda e: expected_failed_checks(e, "float64")
)
def test_sklearn_checks_float64(estimator, check):
    """NumPy float64: no expected failures."""
    with an.use("numpy", dtype="float64"):
        check(estimator)
