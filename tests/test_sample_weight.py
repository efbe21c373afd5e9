"""Sample and class weights (Keras's ``fit(sample_weight=, class_weight=)``,
``evaluate(sample_weight=)``, ``validation_data=(X, y, w)``) against float64 NumPy written
by hand with Keras's reduction: each row's loss times its weight, summed, divided by the
batch's rows (not by the weights' sum); on every backend, every mode, streamed chunks, the
compiled JAX epoch and the eager loop with batch callbacks."""

import numpy as np
import pytest

import arraynet as an

RNG = np.random.default_rng(5)
N, D, H, K = 21, 3, 4, 3  # 21 rows: batches of 8 leave a short last batch of 5
X = RNG.normal(size=(N, D))
LABELS = RNG.integers(0, K, size=N)
ONE_HOT = np.eye(K)[LABELS]
BINARY = (X[:, :1] + 0.5 * RNG.normal(size=(N, 1)) > 0) * 1.0
VALUES = RNG.normal(size=(N, 2))
WEIGHTS = RNG.uniform(0.0, 3.0, size=N)
LR = 0.1

# loss name -> (output units, output activation, targets)
PROBLEMS = {
    "mse": (2, None, VALUES),
    "binary_crossentropy": (1, "sigmoid", BINARY),
    "categorical_crossentropy": (K, "softmax", ONE_HOT),
}


# -- float64 NumPy by hand -----------------------------------------------------------------


def _forward(params, X, activation):
    W1, b1, W2, b2 = params
    A1 = np.tanh(X @ W1 + b1)
    Z2 = A1 @ W2 + b2
    if activation == "sigmoid":
        P = 1.0 / (1.0 + np.exp(-Z2))
    elif activation == "softmax":
        E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
        P = E / E.sum(axis=1, keepdims=True)
    else:
        P = Z2
    return A1, Z2, P


def _per_sample(loss, Z, P, Y):
    if loss == "mse":
        return np.mean((P - Y) ** 2, axis=1)
    if loss == "binary_crossentropy":  # from the logits, as arraynet's fused form
        return np.mean(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z))), axis=1)
    S = Z - Z.max(axis=1, keepdims=True)
    return -np.sum(Y * (S - np.log(np.exp(S).sum(axis=1, keepdims=True))), axis=1)


def _loss_and_grads(params, X, Y, w, loss, activation):
    """Keras's weighted loss ``sum(w * l) / rows`` and its gradients, by hand."""
    W1, _, W2, _ = params
    A1, Z2, P = _forward(params, X, activation)
    m = X.shape[0]
    value = np.sum(w * _per_sample(loss, Z2, P, Y)) / m
    per_entry = Y.shape[1] if loss != "categorical_crossentropy" else 1
    dZ2 = (2.0 if loss == "mse" else 1.0) * (P - Y) / (m * per_entry) * w[:, None]
    dZ1 = (dZ2 @ W2.T) * (1.0 - A1**2)
    grads = [X.T @ dZ1, dZ1.sum(0), A1.T @ dZ2, dZ2.sum(0)]
    return value, grads


def _fit_by_hand(params, X, Y, w, loss, activation, batch, epochs):
    """SGD in dataset order; each epoch's loss the batch losses weighted by batch rows."""
    params, history = [p.astype(np.float64) for p in params], []
    for _ in range(epochs):
        total = 0.0
        for a in range(0, X.shape[0], batch):
            b = min(a + batch, X.shape[0])
            value, grads = _loss_and_grads(params, X[a:b], Y[a:b], w[a:b], loss, activation)
            params = [p - LR * g for p, g in zip(params, grads)]
            total += value * (b - a)
        history.append(total / X.shape[0])
    return params, history


def _model(loss, seed=0):
    units, activation, _ = PROBLEMS[loss]
    model = an.Sequential(
        [an.layers.Dense(H, activation="tanh"), an.layers.Dense(units, activation=activation)],
        input_dim=D,
        seed=seed,
    )
    model.compile(loss, an.optimizers.SGD(learning_rate=LR))
    return model


MODES = [("full", None), ("minibatch", 8), ("stochastic", None)]


