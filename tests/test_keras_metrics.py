"""Keras's metrics: function forms against NumPy by hand, the metric classes' device state
updated over several batches against the same metric on all rows (scikit-learn's
roc_auc_score, precision_score, recall_score; NumPy by hand), on every backend, and the
names, classes and functions compile takes."""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy

sklearn_metrics = pytest.importorskip("sklearn.metrics")
RNG = np.random.default_rng(11)
BATCHES = (7, 32, 1, 25, 40)  # uneven batches, one of a single row


def _stream(backend, metric, P, Y, dtype="float64", jit=False):
    """``metric``'s result after updating its state batch by batch, on ``backend``."""
    with an.use(backend, dtype=dtype) as be:
        xp = be.xp
        update = metric.update
        if jit and backend == "jax":
            import jax

            update = jax.jit(lambda state, P, Y: metric.update(xp, state, metric.batch(xp, P, Y)))
        else:
            update = lambda state, P, Y: metric.update(xp, state, metric.batch(xp, P, Y))  # noqa: E731
        state = metric.init(xp, be.float_dtype)
        start = 0
        for rows in BATCHES:
            P_b, Y_b = be.asarray(P[start : start + rows]), be.asarray(Y[start : start + rows])
            state = update(state, P_b, Y_b)
            start += rows
        assert start == len(P)
        return float(metric.result(xp, state))


N = sum(BATCHES)


def _binary_problem(outputs=1):
    Y = (RNG.random((N, outputs)) < 0.4).astype(float)
    P = np.clip(0.5 * Y + 0.6 * RNG.random((N, outputs)) - 0.05, 0, 1)  # informative, noisy
    return P, Y


# -- AUC ---------------------------------------------------------------------------------------


def _keras_auc_by_hand(P, Y, num_thresholds=200, curve="ROC", summation="interpolation"):
    """Keras's AUC in float64 NumPy: counts at every threshold on all rows at once."""
    p, y = np.clip(P.ravel(), 0, 1), Y.ravel() != 0
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    t = np.array([-1e-7, *inner, 1 + 1e-7])
    above = p[None, :] > t[:, None]
    tp, fp = (above & y).sum(1), (above & ~y).sum(1)
    fn, tn = (~above & y).sum(1), (~above & ~y).sum(1)

    def div(a, b):
        return np.divide(a, b, out=np.zeros(len(a)), where=b != 0)

    if curve == "PR" and summation == "interpolation":
        dtp, pp = tp[:-1] - tp[1:], tp + fp
        dp = pp[:-1] - pp[1:]
        slope = div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * pp[1:]
        ok = (pp[:-1] > 0) & (pp[1:] > 0)
        ratio = np.where(ok, div(pp[:-1], np.maximum(pp[1:], 0)), 1.0)
        return float(np.sum(div(slope * (dtp + intercept * np.log(ratio)), tp[1:] + fn[1:])))
    recall = div(tp, tp + fn)
    x, h = (div(fp, fp + tn), recall) if curve == "ROC" else (recall, div(tp, tp + fp))
    heights = {"interpolation": (h[:-1] + h[1:]) / 2, "minoring": np.minimum(h[:-1], h[1:]),
               "majoring": np.maximum(h[:-1], h[1:])}[summation]  # fmt: skip
    return float(np.sum((x[:-1] - x[1:]) * heights))


@pytest.mark.parametrize("outputs", [1, 3])
def test_auc_streamed_over_batches_is_sklearn_roc_auc(backend, outputs):
    P, Y = _binary_problem(outputs)
    auc = _stream(backend, an.metrics.AUC(), P, Y, jit=True)
    assert auc == pytest.approx(_keras_auc_by_hand(P, Y), abs=1e-12)
    # Keras's 200 thresholds approximate the exact area (the trapezoids between them)
    assert auc == pytest.approx(sklearn_metrics.roc_auc_score(Y.ravel(), P.ravel()), abs=2e-3)


