"""Streaming metrics (AUC, Precision, Recall, RootMeanSquaredError: no mean of batch values)
in fit, evaluate and validation: the step returns each batch's state contribution, the loops
sum it over the epoch on the device, the trainer takes the result once per epoch. Checked
against float64 NumPy by hand over all rows (Keras's AUC formula, confusion counts, RMSE),
on every backend, in every mode, in the compiled JAX epoch, with batch callbacks and on
streamed chunks; and never equal to the mean of the batch values."""

import numpy as np
import pytest

import arraynet as an
from arraynet.train.step import Scores

RNG = np.random.default_rng(21)
N, D = 37, 4  # batches of 8 leave a short last batch of 5
X = RNG.normal(size=(N, D))
Y = (X[:, :1] + 0.8 * RNG.normal(size=(N, 1)) > 0) * 1.0
METRICS = ["accuracy", "auc", "precision", "recall", "root_mean_squared_error", "mse"]


# -- float64 NumPy by hand ----------------------------------------------------------------


def _auc(P, Y, num_thresholds=200):
    """Keras's AUC (ROC, interpolation) from confusion counts at its thresholds."""
    p, y = np.clip(P.ravel(), 0, 1), Y.ravel() != 0
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    t = np.array([-1e-7, *inner, 1 + 1e-7])
    above = p[None, :] > t[:, None]
    tp, fp = (above & y).sum(1), (above & ~y).sum(1)
    fn, tn = (~above & y).sum(1), (~above & ~y).sum(1)
    tpr, fpr = tp / np.maximum(tp + fn, 1), fp / np.maximum(fp + tn, 1)
    return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))


def _by_hand(P, Y):
    """Each metric over all rows at once."""
    predicted, actual = P > 0.5, Y != 0
    tp = np.sum(predicted & actual)
    return {
        "accuracy": np.mean(predicted == actual),
        "auc": _auc(P, Y),
        "precision": tp / np.sum(predicted),
        "recall": tp / np.sum(actual),
        "root_mean_squared_error": np.sqrt(np.mean((P - Y) ** 2)),
        "mse": np.mean((P - Y) ** 2),
    }


FROZEN = 1e-30  # a learning rate whose steps vanish below the weights' spacing


def _model(lr=FROZEN, seed=0, layers=None):
    model = an.Sequential(
        layers or [an.layers.Dense(5, activation="tanh"), an.layers.Dense(1, activation="sigmoid")],
        input_dim=D,
        seed=seed,
    )
    model.compile("binary_crossentropy", an.optimizers.SGD(learning_rate=lr), metrics=METRICS)
    return model


def _predict(params, X):
    W1, b1, W2, b2 = (np.asarray(p, np.float64) for p in params)
    return 1.0 / (1.0 + np.exp(-(np.tanh(X @ W1 + b1) @ W2 + b2)))


def _close(logs: dict, expected: dict, prefix="", rtol=1e-9):
    for name, value in expected.items():
        got = logs[prefix + name]
        got = got[-1] if isinstance(got, list) else got
        assert got == pytest.approx(value, rel=rtol, abs=1e-12), name


# -- fit --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["full", "minibatch", "stochastic"])
def test_epoch_metrics_are_over_all_rows_in_every_mode(backend, mode):
    """With a vanishing learning rate every batch sees the same weights, so the epoch's metrics
    are the metrics of the predictions over all rows; three epochs in one runner call."""
    with an.use(backend, dtype="float64"):
        model = _model()
        history = model.fit(X, Y, mode=mode, batch_size=8, epochs=3, verbose=0)
        P = _predict(model.get_weights(), X)
    expected = _by_hand(P, Y)
    for name, value in expected.items():
        np.testing.assert_allclose(history.history[name], [value] * 3, rtol=1e-9, atol=1e-12)