@pytest.mark.parametrize("loss", list(PROBLEMS))
@pytest.mark.parametrize("mode, batch_size", MODES)
def test_a_weighted_fit_equals_keras_reduction_by_hand(backend, loss, mode, batch_size):
    _, activation, Y = PROBLEMS[loss]
    rows = {"full": N, "minibatch": 8, "stochastic": 1}[mode]
    with an.use(backend, dtype="float64"):
        model = _model(loss)
        start = model.get_weights()
        history = model.fit(
            X, Y, mode=mode, batch_size=batch_size or 32, epochs=2, shuffle=False, verbose=0,
            sample_weight=WEIGHTS,
        )  # fmt: skip
        got = model.get_weights()
    params, losses = _fit_by_hand(start, X, Y, WEIGHTS, loss, activation, rows, 2)
    for g, p in zip(got, params):
        np.testing.assert_allclose(g, p, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-9)


def test_the_weighted_loss_is_not_divided_by_the_weights_sum():
    """Keras's "sum_over_batch_size": doubling every weight doubles the loss."""
    model = _model("mse")
    with an.use("numpy", dtype="float64"):
        once = model.evaluate(X, VALUES, verbose=0, sample_weight=WEIGHTS)
        twice = model.evaluate(X, VALUES, verbose=0, sample_weight=2 * WEIGHTS)
    assert twice == pytest.approx(2 * once, rel=1e-12)


def test_class_weight_is_a_sample_weight_per_label(backend):
    """Integer labels (one-hot encoded on the way in) and one-hot rows give the same
    weights, classes absent from the map weighing 1, as Keras's conversion."""
    table = {0: 0.5, 2: 2.5}  # class 1 absent: weight 1
    by_hand = np.array([table.get(int(c), 1.0) for c in LABELS])
    _, activation, _ = PROBLEMS["categorical_crossentropy"]
    with an.use(backend, dtype="float64"):
        results = []
        for targets, loss in ((LABELS, "sparse_categorical_crossentropy"), (ONE_HOT, None)):
            model = _model("categorical_crossentropy")
            if loss:
                model.compile(loss, an.optimizers.SGD(learning_rate=LR))
            start = model.get_weights()
            model.fit(X, targets, batch_size=8, epochs=2, shuffle=False, verbose=0,
                      class_weight=table)  # fmt: skip
            results.append(model.get_weights())
    params, _ = _fit_by_hand(
        start, X, ONE_HOT, by_hand, "categorical_crossentropy", activation, 8, 2
    )
    for got in results:
        for g, p in zip(got, params):
            np.testing.assert_allclose(g, p, rtol=1e-9, atol=1e-12)


