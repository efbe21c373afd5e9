"""Keras 3's callbacks on arraynet (issue #17 part C): EarlyStopping's baseline,
start_from_epoch and restoring at the end, ReduceLROnPlateau against Keras's rule written
out here, ModelCheckpoint's weights-only files, verbose lines, thresholds and batch
frequency, LearningRateScheduler's one-argument schedules, BackupAndRestore resuming an
interrupted fit bitwise, LambdaCallback, ProgbarLogger and Keras's batch hook names."""

import math

import numpy as np
import pytest

import arraynet as an
from arraynet.callbacks import (
    BackupAndRestore,
    Callback,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
)
from arraynet.layers import Dense

RNG = np.random.default_rng(23)
X = RNG.normal(size=(16, 3))
Y = RNG.normal(size=(16, 2))


def _model(lr=0.1):
    model = an.Sequential([an.Input(shape=(3,)), Dense(4, activation="tanh"), Dense(2)], seed=5)
    model.compile("squared_error", an.optimizers.SGD(learning_rate=lr))
    return model


class Inject(Callback):
    """Puts ``values[epoch]`` into the logs as ``name`` for the callbacks after it."""

    def __init__(self, values, name="score"):
        self.values, self.name = values, name

    def on_epoch_end(self, epoch, logs=None):
        logs[self.name] = float(self.values[epoch])


class Weights(Callback):
    def __init__(self):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def _run(values, callback, model=None):
    model = model or _model()
    recorder = Weights()
    history = model.fit(
        X, Y, mode="full", epochs=len(values), verbose=0,
        callbacks=[Inject(values), recorder, callback],
    )  # fmt: skip
    return model, history, recorder


# -- EarlyStopping -------------------------------------------------------------------------------


def test_early_stopping_baseline_and_start_from_epoch():
    """Keras 3: an improvement that does not beat the baseline does not reset the wait;
    epochs before start_from_epoch are not watched."""
    values = [5.0, 4.0, 4.5, 3.0, 3.1, 2.5]
    _, history, _ = _run(values, EarlyStopping(monitor="score", patience=2, baseline=2.0))
    assert len(history.epoch) == 3  # the improvements never beat the baseline: no reset
    for baseline in (None, 10.0):
        stopper = EarlyStopping(monitor="score", patience=2, baseline=baseline)
        assert len(_run(values, stopper)[1].epoch) == 6
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    stopper = EarlyStopping(monitor="score", patience=1, start_from_epoch=3)
    _, history, _ = _run(values, stopper)
    assert len(history.epoch) == 5 and stopper.best == 4.0 and stopper.stopped_epoch == 4


def test_early_stopping_restores_the_best_weights_at_the_end_and_says_so(capsys):
    values = [3.0, 2.0, 1.0, 1.5, 1.2, 1.1]
    stopper = EarlyStopping(monitor="score", patience=10, restore_best_weights=True, verbose=1)
    model, history, recorder = _run(values, stopper)
    assert len(history.epoch) == 6 and stopper.best_epoch == 2
    for got, best in zip(model.get_weights(), recorder.weights[2], strict=True):
        np.testing.assert_array_equal(got, best)
    assert "Restoring model weights from the end of the best epoch: 3." in capsys.readouterr().out
    stopper = EarlyStopping(monitor="score", patience=1, verbose=1)
    _run(values, stopper)
    assert "Epoch 4: early stopping" in capsys.readouterr().out


def test_early_stopping_auto_mode_follows_the_metric():
    model = _model()
    model.compile("squared_error", "sgd", metrics=["mae"])
    for monitor, mode in [("val_loss", "min"), ("val_accuracy", "max"), ("mae", "min")]:
        stopper = EarlyStopping(monitor=monitor)
        stopper.set_model(model)
        assert stopper.improves(1.0, 2.0) is (mode == "min")
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="lowest")


# -- ReduceLROnPlateau ---------------------------------------------------------------------------


def _keras_plateau(values, lr, factor, patience, cooldown, min_lr, min_delta):
    """Keras 3's ReduceLROnPlateau.on_epoch_end written out: the rate after each epoch."""
    best, wait, cooling, rates = math.inf, 0, 0, []
    for value in values:
        if cooling > 0:
            cooling -= 1
            wait = 0
        if value < best - min_delta:
            best, wait = value, 0
        elif not cooling > 0:
            wait += 1
            if wait >= patience and lr > np.float32(min_lr):
                lr, cooling, wait = max(lr * factor, min_lr), cooldown, 0
        rates.append(lr)
    return rates


@pytest.mark.parametrize("cooldown", [0, 2])
def test_reduce_lr_on_plateau_follows_keras(cooldown, capsys):
    values = [5.0, 4.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    plateau = ReduceLROnPlateau(
        monitor="score", factor=0.5, patience=2, cooldown=cooldown, min_lr=0.02, verbose=1
    )
    model, history, _ = _run(values, plateau)
    expected = _keras_plateau(values, 0.1, 0.5, 2, cooldown, 0.02, 1e-4)
    assert history.history["learning_rate"][1:] == pytest.approx(expected[:-1], rel=1e-6)
    assert model.learning_rate == pytest.approx(expected[-1], rel=1e-6)
    assert min(expected) == 0.02 and "ReduceLROnPlateau reducing learning rate" in (
        capsys.readouterr().out
    )
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)


def test_reduce_lr_on_plateau_trains_with_the_reduced_rate():
    values = [2.0, 2.0, 2.0]
    model, _, recorder = _run(values, ReduceLROnPlateau(monitor="score", patience=1))
    assert model.learning_rate == pytest.approx(0.1 * 0.1**2, rel=1e-6)  # epochs 2 and 3
    assert len(recorder.weights) == 3