def test_epoch_metrics_are_not_the_mean_of_batch_values():
    """The batches' mean RMSE, AUC, precision and recall differ from the epoch's: the test
    above can tell them apart."""
    with an.use("numpy", dtype="float64"):
        model = _model()
        history = model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        P = _predict(model.get_weights(), X)
    rows = [(a, min(a + 8, N)) for a in range(0, N, 8)]
    for name in ("auc", "precision", "recall", "root_mean_squared_error"):
        per_batch = [_by_hand(P[a:b], Y[a:b])[name] for a, b in rows]
        mean = np.average(per_batch, weights=[b - a for a, b in rows])
        assert abs(mean - history.history[name][0]) > 1e-4, name  # compared at 1e-9 above


def _trained_by_hand(params, batches, lr):
    """SGD on binary cross-entropy by hand; the predictions each batch saw before its
    update, stacked in the epoch's row order."""
    W1, b1, W2, b2 = (np.asarray(p, np.float64) for p in params)
    seen = []
    for Xb, Yb in batches:
        A1 = np.tanh(Xb @ W1 + b1)
        P = 1.0 / (1.0 + np.exp(-(A1 @ W2 + b2)))
        seen.append(P)
        dZ2 = (P - Yb) / len(Xb)
        dZ1 = dZ2 @ W2.T * (1 - A1**2)
        W1, b1 = W1 - lr * Xb.T @ dZ1, b1 - lr * dZ1.sum(0)
        W2, b2 = W2 - lr * A1.T @ dZ2, b2 - lr * dZ2.sum(0)
    return np.concatenate(seen)


def test_training_metrics_see_each_batch_before_its_update(backend):
    """A real update between batches (shuffled): each batch's contribution comes from the
    predictions before its update, as Keras's train_step computes them."""
    lr = 0.5
    with an.use(backend, dtype="float64"):
        model = _model(lr)
        start = model.get_weights()
        history = model.fit(X, Y, batch_size=8, epochs=1, seed=3, verbose=0)
    order = np.random.default_rng(3).permutation(N)
    batches = [(X[order[a : a + 8]], Y[order[a : a + 8]]) for a in range(0, N, 8)]
    P = _trained_by_hand(start, batches, lr)
    _close(history.history, _by_hand(P, Y[order]))


def test_batch_callbacks_and_jax_eager_steps_sum_the_same_states(backend):
    hook = an.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: None)
    with an.use(backend, dtype="float64"):
        plain, hooked = _model(0.5), _model(0.5)
        h1 = plain.fit(X, Y, batch_size=8, epochs=2, seed=1, verbose=0)
        h2 = hooked.fit(X, Y, batch_size=8, epochs=2, seed=1, verbose=0, callbacks=[hook])
    for name in METRICS:
        np.testing.assert_allclose(h1.history[name], h2.history[name], rtol=1e-12, err_msg=name)


def test_layers_that_mix_rows_sum_states_too(backend):
    """BatchNormalization (no row mask: on JAX the short batch is compiled by its size):
    the same epoch metrics on every backend as on NumPy."""
    runs = []
    for name in dict.fromkeys(["numpy", backend]):
        with an.use(name, dtype="float64"):
            layers = [an.layers.Dense(5), an.layers.BatchNormalization(),
                      an.layers.Dense(1, activation="sigmoid")]  # fmt: skip
            model = _model(0.3, layers=layers)
            runs.append(model.fit(X, Y, batch_size=8, epochs=2, seed=2, verbose=0).history)
    for name in METRICS:
        np.testing.assert_allclose(runs[0][name], runs[-1][name], rtol=1e-9, err_msg=name)


