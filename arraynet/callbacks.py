"""Callbacks: hooks around training, reading Python floats from ``logs``.

``logs`` is filled once per epoch, when the epoch's loss and metrics are read back from the
device; batch hooks get only the batch's size (reading values per batch would cost a host
synchronisation per step). Hooks: ``on_train_begin/end``, ``on_epoch_begin/end``,
``on_batch_begin/end``.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
import sys

import numpy as np

from .validation import check_count, check_non_negative


class Callback:
    """Base class. ``timely``: the callback acts on each epoch as it ends (stopping, saving,
    changing the learning rate); when no callback is timely, several epochs train in one
    runner call (on JAX one compiled call) and the callbacks hear them after."""

    model = None
    params: dict = {}  # fit's epochs, initial_epoch, mode, batch_size, samples
    timely = True
    stops_on_nan = False  # training stops, without raising, at a NaN loss or weight

    def set_model(self, model) -> None:
        self.model = model
        self.params = dict(getattr(model.history, "params", {}))

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch, logs=None): ...

    def on_epoch_end(self, epoch, logs=None): ...

    def on_batch_begin(self, batch, logs=None): ...

    def on_batch_end(self, batch, logs=None): ...


class CallbackList:
    """Calls every callback's hook in order."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks: expected Callback instances; got {callback!r}")
            callback.set_model(model)

    @property
    def timely(self) -> bool:
        return any(callback.timely for callback in self.callbacks)

    @property
    def stops_on_nan(self) -> bool:
        return any(callback.stops_on_nan for callback in self.callbacks)

    @property
    def wants_batches(self) -> bool:
        return any(
            type(cb).on_batch_begin is not Callback.on_batch_begin
            or type(cb).on_batch_end is not Callback.on_batch_end
            for cb in self.callbacks
        )

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for callback in self.callbacks:
                getattr(callback, hook)(*args)

        return call


class History(Callback):
    """What ``fit`` recorded: ``history["loss"]`` (and metrics, ``val_*``) per epoch."""

    timely = False

    def __init__(self, params: dict | None = None):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params = dict(params or {})

    def on_train_begin(self, logs=None):
        self.history.setdefault("loss", [])

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class ProgressBar(Callback):
    """A tqdm progress bar over the epochs, showing the latest logs.

    With ``bar=False``, or without tqdm (``pip install arraynet[progress]``), it prints a
    line per epoch instead.
    """

    timely = False

    def __init__(self, bar: bool = True, file=None):
        self.want_bar, self.file = bar, file
        self.bar = None

    def on_train_begin(self, logs=None):
        params = self.params
        if not self.want_bar:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(
            total=params["epochs"],
            initial=params.get("initial_epoch", 0),
            unit="epoch",
            file=self.file or sys.stderr,
            dynamic_ncols=True,
            leave=True,
        )

    def on_epoch_end(self, epoch, logs=None):
        text = " - ".join(f"{key}: {_short(value)}" for key, value in (logs or {}).items())
        if self.bar is None:
            print(
                f"Epoch {epoch + 1}/{self.params['epochs']} - {text}",
                file=self.file or sys.stdout,
            )
            return
        self.bar.set_postfix_str(text, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _short(value) -> str:
    """A logged value for a progress line: numbers to 4 significant digits."""
    return f"{value:.4g}" if _is_number(value) else str(value)


def _monitor_mode(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode: expected 'auto', 'min' or 'max'; got {mode!r}")
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


def _monitored(logs, monitor: str) -> float:
    if monitor not in (logs or {}):
        raise ValueError(
            f"monitor: expected one of the logged values {sorted(logs or {})}; got {monitor!r}"
        )
    return logs[monitor]


class _Monitor(Callback):
    """Tracks the best value of ``monitor``: an improvement beats it by more than min_delta."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0):
        self.monitor = monitor
        self.sign = 1.0 if _monitor_mode(monitor, mode) == "min" else -1.0
        self.min_delta = check_non_negative(min_delta, "min_delta")
        self.best = math.inf

    def improved(self, logs) -> bool:
        value = self.sign * _monitored(logs, self.monitor)
        if value < self.best - self.min_delta:
            self.best = value
            return True
        return False


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Keras semantics).

    With ``restore_best_weights`` the best epoch's weights are put back when it stops
    training, as in Keras; a run that goes to its last epoch keeps its last weights.
    """

    def __init__(
        self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", restore_best_weights=False
    ):
        super().__init__(monitor, mode, min_delta)
        self.patience = check_count(patience, "patience")
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.best_weights, self.stopped_epoch = math.inf, 0, None, None

    def on_epoch_end(self, epoch, logs=None):
        if self.improved(logs):
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)


class TerminateOnNaN(Callback):
    """Stop training as soon as an epoch's loss is NaN or infinite."""

    stops_on_nan = True

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Epoch {epoch + 1}: loss is {loss}, terminating training", file=sys.stderr)
            self.model.stop_training = True


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch, or only when ``monitor`` improves (save_best_only).

    ``filepath`` may hold ``{epoch}`` and logged names, e.g. ``"ckpt-{epoch:03d}.arraynet"``;
    missing folders are made. As in Keras, the best value is kept across ``fit`` calls, so a
    resumed run never replaces a better checkpoint with a worse one.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto"):
        super().__init__(monitor, mode)
        self.filepath = str(filepath)
        self.save_best_only = bool(save_best_only)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only and not self.improved(logs):
            return
        path = self.filepath.format(epoch=epoch + 1, **(logs or {}))
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.model.save(path)


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start: ``lr = schedule(epoch, lr)``."""

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise TypeError(f"schedule: expected a callable (epoch, lr) -> lr; got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.schedule(epoch, self.model.learning_rate))
        self.model.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.6g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.learning_rate


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` then each logged value."""

    timely = False

    def __init__(self, filename, separator: str = ",", append: bool = False):
        self.filename, self.separator, self.append = str(filename), separator, append
        self.file = self.writer = None

    def on_train_begin(self, logs=None):
        self.file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        """The first epoch's keys are the columns (as Keras): keys that appear later are
        left out, missing ones written as NA; numbers in full precision, text as it is."""
        logs = logs or {}
        if self.writer is None:
            self.writer = csv.DictWriter(
                self.file,
                fieldnames=["epoch", *logs],
                delimiter=self.separator,
                extrasaction="ignore",
                restval="NA",
            )
            if not self.append or self.file.tell() == 0:
                self.writer.writeheader()
        row = {k: np.float64(v) if _is_number(v) else v for k, v in logs.items()}
        self.writer.writerow({"epoch": epoch, **row})
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None
