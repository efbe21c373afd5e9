"""Callbacks on every backend: hook order, EarlyStopping, TerminateOnNaN, LearningRateScheduler,
CSVLogger, ModelCheckpoint and the progress output, checked against Keras' semantics and
NumPy float64 written by hand (tests/reference.py)."""

import csv

import numpy as np
import pytest
from reference import train_reference

import arraynet as an
from arraynet.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    TerminateOnNaN,
)
from arraynet.layers import Dense

RNG = np.random.default_rng(99)
X = RNG.normal(size=(16, 3))
Y = RNG.normal(size=(16, 2))
SPEC = [("tanh", True), (None, True)]


def _model(lr=0.1, metrics=()):
    model = an.Sequential([Dense(4, activation="tanh"), Dense(2)], input_dim=3, seed=3)
    model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=lr), metrics=metrics)
    return model


class Recorder(Callback):
    """Every epoch-level hook, in order, with the weights at each epoch's end."""

    def __init__(self):
        self.events, self.weights = [], []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        assert all(type(value) is float for value in logs.values()), logs
        self.events.append(("epoch_end", epoch, dict(logs)))
        self.weights.append(self.model.get_weights())

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


class BatchRecorder(Callback):
    def __init__(self):
        self.events = []

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append("epoch_begin")

    def on_batch_begin(self, batch, logs=None):
        self.events.append(("batch_begin", batch))

    def on_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append("epoch_end")


class Inject(Callback):
    """Puts ``values[epoch]`` into the logs as ``name``, for the callbacks listed after it."""

    def __init__(self, values, name="score"):
        self.values, self.name = values, name

    def on_epoch_end(self, epoch, logs=None):
        logs[self.name] = float(self.values[epoch])


def test_epoch_hooks_run_in_order_with_float_logs(backend):
    recorder = Recorder()
    with an.use(backend, dtype="float64"):
        history = _model(metrics=["mae"]).fit(
            X, Y, epochs=3, batch_size=8, validation_split=0.25, verbose=0, callbacks=[recorder]
        )
    kinds = [event[:2] for event in recorder.events]
    assert kinds == [
        ("train_begin",),
        *[e for epoch in range(3) for e in (("epoch_begin", epoch), ("epoch_end", epoch))],
        ("train_end",),
    ]
    for epoch, event in enumerate(recorder.events[2:-1:2]):
        assert event[2] == {key: values[epoch] for key, values in history.history.items()}
        assert set(event[2]) == {"loss", "mae", "val_loss", "val_mae"}


@pytest.mark.parametrize("mode, batches", [("minibatch", 4), ("stochastic", 16)])
def test_batch_hooks_run_once_per_batch(backend, mode, batches):
    recorder = BatchRecorder()
    with an.use(backend, dtype="float64"):
        model = _model()
        model.fit(X, Y, mode=mode, batch_size=5, epochs=2, verbose=0, callbacks=[recorder])
    per_batch = [e for b in range(batches) for e in (("batch_begin", b), ("batch_end", b))]
    assert recorder.events == 2 * ["epoch_begin", *per_batch, "epoch_end"]


# -- EarlyStopping ----------------------------------------------------------------------------


def _epochs_run(model, values, **kwargs):
    stopper = EarlyStopping(monitor="score", **kwargs)
    history = model.fit(
        X, Y, mode="full", epochs=len(values), verbose=0, callbacks=[Inject(values), stopper]
    )
    assert history.history["score"] == values[: len(history.epoch)]
    return len(history.epoch)


def test_early_stopping_patience_counts_epochs_without_improvement(backend):
    """Keras: stop after ``patience`` consecutive epochs with no improvement."""
    values = [5.0, 4.0, 4.5, 4.2, 4.1, 3.9, 3.8, 3.7]
    with an.use(backend, dtype="float64"):
        model = _model()  # one model: JAX compiles its epoch once
        assert _epochs_run(model, values, patience=0) == 3  # stops at the first bad epoch
        assert _epochs_run(model, values, patience=4) == 8  # epoch 5 improved in time
        assert _epochs_run(model, values, patience=1) == 3  # as patience=0 in Keras
        assert _epochs_run(model, values, patience=2) == 4  # epochs 2 and 3 did not improve
        assert _epochs_run(model, values, patience=3) == 5
        assert _epochs_run(model, values[:5], patience=2, mode="max") == 3


def test_early_stopping_min_delta(backend):
    values = [5.0, 4.0, 3.95, 3.94, 3.93, 3.93, 3.0]
    with an.use(backend, dtype="float64"):
        model = _model()
        assert _epochs_run(model, values, patience=0) == 6
        assert _epochs_run(model, values, patience=0, min_delta=0.1) == 3


