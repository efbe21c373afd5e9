"""arraynet's scikit-learn estimators (issue 23): Keras 3's arguments, parameters that grid
searches reach, label encoding, probabilities and decision values against a float64 NumPy
forward pass written out here, random_state, sample weights as repeated rows, warm starts,
partial fits and pickling through arraynet's model archives, on every backend."""

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

import arraynet as an  # noqa: E402
from arraynet.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402

RNG = np.random.default_rng(23)
X = RNG.normal(size=(60, 4))
SCORE = X @ np.array([1.5, -2.0, 0.5, 1.0])
LABELS = np.digitize(SCORE, [-1.0, 1.0])  # 0, 1, 2
NAMES = np.array(["low", "mid", "high"])[LABELS]


def mlp(X, y, hidden=6, activation="softmax", loss="categorical_crossentropy", lr=0.05):
    """One tanh hidden layer and an output per column of ``y``."""
    model = an.Sequential(
        [
            an.layers.Dense(hidden, activation="tanh"),
            an.layers.Dense(y.shape[1], activation=activation),
        ]
    )
    model.compile(loss=loss, optimizer=an.optimizers.Adam(learning_rate=lr))
    return model


def sigmoid_net(X, y):
    """Two classes on one sigmoid output."""
    model = an.Sequential(
        [an.layers.Dense(5, activation="tanh"), an.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(loss="binary_crossentropy", optimizer=an.optimizers.Adam(learning_rate=0.05))
    return model


def forward(estimator, X):
    """The network's output by hand in float64 NumPy: tanh hidden layer, then the output
    layer's pre-activation."""
    W1, b1, W2, b2 = (np.asarray(w, dtype=np.float64) for w in estimator.model_.get_weights())
    return np.tanh(X @ W1 + b1) @ W2 + b2


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


# -- parameters --------------------------------------------------------------------------------


def test_parameters_are_keras_arguments_and_routed_entries():
    est = SKLearnClassifier(mlp, model_kwargs={"hidden": 3}, fit_kwargs={"epochs": 2})
    shallow = est.get_params(deep=False)
    assert sorted(shallow) == ["fit_kwargs", "model", "model_kwargs", "random_state", "warm_start"]
    deep = est.get_params()
    assert deep["model__hidden"] == 3 and deep["fit__epochs"] == 2
    given = est.model_kwargs
    copy = clone(est).set_params(model__hidden=9, fit__batch_size=8, random_state=1)
    assert copy.model_kwargs == {"hidden": 9} and given == {"hidden": 3}  # not changed
    assert copy.fit_kwargs == {"epochs": 2, "batch_size": 8} and copy.random_state == 1
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(hidden=3)


def test_grid_search_reaches_model_and_fit_arguments():
    est = SKLearnClassifier(mlp, fit_kwargs={"epochs": 30}, random_state=0)
    grid = {"model__hidden": [1, 8], "fit__epochs": [1, 30]}
    search = GridSearchCV(est, grid, cv=2).fit(X, LABELS)
    scores = dict(
        zip(map(str, search.cv_results_["params"]), search.cv_results_["mean_test_score"])
    )
    assert len(scores) == 4
    assert search.best_params_ == {"fit__epochs": 30, "model__hidden": 8}
    assert search.best_estimator_.model_.layers[0].units == 8


# -- classifier outputs --------------------------------------------------------------------------


def test_string_labels_probabilities_and_decisions_match_a_numpy_forward(backend):
    with an.use(backend, dtype="float64"):
        est = SKLearnClassifier(mlp, fit_kwargs={"epochs": 40}, random_state=0).fit(X, NAMES)
        proba, decision, labels = est.predict_proba(X), est.decision_function(X), est.predict(X)
    assert list(est.classes_) == ["high", "low", "mid"] and est.n_features_in_ == 4
    expected = softmax(forward(est, X))
    np.testing.assert_allclose(proba, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(decision, np.log(expected), rtol=1e-8)
    assert list(labels) == list(est.classes_[expected.argmax(axis=1)])
    assert est.score(X, NAMES) == np.mean(labels == NAMES) > 0.8


def test_one_sigmoid_output_serves_two_classes():
    y = np.where(SCORE > 0, 7, -3)
    est = SKLearnClassifier(sigmoid_net, fit_kwargs={"epochs": 40}, random_state=0).fit(X, y)
    p = 1.0 / (1.0 + np.exp(-forward(est, X)[:, 0]))
    np.testing.assert_allclose(est.predict_proba(X), np.stack([1 - p, p], axis=1), atol=1e-5)
    decision = est.decision_function(X)
    assert decision.shape == (60,)
    np.testing.assert_allclose(decision, np.log(p / (1 - p)), rtol=1e-3, atol=1e-3)
    assert list(est.classes_) == [-3, 7]
    np.testing.assert_array_equal(est.predict(X), np.where(decision > 0, 7, -3))


def test_a_loss_from_logits_gives_softmax_probabilities_and_logits():
    est = SKLearnClassifier(
        mlp,
        model_kwargs={"activation": None, "loss": "softmax_cross_entropy"},
        fit_kwargs={"epochs": 20},
        random_state=0,
    ).fit(X, LABELS)
    logits = forward(est, X)
    np.testing.assert_allclose(est.predict_proba(X), softmax(logits), atol=1e-5)
    np.testing.assert_allclose(est.decision_function(X), logits, rtol=1e-4, atol=1e-4)


def test_the_builder_sees_one_hot_targets():
    seen = {}

    def builder(X, y):
        seen.update(shape=y.shape, rows=np.unique(y, axis=0).tolist())
        return mlp(X, y)

    SKLearnClassifier(builder).fit(X, NAMES)
    assert seen["shape"] == (60, 3) and seen["rows"] == [[0, 0, 1], [0, 1, 0], [1, 0, 0]]


# -- random_state, warm starts, partial fits, model instances ----------------------------------


def test_random_state_makes_a_fit_reproducible(backend):
    est = SKLearnRegressor(
        mlp, model_kwargs={"activation": None, "loss": "mse"}, fit_kwargs={"epochs": 5},
        random_state=3,
    )  # fmt: skip
    with an.use(backend):
        first = clone(est).fit(X, SCORE).predict(X)
        again = clone(est).fit(X, SCORE).predict(X)
        other = clone(est).set_params(random_state=4).fit(X, SCORE).predict(X)
    np.testing.assert_array_equal(first, again)
    assert np.max(np.abs(first - other)) > 1e-3


def test_a_model_instance_is_copied_with_fresh_weights_unless_warm_start():
    model = mlp(X, np.zeros((1, 3)))
    model.build((4,))
    before = model.get_weights()
    est = SKLearnClassifier(model, fit_kwargs={"epochs": 3}, random_state=0).fit(X, LABELS)
    assert est.model_ is not model
    for w, v in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w, v)
    warm = SKLearnClassifier(model, warm_start=True, fit_kwargs={"epochs": 3}).fit(X, LABELS)
    assert warm.model_ is model
    assert any(np.any(w != v) for w, v in zip(before, model.get_weights()))


def test_warm_start_trains_on_from_the_fitted_weights():
    est = SKLearnRegressor(
        mlp, warm_start=True, model_kwargs={"activation": None, "loss": "mse"},
        fit_kwargs={"epochs": 20}, random_state=0,
    ).fit(X, SCORE)  # fmt: skip
    model, first = est.model_, est.history_["loss"][:]
    est.fit(X, SCORE)
    assert est.model_ is model and len(est.history_["loss"]) == 40
    assert est.history_["loss"][20] < first[0] and est.history_["loss"][20] <= first[-1] * 1.5


def test_partial_fit_trains_one_epoch_at_a_time_and_keeps_the_classes():
    est = SKLearnClassifier(mlp, random_state=0)
    est.partial_fit(X[:30], LABELS[:30], classes=[0, 1, 2, 3])
    assert list(est.classes_) == [0, 1, 2, 3]
    model = est.model_
    est.partial_fit(X[30:], LABELS[30:])
    assert est.model_ is model and len(est.history_["loss"]) == 2
    with pytest.raises(ValueError, match="classes_"):
        est.partial_fit(X[:5], np.array([0, 1, 2, 5, 5]))


# -- sample weights --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sample_weights_act_as_repeated_rows(kind):
    weights = RNG.integers(0, 3, size=60)
    keep = np.repeat(np.arange(60), weights)
    if kind == "classifier":
        est, y = SKLearnClassifier(mlp), LABELS
    else:
        est, y = SKLearnRegressor(mlp, model_kwargs={"activation": None, "loss": "mse"}), SCORE
    est.set_params(random_state=0, fit_kwargs={"epochs": 5, "mode": "full"})
    with an.use("numpy", dtype="float64"):
        weighted = clone(est).fit(X, y, sample_weight=weights)
        repeated = clone(est).fit(X[keep], y[keep])
        unweighted = clone(est).fit(X, y)
    trained = [e.model_.get_weights() for e in (weighted, repeated, unweighted)]
    for w, r in zip(trained[0], trained[1]):
        np.testing.assert_allclose(w, r, rtol=1e-10, atol=1e-12)
    assert max(np.max(np.abs(w - u)) for w, u in zip(trained[0], trained[2])) > 1e-4
    with pytest.raises(ValueError, match="non-zero"):
        clone(est).fit(X, y, sample_weight=np.zeros(60))


# -- transformer -----------------------------------------------------------------------------------


def test_transformer_without_y_learns_to_reproduce_x_and_feeds_a_pipeline():
    coder = SKLearnTransformer(
        mlp, model_kwargs={"activation": None, "loss": "mse", "hidden": 4},
        fit_kwargs={"epochs": 200}, random_state=0,
    )  # fmt: skip
    fitted = clone(coder).fit(X)
    out = fitted.transform(X)
    assert out.shape == (60, 4)
    assert list(fitted.get_feature_names_out()) == [f"sklearntransformer{i}" for i in range(4)]
    assert np.mean((out - X) ** 2) < 0.2 * np.mean(X**2)
    pipe = make_pipeline(coder, LogisticRegression()).fit(X, LABELS)
    assert pipe.score(X, LABELS) > 0.8


# -- pickling --------------------------------------------------------------------------------------


def test_pickle_holds_archive_bytes_and_loads_on_the_selected_backend(backend):
    with an.use(backend):
        est = SKLearnClassifier(mlp, fit_kwargs={"epochs": 5}, random_state=0).fit(X, NAMES)
        data = pickle.dumps(est)
        expected = est.predict_proba(X)
    assert b"arraynet-sha256:" in data  # the model file's trailer
    for library in (b"torch", b"jax", b"array_api_strict", b"cupy"):
        assert library not in data
    with an.use("numpy"):
        back = pickle.loads(data)
        np.testing.assert_allclose(back.predict_proba(X), expected, rtol=1e-4, atol=1e-6)
    assert back.model_.variables.weights_backend.name == "numpy"
    for w, v in zip(back.model_.get_weights(), est.model_.get_weights()):
        np.testing.assert_array_equal(w, v)
    assert list(back.predict(X)) == list(est.predict(X)) and back.history_ == est.history_


def test_an_unfitted_estimator_with_an_unbuilt_model_pickles():
    est = SKLearnClassifier(mlp(X, np.zeros((1, 3))), fit_kwargs={"epochs": 2})
    back = pickle.loads(pickle.dumps(est))
    assert back.model.optimizer is not None and not back.model.built
    assert back.fit(X, LABELS).predict(X).shape == (60,)


# -- refusals --------------------------------------------------------------------------------------


def test_refusals_name_the_argument_before_training():
    def uncompiled(X, y):
        return an.Sequential([an.layers.Dense(3)])

    with pytest.raises(ValueError, match="model: expected a compiled model"):
        SKLearnClassifier(uncompiled).fit(X, LABELS)
    with pytest.raises(TypeError, match="model: expected an arraynet Model"):
        SKLearnClassifier("mlp").fit(X, LABELS)
    with pytest.raises(ValueError, match="model: expected an output of width 3"):
        SKLearnClassifier(sigmoid_net).fit(X, LABELS)
    with pytest.raises(ValueError, match="at least 2 classes"):
        SKLearnClassifier(mlp).fit(X, np.zeros(60))
    est = SKLearnClassifier(mlp, random_state=0).fit(X, LABELS)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :3])