@pytest.mark.parametrize(
    ("curve", "summation"),
    [("ROC", "minoring"), ("ROC", "majoring"), ("PR", "interpolation"), ("PR", "minoring"),
     ("PR", "majoring")],
)  # fmt: skip
def test_auc_curves_and_summations_match_keras_formulas(backend, curve, summation):
    P, Y = _binary_problem(2)
    metric = an.metrics.AUC(num_thresholds=50, curve=curve, summation_method=summation)
    got = _stream(backend, metric, P, Y)
    assert got == pytest.approx(_keras_auc_by_hand(P, Y, 50, curve, summation), abs=1e-12)


def test_auc_minoring_and_majoring_bracket_the_exact_area():
    P, Y = _binary_problem(1)
    exact = sklearn_metrics.roc_auc_score(Y.ravel(), P.ravel())
    low = _stream("numpy", an.metrics.AUC(summation_method="minoring"), P, Y)
    high = _stream("numpy", an.metrics.AUC(summation_method="majoring"), P, Y)
    assert low <= exact + 1e-12 and exact <= high + 1e-12  # sums in other orders: ulps
    assert high - low > 1e-4  # they differ (1.5e-3 apart on this test's draw)


def test_auc_in_float32_and_from_logits(backend):
    P, Y = _binary_problem(1)
    expected = _keras_auc_by_hand(P, Y)
    assert _stream(backend, an.metrics.AUC(), P, Y, dtype="float32") == pytest.approx(
        expected, abs=1e-6
    )
    logits = np.log(np.clip(P, 1e-6, 1 - 1e-6) / (1 - np.clip(P, 1e-6, 1 - 1e-6)))
    from_logits = _stream(backend, an.metrics.AUC(from_logits=True), logits, Y)
    assert from_logits == pytest.approx(_keras_auc_by_hand(np.clip(P, 1e-6, 1 - 1e-6), Y))


def test_auc_keras_docstring_example():
    """keras.metrics.AUC(num_thresholds=3) on [0, 0, 1, 1] / [0, 0.5, 0.3, 0.9] is 0.75."""
    metric = an.metrics.AUC(num_thresholds=3)
    part = metric.batch(np, np.array([0, 0.5, 0.3, 0.9]), np.array([0.0, 0, 1, 1]))
    state = metric.update(np, metric.init(np, np.float64), part)
    np.testing.assert_array_equal(state[0], [2, 1, 0])  # tp, as Keras's docstring says
    np.testing.assert_array_equal(state[1], [2, 0, 0])  # fp
    assert float(metric.result(np, state)) == 0.75


# -- Precision, Recall, RootMeanSquaredError ------------------------------------------------


@pytest.mark.parametrize("threshold", [None, 0.3])
def test_precision_and_recall_streamed_are_sklearn_scores(backend, threshold):
    P, Y = _binary_problem(2)
    predicted = ((0.5 if threshold is None else threshold) < P).ravel()
    precision = _stream(backend, an.metrics.Precision(thresholds=threshold), P, Y, jit=True)
    recall = _stream(backend, an.metrics.Recall(thresholds=threshold), P, Y, jit=True)
    assert precision == pytest.approx(sklearn_metrics.precision_score(Y.ravel(), predicted))
    assert recall == pytest.approx(sklearn_metrics.recall_score(Y.ravel(), predicted))


def test_precision_of_one_class_and_of_nothing_predicted(backend):
    P, Y = RNG.random((N, 3)), np.eye(3)[RNG.integers(0, 3, N)]
    got = _stream(backend, an.metrics.Precision(class_id=1), P, Y)
    assert got == pytest.approx(sklearn_metrics.precision_score(Y[:, 1], P[:, 1] > 0.5))
    assert _stream(backend, an.metrics.Precision(), np.zeros((N, 1)), np.ones((N, 1))) == 0.0


def test_root_mean_squared_error_is_over_all_rows(backend):
    P, Y = RNG.normal(size=(N, 2)), RNG.normal(size=(N, 2))
    P[:7] += 10.0  # the first batch far off: a mean of batch RMSEs would differ
    expected = np.sqrt(np.mean((P - Y) ** 2))
    assert _stream(backend, an.metrics.RootMeanSquaredError(), P, Y, jit=True) == pytest.approx(
        expected, rel=1e-12
    )
    per_batch = [
        np.sqrt(np.mean((P[a : a + r] - Y[a : a + r]) ** 2))
        for a, r in zip(np.cumsum((0, *BATCHES[:-1])), BATCHES)
    ]
    assert abs(np.average(per_batch, weights=BATCHES) - expected) > 0.1


