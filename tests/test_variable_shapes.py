"""Axes of any size, as Keras's ``Input(shape=(None, 8))``: sequences of any length and
images of any size, through every layer that can take them.

The reference for each case is the same model built for one concrete shape (so checked by
the rest of the suite), given the same weights: predictions, gradients and a fit with
dropout must match it exactly at every length. Weights sized by an unknown axis are
refused, naming the layer, as are data that do not fit the declared axes.
"""

import numpy as np
import pytest

import arraynet as an
from arraynet import layers
from arraynet.backend import DeviceMemoryError

RNG = np.random.default_rng(0)


def text_model(length):
    """Embedding -> Conv1D -> GlobalMaxPooling1D -> Dense, as Keras's text examples."""
    inputs = an.Input(shape=(length,), dtype="int64")
    h = layers.Embedding(20, 4)(inputs)
    h = layers.Conv1D(6, 3, strides=2, activation="relu")(h)
    h = layers.GlobalMaxPooling1D()(h)
    return an.Model(inputs, layers.Dense(1, activation="sigmoid")(h), seed=1)


def sequence_model(length):
    """LSTM over all steps -> TimeDistributed(Dense) -> Dropout -> GRU (its last step)."""
    return an.Sequential(
        [
            layers.Input((length, 3)),
            layers.LSTM(5, return_sequences=True),
            layers.TimeDistributed(layers.Dense(4)),
            layers.Dropout(0.3),
            layers.GRU(2),
        ],
        seed=2,
    )


def image_model(height, width):
    inputs = an.Input((height, width, 3))
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = layers.MaxPooling2D()(h)
    h = layers.GlobalAveragePooling2D()(h)
    return an.Model(inputs, layers.Dense(2)(h), seed=3)


def fixed_twin(make, shape, weights):
    twin = make(*shape)
    twin.set_weights(weights)
    return twin


def test_sequences_of_any_length_match_a_model_built_for_that_length(backend):
    with an.use(backend, dtype="float64"):
        model = text_model(None)
        assert model.input_shape == (None, None)
        assert model.output_shape == (None, 1)
        weights = model.get_weights()
        for length in (7, 12, 30):
            X = RNG.integers(0, 20, (5, length))
            twin = fixed_twin(text_model, (length,), weights)
            assert np.array_equal(model.predict(X, verbose=0), twin.predict(X, verbose=0))


def test_gradients_and_dropout_fits_match_at_each_length(backend):
    with an.use(backend, dtype="float64"):
        model = sequence_model(None)
        start = model.get_weights()
        for length in (4, 9):
            model.compile(loss="mse", optimizer="adam")  # a fresh optimizer state, as the twin's
            X, y = RNG.standard_normal((6, length, 3)), RNG.standard_normal((6, 2))
            twin = fixed_twin(sequence_model, (length,), model.get_weights())
            twin.compile(loss="mse", optimizer="adam")
            loss, grads = model.gradients(X, y)
            twin_loss, twin_grads = twin.gradients(X, y)
            assert loss == twin_loss
            assert all(np.array_equal(a, b) for a, b in zip(grads, twin_grads))
            # the dropout masks are drawn for the data's shape, from the same seed
            model.fit(X, y, epochs=2, batch_size=3, seed=5, verbose=0)
            twin.fit(X, y, epochs=2, batch_size=3, seed=5, verbose=0)
            assert all(
                np.array_equal(a, b) for a, b in zip(model.get_weights(), twin.get_weights())
            )
        assert not all(np.array_equal(a, b) for a, b in zip(start, model.get_weights()))


def test_images_of_any_size_and_validation_of_another_length(backend):
    with an.use(backend, dtype="float64"):
        model = image_model(None, None)
        model.compile(loss="mse", optimizer="sgd")
        weights = model.get_weights()
        for shape in ((8, 8), (11, 6)):
            X = RNG.random((3, *shape, 3))
            twin = fixed_twin(image_model, shape, weights)
            assert np.array_equal(model.predict(X, verbose=0), twin.predict(X, verbose=0))
        seq = sequence_model(None)
        seq.compile(loss="mse", optimizer="sgd")
        history = seq.fit(
            RNG.standard_normal((4, 6, 3)), RNG.standard_normal((4, 2)), verbose=0,
            validation_data=(RNG.standard_normal((2, 10, 3)), RNG.standard_normal((2, 2))),
        )  # fmt: skip
        assert np.isfinite(history.history["val_loss"][0])