def test_streamed_chunks_add_their_states(backend, tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    with an.use(backend, dtype="float64"):
        model = _model()
        history = model.fit(np.load(path, mmap_mode="r"), Y, batch_size=4, chunk_rows=10,
                            epochs=2, verbose=0)  # fmt: skip
        P = _predict(model.get_weights(), X)
    _close(history.history, _by_hand(P, Y))


def test_float32_epoch_metrics(backend):
    with an.use(backend, dtype="float32"):
        model = _model()
        history = model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
        P = _predict(model.get_weights(), X.astype(np.float32))
    expected = _by_hand(P, Y)
    expected.pop("auc")  # a float32 output may sit on the other side of a threshold
    _close(history.history, expected, rtol=1e-5)


# -- evaluate and validation ------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 8, 1])
def test_evaluate_is_over_all_rows(backend, batch_size):
    with an.use(backend, dtype="float64"):
        model = _model()
        scores = model.evaluate(X, Y, batch_size=batch_size, verbose=0, return_dict=True)
        P = _predict(model.get_weights(), X)
    _close(scores, _by_hand(P, Y))


def test_validation_metrics_are_over_all_validation_rows(backend):
    X_val, Y_val = X[:20], Y[:20]
    with an.use(backend, dtype="float64"):
        model = _model(0.5)
        history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0,
                            validation_data=(X_val, Y_val))  # fmt: skip
        P = _predict(model.get_weights(), X_val)
    _close(history.history, _by_hand(P, Y_val), prefix="val_")


def test_auc_against_scikit_learn(backend):
    """With many thresholds Keras's AUC approaches the exact area."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    with an.use(backend, dtype="float64"):
        model = an.Sequential([an.layers.Dense(1, activation="sigmoid")], input_dim=D, seed=0)
        model.compile("binary_crossentropy", "sgd", metrics=[an.metrics.AUC(num_thresholds=5000)])
        auc = model.evaluate(X, Y, batch_size=5, verbose=0)[1]
        P = model.predict(X, verbose=0)
    assert auc == pytest.approx(sklearn_metrics.roc_auc_score(Y[:, 0], P[:, 0]), abs=1e-3)


# -- the protocol -----------------------------------------------------------------------------


def test_mean_metrics_keep_one_slot_and_streaming_ones_their_state():
    scores = Scores([an.metrics.BinaryAccuracy(), an.metrics.AUC(num_thresholds=7),
                     an.metrics.RootMeanSquaredError()])  # fmt: skip
    assert scores.summed == (False, False, True, True, True, True, True, True)
    assert scores.shapes == ((), (), (7,), (7,), (7,), (7,), (), ())


def test_states_add_across_batches_as_on_all_rows(backend):
    """init / batch / update / result: two halves added give the metric of all rows."""
    with an.use(backend, dtype="float64") as be:
        xp = be.xp
        P = _predict(_model().get_weights(), X)
        metrics = (an.metrics.AUC(), an.metrics.Precision(), an.metrics.Recall(),
                   an.metrics.RootMeanSquaredError(), an.metrics.MeanSquaredError())  # fmt: skip
        for metric in metrics:
            state = metric.init(xp, be.float_dtype)
            for a, b in ((0, 11), (11, N)):
                part = metric.batch(xp, be.asarray(P[a:b]), be.asarray(Y[a:b]))
                state = metric.update(xp, state, part)
            whole = metric.result(xp, metric.batch(xp, be.asarray(P), be.asarray(Y)))
            assert float(metric.result(xp, state)) == pytest.approx(float(whole), rel=1e-12)


@pytest.mark.parametrize("from_logits", [False, True])
def test_auc_counts_by_sorting_and_by_comparing_agree(backend, monkeypatch, from_logits):
    """A small batch compares every output with every threshold, a large one sorts and
    searches: the same counts, outputs on a threshold and masked rows included."""
    from arraynet.metrics import confusion

    P = np.concatenate([RNG.random((30, 2)), np.full((4, 2), 50 / 199), np.full((3, 2), 0.5)])
    Y = (RNG.random((37, 2)) < 0.5) * 1.0
    keep = np.arange(37) % 5 != 0
    metric = an.metrics.AUC(from_logits=from_logits)
    counts = []
    with an.use(backend, dtype="float64") as be:
        for compared in (0, 1 << 30):
            monkeypatch.setattr(confusion, "COMPARED", compared)
            args = (be.xp, be.asarray(P), be.asarray(Y))
            whole = metric.batch(*args)
            kept = metric.batch(*args, be.xp.asarray(keep))
            counts.append([np.asarray(an.backend.to_numpy(c)) for c in (*whole, *kept)])
    for a, b in zip(*counts):
        np.testing.assert_array_equal(a, b)
    tp = counts[0][4]
    p = 1 / (1 + np.exp(-P)) if from_logits else P
    above = (p[keep].ravel()[None, :] > np.array(metric.values)[:, None]) & (Y[keep].ravel() != 0)
    np.testing.assert_array_equal(tp, above.sum(1))  # the kept rows' true positives by hand


class _PredictedPositives(an.metrics.Metric):
    """A streaming metric of one's own that cannot mask rows itself (on JAX's padded short
    batch the loop takes each row's contribution apart)."""

    name = "predicted_positives"

    def state_shapes(self):
        return ((),)

    def batch(self, xp, P, Y):
        return (xp.sum(xp.astype(P > 0.5, P.dtype)),)

    def result(self, xp, state):
        return state[0]


