"""Keras 3's model surface on arraynet (issue #17 part C): ``an.Input`` and ``input_shape=``,
``Sequential()`` with ``add``/``pop``, names, layers' weights, shapes with the batch axis,
``count_params``, the summary table, ``model(x)``, the ``*_on_batch`` calls, weights-only
files and saving before compile, ``set_random_seed``, ``to_categorical``, ``clear_session``
and ``verbose`` on predict/evaluate. References: Keras 3.15's documented values and
float64 NumPy written out here."""

import warnings

import numpy as np
import pytest
from reference import train_reference

import arraynet as an
from arraynet.backend import library_of
from arraynet.layers import Dense, Dropout

RNG = np.random.default_rng(17)
X = RNG.normal(size=(24, 8))
Y = RNG.normal(size=(24, 3))
LABELS = np.arange(24) % 3


def _mlp(**kwargs):
    return an.Sequential(
        [an.Input(shape=(8,)), Dense(5, activation="tanh"), Dense(3)], seed=4, **kwargs
    )


# -- Input, input_shape=, shapes and names ------------------------------------------------------


def test_input_first_builds_the_model_with_keras_shapes():
    model = _mlp()
    assert model.built and len(model.layers) == 2  # the Input is not a layer
    assert model.input_shape == (None, 8) and model.output_shape == (None, 3)
    assert model.example_shape == (8,)
    assert model.count_params() == 8 * 5 + 5 + 5 * 3 + 3
    symbolic = an.Input(shape=(8,))
    assert symbolic.shape == (None, 8) and symbolic.dtype == "float32"
    assert an.layers.Input is an.Input
    with_layer = an.Sequential([an.layers.InputLayer(shape=(2, 4)), an.layers.Flatten()])
    assert with_layer.output_shape == (None, 8)


def test_input_shape_on_the_first_layer_is_taken_with_keras_warning():
    with pytest.warns(UserWarning, match="Do not pass an `input_shape`"):
        layer = Dense(4, input_shape=(8,))
    model = an.Sequential([layer, Dense(1)], seed=0)
    assert model.input_shape == (None, 8) and model.count_params() == 8 * 4 + 4 + 5
    with pytest.warns(UserWarning):
        assert an.Sequential([Dense(2, input_dim=3)]).input_shape == (None, 3)
    assert an.layers.Embedding(10, 4).input_dim == 10  # a layer's own input_dim stays its own


def test_an_unbuilt_model_has_no_shapes_and_no_count():
    model = an.Sequential([Dense(4), Dense(1)])
    assert model.input_shape is None and model.output_shape is None and not model.built
    with pytest.raises(ValueError, match="isn't built"):
        model.count_params()
    assert model.layers[0].get_weights() == []
    with pytest.raises(AttributeError, match="no weights yet"):
        model.layers[0].kernel  # noqa: B018


def test_automatic_names_follow_keras_and_clear_session_restarts_them():
    an.backend.clear_session()
    layers = [Dense(2), Dense(2), an.layers.Conv2D(2, 3), Dropout(0.1), an.layers.LeakyReLU()]
    names = [layer.name for layer in layers]
    assert names == ["dense", "dense_1", "conv2d", "dropout", "leaky_re_lu"]
    model = an.Sequential([Dense(1, name="out")])
    assert model.name == "sequential" and model.layers[0].name == "out"
    assert an.Sequential(name="mine").name == "mine"
    an.backend.clear_session()
    assert Dense(1).name == "dense" and an.Sequential().name == "sequential"
    assert model.get_layer("out") is model.layers[0] and model.get_layer(index=0).name == "out"
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("missing")


def test_clear_session_clears_the_compiled_runners():
    from arraynet.train.cache import COMPILED

    model = _mlp()
    model.compile("mse", "sgd")
    model.fit(X, Y, verbose=0)
    COMPILED.get(("a key", ()), lambda: "a runner")
    assert COMPILED.entries
    an.backend.clear_session()
    assert not COMPILED.entries


# -- Sequential() + add / pop ------------------------------------------------------------------


def test_add_builds_layer_by_layer_and_pop_keeps_the_other_weights():
    model = an.Sequential(seed=1)
    assert model.layers == [] and not model.built
    model.add(an.Input(shape=(8,)))
    model.add(Dense(5, activation="relu"))
    assert model.built and model.output_shape == (None, 5)
    first = model.layers[0].get_weights()
    model.add(Dense(3))
    assert model.output_shape == (None, 3)
    for a, b in zip(model.layers[0].get_weights(), first, strict=True):
        np.testing.assert_array_equal(a, b)  # adding a layer keeps the others' weights
    popped = model.pop()
    assert isinstance(popped, Dense) and popped.units == 3 and len(model.layers) == 1
    assert model.output_shape == (None, 5)
    np.testing.assert_array_equal(model.get_weights()[0], first[0])
    with pytest.raises(ValueError, match="different Input"):
        model.add(an.Input(shape=(4,)))
    with pytest.raises(TypeError, match="Only instances"):
        model.add("dense")
    model.pop()
    with pytest.raises(TypeError, match="no layers"):
        model.pop()