def test_class_weight_of_a_single_output_rounds_it(backend):
    table = {1: 3.0}
    by_hand = np.where(BINARY[:, 0] == 1, 3.0, 1.0)
    with an.use(backend, dtype="float64"):
        model = _model("binary_crossentropy")
        start = model.get_weights()
        model.fit(X, BINARY, mode="full", epochs=2, verbose=0, class_weight=table)
        got = model.get_weights()
    params, _ = _fit_by_hand(start, X, BINARY, by_hand, "binary_crossentropy", "sigmoid", N, 2)
    for g, p in zip(got, params):
        np.testing.assert_allclose(g, p, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode, batch_size", MODES)
def test_weights_of_one_train_as_no_weights(backend, mode, batch_size):
    with an.use(backend, dtype="float64"):
        runs = []
        for weights in (None, np.ones(N)):
            model = _model("categorical_crossentropy")
            history = model.fit(X, LABELS, mode=mode, batch_size=batch_size or 32, epochs=3,
                                seed=2, verbose=0, sample_weight=weights)  # fmt: skip
            runs.append((model.get_weights(), history.history["loss"]))
    (plain, plain_loss), (ones, ones_loss) = runs
    for a, b in zip(plain, ones):
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(plain_loss, ones_loss, rtol=1e-15)


def test_integer_weights_equal_repeated_rows_in_full_batch(backend):
    """Weights summing to the row count: the weighted mean is the mean over the rows repeated
    as often as their weight (a weight of 0 drops the row)."""
    weights = np.tile([0, 1, 2], N // 3)  # sums to N
    repeated = np.repeat(np.arange(N), weights)
    with an.use(backend, dtype="float64"):
        weighted, copied = _model("mse"), _model("mse")
        h1 = weighted.fit(X, VALUES, mode="full", epochs=3, verbose=0, sample_weight=weights)
        h2 = copied.fit(X[repeated], VALUES[repeated], mode="full", epochs=3, verbose=0)
        for a, b in zip(weighted.get_weights(), copied.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-12)


def test_evaluate_and_validation_weights_by_hand(backend):
    val_w = RNG.uniform(0, 2, size=N)
    with an.use(backend, dtype="float64"):
        model = _model("binary_crossentropy")
        history = model.fit(X, BINARY, mode="full", epochs=1, verbose=0,
                            validation_data=(X, BINARY, val_w))  # fmt: skip
        params = model.get_weights()
        evaluated = model.evaluate(X, BINARY, verbose=0, sample_weight=val_w)
        batched = model.evaluate(X, BINARY, batch_size=8, verbose=0, sample_weight=val_w)
        plain = model.evaluate(X, BINARY, verbose=0)
    by_hand = _loss_and_grads(params, X, BINARY, val_w, "binary_crossentropy", "sigmoid")[0]
    assert evaluated == pytest.approx(by_hand, rel=1e-12)
    assert history.history["val_loss"][0] == pytest.approx(by_hand, rel=1e-12)
    batches = [
        _loss_and_grads(params, X[a : a + 8], BINARY[a : a + 8], val_w[a : a + 8],
                        "binary_crossentropy", "sigmoid")[0] * len(X[a : a + 8])
        for a in range(0, N, 8)
    ]  # fmt: skip
    assert batched == pytest.approx(sum(batches) / N, rel=1e-12)  # Keras: batch means by rows
    ones = _loss_and_grads(params, X, BINARY, np.ones(N), "binary_crossentropy", "sigmoid")[0]
    assert plain == pytest.approx(ones, rel=1e-12)


def test_validation_split_holds_out_the_weights_with_the_rows(backend):
    cut = 14  # floor(21 * (1 - 1/3))
    with an.use(backend, dtype="float64"):
        split = _model("mse")
        h1 = split.fit(X, VALUES, mode="full", epochs=2, verbose=0, validation_split=1 / 3,
                       sample_weight=WEIGHTS)  # fmt: skip
        given = _model("mse")
        h2 = given.fit(X[:cut], VALUES[:cut], mode="full", epochs=2, verbose=0,
                       sample_weight=WEIGHTS[:cut],
                       validation_data=(X[cut:], VALUES[cut:], WEIGHTS[cut:]))  # fmt: skip
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=1e-14)


def test_class_weights_do_not_weigh_the_validation_rows():
    """As Keras: class_weight applies to the training rows only."""
    with an.use("numpy", dtype="float64"):
        model = _model("binary_crossentropy")
        history = model.fit(X, BINARY, mode="full", epochs=1, verbose=0,
                            validation_data=(X, BINARY), class_weight={1: 5.0})  # fmt: skip
        assert history.history["val_loss"][0] == pytest.approx(
            model.evaluate(X, BINARY, verbose=0), rel=1e-14
        )


def test_streamed_chunks_carry_their_weights(backend, tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    with an.use(backend, dtype="float64"):
        streamed, in_memory = _model("mse"), _model("mse")
        h1 = streamed.fit(np.load(path, mmap_mode="r"), VALUES, batch_size=4, chunk_rows=8,
                          epochs=2, shuffle=False, verbose=0, sample_weight=WEIGHTS)  # fmt: skip
        start = in_memory.get_weights()
    # chunks of 8, 8, 5 rows, batches of 4 within each: 4, 4 | 4, 4 | 4, 1
    params, losses = [p.astype(np.float64) for p in start], []
    for _ in range(2):
        total = 0.0
        for a, b in ((0, 4), (4, 8), (8, 12), (12, 16), (16, 20), (20, 21)):
            value, grads = _loss_and_grads(params, X[a:b], VALUES[a:b], WEIGHTS[a:b], "mse", None)
            params = [p - LR * g for p, g in zip(params, grads)]
            total += value * (b - a)
        losses.append(total / N)
    for g, p in zip(streamed.get_weights(), params):
        np.testing.assert_allclose(g, p, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h1.history["loss"], losses, rtol=1e-9)


def test_class_weight_on_streamed_chunks(backend):
    table = {0: 2.0, 1: 0.5}
    by_hand = np.where(BINARY[:, 0] == 1, 0.5, 2.0)
    with an.use(backend, dtype="float64"):
        streamed, weighted = _model("binary_crossentropy"), _model("binary_crossentropy")
        streamed.fit(X, BINARY, batch_size=4, chunk_rows=8, shuffle=False, epochs=2, verbose=0,
                     class_weight=table)  # fmt: skip
        pairs = [(X[a : a + 8], BINARY[a : a + 8]) for a in range(0, N, 8)]
        again = _model("binary_crossentropy")
        again.fit(pairs, None, batch_size=4, shuffle=False, epochs=2, verbose=0,
                  class_weight=table)  # fmt: skip
        weighted.fit(X, BINARY, batch_size=4, chunk_rows=8, shuffle=False, epochs=2, verbose=0,
                     sample_weight=by_hand)  # fmt: skip
    for a, b, c in zip(streamed.get_weights(), again.get_weights(), weighted.get_weights()):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b, c, rtol=1e-12, atol=1e-14)


def test_batch_callbacks_and_shuffling_weigh_the_same_rows(backend):
    """Shuffled rows keep their weights; a batch callback (the eager loop, on JAX the
    compiled step alone) trains as the plain loop does."""
    seen = []
    hook = an.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append(batch))
    with an.use(backend, dtype="float64"):
        plain, hooked = _model("mse"), _model("mse")
        plain.fit(X, VALUES, batch_size=8, epochs=2, seed=4, verbose=0, sample_weight=WEIGHTS)
        hooked.fit(X, VALUES, batch_size=8, epochs=2, seed=4, verbose=0, sample_weight=WEIGHTS,
                   callbacks=[hook])  # fmt: skip
        draws = np.random.default_rng(4)  # fit(seed=4): each epoch's order from it
        order = [draws.permutation(N) for _ in range(2)]
        start = _model("mse").get_weights()
    params = [p.astype(np.float64) for p in start]
    for rows in order:
        for a in range(0, N, 8):
            r = rows[a : a + 8]
            _, grads = _loss_and_grads(params, X[r], VALUES[r], WEIGHTS[r], "mse", None)
            params = [p - LR * g for p, g in zip(params, grads)]
    assert len(seen) == 6
    for a, b, p in zip(plain.get_weights(), hooked.get_weights(), params):
        np.testing.assert_allclose(a, p, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b, p, rtol=1e-9, atol=1e-12)