def test_early_stopping_restores_the_best_weights(backend):
    recorder = Recorder()
    values = [3.0, 1.0, 2.0, 2.5, 2.7, 2.8]
    with an.use(backend, dtype="float64"):
        model = _model()
        stopper = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
        model.fit(
            X, Y, mode="full", epochs=6, verbose=0, callbacks=[Inject(values), recorder, stopper]
        )
        restored = model.get_weights()
        P = model.predict(X)
    assert len(recorder.weights) >= 3
    for w, best, last in zip(restored, recorder.weights[1], recorder.weights[-1]):
        np.testing.assert_array_equal(w, best)
        assert not np.allclose(w, last)
    np.testing.assert_allclose(
        P, np.tanh(X @ restored[0] + restored[1]) @ restored[2] + restored[3]
    )


def test_early_stopping_that_never_stops_still_restores_the_best_weights():
    """Keras 3 restores the best weights when training ends, stopped early or not (arraynet
    before issue #17 kept the last weights when it did not stop)."""
    recorder = Recorder()
    values = [3.0, 1.0, 2.0, 2.5]
    model = _model()
    stopper = EarlyStopping(monitor="score", patience=5, restore_best_weights=True)
    model.fit(X, Y, mode="full", epochs=4, verbose=0, callbacks=[Inject(values), recorder, stopper])
    assert stopper.stopped_epoch == 0 and stopper.best_epoch == 1
    for w, best, last in zip(model.get_weights(), recorder.weights[1], recorder.weights[-1]):
        np.testing.assert_array_equal(w, best)
        assert not np.allclose(w, last)


def test_early_stopping_without_the_monitored_value_names_monitor(backend):
    with an.use(backend, dtype="float64"), pytest.raises(ValueError, match="monitor"):
        _model().fit(X, Y, epochs=2, verbose=0, callbacks=[EarlyStopping()])  # no val_loss


# -- TerminateOnNaN ----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_stops_a_diverging_model(backend, capsys):
    """The book's divergence: too large a learning rate on a linear model overshoots, further
    each step, until the loss overflows."""
    with an.use(backend, dtype="float64"):
        model = an.Sequential([Dense(1)], input_dim=3, seed=0)
        model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=1e6))
        history = model.fit(
            X, Y[:, 0], mode="full", epochs=100, verbose=0, callbacks=[TerminateOnNaN()]
        )
    losses = history.history["loss"]
    assert 5 < len(losses) < 100
    assert np.all(np.isfinite(losses[:-1])) and not np.isfinite(losses[-1])
    assert np.all(np.diff(losses[:-1]) > 0)  # diverging
    assert "terminating" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_beside_monitors_ends_the_epoch_for_all(backend, tmp_path, capsys):
    """EarlyStopping and ModelCheckpoint watch val_loss: the diverged epoch reaches them
    with every value NaN (not a log without val_loss, which they would refuse), History's
    columns stay aligned, no weight is NaN, and EarlyStopping puts back the best epoch's
    weights when training ends (Keras 3: stopped by it or not)."""
    recorder = Recorder()
    checkpoint = ModelCheckpoint(str(tmp_path / "new" / "ckpt-{epoch}-{val_loss:.3g}.arraynet"))
    with an.use(backend, dtype="float64"):
        model = an.Sequential([Dense(1)], input_dim=3, seed=0)
        model.compile("squared_error", an.optimizers.SGD(lr=1e6), metrics=["mse"])
        stopper = EarlyStopping(patience=100, restore_best_weights=True)
        callbacks = [TerminateOnNaN(), stopper, checkpoint, recorder]
        history = model.fit(
            X,
            Y[:, 0],
            mode="full",
            epochs=100,
            verbose=0,
            validation_split=0.25,
            callbacks=callbacks,
        )
        weights = model.get_weights()
    lengths = {key: len(values) for key, values in history.history.items()}
    assert set(lengths) == {"loss", "mse", "val_loss", "val_mse"}
    assert len(set(lengths.values())) == 1 and 5 < lengths["loss"] < 100
    assert all(np.isnan(values[-1]) for values in history.history.values())
    assert all(np.isfinite(w).all() for w in weights)
    best = int(np.nanargmin(history.history["val_loss"]))
    assert best == stopper.best_epoch
    for w, kept in zip(weights, recorder.weights[best], strict=True):
        np.testing.assert_array_equal(w, kept)
    saved = sorted(p.name for p in (tmp_path / "new").iterdir())
    assert len(saved) == lengths["loss"] and f"ckpt-{lengths['loss']}-nan.arraynet" in saved


# -- LearningRateScheduler ---------------------------------------------------------------------


