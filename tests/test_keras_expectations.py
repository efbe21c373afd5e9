"""What a Keras user takes for granted: its loss names, "accuracy" chosen by the loss, its
validation_split row count, a column of integer labels, and summary() printing."""

import math

import numpy as np
import pytest

import arraynet as an

RNG = np.random.default_rng(5)
X = RNG.normal(size=(20, 3))


def _fit_history(loss, y, rows=20, **fit_kwargs):
    """The model and its History after 2 epochs on the first ``rows`` rows of X."""
    model = an.Sequential([an.layers.Dense(3, activation="softmax")], input_dim=3, seed=0)
    model.compile(loss, an.optimizers.SGD(lr=0.1), metrics=["accuracy"])
    return model, model.fit(X[:rows], y, epochs=2, shuffle=False, verbose=0, **fit_kwargs)


@pytest.mark.parametrize(
    ("keras", "ours"),
    [
        ("mean_squared_error", "mse"),
        ("binary_crossentropy", "binary_cross_entropy"),
        ("categorical_crossentropy", "categorical_cross_entropy"),
        ("sparse_categorical_crossentropy", "categorical_cross_entropy"),
    ],
)
def test_keras_loss_names_train_as_ours(keras, ours):
    labels = np.arange(20) % 3
    y = labels if "categorical" in ours else np.eye(3)[labels]
    _, theirs = _fit_history(keras, y)
    _, mine = _fit_history(ours, y)
    assert theirs.history == mine.history


def test_accuracy_under_binary_cross_entropy_is_per_output():
    """Two sigmoid outputs, both predicted ~0.99 on every row; half the rows are [1, 1] and
    half [0, 0]: each output is right on half the rows, so accuracy is 0.5, as in Keras (the
    argmax over outputs would say 1.0: argmax of [0, 0] is 0, like argmax of [.99, .99])."""
    Y = np.array([[1, 1]] * 10 + [[0, 0]] * 10, float)
    model = an.Sequential([an.layers.Dense(2, activation="sigmoid")], input_dim=3, seed=0)
    model.compile("binary_cross_entropy", metrics=["accuracy", "binary_accuracy"])
    model.set_weights([np.zeros((3, 2)), np.array([5.0, 5.0])])
    scores = model.evaluate(X, Y, return_dict=True)
    assert scores["accuracy"] == scores["binary_accuracy"] == 0.5


def test_accuracy_under_categorical_losses_is_the_argmax():
    labels = np.array([0, 1, 2, 0])
    model = an.Sequential([an.layers.Dense(3, activation="softmax")], input_dim=3, seed=0)
    model.compile("categorical_cross_entropy", metrics=["accuracy"])
    model.set_weights([np.eye(3) * 10, np.zeros(3)])
    rows = np.eye(3)[[0, 1, 2, 2]]  # the last row predicts class 2, its label is 0
    assert model.evaluate(rows, labels, return_dict=True)["accuracy"] == 0.75


@pytest.mark.parametrize(("n", "split"), [(10, 0.25), (20, 0.29), (20, 0.5), (16, 0.1)])
def test_validation_split_keeps_keras_training_rows(n, split):
    """Keras trains on the first floor(n * (1 - split)) rows and validates on the rest."""
    cut = math.floor(n * (1.0 - split))
    y = np.arange(n) % 3
    with an.use("numpy", dtype="float64"):
        _, history = _fit_history("categorical_cross_entropy", y, n, validation_split=split)
        model, trained = _fit_history("categorical_cross_entropy", y[:cut], cut)
        val_loss = model.evaluate(X[cut:n], y[cut:], return_dict=True)["loss"]
    assert history.history["loss"] == trained.history["loss"]
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-12)


def test_a_column_of_integer_labels_equals_the_flat_labels(backend):
    labels = np.arange(20) % 3
    with an.use(backend, dtype="float64"):
        _, flat = _fit_history("categorical_cross_entropy", labels)
        _, column = _fit_history("categorical_cross_entropy", labels[:, None])
    for name in ("loss", "accuracy"):
        assert column.history[name] == pytest.approx(flat.history[name], rel=1e-12)


def test_summary_prints_each_layer_and_the_parameter_count():
    model = an.Sequential(
        [an.layers.Dense(64, activation="relu"), an.layers.Dropout(0.1), an.layers.Dense(10)],
        input_dim=784,
        seed=0,
    )
    lines = []
    assert model.summary(print_fn=lines.append) is None
    total = sum(w.size for w in model.get_weights())
    assert total == 784 * 64 + 64 + 64 * 10 + 10
    dense, dropout, dense_1 = (f"{la.name} ({type(la).__name__})" for la in model.layers)
    assert lines[0] == f'Model: "{model.name}"'  # Keras 3's table, as it prints it
    assert lines[1:4] == [
        "┏" + "━" * 33 + "┳" + "━" * 24 + "┳" + "━" * 15 + "┓",
        "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃",
        "┡" + "━" * 33 + "╇" + "━" * 24 + "╇" + "━" * 15 + "┩",
    ]
    assert _cells(lines[4]) == [dense, "(None, 64)", "50,240"]
    assert _cells(lines[6]) == [dropout, "(None, 64)", "0"]
    assert _cells(lines[8]) == [dense_1, "(None, 10)", "650"]
    assert lines[-3:] == [  # float32: 4 bytes each
        " Total params: 50,890 (198.79 KB)",
        " Trainable params: 50,890 (198.79 KB)",
        " Non-trainable params: 0 (0.00 B)",
    ]


def _cells(line):
    return [cell.strip() for cell in line.split("│")[1:-1]]


def test_summary_before_the_input_width_is_known(capsys):
    model = an.Sequential([an.layers.Dense(4), an.layers.Dense(1)], seed=0)
    model.summary()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f'Model: "{model.name}"'
    first, second = (f"{la.name} (Dense)" for la in model.layers)
    assert _cells(out[4]) == [first, "?", "0 (unbuilt)"]  # Keras's words
    assert _cells(out[6]) == [second, "(None, 1)", "5"]  # known from the first's output
    assert out[-3] == " Total params: 0 (0.00 B)"  # no weights drawn yet


def test_batch_size_none_is_32():
    X80 = np.tile(X, (4, 1))
    model = an.Sequential([an.layers.Dense(3, activation="softmax")], input_dim=3, seed=0)
    model.compile("categorical_cross_entropy", an.optimizers.SGD(lr=0.1))
    history = model.fit(X80, np.arange(80) % 3, batch_size=None, shuffle=False, verbose=0)
    assert history.params["batch_size"] == 32
    again = an.Sequential([an.layers.Dense(3, activation="softmax")], input_dim=3, seed=0)
    again.compile("categorical_cross_entropy", an.optimizers.SGD(lr=0.1))
    explicit = again.fit(X80, np.arange(80) % 3, batch_size=32, shuffle=False, verbose=0)
    assert history.history == explicit.history
