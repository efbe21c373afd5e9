"""Freezing layers (Keras's ``layer.trainable = False``, read when the model compiles).

The trainable part is compared with plain SGD written out in float64 NumPy on the frozen
layer's fixed outputs; the frozen weights must come out bit for bit as they went in.
"""

import numpy as np
import pytest

import arraynet as an

MODES = [("full", None), ("minibatch", 4), ("stochastic", None)]
LR = 0.1


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(10, 3)), rng.normal(size=(10, 2))


def _model(seed=1, **first):
    return an.Sequential(
        [an.layers.Input((3,)), an.layers.Dense(4, activation="tanh", **first), an.layers.Dense(2)],
        seed=seed,
    )


def _reference(weights, X, Y, mode, batch_size, epochs):
    """SGD on the last Dense over the frozen first layer's outputs (mean squared error over
    every entry, Keras's), in float64, no shuffling."""
    W1, b1, W2, b2 = (np.array(w, dtype=np.float64) for w in weights)
    H = np.tanh(X @ W1 + b1)
    size = {"full": len(X), "stochastic": 1}.get(mode, batch_size)
    for _ in range(epochs):
        for start in range(0, len(X), size):
            h, y = H[start : start + size], Y[start : start + size]
            d = 2.0 * (h @ W2 + b2 - y) / y.size
            W2, b2 = W2 - LR * (h.T @ d), b2 - LR * d.sum(axis=0)
    return [W1, b1, W2, b2]


@pytest.mark.parametrize(("mode", "batch_size"), MODES)
def test_a_frozen_layer_keeps_its_weights_and_the_rest_trains_as_plain_sgd(
    backend, mode, batch_size
):
    X, Y = _data()
    with an.use(backend, dtype="float64"):
        model = _model()
        model.layers[0].trainable = False
        model.compile(optimizer=an.optimizers.SGD(LR), loss="mean_squared_error")
        before = model.get_weights()
        model.fit(X, Y, mode=mode, batch_size=batch_size, epochs=3, shuffle=False, verbose=0)
        after = model.get_weights()
    for a, b in zip(before[:2], after[:2]):
        np.testing.assert_array_equal(a, b)
    want = _reference(before, X, Y, mode, batch_size, 3)
    for got, w in zip(after[2:], want[2:]):
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-14)
    assert not np.allclose(after[2], before[2])  # it did train


def test_the_flag_counts_at_compile_as_in_keras(backend):
    """Set after compile it changes nothing until the next compile; the optimizer then
    holds slots for the trainable weights only."""
    X, Y = _data(1)
    with an.use(backend, dtype="float64"):
        model = _model()
        model.compile(optimizer=an.optimizers.SGD(LR, momentum=0.9), loss="mse")
        model.fit(X, Y, epochs=1, verbose=0)
        model.layers[0].trainable = False
        first = model.get_weights()[0]
        model.fit(X, Y, epochs=1, verbose=0)
        assert not np.array_equal(model.get_weights()[0], first)  # not compiled again yet
        model.compile(optimizer=an.optimizers.SGD(LR, momentum=0.9), loss="mse")
        frozen = model.get_weights()[:2]
        model.fit(X, Y, epochs=2, verbose=0)
        for a, b in zip(frozen, model.get_weights()[:2]):
            np.testing.assert_array_equal(a, b)
        slots = [s.shape for s in model.variables.host_state()[2:]]
    assert slots == [(4, 2), (2,)]  # the velocity of the last layer's kernel and bias


def test_a_frozen_batch_normalization_normalizes_with_its_moving_statistics(backend):
    rng = np.random.default_rng(2)
    X, Y = rng.normal(3.0, 2.0, size=(16, 3)), rng.normal(size=(16, 1))
    with an.use(backend, dtype="float64"):
        model = an.Sequential(
            [an.layers.Input((3,)), an.layers.BatchNormalization(trainable=False),
             an.layers.Dense(1)], seed=0,
        )  # fmt: skip
        model.compile(optimizer=an.optimizers.SGD(LR), loss="mse")
        gamma, beta, mean, var = model.get_weights()[:4]
        W, b = model.get_weights()[4:]
        model.fit(X, Y, epochs=1, verbose=0)  # one full batch
        after = model.get_weights()
    for a, c in zip((gamma, beta, mean, var), after[:4]):
        np.testing.assert_array_equal(a, c)  # moving statistics too
    H = (X - mean) / np.sqrt(var + 1e-3) * gamma + beta  # inference-mode normalization
    d = 2.0 * (H @ W + b - Y) / Y.size
    np.testing.assert_allclose(after[4], W - LR * H.T @ d, rtol=1e-12)


def test_a_frozen_layer_in_a_functional_model():
    X, Y = _data(3)
    inputs = an.Input((3,))
    frozen = an.layers.Dense(4, activation="tanh")
    outputs = an.layers.Dense(2)(frozen(inputs))
    model = an.Model(inputs, outputs)
    frozen.trainable = False
    model.compile(optimizer="adam", loss="mse")
    before = model.get_weights()
    model.fit(X, Y, epochs=3, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert not np.allclose(before[2], after[2])


def test_summary_counts_frozen_weights_as_non_trainable(capsys):
    model = _model()
    model.layers[0].trainable = False
    model.summary()
    out = capsys.readouterr().out
    assert "Trainable params: 10 " in out and "Non-trainable params: 16 " in out


def test_the_flag_is_saved_and_loaded(tmp_path):
    X, Y = _data(4)
    model = _model(trainable=False)
    model.compile(optimizer=an.optimizers.SGD(LR, momentum=0.5), loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)
    assert model.get_config()["frozen_layers"] == [0]
    path = tmp_path / "frozen.keras"
    model.save(path)
    loaded = an.load(path)
    assert [layer.trainable for layer in loaded.layers] == [False, True]
    before = loaded.get_weights()
    loaded.fit(X, Y, epochs=2, verbose=0)  # its optimizer state fits: one slot per trainable
    np.testing.assert_array_equal(before[0], loaded.get_weights()[0])
    assert not np.array_equal(before[2], loaded.get_weights()[2])


@pytest.mark.parametrize("frozen", [[5], ["0"], [True], {"0": 1}, [-1]])
def test_a_config_naming_layers_that_are_not_there_is_refused(frozen):
    config = _model().get_config()
    config["frozen_layers"] = frozen
    with pytest.raises(ValueError, match="frozen_layers: expected a list of layer indices"):
        an.Sequential.from_config(config)


@pytest.mark.parametrize("value", [0, 1, "no", None])
def test_trainable_takes_only_a_bool(value):
    layer = an.layers.Dense(2)
    with pytest.raises(TypeError, match="trainable: expected True or False"):
        layer.trainable = value
    with pytest.raises(TypeError, match="trainable: expected True or False"):
        an.layers.Dense(2, trainable=value)
    assert layer.trainable is True


def test_a_model_frozen_whole_trains_nothing_and_says_so_in_its_layers(backend):
    X, Y = _data(5)
    with an.use(backend, dtype="float64"):
        model = _model()
        model.trainable = False
        assert [layer.trainable for layer in model.layers] == [False, False]
        model.compile(optimizer="adam", loss="mse")
        before = model.get_weights()
        history = model.fit(X, Y, epochs=2, verbose=0)
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)
    assert history.history["loss"][0] == pytest.approx(history.history["loss"][1], rel=1e-12)
    with pytest.raises(TypeError, match="trainable"):
        model.trainable = "yes"