def test_layers_that_mix_rows_take_weights_too(backend):
    """BatchNormalization mixes the batch's rows: on JAX the short last batch is compiled by
    its size (no row mask); the weighted result is the same on every backend."""
    results = []
    for name in dict.fromkeys(["numpy", backend]):
        with an.use(name, dtype="float64"):
            model = an.Sequential(
                [an.layers.Dense(H), an.layers.BatchNormalization(), an.layers.Dense(2)],
                input_dim=D, seed=0,
            )  # fmt: skip
            model.compile("mse", an.optimizers.SGD(learning_rate=LR))
            h = model.fit(X, VALUES, batch_size=8, epochs=2, shuffle=False, verbose=0,
                          sample_weight=WEIGHTS)  # fmt: skip
            results.append((model.get_weights(), h.history["loss"]))
    for a, b in zip(results[0][0], results[-1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[-1][1], rtol=1e-9)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sample_weight": np.ones(N - 1)}, r"sample_weight: expected shape \(21,\)"),
        ({"sample_weight": -WEIGHTS}, "sample_weight: expected weights >= 0"),
        ({"sample_weight": np.full(N, np.nan)}, "sample_weight: expected finite"),
        ({"sample_weight": np.ones((N, 2))}, r"sample_weight: expected shape \(21,\)"),
        ({"class_weight": [1.0, 2.0]}, "class_weight: expected a dict"),
        ({"class_weight": {"a": 1.0}}, "class_weight: expected integer class indices"),
        ({"class_weight": {1.5: 1.0}}, "class_weight: expected integer class indices"),
        ({"class_weight": {-1: 1.0}}, "class_weight: expected integer class indices"),
        ({"class_weight": {0: -1.0}}, "class_weight: expected a finite weight >= 0"),
        ({"class_weight": {0: "x"}}, "class_weight: expected a number"),
        ({"class_weight": {0: 1.0}, "sample_weight": WEIGHTS}, "expected one of them"),
        ({"validation_data": (X, BINARY, np.ones(3))}, r"validation_data\[2\]: expected shape"),
        ({"validation_data": (X, BINARY, 1, 2)}, "validation_data: expected a pair"),
    ],
)
def test_bad_weights_are_refused_before_any_update(kwargs, match):
    model = _model("binary_crossentropy")
    before = model.get_weights()
    with pytest.raises(ValueError, match=match):
        model.fit(X, BINARY, epochs=1, verbose=0, **kwargs)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="sample_weight: expected"):
        model.evaluate(X, BINARY, verbose=0, sample_weight=np.ones(3))