def test_learning_rate_scheduler_sets_and_logs_the_rate(backend):
    schedule = LearningRateScheduler(lambda epoch, lr: 0.2 * 0.5**epoch)
    with an.use(backend, dtype="float64"):
        model = _model(lr=0.1)
        start = model.get_weights()
        history = model.fit(X, Y, mode="full", epochs=3, verbose=0, callbacks=[schedule])
        assert model.learning_rate == pytest.approx(0.05, rel=1e-15)
    assert history.history["learning_rate"] == pytest.approx([0.2, 0.1, 0.05], rel=1e-15)
    weights = start
    for lr in (0.2, 0.1, 0.05):  # one full-batch step per epoch, by hand
        weights = train_reference(weights, SPEC, "squared_error", X, Y, lr, "full", 1)[0]
    for w, expected in zip(model.get_weights(), weights):
        np.testing.assert_allclose(w, expected, rtol=1e-10, atol=1e-12)


def test_learning_rate_zero_after_the_first_epoch_freezes_the_weights(backend):
    recorder = Recorder()
    schedule = LearningRateScheduler(lambda epoch, lr: 0.1 if epoch == 0 else 0.0)
    with an.use(backend, dtype="float64"):
        model = _model(lr=0.1)
        start = model.get_weights()
        model.fit(X, Y, epochs=3, batch_size=4, verbose=0, callbacks=[schedule, recorder])
        assert model.learning_rate == 0.0
    assert not np.allclose(recorder.weights[0][0], start[0])
    for w, after_first in zip(model.get_weights(), recorder.weights[0]):
        np.testing.assert_array_equal(w, after_first)


# -- CSVLogger and ModelCheckpoint -------------------------------------------------------------


def test_csv_logger_writes_the_history(backend, tmp_path):
    path = tmp_path / "log.csv"
    with an.use(backend, dtype="float64"):
        history = _model(metrics=["mse"]).fit(
            X, Y, epochs=3, batch_size=4, verbose=0, callbacks=[CSVLogger(path)]
        )
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["epoch", "loss", "mse"]
    assert len(rows) == 4
    for epoch, row in enumerate(rows[1:]):
        assert int(row[0]) == epoch
        assert [float(v) for v in row[1:]] == [history.history[k][epoch] for k in rows[0][1:]]


def test_model_checkpoint_saves_only_on_improvement(backend, tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(an.Sequential, "save", lambda self, path: saved.append(path))
    values = [3.0, 2.0, 2.5, 1.0, 1.0, 4.0]
    checkpoint = ModelCheckpoint(
        str(tmp_path / "ckpt-{epoch:02d}-{score:.1f}"), monitor="score", save_best_only=True
    )
    with an.use(backend, dtype="float64"):
        _model().fit(X, Y, epochs=6, verbose=0, callbacks=[Inject(values), checkpoint])
    assert saved == [str(tmp_path / name) for name in ("ckpt-01-3.0", "ckpt-02-2.0", "ckpt-04-1.0")]


def test_model_checkpoint_keeps_its_best_across_fits(tmp_path, monkeypatch):
    """Keras: a resumed run (a second fit) never replaces a better checkpoint."""
    saved = []
    monkeypatch.setattr(an.Sequential, "save", lambda self, path: saved.append(path))
    checkpoint = ModelCheckpoint(
        str(tmp_path / "best-{epoch}"), monitor="score", save_best_only=True
    )
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[Inject([0.1, 0.2]), checkpoint])
    model.fit(
        X,
        Y,
        epochs=4,
        initial_epoch=2,
        verbose=0,
        callbacks=[Inject([0, 0, 0.9, 0.05]), checkpoint],
    )
    assert saved == [str(tmp_path / "best-1"), str(tmp_path / "best-4")]