def test_a_streaming_metric_of_ones_own(backend):
    with an.use(backend, dtype="float64"):
        model = _model()
        model.compile("binary_crossentropy", an.optimizers.SGD(learning_rate=FROZEN),
                      metrics=[_PredictedPositives()])  # fmt: skip
        history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
        evaluated = model.evaluate(X, Y, batch_size=8, verbose=0)[1]
        P = _predict(model.get_weights(), X)
    assert history.history["predicted_positives"] == [np.sum(P > 0.5)] * 2
    assert evaluated == np.sum(P > 0.5)


_ON_A_MESH = """
import json, numpy as np, arraynet as an
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 3)); y = (X[:, :1] > 0) * 1.0; w = rng.uniform(0, 2, 64)
out = []
for where in ({}, {"devices": "all"}):
    with an.use("jax", dtype="float64", **where):
        m = an.Sequential([an.layers.Dense(4, activation="tanh"),
                           an.layers.Dense(1, activation="sigmoid")], input_dim=3, seed=0)
        m.compile("binary_crossentropy", an.optimizers.SGD(learning_rate=0.1),
                  metrics=["auc", "precision", "root_mean_squared_error", "accuracy"])
        h = m.fit(X, y, batch_size=16, epochs=3, verbose=0, sample_weight=w,
                  validation_data=(X, y, w))
        scores = m.evaluate(X, y, batch_size=16, verbose=0, sample_weight=w)
        out.append([h.history, scores, [a.tolist() for a in m.get_weights()]])
print(json.dumps(out))
"""


@pytest.mark.multidevice
@pytest.mark.xdist_group("multidevice")
def test_weights_and_streaming_metrics_on_a_jax_mesh():
    """Rows split over 4 simulated CPU devices (a child process: JAX fixes its device count
    at start): sample weights, streaming metrics, validation and evaluate as on one device."""
    pytest.importorskip("jax")
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parents[1]
    env = dict(os.environ, JAX_NUM_CPU_DEVICES="4", JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    for _ in range(2):  # once more if XLA gave up waiting for a starved device thread (an
        # all-reduce or all-gather rendezvous):
        done = subprocess.run(  # 4 simulated devices on 2 busy cores (seen once, in a full run)
            [sys.executable, "-c", _ON_A_MESH], env=env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        if done.returncode == 0 or "Termination timeout for `all" not in done.stderr:
            break
    assert done.returncode == 0, done.stderr[-4000:]
    (one, scores_one, weights_one), (mesh, scores_mesh, weights_mesh) = json.loads(done.stdout)
    for key in one:
        np.testing.assert_allclose(mesh[key], one[key], rtol=1e-12, err_msg=key)
    np.testing.assert_allclose(scores_mesh, scores_one, rtol=1e-12)
    for a, b in zip(weights_mesh, weights_one):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