def test_feature_names_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = SKLearnRegressor(
        mlp, model_kwargs={"activation": None, "loss": "mse"}, random_state=0
    ).fit(frame, SCORE)
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(X)


def functional(X, y):
    """The same network through an.Input and layer calls."""
    inputs = an.Input(shape=(X.shape[1],))
    hidden = an.layers.Dense(6, activation="tanh")(inputs)
    outputs = an.layers.Dense(y.shape[1], activation="softmax")(hidden)
    model = an.Model(inputs, outputs)
    model.compile(loss="categorical_crossentropy", optimizer=an.optimizers.Adam(0.05))
    return model


def test_a_functional_model_fits_copies_and_pickles():
    est = SKLearnClassifier(functional, fit_kwargs={"epochs": 20}, random_state=0).fit(X, LABELS)
    np.testing.assert_allclose(est.predict_proba(X), softmax(forward(est, X)), atol=1e-5)
    back = pickle.loads(pickle.dumps(est))
    assert type(back.model_) is type(est.model_)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    instance = SKLearnClassifier(functional(X, np.zeros((1, 3))), random_state=0).fit(X, LABELS)
    assert type(instance.model_) is type(est.model_)


def test_clone_copies_a_model_instance_through_its_archive(backend):
    model = mlp(X, np.zeros((1, 3)))
    with an.use(backend):
        warm = SKLearnClassifier(model, warm_start=True, fit_kwargs={"epochs": 2}).fit(X, LABELS)
        copied = clone(warm)
        assert copied.model is not model and not hasattr(copied, "model_")
        for w, v in zip(copied.model.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(w, v)
        copied.fit(X, LABELS)
    search = GridSearchCV(SKLearnClassifier(model, random_state=0), {"fit__epochs": [1, 2]}, cv=2)
    assert search.fit(X, LABELS).best_estimator_.model_ is not model