def test_string_class_keys_are_read_as_keras_reads_them():
    with an.use("numpy", dtype="float64"):
        a, b = _model("binary_crossentropy"), _model("binary_crossentropy")
        a.fit(X, BINARY, mode="full", verbose=0, class_weight={"1": 2.0})
        b.fit(X, BINARY, mode="full", verbose=0, class_weight={1: 2.0})
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


def test_a_loss_without_per_sample_values_refuses_weights():
    class Fourth(an.losses.Loss):
        name = "fourth"

        def __call__(self, xp, P, Y):
            D = P - Y
            return xp.mean(D**4), 4 * D**3 / (D.shape[0] * D.shape[1])

    model = _model("mse")
    model.compile(Fourth(), "sgd")
    with pytest.raises(TypeError, match="sample_weight: expected a loss with per-sample"):
        model.fit(X, VALUES, verbose=0, sample_weight=WEIGHTS)
    model.fit(X, VALUES, verbose=0)  # unweighted, it trains


def test_train_and_test_on_batch_take_weights():
    with an.use("numpy", dtype="float64"):
        model = _model("mse")
        params = model.get_weights()
        before = model.test_on_batch(X, VALUES, sample_weight=WEIGHTS)
        loss = model.train_on_batch(X, VALUES, sample_weight=WEIGHTS)
    value, grads = _loss_and_grads(params, X, VALUES, WEIGHTS, "mse", None)
    assert before == pytest.approx(value, rel=1e-12) and loss == pytest.approx(value, rel=1e-12)
    for g, p, d in zip(model.get_weights(), params, grads):
        np.testing.assert_allclose(g, p - LR * d, rtol=1e-12, atol=1e-14)


def _classifier():
    model = an.Sequential([
        an.Input(shape=(10,)),
        an.layers.Dense(16, activation="relu"),
        an.layers.BatchNormalization(),
        an.layers.Dense(1, activation="sigmoid"),
    ])  # fmt: skip
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=["accuracy", an.metrics.AUC(name="auc"), an.metrics.Precision(),
                           an.metrics.Recall()])  # fmt: skip
    return model


def test_the_issues_binary_classifier_script_runs_as_written():
    """Issue #17's third script, as a Keras 3 user writes it (``keras.`` -> ``an.``): an
    imbalanced binary classifier (16 % positive) with BatchNormalization, AUC and
    class_weight; the class weights find more of the rare class than no weights."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 10)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] + 0.5 * rng.normal(size=600) > 1.2).astype("float32")
    x_train, y_train, x_test, y_test = x[:500], y[:500], x[500:], y[500:]
    negatives, positives = np.bincount(y_train.astype(int))
    class_weight = {0: len(y_train) / (2 * negatives), 1: len(y_train) / (2 * positives)}
    results = []
    for weights in (class_weight, None):
        an.utils.set_random_seed(0)
        model = _classifier()
        history = model.fit(x_train, y_train, epochs=15, batch_size=32, validation_split=0.2,
                            class_weight=weights, verbose=0)  # fmt: skip
        results.append(model.evaluate(x_test, y_test, verbose=0, return_dict=True))
    weighted, plain = results
    assert set(history.history) >= {"auc", "val_auc", "precision", "val_recall"}
    assert weighted["auc"] > 0.8 and history.history["val_auc"][-1] > 0.8
    assert weighted["recall"] > plain["recall"] + 0.15  # 0.84 against 0.53 when written
