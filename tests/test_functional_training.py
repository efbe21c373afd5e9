"""Training functional models of several inputs and outputs: data as lists or dicts, the
same rows of every input per batch, per-output losses, weights and metrics with Keras's
History names, validation, callbacks, files; errors naming the argument."""

import numpy as np
import pytest

import arraynet as an
from arraynet.layers import Concatenate, Dense

ROWS = 21


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X1, X2 = rng.normal(size=(ROWS, 3)), rng.normal(size=(ROWS, 2))
    return [X1, X2], [rng.normal(size=(ROWS, 2)), rng.normal(size=(ROWS, 1))]


def _two_by_two(seed=0):
    """Concatenated inputs, two linear heads: together one Dense(3) on the joined input."""
    x1, x2 = an.Input(shape=(3,), name="left"), an.Input(shape=(2,), name="right")
    joined = Concatenate(name="joined")([x1, x2])
    first, second = Dense(2, name="first")(joined), Dense(1, name="second")(joined)
    return an.Model([x1, x2], [first, second], seed=seed)


@pytest.mark.parametrize("mode", ["full", "minibatch", "stochastic"])
def test_batches_take_the_same_rows_of_every_input_and_output(backend, mode):
    """Squared error summed over two heads is the squared error of one joined head: the two
    models train alike only if every batch pairs the same rows of each input and target."""
    X, Y = _data()
    model = _two_by_two()
    with an.use(backend, dtype="float64"):
        W1, b1, W2, b2 = model.get_weights()
        joined = an.Sequential([Dense(3)], input_dim=5)
        joined.set_weights([np.concatenate([W1, W2], 1), np.concatenate([b1, b2])])
        model.compile("squared_error", "sgd")
        joined.compile("squared_error", "sgd")
        model.fit(X, Y, mode=mode, epochs=3, batch_size=4, seed=5, verbose=0)
        joined.fit(np.concatenate(X, 1), np.concatenate(Y, 1), mode=mode, epochs=3,
                   batch_size=4, seed=5, verbose=0)  # fmt: skip
        W1, b1, W2, b2 = model.get_weights()
        W, b = joined.get_weights()
    np.testing.assert_allclose(np.concatenate([W1, W2], 1), W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.concatenate([b1, b2]), b, rtol=1e-12, atol=1e-14)


def test_lists_and_dicts_by_name_train_alike():
    X, Y = _data()
    histories, weights = [], []
    for by_name in (False, True):
        model = _two_by_two()
        loss = {"first": "mse", "second": "mae"} if by_name else ["mse", "mae"]
        model.compile(loss, "adam", metrics={"second": ["mse"]}, loss_weights=[0.7, 2.0])
        data = (
            ({"left": X[0], "right": X[1]}, {"first": Y[0], "second": Y[1]}) if by_name else (X, Y)
        )
        with an.use("numpy", dtype="float64"):
            histories.append(model.fit(*data, epochs=2, batch_size=8, seed=1, verbose=0).history)
            weights.append(model.get_weights())
    assert histories[0] == histories[1]
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_history_names_and_weighted_total_as_keras():
    X, Y = _data()
    model = _two_by_two()
    model.compile(["mse", "mae"], "sgd", metrics=[["mae"], ["mse", "mae"]], loss_weights=[0.5, 2])
    with an.use("numpy", dtype="float64"):
        history = model.fit(X, Y, epochs=2, verbose=0, validation_split=0.25).history
        scores = model.evaluate(X, Y, return_dict=True)
        P1, P2 = model.predict(X)
    names = ["loss", "first_loss", "second_loss", "first_mae", "second_mse", "second_mae"]
    assert list(history) == names + [f"val_{n}" for n in names]
    assert list(scores) == names
    mse, mae = np.mean((P1 - Y[0]) ** 2), np.mean(np.abs(P2 - Y[1]))
    np.testing.assert_allclose(scores["first_loss"], mse, rtol=1e-12)
    np.testing.assert_allclose(scores["second_loss"], mae, rtol=1e-12)
    np.testing.assert_allclose(scores["loss"], 0.5 * mse + 2 * mae, rtol=1e-12)
    np.testing.assert_allclose(scores["first_mae"], np.mean(np.abs(P1 - Y[0])), rtol=1e-12)
    np.testing.assert_allclose(scores["second_mse"], np.mean((P2 - Y[1]) ** 2), rtol=1e-12)


def test_validation_data_and_callbacks_see_every_output():
    X, Y = _data()
    seen = []
    model = _two_by_two()
    model.compile({"first": "mse", "second": "mse"}, "sgd")
    recorder = an.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs))
    stopper = an.callbacks.EarlyStopping(monitor="val_second_loss", patience=0, min_delta=1e9)
    model.fit(X, Y, epochs=5, verbose=0, validation_data=(X, Y), callbacks=[recorder, stopper])
    assert len(seen) == 2  # stopped by the second output's validation loss
    assert {"val_loss", "val_first_loss", "val_second_loss"} <= set(seen[0])


def test_predict_returns_outputs_as_the_model_names_them():
    X, _ = _data()
    x1, x2 = an.Input(shape=(3,), name="left"), an.Input(shape=(2,), name="right")
    joined = Concatenate()([x1, x2])
    model = an.Model({"left": x1, "right": x2}, {"a": Dense(2)(joined), "b": Dense(1)(joined)})
    out = model.predict({"left": X[0], "right": X[1]})
    assert sorted(out) == ["a", "b"] and out["a"].shape == (ROWS, 2) and out["b"].shape == (ROWS, 1)
    listed = _two_by_two().predict(X)
    assert isinstance(listed, list) and [p.shape for p in listed] == [(ROWS, 2), (ROWS, 1)]