@pytest.mark.parametrize(
    "metric", [an.metrics.AUC(), an.metrics.Precision(), an.metrics.Recall(),
               an.metrics.RootMeanSquaredError()],
)  # fmt: skip
def test_streaming_metrics_refuse_to_be_batch_means(metric):
    assert metric.streaming
    with pytest.raises(TypeError, match="once per epoch"):
        metric(np, np.ones((2, 1)), np.ones((2, 1)))


# -- mean metrics ------------------------------------------------------------------------------


def _by_hand(name, P, Y, labels):
    top = np.argsort(-P, axis=1)
    return {
        "binary_accuracy": ((P > 0.5) == Y).mean(1),
        "categorical_accuracy": (P.argmax(1) == Y.argmax(1)).astype(float),
        "sparse_categorical_accuracy": (P.argmax(1) == labels).astype(float),
        "top_k_categorical_accuracy": (top[:, :2] == labels[:, None]).any(1).astype(float),
        "sparse_top_k_categorical_accuracy": (top[:, :2] == labels[:, None]).any(1),
        "mean_squared_error": ((P - Y) ** 2).mean(1),
        "mean_absolute_error": np.abs(P - Y).mean(1),
    }[name]


MEAN_CLASSES = {
    "binary_accuracy": an.metrics.BinaryAccuracy,
    "categorical_accuracy": an.metrics.CategoricalAccuracy,
    "sparse_categorical_accuracy": an.metrics.SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": lambda: an.metrics.TopKCategoricalAccuracy(k=2),
    "sparse_top_k_categorical_accuracy": lambda: an.metrics.SparseTopKCategoricalAccuracy(k=2),
    "mean_squared_error": an.metrics.MeanSquaredError,
    "mean_absolute_error": an.metrics.MeanAbsoluteError,
}


@pytest.mark.parametrize("name", MEAN_CLASSES)
def test_mean_metrics_stream_and_batch_agree_with_numpy(backend, name):
    P = RNG.random((N, 4))
    labels = RNG.integers(0, 4, N)
    Y = np.eye(4)[labels]
    expected = _by_hand(name, P, Y, labels)
    metric = MEAN_CLASSES[name]()
    assert not metric.streaming and metric.name == name
    assert _stream(backend, metric, P, Y, jit=True) == pytest.approx(expected.mean(), rel=1e-12)
    with an.use(backend, dtype="float64") as be:
        batch = float(metric(be.xp, be.asarray(P), be.asarray(Y)))  # the batch-mean path
        function = getattr(an.metrics, name)
        y_true = labels if name.startswith("sparse") else Y
        kwargs = {"k": 2} if "top_k" in name else {}
        values = to_numpy(function(y_true, P, **kwargs))
    assert batch == pytest.approx(expected.mean(), rel=1e-12)
    np.testing.assert_allclose(values, expected, rtol=1e-12)


def test_keras_accuracy_is_exact_equality():
    assert to_numpy(an.metrics.accuracy([1.0, 2.0, 3.0], [1.0, 2.5, 3.0])).tolist() == [1, 0, 1]


def test_binary_accuracy_threshold():
    values = to_numpy(an.metrics.binary_accuracy([[1.0], [0.0]], [[0.7], [0.6]], threshold=0.65))
    assert values.tolist() == [1.0, 1.0]