def test_csv_logger_keeps_the_first_columns_and_writes_text(tmp_path):
    """As Keras: a key first logged in a later epoch is left out, a missing one is NA, text
    is written as it is (and the progress line prints it too)."""

    class Later(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                logs["note"] = "warm-up"
            else:
                logs["extra"] = 1.5

    path = tmp_path / "log.csv"
    history = _model().fit(X, Y, epochs=2, verbose=2, callbacks=[Later(), CSVLogger(path)])
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["epoch", "loss", "note"]
    assert rows[1][2] == "warm-up" and rows[2][2] == "NA"
    assert float(rows[2][1]) == history.history["loss"][1]


def test_batch_hooks_see_the_weights_so_far_and_set_the_learning_rate(backend):
    """Each on_batch_end sees the weights after that batch's update (equal to the float64
    reference trained that many batches); a learning rate of 0 set in on_batch_begin of
    batch 2 freezes the weights from there on, and stays set after fit."""

    class Watch(Callback):
        def __init__(self):
            self.weights = []

        def on_batch_begin(self, batch, logs=None):
            if batch == 2:
                self.model.learning_rate = 0.0

        def on_batch_end(self, batch, logs=None):
            self.weights.append(self.model.get_weights())

    watch = Watch()
    with an.use(backend, dtype="float64"):
        model = _model()
        start = model.get_weights()
        model.fit(X, Y, batch_size=4, shuffle=False, verbose=0, callbacks=[watch])
        assert model.learning_rate == 0.0
    for batches in (1, 2):
        expected = train_reference(
            start,
            SPEC,
            "squared_error",
            X[: 4 * batches],
            Y[: 4 * batches],
            0.1,
            "minibatch",
            1,
            batch_size=4,
        )[0]
        for got, want in zip(watch.weights[batches - 1], expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12)
    for frozen in watch.weights[2:]:
        for got, want in zip(frozen, watch.weights[1], strict=True):
            np.testing.assert_array_equal(got, want)


def test_model_checkpoint_writes_files(backend, tmp_path):
    pytest.importorskip("arraynet.io")
    values = [3.0, 2.0, 2.5, 1.0]
    checkpoint = ModelCheckpoint(
        str(tmp_path / "ckpt-{epoch}.arraynet"), monitor="score", save_best_only=True
    )
    with an.use(backend, dtype="float64"):
        _model().fit(X, Y, epochs=4, verbose=0, callbacks=[Inject(values), checkpoint])
    written = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ckpt-"))
    assert written == ["ckpt-1.arraynet", "ckpt-2.arraynet", "ckpt-4.arraynet"]


# -- progress output ---------------------------------------------------------------------------


def test_progress_output_follows_verbose(backend, capsys):
    pytest.importorskip("tqdm")
    with an.use(backend, dtype="float64"):
        model = _model()
        model.fit(X, Y, epochs=3, verbose=0)
        silent = capsys.readouterr()
        model.fit(X, Y, epochs=3, verbose=1)
        bar = capsys.readouterr()
        model.fit(X, Y, epochs=3, verbose=2)
        lines = capsys.readouterr()
        model.fit(X, Y, epochs=3)  # "auto": stderr is not a terminal under pytest
        auto = capsys.readouterr()
    assert silent.out == silent.err == "" and auto.out == auto.err == ""
    assert bar.out == ""
    assert "3/3" in bar.err and "epoch" in bar.err and "loss" in bar.err
    printed = lines.out.splitlines()
    assert len(printed) == 3 and lines.err == ""
    for epoch, line in enumerate(printed, start=1):
        assert line.startswith(f"Epoch {epoch}/3") and "loss: " in line


def test_bad_verbose_names_the_argument():
    with pytest.raises(ValueError, match="verbose"):
        _model().fit(X, Y, verbose=3)


def test_hooks_get_dicts_and_train_end_the_last_logs_as_in_keras():
    class Keep(Callback):
        def __init__(self):
            self.got = []

        def on_train_begin(self, logs=None):
            logs["begun"] = True  # a dict to write into, as Keras passes
            self.got.append(("train_begin", dict(logs), dict(self.params)))

        def on_epoch_begin(self, epoch, logs=None):
            self.got.append(("epoch_begin", dict(logs)))

        def on_train_end(self, logs=None):
            self.got.append(("train_end", dict(logs)))

    keep = Keep()
    history = _model(metrics=["mse"]).fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[keep])
    begin, *epochs, end = keep.got
    assert begin == (
        "train_begin",
        {"begun": True},
        {
            "epochs": 2,
            "initial_epoch": 0,
            "mode": "minibatch",
            "batch_size": 8,
            "samples": 16,
            "metrics": ["loss", "mse"],
            "verbose": 0,  # Keras's params: verbose and steps (batches per epoch)
            "steps": 2,
        },
    )
    assert epochs == [("epoch_begin", {}), ("epoch_begin", {})]
    assert end == ("train_end", {k: v[-1] for k, v in history.history.items()})


def test_a_callback_that_raises_still_ends_training_for_the_others(tmp_path):
    """EarlyStopping without val_loss raises after the first epoch; CSVLogger's on_train_end
    still runs (its file is closed, its row written) and the ProgressBar closes."""
    logger = CSVLogger(tmp_path / "log.csv")
    with pytest.raises(ValueError, match="monitor"):
        _model().fit(X, Y, epochs=3, verbose=0, callbacks=[logger, EarlyStopping()])
    assert logger.file is None
    with open(tmp_path / "log.csv", newline="") as file:
        assert len(list(csv.reader(file))) == 2  # header and epoch 0


def test_an_error_in_a_batch_hook_leaves_the_weights_of_the_call_start(backend):
    class Boom(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 2:
                raise RuntimeError("boom")

    with an.use(backend, dtype="float64"):
        model = _model()
        start = model.get_weights()
        with pytest.raises(RuntimeError, match="boom"):
            model.fit(X, Y, batch_size=4, verbose=0, callbacks=[Boom()])
        for got, want in zip(model.get_weights(), start, strict=True):
            np.testing.assert_array_equal(got, want)