def test_add_to_a_compiled_model_trains_the_new_stack():
    model = an.Sequential([an.Input(shape=(8,)), Dense(4, activation="tanh")], seed=2)
    model.compile("mse", an.optimizers.SGD(learning_rate=0.1))
    model.add(Dense(3))
    history = model.fit(X, Y, epochs=2, verbose=0)
    assert model.output_shape == (None, 3) and len(history.history["loss"]) == 2


def test_an_empty_model_refuses_to_compile_and_fit():
    with pytest.raises(ValueError, match="expected layers"):
        an.Sequential().compile("mse", "sgd")


# -- a layer's weights, held by the model -------------------------------------------------------


def test_layer_weights_are_host_copies_of_the_models_slice():
    model = _mlp()
    weights = model.get_weights()
    dense, dense_1 = model.layers
    for got, want in zip(dense.get_weights() + dense_1.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    kernel = dense_1.kernel
    np.testing.assert_array_equal(kernel, weights[2])
    np.testing.assert_array_equal(dense_1.bias.numpy(), weights[3])
    kernel[...] = 7.0  # a copy: the model is unchanged
    np.testing.assert_array_equal(model.get_weights()[2], weights[2])
    dense_1.kernel.assign(np.ones((5, 3)))  # Keras's assign writes into the model
    np.testing.assert_array_equal(model.get_weights()[2], np.ones((5, 3)))
    dense.set_weights([np.zeros((8, 5)), np.full(5, 0.5)])
    expected = np.tile(np.tanh(0.5) * 5 + weights[3], (len(X), 1))
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="expecting 2 weights"):
        dense.set_weights([np.zeros((8, 5))])
    with pytest.raises(ValueError, match="expected shape"):
        dense.set_weights([np.zeros((8, 4)), np.zeros(5)])
    with pytest.raises(AttributeError, match="no weight 'gamma'"):
        dense.gamma  # noqa: B018
    assert dense.count_params() == 45


# -- the summary ---------------------------------------------------------------------------------


