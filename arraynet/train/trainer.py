"""The trainer: one ``fit`` of a model, from its data feed to the epoch loop.

It checks the arguments, takes the data through the model's intake (building the model
from its shape), picks or compiles the runner (``loops``), draws each epoch's order and
noise on the host, runs the runner over the feed, and tells the callbacks, once per epoch.
Divergence, memory limits and a call that raises are handled here: the model keeps the
weights from before a failed update.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..backend import (
    DeviceMemoryError,
    current_backend,
    numpy_backend,
    out_of_memory,
    reuse_freed_host_memory,
)
from ..backend import mesh as placement
from ..callbacks import CallbackList, History, progress_verbosity
from ..data import batch_size_for
from ..losses.weighted import check_weighable
from ..precision import check_support
from ..validation import any_size, check_count, check_flag, check_fraction
from .hooks import LiveBatchHooks, callback_list, progress_callbacks, resume_epoch
from .loops import NOT_FINITE, Plan, epochs_per_call, make_runner
from .memory import check_memory, memory_needed
from .step import Scores

HOST_XP = numpy_backend("float64").xp  # streaming metrics' results, taken on the host


class DivergenceError(FloatingPointError):
    """Training diverged: a loss or a weight became NaN or infinite (the book's ch. 4 lesson).

    ``epoch`` and ``batch`` (0-based; ``batch`` None if a replay could not find it) say
    where; the model keeps the weights from before that update.
    """

    def __init__(self, epoch: int, batch: int | None, lr: float):
        self.epoch, self.batch, self.lr = epoch, batch, lr
        where = f"epoch {epoch + 1}" + ("" if batch is None else f", batch {batch + 1}")
        super().__init__(
            f"training diverged at {where} (counting from 1) with learning rate {lr:g}: the "
            "loss or the weights became NaN or infinite. The weights from before that update "
            f"are kept. Try a smaller learning rate, e.g. {lr / 10:g}."
        )


class Trainer:
    """Trains ``model`` on the selected backend (see ``Model.fit`` for the arguments)."""

    def __init__(self, model):
        self.model, self.variables = model, model.variables
        self.backend = current_backend()
        self.example_shape = None  # the data's, where the model's has axes of any size

    def fit(
        self,
        X,
        y,
        mode,
        batch_size,
        epochs,
        shuffle,
        seed,
        verbose,
        callbacks,
        validation_data,
        validation_split,
        initial_epoch,
        chunk_rows,
        sample_weight=None,
        class_weight=None,
    ) -> History:
        model, backend = self.model, self.backend
        model.check_trainable()
        callbacks = callback_list(callbacks)
        epochs = check_count(epochs, "epochs")
        initial_epoch = check_count(initial_epoch, "initial_epoch")
        verbose = progress_verbosity(verbose)
        check_flag(shuffle, "shuffle")
        if seed is not None:
            check_count(seed, "seed")
        check_fraction(validation_split, "validation_split")
        batch_size_for(mode, 1, batch_size)  # argument checks before touching data
        placement.check_batches(backend, mode)  # no stochastic mode over several devices
        check_support(model.precision, backend)
        model.optimizer.check_dtype(backend.xp, backend.float_dtype)
        feed, input_shape = model.intake().feed(
            backend, X, y, chunk_rows, validation_data, validation_split, sample_weight,
            class_weight,
        )  # fmt: skip
        if sample_weight is not None or class_weight is not None:
            check_weighable(model.network.loss)
        model.build_for(input_shape)
        # the data's shape where the model's has axes of any size (None), else the model's
        self.example_shape = input_shape if any_size(model.example_shape) else None
        # a chunk smaller than the batch trains as one partial batch; "full": one per chunk
        feed.batch_size = batch_size_for(mode, feed.largest, batch_size)
        placement.check_batches(backend, mode, feed.batch_size)  # an uneven split: a warning
        self.feed = feed
        check_memory(model, self.feed, self.backend, self.example_shape)
        if backend.on_host:
            reuse_freed_host_memory()
        rng = model.rng if seed is None else np.random.default_rng(seed)
        model.history = History(
            {
                "epochs": epochs,
                "initial_epoch": initial_epoch,
                "mode": mode,
                "batch_size": feed.batch_size,
                "samples": feed.rows,
                "metrics": _logged(model.score_names(), feed.validation is not None),
                "verbose": verbose,
                "steps": None if feed.streams else -(-feed.rows // feed.batch_size),
            }
        )
        progress = progress_callbacks(callbacks, verbose)
        hooks = CallbackList([*callbacks, *progress, model.history], model)
        self.variables.state_on(backend, model.optimizer, model.graph.trainable)
        self.runner = self._runner(hooks if hooks.wants_batches else None)
        timely = hooks.timely or feed.validation is not None or feed.streams
        self.plan = Plan(grouped=not timely, rows=feed.largest)  # as _epochs will call
        model.stop_training = False
        last_logs = {}  # the last epoch's, for on_train_end (as in Keras)
        hooks.on_train_begin({})
        initial_epoch = resume_epoch(model, initial_epoch)  # BackupAndRestore's, if any
        try:
            self._epochs(hooks, rng, (initial_epoch, epochs), shuffle, last_logs)
            self._final_weights()
        finally:  # a callback that raised still closes its file, the bar its line
            hooks.on_train_end(last_logs)
        return model.history

    def _final_weights(self) -> None:
        """The weights the optimizer ends training with, before on_train_end (as Keras'
        ``finalize_variable_values``: its moving averages under ``use_ema``)."""
        graph, variables = self.model.graph, self.variables
        weights = variables.on(self.backend)
        trainable = graph.trainable(weights)
        final = self.model.optimizer.final_weights(self.backend.xp, variables.opt_state, trainable)
        if final is trainable:
            return
        index = graph.trainable_index if graph.partial else range(len(weights))
        weights = list(weights)
        for i, w in zip(index, final):
            weights[i] = w
        variables.commit(tuple(weights), variables.opt_state)

    def _epochs(self, hooks, rng, span, shuffle, last_logs) -> None:
        """Train epochs ``span[0]`` to ``span[1]`` (several per runner call where no callback
        needs each on time), telling ``hooks``; ``last_logs`` gets each epoch's logs."""
        model, feed = self.model, self.feed
        epoch, epochs = span
        names = model.score_names()
        timely = hooks.timely or feed.validation is not None
        while epoch < epochs and not model.stop_training:
            count = 1 if feed.streams else epochs_per_call(feed.rows, epochs - epoch, timely)
            if count == 1:
                hooks.on_epoch_begin(epoch, {})  # may change the learning rate in the state
            with self.backend.quiet_overflow():  # divergence is reported below
                means, done, failed = self._call(rng, count, shuffle)
            for e in range(done):
                if count > 1:
                    hooks.on_epoch_begin(epoch, {})
                logs = self._epoch_logs(names, [m[e] for m in means])
                model.epoch = epoch = epoch + 1
                hooks.on_epoch_end(epoch - 1, logs)
                last_logs.update(logs)
                if model.stop_training:
                    break
            if failed != -1 and not model.stop_training:
                self._diverged(hooks, epoch, failed, names, last_logs)
                return

    def _call(self, rng, count: int, shuffle: bool):
        """One runner call of ``count`` epochs. Abandoned by any exception (Ctrl-C too), it
        puts back the weights, optimizer state and generator of its start (the last epoch
        counted; it had drawn its orders and masks): a resumed fit draws the same."""
        variables, start = self.variables, rng.bit_generator.state
        before = variables.weights, variables.opt_state
        try:
            return self.feed.train(self, rng, count, shuffle)
        except BaseException:
            rng.bit_generator.state = start
            variables.commit(*before)
            raise

    def _epoch_logs(self, names, means) -> dict:
        """An epoch's logs: its means (streaming metrics' results from their summed states,
        taken on the host), and the scores on the validation data if any."""
        values = self.scores.values(HOST_XP, means)
        logs = {name: float(v) for name, v in zip(names, values)}
        if self.feed.validation is not None:
            with self.backend.quiet_overflow():
                X, Y, W = self.feed.validation
                scores = self.model.compute_scores(self.backend, X, Y, sample_weight=W)
            logs.update((f"val_{name}", float(v)) for name, v in zip(names, scores))
        return logs

    def _diverged(self, hooks, epoch, failed, names, last_logs) -> None:
        """A non-finite loss or weight at update ``failed`` of ``epoch``: with a
        TerminateOnNaN, every callback hears the epoch end with every value NaN (as in
        Keras) and training stops; else DivergenceError. The weights before it are kept."""
        if not hooks.stops_on_nan:
            raise DivergenceError(epoch, failed, self.model.learning_rate)
        validation = self.feed.validation is not None
        keys = [*names, *(f"val_{name}" for name in names if validation)]
        logs = dict.fromkeys(keys, math.nan)
        hooks.on_epoch_end(epoch, logs)
        last_logs.update(logs)

    # -- what the feed calls ------------------------------------------------------------

    def draws(self, rng, rows: int, epochs: int, shuffle: bool):
        """Each epoch's row order, then its noise (dropout masks), drawn on the host in that
        order (so grouping epochs into calls changes nothing), stacked on the host (the
        runner moves them)."""
        graph, orders, noise = self.model.graph, [], []
        for _ in range(epochs):
            if shuffle:
                orders.append(rng.permutation(rows))
            noise.append(graph.noise_for(rng, rows, self.example_shape))
        index = np.int32 if rows < 2**31 else np.int64
        orders = np.stack(orders).astype(index, copy=False) if shuffle else None
        return orders, tuple(np.stack(n) for n in zip(*noise))

    def run(self, X, Y, orders, noise, count: int, meanwhile=None, W=None):
        """One runner call over ``X`` (rows weighted by ``W``, if given) on the device:
        ``(means, failed)`` with the weights
        committed up to a failed update (``failed``: -1 none, None found but not located, else
        the update's index in the call). ``meanwhile()`` runs after the call is launched and
        before its result is read: streaming moves the next chunk there, while the device
        (asynchronous on CuPy and JAX) still works on this one."""
        variables = self.variables
        variables.on(self.backend)  # a callback's set_weights leaves them on the host
        before = variables.weights, variables.opt_state
        try:
            weights, state, means, failed = self.runner(
                *before, X, Y, orders, noise, count, self.plan, W=W
            )
            if meanwhile is not None:
                meanwhile()
            failed = int(failed)  # with the means, the one read-back of the call
        except Exception as err:
            variables.commit(*before)  # batch hooks may have moved them on
            if not out_of_memory(err):
                raise
            device = placement.describe(self.backend)
            needed = memory_needed(self.model, self.feed, self.backend, self.example_shape)
            raise DeviceMemoryError(self.feed.batch_size, needed, device) from err
        variables.commit(weights, state)
        if failed == NOT_FINITE:  # an overflow no loss showed
            variables.commit(*before)
            failed = self._replay(X, Y, orders, noise, count, W)
        return means, failed

    def _replay(self, X, Y, orders, noise, count: int, W=None):
        """Train the call again from its start with the new weights checked at every update:
        the failed update's index (None if not found again), the weights from before it."""
        variables = self.variables
        weights, state, _, failed = self.runner.replay(
            variables.weights, variables.opt_state, X, Y, orders, noise, count, self.plan, W=W
        )
        if int(failed) < 0:  # not found again: keep the call's start, batch unknown
            return None
        variables.commit(weights, state)
        return int(failed)

    @functools.cached_property
    def scores(self) -> Scores:  # the model's metrics do not change during a fit
        return Scores([f for _, f in self.model.metrics])

    @property
    def summed(self) -> tuple:
        """Which runner statistics are summed states (see ``step.Scores``)."""
        return self.scores.summed

    def _runner(self, on_batch):
        model, backend = self.model, self.backend
        metrics = [f for _, f in model.metrics]
        network, compiled = model.network, model.compile_options.compiled
        if on_batch is not None:  # the callbacks are part of this runner: no caching
            hooks = LiveBatchHooks(on_batch, self.variables, backend)
            return make_runner(
                backend, network, model.optimizer, metrics, self.feed.batch_size, hooks, compiled
            )
        key = (backend, self.feed.batch_size)
        if key not in model.runners:
            model.runners[key] = make_runner(
                backend, network, model.optimizer, metrics, self.feed.batch_size, None, compiled
            )
        return model.runners[key]


def _logged(names, validation: bool) -> list[str]:
    """The values each epoch's logs hold: loss and metrics, and their ``val_`` ones."""
    return [*names, *(f"val_{name}" for name in names if validation)]