def test_bad_data_and_settings_name_the_argument():
    X, Y = _data()
    model = _two_by_two()
    with pytest.raises(ValueError, match="loss: expected 2 entries"):
        model.compile(["mse"])
    with pytest.raises(ValueError, match="loss: expected keys among the outputs"):
        model.compile({"third": "mse"})
    with pytest.raises(ValueError, match="loss_weights"):
        model.compile("mse", loss_weights=[1.0, float("nan")])
    model.compile("mse")
    with pytest.raises(ValueError, match=r"X: expected a list of 2 arrays"):
        model.fit(X[0], Y, verbose=0)
    with pytest.raises(ValueError, match=r"X\[1\]: expected 21 rows"):
        model.fit([X[0], X[1][:5]], Y, verbose=0)
    with pytest.raises(ValueError, match=r"y\[1\]"):
        model.fit(X, [Y[0], Y[0]], verbose=0)
    with pytest.raises(ValueError, match="dict with the input names"):
        model.fit({"left": X[0]}, Y, verbose=0)
    assert model.epoch == 0


def test_saved_with_its_losses_resumes_exactly(tmp_path):
    pytest.importorskip("torch")
    X, Y = _data()
    path = tmp_path / "two.arraynet"
    with an.use("numpy", dtype="float64"):
        whole = _two_by_two(3)
        whole.compile(["mse", "mae"], "adam", metrics=[["mae"], []], loss_weights=[1.0, 0.5])
        whole.fit(X, Y, epochs=2, batch_size=8, verbose=0)
        half = _two_by_two(3)
        half.compile(["mse", "mae"], "adam", metrics=[["mae"], []], loss_weights=[1.0, 0.5])
        half.fit(X, Y, epochs=1, batch_size=8, verbose=0)
        half.save(path)
    with an.use("torch", dtype="float64"):
        loaded = an.load(path)
        assert loaded.get_config() == half.get_config()
        history = loaded.fit(X, Y, epochs=2, initial_epoch=1, batch_size=8, verbose=0).history
        assert list(history) == ["loss", "first_loss", "second_loss", "first_mae"]
        for a, b in zip(loaded.get_weights(), whole.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_jax_trains_the_graph_in_one_compiled_program():
    """Several inputs and outputs on JAX: the epochs compile once (the epoch loop and its
    batches, one program), then other rows of the bucket, more epochs and a new model of
    the same config compile nothing, with NumPy's numbers."""
    jax = pytest.importorskip("jax")
    count = [0]

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            count[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)

    def run(backend, rows, epochs):
        rng = np.random.default_rng(rows)
        X = [rng.normal(size=(rows, 3)), rng.normal(size=(rows, 2))]
        Y = [rng.normal(size=(rows, 2)), rng.normal(size=(rows, 1))]
        model = _two_by_two(11)
        model.compile(["mse", "mae"], "adam", metrics=[["mae"], []], loss_weights=[1.0, 0.25])
        with an.use(backend, dtype="float64"):
            history = model.fit(X, Y, epochs=epochs, batch_size=8, seed=2, verbose=0)
            return history.history, model.get_weights()

    run("jax", 40, 1)
    start = count[0]
    for rows, epochs in [(37, 3), (60, 2)]:
        got, want = run("jax", rows, epochs), run("numpy", rows, epochs)
        for key in want[0]:
            np.testing.assert_allclose(got[0][key], want[0][key], rtol=1e-9)
        for a, b in zip(got[1], want[1]):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert count[0] == start


def test_calling_on_arrays_and_from_config_keep_the_structure(backend):
    X, _ = _data()
    model = _two_by_two()
    with an.use(backend, dtype="float64"):
        called = model(X)
        predicted = model.predict(X)
    assert isinstance(called, list) and len(called) == 2
    for c, p in zip(called, predicted):
        np.testing.assert_allclose(an.backend.to_numpy(c), p, rtol=1e-12)
    again = an.Model.from_config(model.get_config())
    assert type(again) is type(model) and again.get_config() == model.get_config()
    sequential = an.Sequential([Dense(2)], input_dim=3)
    assert type(an.Model.from_config(sequential.get_config())) is an.Sequential


def test_sample_weights_weigh_every_outputs_loss_as_keras(backend):
    X, Y = _data()
    w = np.random.default_rng(4).uniform(0, 2, ROWS)
    model = _two_by_two()
    model.compile(["mse", "mae"], "sgd", loss_weights=[0.5, 2.0])
    with an.use(backend, dtype="float64"):
        scores = model.evaluate(X, Y, sample_weight=w, return_dict=True)
        P1, P2 = model.predict(X)
    mse = np.sum(w[:, None] * (P1 - Y[0]) ** 2) / P1.size
    mae = np.sum(w[:, None] * np.abs(P2 - Y[1])) / P2.size
    np.testing.assert_allclose(scores["loss"], 0.5 * mse + 2.0 * mae, rtol=1e-12)
    doubled, weighted = _two_by_two(), _two_by_two()
    doubled.compile(["mse", "mae"], "sgd", loss_weights=[1.0, 4.0])
    weighted.compile(["mse", "mae"], "sgd", loss_weights=[0.5, 2.0])
    with an.use(backend, dtype="float64"):
        doubled.fit(X, Y, epochs=2, batch_size=8, seed=0, verbose=0)
        weighted.fit(
            X, Y, epochs=2, batch_size=8, seed=0, verbose=0, sample_weight=np.full(ROWS, 2.0)
        )
        for a, b in zip(doubled.get_weights(), weighted.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        with pytest.raises(ValueError, match="class_weight"):
            weighted.fit(X, Y, class_weight={0: 1.0}, verbose=0)
