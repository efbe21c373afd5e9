"""Keras 3's callbacks beside arraynet's own (``arraynet.callbacks`` exports them all):
``EarlyStopping``, ``ReduceLROnPlateau``, ``LambdaCallback``, ``BackupAndRestore``,
``ProgbarLogger``, and the progress shown by ``predict``/``evaluate``.

Each follows Keras 3.15's arguments, defaults and rules (a monitored value missing from
the logs is refused with the logged names instead of Keras's warning: an EarlyStopping
that can never stop is a mistake worth knowing at once).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time

import numpy as np

from ..validation import check_count, check_non_negative
from .base import Callback, ProgressBar, monitor_mode, monitored


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has stopped improving (Keras 3).

    An epoch improves when it beats the best value by more than ``min_delta``; training
    stops once ``patience`` epochs went by without one (never at the first epoch). With a
    ``baseline``, an improvement that does not also beat the baseline does not reset the
    wait. Epochs before ``start_from_epoch`` are not watched. With ``restore_best_weights``
    the best epoch's weights are put back when training ends, whether it stopped early or
    not (Keras 3; arraynet before 0.2 kept the last weights when it did not stop).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):  # fmt: skip
        self.monitor = monitor
        self.min_delta = check_non_negative(abs(min_delta), "min_delta")
        self.patience = check_count(patience, "patience")
        self.verbose = verbose
        monitor_mode(monitor, mode)  # checked now, resolved with the model
        self.mode = mode
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = check_count(start_from_epoch, "start_from_epoch")
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best, self.best_weights = 0, 0, None, None
        self.best_epoch = 0

    def improves(self, value, reference) -> bool:
        if reference is None:
            return True
        if monitor_mode(self.monitor, self.mode, self.model) == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_epoch_end(self, epoch, logs=None):
        value = monitored(logs, self.monitor)
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self.improves(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.improves(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved (by more
    than ``min_delta``) for ``patience`` epochs, then wait ``cooldown`` epochs; never below
    ``min_lr`` (Keras 3). Logs ``learning_rate`` each epoch."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):  # fmt: skip
        if "epsilon" in kwargs:  # Keras's old name, still taken
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected arguments {sorted(kwargs)}")
        if not factor < 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode: expected 'auto', 'min' or 'max'; got {mode!r}")
        self.monitor, self.factor, self.min_lr = monitor, float(factor), float(min_lr)
        self.min_delta = check_non_negative(min_delta, "min_delta")
        self.patience = check_count(patience, "patience")
        self.cooldown = check_count(cooldown, "cooldown")
        self.verbose, self.mode = verbose, mode
        self._reset()

    def _reset(self):
        # Keras: "auto" is "max" only for names with "acc" in them
        self.maximize = self.mode == "max" or (self.mode == "auto" and "acc" in self.monitor)
        self.best = -math.inf if self.maximize else math.inf
        self.cooldown_counter = self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = self.model.learning_rate
        value = monitored(logs, self.monitor)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.maximize:
            better = value > self.best + self.min_delta
        else:
            better = value < self.best - self.min_delta
        if better:
            self.best, self.wait = value, 0
        elif not self.cooldown_counter > 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = self.model.learning_rate
                if old > float(np.float32(self.min_lr)):
                    new = max(old * self.factor, self.min_lr)
                    self.model.learning_rate = new
                    if self.verbose > 0:
                        print(
                            f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                            f"to {new}."
                        )
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LambdaCallback(Callback):
    """A callback made of functions (Keras's): ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)`` and any
    other ``on_*`` hook by name."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):  # fmt: skip
        given = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        for name, function in given.items():
            if not name.startswith("on_"):
                raise TypeError(f"LambdaCallback: unexpected argument {name!r}")
            if function is not None:
                if not callable(function):
                    raise TypeError(f"{name}: expected a function; got {function!r}")
                setattr(self, name, function)

    @property
    def wants_batches(self) -> bool:
        hooks = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end")
        return any(name in self.__dict__ for name in hooks)


class BackupAndRestore(Callback):
    """Back the training state up in ``backup_dir`` at each epoch's end, and resume from it
    when ``fit`` runs again after an interruption (Keras 3): the weights, optimizer state,
    epoch count and shuffling generator come back, and training goes on from the epoch
    after the last one backed up. The backup is deleted when training ends normally
    (``delete_checkpoint``). ``double_checkpoint`` keeps the previous backup too, used if
    the last one cannot be read. The file is arraynet's model format (``latest.arraynet``)."""

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):  # fmt: skip
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq not in ("epoch", False):
            raise ValueError(
                f"save_freq: expected 'epoch' or False (arraynet backs up at epoch ends, "
                f"where its callbacks see the model); got {save_freq!r}"
            )
        self.backup_dir, self.save_freq = os.fspath(backup_dir), save_freq
        self.double_checkpoint, self.delete_checkpoint = double_checkpoint, delete_checkpoint
        self.path = os.path.join(self.backup_dir, "latest.arraynet")
        self.previous = os.path.join(self.backup_dir, "previous.arraynet")
        self.finished = False

    def on_train_begin(self, logs=None):
        self.finished = False
        for path in (self.path, self.previous):
            if not os.path.exists(path):
                continue
            try:
                epoch = self.model.restore_state(path)
            except ValueError:
                if self.double_checkpoint and path == self.path:
                    continue  # the previous backup, then
                raise
            self.model.resume_at = epoch
            return

    def on_epoch_end(self, epoch, logs=None):
        self.finished = epoch + 1 >= self.params.get("epochs", math.inf)
        if self.save_freq != "epoch":
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self.path):
            os.replace(self.path, self.previous)
        self.model.save(self.path)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and (self.finished or self.model.stop_training):
            for path in (self.path, self.previous):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)


class ProgbarLogger(ProgressBar):
    """Keras's progress callback: a bar with ``fit(verbose=1)``, a line per epoch with
    ``verbose=2``, nothing with ``verbose=0`` (given in ``callbacks``, it replaces the one
    ``fit`` would add)."""

    def __init__(self):
        super().__init__(bar=True)
        self.silent = False

    def on_train_begin(self, logs=None):
        verbose = self.params.get("verbose", 1)
        self.silent, self.want_bar = verbose == 0, verbose == 1
        if not self.silent:
            super().on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        if not self.silent:
            super().on_epoch_end(epoch, logs)


def progress_verbosity(verbose) -> int:
    if verbose == "auto":
        return 1 if sys.stderr.isatty() else 0
    if verbose not in (0, 1, 2):  # True and False count as 1 and 0, as in Keras
        raise ValueError(f"verbose: expected 0, 1, 2 or 'auto'; got {verbose!r}")
    return int(verbose)


def step_progress(spans, verbose="auto", file=None):
    """The batches ``spans`` of a ``predict``/``evaluate`` call, with Keras's progress:
    ``verbose`` 1 a bar over the steps (tqdm; a line at the end without it), 2 a line at
    the end, 0 nothing, "auto" a bar when stderr is a terminal."""
    verbose = progress_verbosity(verbose)
    spans = list(spans)
    if not verbose:
        yield from spans
        return
    start, bar = time.perf_counter(), None
    if verbose == 1:
        with contextlib.suppress(ImportError):
            from tqdm.auto import tqdm

            bar = tqdm(total=len(spans), unit="step", file=file or sys.stderr, leave=True)
    try:
        for span in spans:
            yield span
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if bar is None:
        seconds = time.perf_counter() - start
        steps = len(spans)
        print(
            f"{steps}/{steps} - {seconds:.0f}s - {1000 * seconds / max(steps, 1):.0f}ms/step",
            file=file or sys.stdout,
        )
