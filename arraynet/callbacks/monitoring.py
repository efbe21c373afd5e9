"""Callbacks that watch a monitored value or write files: ``ModelCheckpoint``,
``TerminateOnNaN``, ``LearningRateScheduler``, ``CSVLogger``."""

from __future__ import annotations

import csv
import math
import os
import re
import string
import sys

import numpy as np

from ..validation import check_count, check_non_negative
from .base import Callback, is_number, monitor_mode, monitored


class Monitor(Callback):
    """Tracks the best value of ``monitor``: an improvement beats it by more than min_delta."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0):
        self.monitor = monitor
        self.sign = 1.0 if monitor_mode(monitor, mode) == "min" else -1.0
        self.min_delta = check_non_negative(min_delta, "min_delta")
        self.best = math.inf

    def improved(self, logs) -> bool:
        value = self.sign * monitored(logs, self.monitor)
        if value < self.best - self.min_delta:
            self.best = value
            return True
        return False


class TerminateOnNaN(Callback):
    """Stop training as soon as an epoch's loss is NaN or infinite."""

    stops_on_nan = True

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Epoch {epoch + 1}: loss is {loss}, terminating training", file=sys.stderr)
            self.model.stop_training = True


class ModelCheckpoint(Monitor):
    """Save the model (``save_weights_only``: its weights) after each epoch, or only when
    ``monitor`` improves (``save_best_only``), as Keras 3's.

    ``filepath`` may hold ``{epoch}`` and logged names, e.g. ``"ckpt-{epoch:03d}.arraynet"``;
    missing folders are made; any name will do (Keras's ``.keras`` and ``.weights.h5``
    names too: the files are arraynet's). As in Keras, the best value is kept across
    ``fit`` calls (starting from ``initial_value_threshold`` if given), so a resumed run
    never replaces a better checkpoint with a worse one. ``save_freq``: "epoch", or a
    number of batches (then ``{batch}`` may appear in ``filepath``; not with
    ``save_best_only``, whose monitored values exist at epoch ends only).
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):  # fmt: skip
        super().__init__(monitor, mode)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        if save_freq != "epoch":
            save_freq = check_count(save_freq, "save_freq", minimum=1)
            if self.save_best_only:
                raise ValueError(
                    "save_freq: expected 'epoch' with save_best_only=True (the monitored "
                    f"values are logged at epoch ends); got {save_freq!r}"
                )
        self.save_freq, self.batches, self.epoch = save_freq, 0, 0
        if initial_value_threshold is not None:
            self.best = self.sign * float(initial_value_threshold)

    @property
    def wants_batches(self) -> bool:
        return self.save_freq != "epoch"

    def on_train_begin(self, logs=None):
        """Refuse, before the first epoch, a ``filepath`` that cannot be filled in: not a
        format string, a positional ``{}``, or a ``val_`` value in a fit without validation
        data (other names may come from other callbacks' logs)."""
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.filepath) if f is not None]
        except ValueError as err:
            raise ValueError(
                f"filepath: expected a format string such as 'ckpt-{{epoch:03d}}.arraynet'; "
                f"got {self.filepath!r} ({err})"
            ) from None
        names = [re.split(r"[.\[]", field)[0] for field in fields]
        logged = self.params.get("metrics")
        missing = [name or "{}" for name in names if not name or name.isdigit()]
        if logged is not None:
            missing += [n for n in names if n.startswith("val_") and n not in logged]
        if missing:
            known = ", ".join(["epoch", *(logged or ())])
            raise ValueError(
                f"filepath: expected names of logged values ({known}"
                f"; val_ ones need validation_data or validation_split); got "
                f"{', '.join(missing)} in {self.filepath!r}"
            )

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self.batches += 1
        if self.batches % self.save_freq == 0:
            path = self._path(self.epoch, {"batch": batch + 1})
            if self.verbose > 0:
                print(f"\nEpoch {self.epoch + 1}: saving model to {path}")
            self._save(path)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq != "epoch":
            return
        path = self._path(epoch, logs)
        if self.save_best_only:
            before = self.sign * self.best
            if not self.improved(logs):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {before:.5f}")
                return
            if self.verbose > 0:
                now = self.sign * self.best
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {before:.5f} to "
                    f"{now:.5f}, saving model to {path}"
                )
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        self._save(path)

    def _path(self, epoch: int, logs) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **(logs or {}))
        except KeyError as err:
            raise ValueError(
                f"filepath: expected names of logged values (epoch, {', '.join(logs or {})}); "
                f"got {err.args[0]} in {self.filepath!r}"
            ) from None

    def _save(self, path: str) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start: ``lr = schedule(epoch, lr)``."""

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise TypeError(f"schedule: expected a callable (epoch, lr) -> lr; got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        try:  # Keras: schedule(epoch, lr), or the older schedule(epoch)
            lr = self.schedule(epoch, self.model.learning_rate)
        except TypeError:
            lr = self.schedule(epoch)
        if not is_number(lr):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        self.model.learning_rate = float(lr)
        if self.verbose:
            print(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}."
            )

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
        row = {k: np.float64(v) if is_number(v) else v for k, v in logs.items()}
        self.writer.writerow({"epoch": epoch, **row})
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None