# -- ModelCheckpoint -----------------------------------------------------------------------------


def test_model_checkpoint_weights_only_verbose_and_threshold(tmp_path, capsys):
    path = str(tmp_path / "best.weights.h5")
    checkpoint = ModelCheckpoint(
        path, monitor="score", verbose=1, save_best_only=True, save_weights_only=True,
        initial_value_threshold=2.5,
    )  # fmt: skip
    model, _, recorder = _run([3.0, 2.0, 2.2, 1.0, 1.5], checkpoint)
    out = capsys.readouterr().out
    assert "Epoch 1: score did not improve from 2.50000" in out
    assert "Epoch 2: score improved from 2.50000 to 2.00000, saving model to" in out
    assert "Epoch 4: score improved from 2.00000 to 1.00000" in out
    fresh = an.Sequential([Dense(4, activation="tanh"), Dense(2)])
    fresh.load_weights(path)
    for got, best in zip(fresh.get_weights(), recorder.weights[3], strict=True):
        np.testing.assert_array_equal(got, best)
    assert an.load(path).variables.opt_state is None  # weights only


def test_model_checkpoint_every_few_batches(tmp_path):
    checkpoint = ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.arraynet"), save_freq=3)
    model = _model()
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, callbacks=[checkpoint])  # 4 batches each
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "e1-b3.arraynet",
        "e2-b2.arraynet",
    ]
    with pytest.raises(ValueError, match="save_best_only"):
        ModelCheckpoint("x", save_best_only=True, save_freq=5)


# -- LearningRateScheduler, LambdaCallback, Keras's hook names -----------------------------------


def test_learning_rate_scheduler_takes_one_argument_schedules(capsys):
    scheduler = LearningRateScheduler(lambda epoch: 0.05 * (epoch + 1), verbose=1)
    model = _model()
    history = model.fit(X, Y, epochs=3, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.1, 0.15])
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.15" in capsys.readouterr().out
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(X, Y, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: "fast")])


def test_lambda_callback_and_keras_batch_hooks():
    seen = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: seen.append("begin"),
        on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch, sorted(logs))),
        on_train_batch_end=lambda batch, logs: seen.append(("batch", batch)),
        on_train_end=lambda logs: seen.append("end"),
    )

    class KerasStyle(Callback):
        def __init__(self):
            self.batches = []

        def on_train_batch_begin(self, batch, logs=None):
            self.batches.append((batch, logs["size"]))

    keras_style = KerasStyle()
    _model().fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[callback, keras_style])
    epoch = [("batch", 0), ("batch", 1)]
    assert seen == ["begin", *epoch, ("epoch", 0, ["loss"]), *epoch, ("epoch", 1, ["loss"]), "end"]
    assert keras_style.batches == [(0, 8), (1, 8)] * 2
    assert not LambdaCallback(on_epoch_end=print).wants_batches
    with pytest.raises(TypeError, match="unexpected"):
        LambdaCallback(after_epoch=print)


def test_progbar_logger_replaces_fits_own_and_follows_verbose(capsys):
    pytest.importorskip("tqdm")
    model = _model()
    model.fit(X, Y, epochs=2, verbose=1, callbacks=[ProgbarLogger()])
    err = capsys.readouterr().err
    assert err.count("2/2") == 1  # one bar, not two
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[ProgbarLogger()])
    assert capsys.readouterr() == ("", "")
    model.fit(X, Y, epochs=2, verbose=2, callbacks=[ProgbarLogger()])
    assert capsys.readouterr().out.count("Epoch ") == 2


def test_fit_gives_callbacks_keras_params():
    class Params(Callback):
        def on_train_begin(self, logs=None):
            self.seen = dict(self.params)

    params = Params()
    _model().fit(X, Y, batch_size=5, epochs=3, verbose=0, callbacks=[params])
    assert params.seen["epochs"] == 3 and params.seen["steps"] == 4
    assert params.seen["verbose"] == 0


# -- BackupAndRestore ----------------------------------------------------------------------------


class Interrupt(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_backup_and_restore_resumes_an_interrupted_fit_bitwise(tmp_path):
    def fresh():
        model = an.Sequential([an.Input(shape=(3,)), Dense(4, activation="tanh"), Dense(2)], seed=8)
        model.compile("squared_error", an.optimizers.Adam(learning_rate=0.01))
        return model

    train = {"batch_size": 4, "epochs": 6, "verbose": 0}
    uninterrupted = fresh()  # a timely callback: one epoch per call, as with the backup
    whole = uninterrupted.fit(X, Y, callbacks=[Interrupt(at=-1)], **train)

    backup = BackupAndRestore(tmp_path / "backup")
    first = fresh()
    with pytest.raises(KeyboardInterrupt):
        first.fit(X, Y, callbacks=[backup, Interrupt(at=2)], **train)
    assert (tmp_path / "backup" / "latest.arraynet").exists()  # kept: training did not end
    second = fresh()  # a new process would start from scratch, then resume from the backup
    resumed = second.fit(X, Y, callbacks=[backup], **train)
    assert resumed.epoch == [3, 4, 5] and second.epoch == 6
    assert resumed.history["loss"] == whole.history["loss"][3:]
    for got, want in zip(second.get_weights(), uninterrupted.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert not (tmp_path / "backup" / "latest.arraynet").exists()  # deleted at the end
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore(tmp_path, save_freq=10)
