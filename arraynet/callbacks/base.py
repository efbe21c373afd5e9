"""Callbacks: hooks around training, reading Python floats from ``logs``.

``logs`` is filled once per epoch, when the epoch's loss and metrics are read back from the
device; batch hooks get only the batch's size (reading values per batch would cost a host
synchronisation per step). Hooks: ``on_train_begin/end``, ``on_epoch_begin/end``,
``on_batch_begin/end`` (Keras's ``on_train_batch_begin/end`` too). This module holds the
protocol, the list that calls it, ``History``, the progress bar and what monitoring shares.
"""

from __future__ import annotations

import numbers
import sys


class Callback:
    """Base class. ``timely``: the callback acts on each epoch as it ends (stopping, saving,
    changing the learning rate); when no callback is timely, several epochs train in one
    runner call (on JAX one compiled call) and the callbacks hear them after."""

    model = None
    params: dict = {}  # fit's epochs, initial_epoch, mode, batch_size, samples, metrics
    timely = True
    stops_on_nan = False  # training stops, without raising, at a NaN loss or weight

    def set_model(self, model) -> None:
        self.model = model
        self.params = dict(getattr(model.history, "params", {}))

    def set_params(self, params) -> None:
        self.params = dict(params)

    @property
    def wants_batches(self) -> bool:
        """Whether the batch hooks do something (then each batch is its own step, with the
        model current in the hooks; otherwise epochs run without stopping for them)."""
        base, cls = Callback, type(self)
        return any(getattr(cls, hook) is not getattr(base, hook) for hook in _BATCH_HOOKS)

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch, logs=None): ...

    def on_epoch_end(self, epoch, logs=None): ...

    def on_batch_begin(self, batch, logs=None):
        self.on_train_batch_begin(batch, logs)  # Keras: on_batch_begin is its alias

    def on_batch_end(self, batch, logs=None):
        self.on_train_batch_end(batch, logs)

    def on_train_batch_begin(self, batch, logs=None): ...

    def on_train_batch_end(self, batch, logs=None): ...

    # Keras's evaluate/predict hooks: defined for Keras callbacks; fit does not call them
    def on_test_begin(self, logs=None): ...

    def on_test_end(self, logs=None): ...

    def on_predict_begin(self, logs=None): ...

    def on_predict_end(self, logs=None): ...


_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end")


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
        return any(callback.wants_batches for callback in self.callbacks)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        methods = [getattr(callback, hook) for callback in self.callbacks]

        def call(*args):
            for method in methods:
                method(*args)

        setattr(self, hook, call)  # looked up once per fit, not once per epoch
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
        text = " - ".join(f"{key}: {short_text(value)}" for key, value in (logs or {}).items())
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


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def short_text(value) -> str:
    """A logged value for a progress line: numbers to 4 significant digits."""
    return f"{value:.4g}" if is_number(value) else str(value)


def monitor_mode(monitor: str, mode: str, model=None) -> str:
    """ "min" or "max" for ``monitor`` under ``mode`` ("auto": losses and errors "min";
    accuracy, AUC, precision, recall, F-scores, IoU, R² "max"; a metric's ``direction``,
    "up" or "down", where it has one)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode: expected 'auto', 'min' or 'max'; got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if name.endswith("loss"):
        return "min"
    for metric_name, metric in getattr(model, "metrics", None) or ():
        direction = getattr(metric, "direction", None)
        if metric_name == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    return "max" if any(key in name for key in MAXIMIZED) else "min"


MAXIMIZED = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2")


def monitored(logs, monitor: str) -> float:
    """The value of ``monitor`` in ``logs``; ValueError naming the logged ones if absent
    (where Keras warns: a callback watching nothing is a mistake worth knowing at once)."""
    if monitor not in (logs or {}):
        raise ValueError(
            f"monitor: expected one of the logged values {sorted(logs or {})}; got {monitor!r}"
        )
    return logs[monitor]