def test_weights_sized_by_an_unknown_axis_are_refused_naming_the_layer():
    with pytest.raises(ValueError, match=r"Dense 'dense_\w*'.*\(kernel\).*\(None,\)"):
        an.Sequential([layers.Input((None,)), layers.Dense(3, name="dense_x")])
    with pytest.raises(ValueError, match=r"LSTM .*\(5, None\)"):
        an.Sequential([layers.Input((5, None)), layers.LSTM(3)])
    with pytest.raises(ValueError, match=r"Conv2D .*\(None, None, None\)"):
        an.Sequential([layers.Input((None, None, None)), layers.Conv2D(2, 3)])


def test_data_must_fit_the_known_axes():
    model = sequence_model(None)
    model.compile(loss="mse", optimizer="sgd")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"X: expected shape \(rows, None, 3\); got shape"):
        model.fit(RNG.standard_normal((4, 6, 4)), RNG.standard_normal((4, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"X: expected shape \(rows, None, 3\)"):
        model.predict(RNG.standard_normal((4, 6)))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_shapes_show_none_and_survive_saving(tmp_path, capsys):
    model = sequence_model(None)
    model.summary()
    assert "(None, None, 5)" in capsys.readouterr().out
    X = RNG.standard_normal((2, 7, 3))
    for name in ("seq.keras", "seq.arraynet"):
        model.save(tmp_path / name)
        again = an.models.load_model(tmp_path / name)
        assert again.input_shape == (None, None, 3)
        assert np.array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))
    assert an.Sequential.from_config(model.get_config()).input_shape == (None, None, 3)


def test_the_memory_estimate_uses_the_data_shape():
    model = sequence_model(None)
    model.compile(loss="mse", optimizer="sgd")
    X, y = RNG.standard_normal((64, 50, 3)), RNG.standard_normal((64, 2))
    with an.use("numpy", memory_limit=10_000), pytest.raises(DeviceMemoryError):
        model.fit(X, y, verbose=0)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", np.int64, "float32"])
def test_input_takes_keras_dtypes(dtype):
    tensor = an.Input(shape=(None,), dtype=dtype)
    assert tensor.dtype == np.dtype(dtype).name
    config = an.Model(tensor, layers.Embedding(3, 2)(tensor)).get_config()
    assert config["functional"]["inputs"][0]["dtype"] == np.dtype(dtype).name


def test_input_refuses_other_dtypes():
    with pytest.raises(ValueError, match="dtype: expected one of .*got 'complex64'"):
        an.Input(shape=(3,), dtype="complex64")


def test_models_of_several_inputs_need_known_shapes():
    a, b = an.Input((None, 2)), an.Input((3,))
    h = layers.Concatenate()([layers.GRU(3)(a), b])
    model = an.Model([a, b], layers.Dense(1)(h))
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(ValueError, match=r"expected inputs and outputs of known shapes"):
        model.fit([RNG.standard_normal((4, 5, 2)), RNG.standard_normal((4, 3))],
                  RNG.standard_normal((4, 1)), verbose=0)  # fmt: skip


def test_training_calls_draw_dropout_for_the_data_shape(backend):
    with an.use(backend, dtype="float64"):
        model = sequence_model(None)
        X = RNG.standard_normal((3, 6, 3))
        twin = fixed_twin(sequence_model, (6,), model.get_weights())
        assert np.array_equal(
            an.backend.to_numpy(model(X, training=True)),
            an.backend.to_numpy(twin(X, training=True)),
        )


def test_build_takes_kerass_batch_shape_or_a_per_example_one():
    for given, expected in [((None, 7), (None, 7)), ((7,), (None, 7)),
                            ((None, None, 3), (None, None, 3))]:  # fmt: skip
        model = an.Sequential([layers.Dense(2)] if len(expected) == 2 else [layers.GRU(2)])
        model.build(given)
        assert model.input_shape == expected
    inputs = an.Input((4,))
    functional = an.Model(inputs, layers.Dense(1)(inputs))
    functional.build((None, 4))
    with pytest.raises(ValueError, match="expected the model inputs' shape"):
        functional.build((None, 5))