def test_summary_is_keras_table_with_trainable_and_optimizer_counts():
    model = an.Sequential(
        [an.Input(shape=(4, 4, 1)), an.layers.Conv2D(2, 3), an.layers.BatchNormalization()]
        + [an.layers.Flatten(), Dense(2)],
        seed=0,
    )
    lines = []
    model.summary(print_fn=lines.append)
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line[0] == "│"]
    titles = [f"{layer.name} ({type(layer).__name__})" for layer in model.layers]
    assert rows == [
        [titles[0], "(None, 2, 2, 2)", "20"],
        [titles[1], "(None, 2, 2, 2)", "8"],
        [titles[2], "(None, 8)", "0"],
        [titles[3], "(None, 2)", "18"],
    ]
    assert lines[-3:] == [
        " Total params: 46 (184.00 B)",
        " Trainable params: 42 (168.00 B)",
        " Non-trainable params: 4 (16.00 B)",
    ]
    model.compile("mse", "adam")
    model.fit(np.ones((4, 4, 4, 1)), np.ones((4, 2)), verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[-1] == " Optimizer params: 86 (344.00 B)"  # count, rate, m and v
    assert lines[-4] == " Total params: 132 (528.00 B)"


# -- calls ---------------------------------------------------------------------------------------


def test_calling_the_model_returns_the_backends_array(backend):
    model = _mlp()
    with an.use(backend, dtype="float64"):
        out = model(X[:5])
        assert library_of(out) == backend
        np.testing.assert_allclose(an.backend.to_numpy(out), model.predict(X[:5], verbose=0))
        trained = model(X[:5], training=True)  # no dropout, no statistics: the same numbers
        np.testing.assert_array_equal(an.backend.to_numpy(trained), an.backend.to_numpy(out))


def test_train_on_batch_is_one_full_batch_step(backend):
    with an.use(backend, dtype="float64"):
        model = _mlp()
        model.compile("squared_error", an.optimizers.SGD(learning_rate=0.1), metrics=["mae"])
        start = model.get_weights()
        loss, mae = model.train_on_batch(X, Y)
        logs = model.train_on_batch(X[:6], Y[:6], return_dict=True)
        assert model.epoch == 0 and model.history is None
        test = model.test_on_batch(X, Y, return_dict=True)
        predicted = model.predict_on_batch(X)
    spec = [("tanh", True), (None, True)]
    after_one, losses = train_reference(start, spec, "squared_error", X, Y, 0.1, "full", 1)
    assert loss == pytest.approx(losses[0], rel=1e-10)
    assert mae == pytest.approx(np.abs(_forward(start, X) - Y).mean(), rel=1e-10)
    after_two = train_reference(after_one, spec, "squared_error", X[:6], Y[:6], 0.1, "full", 1)
    assert set(logs) == {"loss", "mae"}
    for got, want in zip(model.get_weights(), after_two[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    P = _forward(after_two[0], X)
    np.testing.assert_allclose(predicted, P, rtol=1e-10)
    assert test["loss"] == pytest.approx(0.5 * ((P - Y) ** 2).sum(axis=1).mean(), rel=1e-10)


def _forward(weights, X):
    return np.tanh(X @ weights[0] + weights[1]) @ weights[2] + weights[3]


def test_predict_and_evaluate_take_keras_verbose(capsys):
    pytest.importorskip("tqdm")
    model = _mlp()
    model.compile("mse", "sgd", metrics=["mae"])
    model.predict(X, verbose=0)
    scores = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert set(scores) == {"loss", "mae"} and capsys.readouterr() == ("", "")
    model.predict(X, batch_size=10, verbose=1)
    bar = capsys.readouterr()
    assert "3/3" in bar.err and bar.out == ""
    model.evaluate(X, Y, batch_size=5, verbose=2)
    line = capsys.readouterr()
    assert line.out.startswith("5/5 - ") and line.out.count("\n") == 1
    model.evaluate(X, Y)  # "auto": stderr is not a terminal under pytest
    assert capsys.readouterr() == ("", "")
    with pytest.raises(ValueError, match="verbose"):
        model.predict(X, verbose=3)


# -- files ---------------------------------------------------------------------------------------


def test_save_before_compile_round_trips(tmp_path):
    model = _mlp()
    model.save(tmp_path / "raw.keras")
    loaded = an.models.load_model(tmp_path / "raw.keras")
    assert loaded.optimizer is None and loaded.get_config() == model.get_config()
    assert loaded.name == model.name and [la.name for la in loaded.layers] == [
        la.name for la in model.layers
    ]
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    loaded.compile("mse", "adam")
    loaded.fit(X, Y, verbose=0)
    assert an.saving.load_model is an.models.load_model
    an.saving.save_model(loaded, tmp_path / "trained.keras")
    again = an.load(tmp_path / "trained.keras")
    assert again.variables.opt_state is not None  # the optimizer state when there is one
    with pytest.raises(FileExistsError):
        loaded.save(tmp_path / "trained.keras", overwrite=False)


def test_save_weights_and_load_weights(tmp_path):
    model = _mlp()
    model.compile("mse", "adam")
    model.fit(X, Y, epochs=2, verbose=0)
    model.save_weights(tmp_path / "model.weights.h5")
    fresh = an.Sequential([Dense(5, activation="tanh"), Dense(3)])  # not built
    fresh.load_weights(tmp_path / "model.weights.h5")
    assert fresh.input_shape == (None, 8)
    np.testing.assert_array_equal(fresh.predict(X, verbose=0), model.predict(X, verbose=0))
    loaded = an.load(tmp_path / "model.weights.h5")  # arraynet's format: no optimizer state
    assert loaded.variables.opt_state is None
    other = an.Sequential([an.Input(shape=(8,)), Dense(4), Dense(3)])
    with pytest.raises(ValueError, match="do not fit"):
        other.load_weights(tmp_path / "model.weights.h5")
    with open(tmp_path / "model.weights.h5", "rb") as file:
        assert file.read(2) == b"PK"  # a zip archive, never pickle


# -- seeds and labels ----------------------------------------------------------------------------


def test_set_random_seed_makes_unseeded_models_repeat():
    def run():
        model = an.Sequential([Dense(4, activation="relu"), Dropout(0.5), Dense(3)])
        model.compile("mse", "sgd")
        model.fit(X, Y, epochs=2, verbose=0)  # shuffles and dropout masks too
        return model.get_weights()

    an.utils.set_random_seed(3)
    first, second = run(), run()
    an.utils.set_random_seed(3)
    again = run(), run()
    for a, b in zip(first + second, again[0] + again[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], second[0])  # two models, two draws
    with pytest.raises(ValueError, match="integer"):
        an.utils.set_random_seed(1.5)


def test_to_categorical_as_keras():
    np.testing.assert_array_equal(
        an.utils.to_categorical([0, 2, 1]), [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    )
    one_hot = an.utils.to_categorical(np.array([[1], [3]]), num_classes=5)
    assert one_hot.shape == (2, 5) and one_hot.dtype == np.float64
    assert an.utils.to_categorical(np.zeros((2, 3), int), 2).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="below num_classes"):
        an.utils.to_categorical([3], num_classes=3)
    with pytest.raises(ValueError, match="whole-number"):
        an.utils.to_categorical([0.5])


def test_fit_with_keras_names_trains_as_arraynet():
    """The Keras spellings and arraynet's give the same run."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras_style = an.Sequential([an.Input(shape=(8,)), Dense(3, activation="softmax")], seed=9)
    ours = an.Sequential([Dense(3, activation="softmax")], input_dim=8, seed=9)
    for model in (keras_style, ours):
        model.compile("sparse_categorical_crossentropy", an.optimizers.SGD(learning_rate=0.1))
    a = keras_style.fit(X, LABELS, epochs=3, verbose=0, shuffle=False)
    b = ours.fit(X, LABELS, epochs=3, verbose=0, shuffle=False)
    assert a.history == b.history
