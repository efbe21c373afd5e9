"""Keras 3's ``.keras`` files read by ``an.models.load_keras`` (and ``load_model``).

The files in tests/data/keras were written by Keras 3.15.1 (``make_fixtures.py`` there), with
Keras's own outputs on fixed inputs: a trained CNN (Rescaling, Conv2D, BatchNormalization's
moving statistics, pooling, Dropout, softmax), a functional encoder-decoder (LSTM
states into a decoder, Embedding of integer inputs, LayerNormalization, GRU, a 1-D global
pooling, Concatenate, two outputs), Bidirectional and TimeDistributed layers, and masked
models (Embedding's mask_zero, Masking, a causal MultiHeadAttention block). Loaded on
every backend, each predicts as Keras did and lists its layers as Keras's ``model.layers``
did. Where Keras is installed (optional), more
models are written and read back here.
"""

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

import arraynet as an

pytest.importorskip("h5py")

DATA = Path(__file__).with_name("data") / "keras"
OUTPUTS = np.load(DATA / "outputs.npz")
KERAS_LAYERS = {  # as Keras 3.15.1's model.layers lists them
    "cnn": ["rescaling", "conv2d", "batch_normalization", "max_pooling2d", "conv2d_1",
            "global_max_pooling2d", "dropout", "dense"],
    "seq2seq": ["target", "source", "embed", "encoder", "decoder", "norm", "gru", "pool",
                "join", "steps", "head"],
}  # fmt: skip


def test_a_trained_keras_cnn_predicts_as_in_keras(backend):
    an.use(backend, dtype="float32")
    model = an.models.load_model(DATA / "cnn.keras")
    assert isinstance(model, an.Sequential) and model.optimizer is None  # not compiled
    assert [layer.name for layer in model.layers] == KERAS_LAYERS["cnn"]
    np.testing.assert_allclose(
        model.predict(OUTPUTS["cnn_x"]), OUTPUTS["cnn_p"], rtol=1e-5, atol=1e-6
    )
    moving = model.get_layer("batch_normalization").get_weights()[2]
    assert np.all(moving != 0)  # the trained moving statistics came along


def test_a_keras_encoder_decoder_predicts_as_in_keras(backend):
    an.use(backend, dtype="float32")
    model = an.models.load_keras(DATA / "seq2seq.keras")
    assert [layer.name for layer in model.layers] == KERAS_LAYERS["seq2seq"]
    sequence, head = model.predict([OUTPUTS["s2s_x0"], OUTPUTS["s2s_x1"]])
    np.testing.assert_allclose(sequence, OUTPUTS["s2s_p0"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(head, OUTPUTS["s2s_p1"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["masked", "attention"])
def test_masked_models_and_attention_predict_as_in_keras(backend, name):
    """Embedding(mask_zero) and Masking before a Bidirectional LSTM, an Add and a GRU; a
    causal MultiHeadAttention block over a mask. Keras's file records the mask computations
    as operations (NotEqual, Any, LogicalOr...) passed as mask=: arraynet makes the same
    masks through its layers and leaves those out."""
    an.use(backend, dtype="float32")
    model = an.models.load_keras(DATA / f"{name}.keras")
    found = np.load(DATA / "masks.npz")
    np.testing.assert_allclose(model.predict(found["x"]), found[name], rtol=1e-5, atol=1e-6)
    assert not any(type(layer).__name__ in ("NotEqual", "Any") for layer in model.layers)


def test_bidirectional_and_time_distributed_layers_predict_as_in_keras(backend):
    an.use(backend, dtype="float32")
    model = an.models.load_keras(DATA / "bidirectional.keras")
    assert [layer.name for layer in model.layers] == [
        "bidirectional", "time_distributed", "bidirectional_1", "dense_1"
    ]  # fmt: skip
    expected = np.load(DATA / "bidirectional.npz")
    np.testing.assert_allclose(model.predict(expected["x"]), expected["p"], rtol=1e-5, atol=1e-6)


def _edited(tmp_path, name, edit):
    """A copy of a fixture whose config.json ``edit(config)`` changed."""
    source, target = DATA / f"{name}.keras", tmp_path / f"{name}.keras"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.namelist():
            data = old.read(item)
            if item == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config)
            new.writestr(item, data)
    return target


def _layer(config, name):
    return next(e for e in config["config"]["layers"] if e["config"]["name"] == name)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: _layer(c, "dense").__setitem__("class_name", "Lambda"),
         "layer 'dense': Keras's Lambda is not among arraynet's layers"),
        (lambda c: _layer(c, "dense")["config"].__setitem__("kernel_constraint", {"x": 1}),
         "layer 'dense': Keras's Dense argument kernel_constraint="),
        (lambda c: _layer(c, "dropout")["config"].__setitem__("future_option", 1),
         "Keras's Dropout argument future_option=1 is not supported"),
        (lambda c: _layer(c, "dropout")["config"].__setitem__("noise_shape", [None, 7]),
         "noise_shape: expected"),
        (lambda c: _layer(c, "dense")["config"].__setitem__("units", 4),
         r"layer 'dense': expected a weight of shape \(6, 4\); got \(6, 3\) in the file"),
    ],
    ids=["unknown layer", "constraint", "unsupported argument", "noise shape", "weight shape"],
)  # fmt: skip
def test_what_arraynet_cannot_honour_is_refused_naming_it(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message):
        an.models.load_keras(_edited(tmp_path, "cnn", edit))


def test_a_file_that_is_not_a_keras_model(tmp_path):
    bad = tmp_path / "model.keras"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(an.ModelFileError, match="expected a Keras 3 .keras file"):
        an.models.load_keras(bad)
    shutil.copy(DATA / "outputs.npz", bad)  # a zip, but not a .keras one: arraynet's load
    with pytest.raises(an.ModelFileError):
        an.models.load_model(bad)


def test_models_written_by_keras_here_read_back(tmp_path):
    """Optional: with Keras installed, a Conv1D/GRU/SimpleRNN model and a shared layer."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    L = keras.layers
    x = keras.Input((7, 3))
    h = L.Conv1D(4, 3, padding="same", activation="tanh")(x)
    h = L.SimpleRNN(5, return_sequences=True)(L.MaxPooling1D(2)(h))
    shared = L.Dense(3, activation="relu")
    y = L.Add()([shared(L.GRU(5, reset_after=False)(h)), shared(L.GlobalMaxPooling1D()(h))])
    model = keras.Model(x, L.Dense(2)(y))
    model.save(tmp_path / "m.keras")
    X = np.random.default_rng(0).standard_normal((4, 7, 3)).astype("float32")
    an.use("numpy", dtype="float32")
    ours = an.models.load_model(tmp_path / "m.keras")
    assert [layer.name for layer in ours.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(ours.predict(X), model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)


def test_separable_models_written_by_keras_here_read_back(tmp_path):
    """Optional: with Keras installed, DepthwiseConv2D, SeparableConv2D, GroupNormalization
    and Flatten."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    L = keras.layers
    x = keras.Input((9, 8, 3))
    h = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")(x)
    h = L.GroupNormalization(2)(L.SeparableConv2D(4, 3, strides=2)(h))
    model = keras.Model(x, L.Dense(2)(L.Flatten()(h)))
    model.save(tmp_path / "m.keras")
    X = np.random.default_rng(0).standard_normal((2, 9, 8, 3)).astype("float32")
    an.use("numpy", dtype="float32")
    ours = an.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(ours.predict(X), model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