# -- compile -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "key", "cls"),
    [
        ("accuracy", "accuracy", an.metrics.ChosenAccuracy),
        ("acc", "accuracy", an.metrics.ChosenAccuracy),
        ("binary_accuracy", "binary_accuracy", an.metrics.BinaryAccuracy),
        ("top_k_categorical_accuracy", "top_k_categorical_accuracy",
         an.metrics.TopKCategoricalAccuracy),
        ("mse", "mse", an.metrics.MeanSquaredError),
        ("mean_squared_error", "mse", an.metrics.MeanSquaredError),
        ("mae", "mae", an.metrics.MeanAbsoluteError),
        ("root_mean_squared_error", "root_mean_squared_error", an.metrics.RootMeanSquaredError),
        ("auc", "auc", an.metrics.AUC),
        ("AUC", "auc", an.metrics.AUC),
        ("precision", "precision", an.metrics.Precision),
        ("recall", "recall", an.metrics.Recall),
        (an.metrics.AUC(name="roc"), "roc", an.metrics.AUC),
        (an.metrics.Recall, "recall", an.metrics.Recall),
        (an.metrics.sparse_categorical_accuracy, "sparse_categorical_accuracy",
         an.metrics.SparseCategoricalAccuracy),
        ("mape", "mape", an.metrics.LossMetric),
        (an.metrics.mean_absolute_percentage_error, "mean_absolute_percentage_error",
         an.metrics.LossMetric),
    ],
)  # fmt: skip
def test_names_classes_and_functions(given, key, cls):
    name, metric = an.metrics.get(given)
    assert name == key and isinstance(metric, cls)


def test_accuracy_follows_the_loss():
    binary = an.losses.get("binary_crossentropy")
    assert isinstance(an.metrics.get("accuracy", binary)[1], an.metrics.BinaryAccuracy)
    assert an.metrics.get("accuracy", binary)[0] == "accuracy"


def test_unknown_metric_lists_the_names():
    with pytest.raises(ValueError, match="auc"):
        an.metrics.get("aucc")


def test_evaluate_and_fit_report_metric_classes_and_own_functions(backend):
    def squared(y_true, y_pred):  # Array API operators only: runs on any backend
        return (y_true - y_pred) ** 2

    X, y = RNG.normal(size=(40, 3)), RNG.normal(size=(40, 2))
    with an.use(backend, dtype="float64"):
        model = an.Sequential([an.layers.Dense(2)], input_dim=3, seed=0)
        model.compile("mse", metrics=[an.metrics.MeanAbsoluteError(), "mape", squared])
        P = model.predict(X)
        scores = model.evaluate(X, y, batch_size=16, return_dict=True)
        history = model.fit(X, y, epochs=1, batch_size=16, verbose=0).history
    assert list(scores) == ["loss", "mean_absolute_error", "mape", "squared"]
    assert scores["mean_absolute_error"] == pytest.approx(np.abs(P - y).mean(), rel=1e-12)
    assert scores["mape"] == pytest.approx(
        100 * np.mean(np.abs(y - P) / np.maximum(np.abs(y), 1e-7)), rel=1e-12
    )
    assert scores["squared"] == pytest.approx(np.mean((y - P) ** 2), rel=1e-12)
    assert set(history) == {"loss", "mean_absolute_error", "mape", "squared"}


def test_metric_configs_round_trip():
    for metric in (an.metrics.AUC(num_thresholds=17, curve="PR"), an.metrics.Precision(0.3),
                   an.metrics.TopKCategoricalAccuracy(k=3, name="top3")):  # fmt: skip
        name, again = an.metrics.get(an.metrics.serialize(metric))
        assert name == metric.name and again.get_config() == metric.get_config()


def test_against_keras_itself():
    keras = pytest.importorskip("keras")
    P, Y = _binary_problem(1)
    for theirs, ours in [(keras.metrics.AUC(), an.metrics.AUC()),
                         (keras.metrics.Precision(), an.metrics.Precision()),
                         (keras.metrics.Recall(), an.metrics.Recall())]:  # fmt: skip
        theirs.update_state(Y.astype("float32"), P.astype("float32"))
        assert _stream("numpy", ours, P, Y) == pytest.approx(float(theirs.result()), abs=1e-5)


@pytest.mark.parametrize(
    "given",
    ["accuracy", "auc", "mse", "mape", an.metrics.AUC(num_thresholds=20, name="auc20"),
     an.metrics.Precision(thresholds=0.7), an.metrics.binary_accuracy],
)  # fmt: skip
def test_what_a_model_config_keeps_rebuilds_the_metric(given):
    loss = an.losses.get("binary_crossentropy")
    name, metric = an.metrics.get(given, loss)
    kept = an.metrics.saved(name, metric, loss)
    if isinstance(given, str):
        assert kept == name  # a name alone, as configs stored before
    again_name, again = an.metrics.get(kept, loss)
    assert again_name == name
    assert type(again) is type(metric) and again.get_config() == metric.get_config()
