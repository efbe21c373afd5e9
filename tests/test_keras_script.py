"""Issue #17's promise, literally: a Keras 3 script runs on arraynet after one rename.

``SCRIPT`` is written for Keras 3 (an MLP on scikit-learn's digits in the style of the
Keras guides: ``Sequential()`` and ``add``, ``summary``, EarlyStopping, ModelCheckpoint and
ReduceLROnPlateau, evaluate, predict, save and load, weights-only files, a layer's
weights). The test renames ``keras`` to arraynet (``import keras`` -> ``import arraynet as
an``, ``keras.`` -> ``an.``) and runs it statement by statement, so a failure names the
statement. Its own assertions are the script's checks of what Keras would give.
"""

import ast

import numpy as np
import pytest

SCRIPT = """
import numpy as np
import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

keras.backend.clear_session()  # fresh automatic names: "dense", "dense_1", ...
keras.utils.set_random_seed(42)
digits = load_digits()
x = digits.data.astype("float32") / 16.0
y = keras.utils.to_categorical(digits.target, num_classes=10)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)

model = keras.Sequential()
model.add(keras.Input(shape=(64,)))
model.add(keras.layers.Dense(64, activation="relu"))
model.add(keras.layers.Dropout(0.2))
model.add(keras.layers.Dense(10, activation="softmax"))
model.summary()
assert model.input_shape == (None, 64) and model.output_shape == (None, 10)
assert model.count_params() == 64 * 64 + 64 + 64 * 10 + 10
assert [layer.name for layer in model.layers] == ["dense", "dropout", "dense_1"]

model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
)
callbacks = [
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
    keras.callbacks.ModelCheckpoint("best.keras", monitor="val_accuracy", save_best_only=True),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3),
]
history = model.fit(
    x_train, y_train, batch_size=32, epochs=60, validation_split=0.1, callbacks=callbacks
)
print(f"trained {len(history.history['loss'])} epochs")
assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}

test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {test_accuracy:.4f}")
assert test_accuracy > 0.9
scores = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
assert set(scores) == {"loss", "accuracy"}

probabilities = model.predict(x_test[:5], verbose=0)
assert probabilities.shape == (5, 10)
np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
predicted = np.argmax(probabilities, axis=1)

model.save("digits.keras")
reloaded = keras.models.load_model("digits.keras")
np.testing.assert_allclose(reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
best = keras.saving.load_model("best.keras")
assert best.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"] > 0.9

model.save_weights("digits.weights.h5")
twin = keras.Sequential(
    [
        keras.Input(shape=(64,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
twin.load_weights("digits.weights.h5")
np.testing.assert_allclose(twin.predict(x_test, verbose=0), model.predict(x_test, verbose=0))

kernel, bias = model.layers[0].get_weights()
assert kernel.shape == (64, 64) and bias.shape == (64,)
np.testing.assert_array_equal(model.layers[-1].kernel, model.get_weights()[2])
logits = model(x_test[:2])
keras.backend.clear_session()
"""


def _renamed(script: str) -> str:
    """The one rename of issue #17."""
    return script.replace("import keras\n", "import arraynet as an\n").replace("keras.", "an.")


def run_statements(source: str, name: str) -> dict:
    """Run ``source`` statement by statement; a failure names the statement."""
    namespace = {"__name__": name}
    for statement in ast.parse(source).body:
        code = compile(ast.Module([statement], []), f"script line {statement.lineno}", "exec")
        try:
            exec(code, namespace)
        except Exception as err:
            line = ast.get_source_segment(source, statement)
            raise AssertionError(f"the Keras script failed at: {line}") from err
    return namespace


def test_the_keras_script_runs_after_one_rename(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    source = _renamed(SCRIPT)
    assert "keras." not in source and "import keras" not in source  # file names stay
    namespace = run_statements(source, "keras_script")
    out = capsys.readouterr().out
    assert 'Model: "sequential' in out and "Trainable params: 4,810" in out
    assert (tmp_path / "best.keras").exists() and (tmp_path / "digits.weights.h5").exists()
    assert namespace["predicted"].shape == (5,)
    assert isinstance(namespace["logits"], np.ndarray)  # the selected backend's (NumPy here)


SCRIPT_MORE = """
import numpy as np
import keras
from keras import layers

rng = np.random.default_rng(0)
keras.utils.set_random_seed(1)

# tabular regression, as the Keras regression tutorials: Normalization adapted to the data
features = rng.standard_normal((200, 5)) * [1.0, 10.0, 100.0, 5.0, 3.0] + 50.0
labels = features @ rng.standard_normal(5) * 0.01
normalizer = layers.Normalization(axis=-1)
normalizer.adapt(np.array(features))
np.testing.assert_allclose(normalizer.mean.numpy()[0], features.mean(axis=0), rtol=1e-6)
regressor = keras.Sequential([normalizer, layers.Dense(16, activation="relu"), layers.Dense(1)])
regressor.compile(loss="mean_absolute_error", optimizer=keras.optimizers.Adam(0.01))
history = regressor.fit(features, labels, validation_split=0.2, verbose=0, epochs=20)
assert history.history["loss"][-1] < history.history["loss"][0]

# a convolutional autoencoder, compiled in Keras's positional order
images = rng.random((32, 16, 16, 1)).astype("float32")
image = keras.Input(shape=(16, 16, 1))
h = layers.Conv2D(8, (3, 3), activation="relu", padding="same")(image)
h = layers.MaxPooling2D((2, 2), padding="same")(h)
h = layers.Conv2D(4, (3, 3), activation="relu", padding="same")(h)
h = layers.UpSampling2D((2, 2))(h)
decoded = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(h)
autoencoder = keras.Model(image, decoded)
autoencoder.compile("adam", "binary_crossentropy")
autoencoder.fit(images, images, epochs=1, batch_size=16, validation_data=(images[:8], images[:8]),
                verbose=0)
assert autoencoder.predict(images[:2], verbose=0).shape == (2, 16, 16, 1)

# text of any length: integer tokens, Embedding, a Bidirectional LSTM with input dropout
tokens = keras.Input(shape=(None,), dtype="int32")
h = layers.Embedding(50, 8)(tokens)
h = layers.Bidirectional(layers.LSTM(6, return_sequences=True, dropout=0.1))(h)
h = layers.GlobalMaxPooling1D()(h)
out = layers.Dense(1, activation="sigmoid")(h)
classifier = keras.Model(tokens, out)
classifier.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
texts, labels = rng.integers(0, 50, (48, 12)), rng.integers(0, 2, 48)
classifier.fit(texts, labels, batch_size=16, epochs=1, verbose=0)
longer = classifier.predict(rng.integers(0, 50, (3, 30)), verbose=0)
assert longer.shape == (3, 1)
"""


def test_more_keras_scripts_run_after_the_rename(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = _renamed(SCRIPT_MORE.replace("from keras import", "from arraynet import"))
    namespace = run_statements(source, "keras_script_more")
    assert namespace["longer"].shape == (3, 1)
