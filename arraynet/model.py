"""``Sequential``: the Keras-style model around the pure network, step and epoch loop."""

from __future__ import annotations

import math
import sys

import numpy as np

from . import data, layers, losses, optimizers, streaming
from .backend import (
    Backend,
    DeviceMemoryError,
    current_backend,
    numpy_backend,
    out_of_memory,
    reuse_freed_host_memory,
    to_numpy,
)
from .callbacks import Callback, CallbackList, History, ProgressBar, TerminateOnNaN
from .metrics import get as get_metric
from .network import Network
from .precision import (
    PRECISIONS,
    DynamicLossScale,
    MixedPrecision,
    check_support,
    full_precision,
    has_compute_dtype,
)
from .training import DivergenceError, all_finite, epochs_per_call, make_runner
from .validation import check_choice, check_count, check_flag, check_fraction

_NO_TARGETS = object()


class Sequential:
    """A stack of layers trained by hand-written backprop on the selected backend.

    Each call (``fit``, ``predict``, ...) runs on the backend chosen by ``arraynet.use`` at
    that moment; the weights follow it there. ``seed`` fixes the initial weights and, unless
    ``fit`` is given its own seed, the shuffling order and dropout masks, on every backend.
    """

    def __init__(self, layers, input_dim: int | None = None, seed: int | None = None):
        if not isinstance(layers, (list, tuple)):
            raise TypeError(f"layers: expected a list of layers; got {type(layers).__name__}")
        layers = list(layers)
        if not layers or not all(hasattr(layer, "param_count") for layer in layers):
            raise TypeError(f"layers: expected a non-empty list of layers; got {layers!r}")
        self.layers = layers
        self.seed = None if seed is None else check_count(seed, "seed")
        self._rng = np.random.default_rng(seed)
        self.input_dim = None
        self.network = Network(layers)
        self.optimizer, self.metrics, self.precision = None, [], None
        self._params, self._params_backend = None, None
        self._opt_state, self._state_backend = None, None
        self._runners = {}
        self.epoch = 0  # epochs trained so far: fit(initial_epoch=model.epoch) resumes
        self.stop_training = False
        self.history = None
        if input_dim is not None:
            self.build(input_dim)

    # -- weights -------------------------------------------------------------------------

    def build(self, input_dim: int) -> None:
        """Draw the initial weights for inputs of ``input_dim`` features (on the host)."""
        self.input_dim = check_count(input_dim, "input_dim", minimum=1)
        weights, dim = [], self.input_dim
        for layer in self.layers:
            weights += layer.init(self._rng, dim)
            dim = layer.output_dim(dim)
        self._params, self._params_backend = tuple(weights), None

    def _dims(self, input_dim: int | None = None) -> list[int]:
        """Each layer's input width, then the output width (for ``input_dim`` features, by
        default the model's)."""
        dims = [input_dim or self.input_dim]
        for layer in self.layers:
            dims.append(layer.output_dim(dims[-1]))
        return dims

    def _shapes(self, input_dim: int | None = None) -> list[tuple[int, ...]]:
        dims = self._dims(input_dim)
        return [s for layer, dim in zip(self.layers, dims) for s in layer.param_shapes(dim)]

    def get_weights(self) -> list[np.ndarray]:
        """Host NumPy copies in Keras order ``[W1, b1, W2, b2, ...]``, W of shape (inputs, units).

        The dtype is the backend's (float32 by default), also before any training.
        """
        if self._params is None:
            return []
        dtype = (self._params_backend or current_backend()).dtype
        return [to_numpy(p).astype(dtype, copy=False) for p in self._params]

    def set_weights(self, weights) -> None:
        """Replace the weights with arrays of any backend, in ``get_weights()`` order."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(
                f"weights: expected a list of arrays, as get_weights() returns; "
                f"got {type(weights).__name__}"
            )
        weights = [data.to_host(w, f"weights[{i}]") for i, w in enumerate(weights)]
        input_dim = self.input_dim
        if input_dim is None and weights and weights[0].ndim == 2:
            input_dim = weights[0].shape[0]  # the first kernel's rows
        shapes = self._shapes(input_dim) if input_dim is not None else []
        if len(weights) != len(shapes):
            raise ValueError(f"weights: expected {len(shapes)} arrays; got {len(weights)}")
        for i, (w, shape) in enumerate(zip(weights, shapes)):
            if w.shape != shape:
                raise ValueError(f"weights[{i}]: expected shape {shape}; got {w.shape}")
        self.input_dim = input_dim
        self._params = tuple(w.astype(np.float64) for w in weights)
        self._params_backend = None

    def _on(self, backend: Backend):
        """The parameters (and optimizer state) moved onto ``backend`` if they live elsewhere."""
        self._require_weights()
        if self._params_backend != backend:
            self._params = tuple(backend.asarray(to_numpy(p)) for p in self._params)
            self._params_backend = backend
        if self._opt_state is not None and self._state_backend != backend:
            self._opt_state = tuple(_move(backend, s) for s in self._opt_state)
            self._state_backend = backend
        return self._params

    def _state_on(self, backend: Backend):
        self._on(backend)
        if self._opt_state is None:
            self._opt_state = self.optimizer.init(backend.xp, self._params)
            self._state_backend = backend
        return self._opt_state

    # -- compile and train ---------------------------------------------------------------

    def compile(self, loss="squared_error", optimizer="sgd", metrics=(), precision=None) -> None:
        """Choose the loss, the optimizer (an instance or a name), metric names and the
        precision: None (the backend's dtype), "mixed_bfloat16" or "mixed_float16" (layers
        compute in 16 bits around float32 master weights; see ``arraynet.precision``)."""
        if metrics is None:
            metrics = ()
        if isinstance(metrics, str):
            metrics = [metrics]
        if precision is not None:
            check_choice(precision, "precision", tuple(PRECISIONS))
        loss = losses.get(loss)
        chosen_metrics = [get_metric(m, loss) for m in metrics]
        network = Network(self.layers, loss)
        optimizer = optimizers.get(optimizer)  # everything checked before the model changes
        if precision is not None:
            network = MixedPrecision(network, PRECISIONS[precision])
        if precision == "mixed_float16":
            optimizer = DynamicLossScale(optimizer)
        self.metrics, self.precision = chosen_metrics, precision
        self.network, self.optimizer = network, optimizer
        self._opt_state, self._runners = None, {}

    @property
    def learning_rate(self) -> float:
        """The optimizer's base learning rate, as training sees it now."""
        self._check_compiled()
        state = self._state_on(self._params_backend or current_backend())
        return float(self.optimizer.learning_rate(state))

    @learning_rate.setter
    def learning_rate(self, lr: float) -> None:
        self._check_compiled()
        backend = self._params_backend or current_backend()
        state = self._state_on(backend)
        self._opt_state = self.optimizer.with_learning_rate(backend.xp, state, lr)

    def _check_compiled(self) -> None:
        if self.optimizer is None:
            raise RuntimeError("model: call compile(loss=..., optimizer=...) first")

    def _check_trainable(self) -> None:
        self._check_compiled()
        for i, layer in enumerate(self.layers):
            activation = getattr(layer, "activation", None)
            if activation is not None and not activation.trainable:
                raise ValueError(
                    f"activation: layer {i} uses {activation.name!r}, which has no "
                    "derivative; expected a trainable activation (relu, sigmoid, tanh, ...)"
                )

    def _require_weights(self) -> None:
        if self._params is None:
            raise ValueError(
                "model: expected weights; got none yet (give input_dim, call fit or set_weights)"
            )

    def _data(self, backend: Backend, X, y=_NO_TARGETS, width=None, names=("X", "y")):
        """``X`` and ``Y`` checked and on ``backend``, errors calling them ``names``. ``X`` must
        have the model's input width; before the model is built, ``width`` (None: any).
        Nothing here builds the model."""
        if y is not _NO_TARGETS:
            data.same_library(**dict(zip(names, (X, y))))
        X = data.inputs(backend, X, self.input_dim or width, names[0])
        if y is _NO_TARGETS:
            return X, None
        outputs = self._dims(X.shape[1])[-1]
        Y = data.targets(backend, y, X.shape[0], outputs, self.network.loss, names)
        return X, Y

    def fit(
        self,
        X,
        y,
        mode: str = "minibatch",
        batch_size: int = 32,
        epochs: int = 1,
        shuffle: bool = True,
        seed: int | None = None,
        verbose="auto",
        callbacks=(),
        validation_data=None,
        validation_split: float = 0.0,
        initial_epoch: int = 0,
        chunk_rows: int | None = None,
    ) -> History:
        """Train in ``mode`` "full", "minibatch" or "stochastic", epochs ``initial_epoch`` to
        ``epochs``.

        Each epoch's order and dropout masks come from ``numpy.random.default_rng(seed)``,
        or the model's own generator, drawn on the host. Loss and metrics are read back once
        per epoch into ``logs``; ``validation_split`` holds out the last rows, as Keras does.
        ``verbose``: 0 silent, 1 progress bar, 2 a line per epoch, "auto" a bar when
        interactive.

        Data larger than the device: pass a memory-mapped ``.npy`` (``np.load(path,
        mmap_mode="r")``) or set ``chunk_rows``, or pass ``X`` as a sequence of ``(X_chunk,
        y_chunk)`` pairs with ``y=None``. Chunks are checked in one pass first, then streamed
        to the device one at a time, the next one read and moved while the device trains on
        the current one; each epoch visits the chunks in a shuffled order and shuffles the
        rows within each chunk. Batches do not span chunks.

        A NaN or infinite loss or weight raises :class:`DivergenceError` naming the epoch,
        the batch and the learning rate, keeping the weights from before that update; with
        a ``TerminateOnNaN`` callback training stops there instead, without raising.
        """
        self._check_trainable()
        callbacks = _callback_list(callbacks)
        epochs = check_count(epochs, "epochs")
        initial_epoch = check_count(initial_epoch, "initial_epoch")
        verbose = _verbosity(verbose)
        check_flag(shuffle, "shuffle")
        if seed is not None:
            check_count(seed, "seed")
        check_fraction(validation_split, "validation_split")
        data.batch_size_for(mode, 1, batch_size)  # argument checks before touching data
        backend = current_backend()
        check_support(self.precision, backend)
        self.optimizer.check_dtype(backend.xp, backend.float_dtype)
        feed = self._feed(backend, X, y, chunk_rows, validation_data, validation_split)
        feed.batch_size = data.batch_size_for(mode, feed.largest, batch_size)  # a chunk
        # smaller than the batch trains as one partial batch; "full": one update per chunk
        self._check_memory(backend, feed)
        if backend.on_host:
            reuse_freed_host_memory()
        rng = self._rng if seed is None else np.random.default_rng(seed)
        self.history = History(
            {
                "epochs": epochs,
                "initial_epoch": initial_epoch,
                "mode": mode,
                "batch_size": feed.batch_size,
                "samples": feed.rows,
            }
        )
        progress = [ProgressBar(bar=verbose == 1)] if verbose else []
        hooks = CallbackList([*callbacks, *progress, self.history], self)
        self._state_on(backend)
        run = self._runner(backend, feed.batch_size, hooks if hooks.wants_batches else None)
        self.stop_training = False
        last_logs = {}  # the last epoch's, for on_train_end (as in Keras)
        hooks.on_train_begin({})
        span = (initial_epoch, epochs)
        try:
            self._epochs(backend, feed, run, hooks, rng, span, shuffle, last_logs)
        finally:  # a callback that raised still closes its file, the bar its line
            hooks.on_train_end(last_logs)
        return self.history

    def _epochs(self, backend, feed, run, hooks, rng, span, shuffle, last_logs) -> None:
        """Train epochs ``span[0]`` to ``span[1]`` (several per runner call where no callback
        needs each on time), telling ``hooks``; ``last_logs`` gets each epoch's logs."""
        epoch, epochs = span
        names = ["loss", *(name for name, _ in self.metrics)]
        timely = hooks.timely or feed.validation is not None
        while epoch < epochs and not self.stop_training:
            count = 1 if feed.streams else epochs_per_call(feed.rows, epochs - epoch, timely)
            if count == 1:
                hooks.on_epoch_begin(epoch, {})  # may change the learning rate in the state
            with backend.quiet_overflow():  # divergence is reported below
                means, done, failed = feed.train(self, backend, run, rng, count, shuffle)
            for e in range(done):
                if count > 1:
                    hooks.on_epoch_begin(epoch, {})
                logs = self._epoch_logs(backend, names, [m[e] for m in means], feed.validation)
                self.epoch = epoch = epoch + 1
                hooks.on_epoch_end(epoch - 1, logs)
                last_logs.update(logs)
                if self.stop_training:
                    break
            if failed != -1 and not self.stop_training:
                self._diverged(hooks, epoch, failed, names, feed.validation, last_logs)
                return

    def _epoch_logs(self, backend, names, means, validation) -> dict:
        """An epoch's logs: its means, and the scores on the validation data if any."""
        logs = {name: float(m) for name, m in zip(names, means)}
        if validation is not None:
            with backend.quiet_overflow():
                scores = self._scores(backend, *validation)
            logs.update((f"val_{name}", float(v)) for name, v in zip(names, scores))
        return logs

    def _diverged(self, hooks, epoch, failed, names, validation, last_logs) -> None:
        """A non-finite loss or weight at update ``failed`` of ``epoch``: with a
        TerminateOnNaN, every callback hears the epoch end with every value NaN (as in
        Keras) and training stops; else DivergenceError. The weights before it are kept."""
        if not any(isinstance(cb, TerminateOnNaN) for cb in hooks.callbacks):
            raise DivergenceError(epoch, failed, self.learning_rate)
        keys = [*names, *(f"val_{name}" for name in names if validation is not None)]
        logs = dict.fromkeys(keys, math.nan)
        hooks.on_epoch_end(epoch, logs)
        last_logs.update(logs)

    def _memory_needed(self, backend: Backend, feed) -> int:
        """Estimated device bytes for training on ``feed``: its data on the device (and a
        shuffled copy), weights, gradients, new weights and optimizer slots, and each
        layer's Z, A and delta for one batch."""
        dims = self._dims()
        values = feed.device_rows * (dims[0] + dims[-1]) * 2
        values += sum(int(np.prod(s)) for s in self._shapes()) * (3 + len(self.optimizer.slots))
        values += feed.batch_size * (dims[0] + 3 * sum(dims[1:]))
        return values * np.dtype(backend.dtype).itemsize

    def _check_memory(self, backend: Backend, feed) -> None:
        """Refuse, before training, a batch whose estimate exceeds ``use(memory_limit=)``."""
        needed = self._memory_needed(backend, feed)
        if backend.memory_limit is not None and needed > backend.memory_limit:
            raise DeviceMemoryError(
                feed.batch_size, needed, backend.device or backend.name, backend.memory_limit
            )

    def _run(self, backend, run, feed, X, Y, orders, masks, count, meanwhile=None):
        """One runner call over ``X`` on the device: ``(means, failed)`` with the weights
        committed up to a failed update (``failed``: -1 none, None found but not located, else the
        update's index in the call). ``meanwhile()`` runs after the call is launched and
        before its result is read: streaming moves the next chunk there, while the device
        (asynchronous on CuPy and JAX) still works on this one."""
        before = self._params, self._opt_state
        try:
            params, state, means, failed = run(*before, X, Y, orders, masks, count)
            if meanwhile is not None:
                meanwhile()
            failed = int(failed)  # with the means, the one read-back of the call
        except Exception as err:
            self._params, self._opt_state = before  # batch hooks may have moved them on
            if not out_of_memory(err):
                raise
            needed = self._memory_needed(backend, feed)
            device = backend.device or backend.name
            raise DeviceMemoryError(feed.batch_size, needed, device) from err
        self._params, self._opt_state = params, state
        if not self._finite(backend):  # an overflow no loss showed, or one shown late
            self._params, self._opt_state = before
            failed = self._replay(run, X, Y, orders, masks, count)
        return means, failed

    def _replay(self, run, X, Y, orders, masks, count: int):
        """Train the call again from its start with the new weights checked at every update:
        the failed update's index (None if not found again), the weights from before it."""
        params, state, _, failed = run.replay(
            self._params, self._opt_state, X, Y, orders, masks, count
        )
        if int(failed) < 0:  # not found again: keep the call's start, batch unknown
            return None
        self._params, self._opt_state = params, state
        return int(failed)

    def _finite(self, backend: Backend) -> bool:
        return bool(all_finite(backend.xp, self._params))

    def _feed(self, backend, X, y, chunk_rows, validation_data, split):
        """The training data as a feed: in memory on the device, or streamed in chunks. All of
        it is checked before the model is built from its width (if it has no weights yet)."""
        source = streaming.chunked(X, y, chunk_rows)
        if source is None:
            X, Y = self._data(backend, X, y)
            if validation_data is not None:
                validation = self._validation_data(backend, validation_data, X.shape[1])
            else:
                X, Y, validation = _hold_out(X, Y, split)
            self._build_for(X.shape[1])
            return streaming.InMemory(X, Y, validation)
        if split:
            raise ValueError(
                f"validation_split: expected 0 when streaming chunks (pass validation_data); "
                f"got {split}"
            )
        width = self._check_chunks(source, backend.dtype)
        validation = None
        if validation_data is not None:
            validation = self._validation_data(backend, validation_data, width)
        self._build_for(width)
        return streaming.Stream(source, lambda Xc, yc: self._chunk(backend, Xc, yc), validation)

    def _check_chunks(self, source, dtype: str) -> int:
        """Every chunk checked (one pass, on the host) before training: their common width."""
        width = None
        for X_chunk, y_chunk in source.chunks():
            width = self._data(numpy_backend(dtype), X_chunk, y_chunk, width)[0].shape[1]
        if width is None:  # no chunk at all: a file of 0 rows
            shape = tuple(source.X.shape)
            raise ValueError(f"X: expected at least 1 row and 1 feature; got shape {shape}")
        return width

    def _build_for(self, input_dim: int) -> None:
        """Draw the initial weights for ``input_dim`` features if the model has none yet."""
        if self.input_dim is None:
            self.build(input_dim)

    def _chunk(self, backend, X, y):
        """A streamed chunk on the device, copied beside the training still running."""
        with backend.copy_stream():
            return self._data(backend, X, y)

    def _validation_data(self, backend, validation_data, width: int):
        """``validation_data`` as ``(X_val, Y_val)`` on ``backend``, X_val ``width`` wide."""
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError(
                f"validation_data: expected a pair (X_val, y_val); got {validation_data!r}"
            )
        names = ("validation_data[0]", "validation_data[1]")
        return self._data(backend, *validation_data, width=width, names=names)

    def _draws(self, backend: Backend, rng, rows: int, epochs: int, shuffle: bool):
        """Each epoch's row order, then its dropout masks, drawn on the host in that order
        (so grouping epochs into calls changes nothing), stacked and moved once."""
        dims, orders, masks = self._dims(), [], []
        for _ in range(epochs):
            if shuffle:
                orders.append(rng.permutation(rows))
            masks.append([self.layers[i].mask(rng, rows, dims[i]) for i in self.network.dropouts])
        index = backend.xp.int32 if rows < 2**31 else backend.xp.int64
        orders = backend.asarray(np.stack(orders), index) if shuffle else None
        return orders, tuple(backend.asarray(np.stack(m)) for m in zip(*masks))

    def _runner(self, backend: Backend, batch_size: int, on_batch):
        metrics = [f for _, f in self.metrics]
        if on_batch is not None:  # the callbacks are part of this runner: no caching
            hooks = _LiveBatchHooks(on_batch, self, backend)
            return make_runner(backend, self.network, self.optimizer, metrics, batch_size, hooks)
        key = (backend, batch_size)
        if key not in self._runners:
            self._runners[key] = make_runner(
                backend, self.network, self.optimizer, metrics, batch_size
            )
        return self._runners[key]

    # -- inference -----------------------------------------------------------------------

    def _inference_network(self, backend: Backend):
        """The compiled network, or its float32 math where the backend's library lacks the
        16-bit dtype of a mixed-precision model (trained elsewhere, say: NumPy has no
        bfloat16). Only ``fit`` needs the 16-bit dtype itself."""
        if has_compute_dtype(self.precision, backend):
            return self.network
        return full_precision(self.network)

    def _chunks(self, X, batch_size):
        n = X.shape[0]
        size = n if batch_size is None else check_count(batch_size, "batch_size", minimum=1)
        for start in range(0, n, size):
            yield start, min(start + size, n)

    def predict(self, X, batch_size: int | None = None) -> np.ndarray:
        """The network's output for ``X`` as a host NumPy array, ``batch_size`` rows at a time
        (all at once by default)."""
        self._require_weights()
        backend = current_backend()
        X, _ = self._data(backend, X)
        params = self._on(backend)
        network = self._inference_network(backend)
        outputs = [
            to_numpy(network.predict(backend.xp, params, X[a:b, ...]))
            for a, b in self._chunks(X, batch_size)
        ]
        return np.concatenate(outputs, axis=0)

    def _scores(self, backend: Backend, X, Y, batch_size=None) -> list:
        """Loss and metrics on ``(X, Y)`` as device scalars, weighted over batches."""
        xp, params, n = backend.xp, self._on(backend), X.shape[0]
        network = self._inference_network(backend)
        rows = []  # each chunk's scores, weighted by its rows
        for a, b in self._chunks(X, batch_size):
            loss, P = network.loss_value(xp, params, X[a:b, ...], Y[a:b, ...])
            scores = [loss, *(f(xp, P, Y[a:b, ...]) for _, f in self.metrics)]
            rows.append([s * (b - a) for s in scores])
        return [sum(column) / n for column in zip(*rows)]

    def evaluate(self, X, y, batch_size: int | None = None, return_dict: bool = False):
        """The compiled loss on ``(X, y)``; with metrics, ``[loss, *metrics]`` (or a dict)."""
        self._check_compiled()
        self._require_weights()
        backend = current_backend()
        X, Y = self._data(backend, X, y)
        scores = [float(s) for s in self._scores(backend, X, Y, batch_size)]
        names = ["loss", *(name for name, _ in self.metrics)]
        if return_dict:
            return dict(zip(names, scores))
        return scores[0] if len(scores) == 1 else scores

    def gradients(self, X, y) -> tuple[float, list[np.ndarray]]:
        """``(loss, grads)`` by backprop, at inference (no dropout); grads align with
        ``get_weights()``."""
        self._check_trainable()
        self._require_weights()
        backend = current_backend()
        X, Y = self._data(backend, X, y)
        network = self._inference_network(backend)
        loss, grads, _ = network.loss_and_grads(backend.xp, self._on(backend), X, Y)
        return float(loss), [to_numpy(g) for g in grads]

    # -- saving --------------------------------------------------------------------------

    def get_config(self) -> dict:
        """The architecture and training setup as JSON-able data."""
        self._check_compiled()
        return {
            "layers": [layer.get_config() for layer in self.layers],
            "input_dim": self.input_dim,
            "seed": self.seed,
            "loss": self.network.loss.name,
            "optimizer": self.optimizer.get_config(),
            "metrics": [name for name, _ in self.metrics],
            "precision": self.precision,
        }

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        """A compiled model from :meth:`get_config` (fresh weights from its seed)."""
        model = cls(
            [layers.from_config(c) for c in config["layers"]], config["input_dim"], config["seed"]
        )
        model.compile(
            config["loss"],
            optimizers.from_config(config["optimizer"]),
            config["metrics"],
            config.get("precision"),
        )
        return model

    def get_state(self) -> dict:
        """Everything needed to resume: config, weights, optimizer state, epoch, shuffle rng."""
        return {
            "config": self.get_config(),
            "weights": self.get_weights(),
            "optimizer_state": [to_numpy(s) for s in self._opt_state or ()],
            "has_optimizer_state": self._opt_state is not None,
            "epoch": self.epoch,
            "rng_state": self._rng.bit_generator.state,
        }

    @classmethod
    def from_state(cls, state: dict) -> Sequential:
        """The model :meth:`get_state` described, ready to predict or resume training."""
        model = cls.from_config(state["config"])
        model.set_weights(state["weights"])
        if state["has_optimizer_state"]:
            model._opt_state = tuple(state["optimizer_state"])
            model._state_backend = None
        model.epoch = int(state["epoch"])
        model._rng.bit_generator.state = state["rng_state"]
        return model

    def save(self, path) -> None:
        """Write the model to ``path`` (see :func:`arraynet.save`)."""
        from .io import save

        save(self, path)

    def summary(self, print_fn=print) -> None:
        """Print the layers, each one's output width and parameter count, and the total
        (as Keras does, through ``print_fn``)."""
        inputs = "inputs not known yet" if self.input_dim is None else f"{self.input_dim} inputs"
        rows = [("layer", "outputs", "params")]
        for layer, dim in zip(self.layers, self._dims()):
            if dim is None:
                rows.append((repr(layer), "?", "?"))
                continue
            count = sum(math.prod(shape) for shape in layer.param_shapes(dim))
            rows.append((repr(layer), str(layer.output_dim(dim)), f"{count:,}"))
        width = max(len(row[0]) for row in rows)
        print_fn(f"Sequential: {inputs}, seed {self.seed}")
        for name, outputs, params in rows:
            print_fn(f"  {name:<{width}}  {outputs:>7}  {params:>10}")
        if self.input_dim is not None:
            total = sum(math.prod(shape) for shape in self._shapes())
            print_fn(f"  total params: {total:,}")


def _hold_out(X, Y, split: float):
    """``(X, Y, (X_val, Y_val) or None)``: the last rows held out for validation, as Keras
    does (training on the first ``floor(n * (1 - split))``)."""
    if not split:
        return X, Y, None
    n = X.shape[0]
    cut = math.floor(n * (1.0 - split))
    if cut < 1 or cut == n:
        raise ValueError(
            f"validation_split: expected a share leaving rows on both sides of {n} rows; "
            f"got {split}"
        )
    return X[:cut, ...], Y[:cut, ...], (X[cut:, ...], Y[cut:, ...])


def _move(backend: Backend, array):
    """An array moved to ``backend``, integer arrays (step counts) staying integers."""
    host = to_numpy(array)
    if host.dtype.kind in "iu":
        return backend.asarray(host, backend.xp.int32)
    return backend.asarray(host)


class _LiveBatchHooks:
    """Batch hooks with the model current: before each hook the model holds the weights and
    optimizer state so far, and training goes on from what it holds after (a learning rate a
    hook set, say). The hooks get the batch size only: no value is read back per batch."""

    def __init__(self, hooks: CallbackList, model: Sequential, backend: Backend):
        self.hooks, self.model, self.backend = hooks, model, backend

    def begin(self, index: int, size: int, params, opt_state):
        return self._around(self.hooks.on_batch_begin, index, size, params, opt_state)

    def end(self, index: int, size: int, params, opt_state):
        return self._around(self.hooks.on_batch_end, index, size, params, opt_state)

    def _around(self, hook, index, size, params, opt_state):
        model = self.model
        model._params, model._opt_state = params, opt_state
        hook(index, {"size": size})
        return model._on(self.backend), model._opt_state  # set_weights leaves them on the host


def _callback_list(callbacks) -> list:
    """``fit``'s callbacks as a list: None is none, one callback is a list of one."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks: expected a list of Callback instances; got {callbacks!r}")
    return list(callbacks)


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1 if sys.stderr.isatty() else 0
    if verbose not in (0, 1, 2):  # True and False count as 1 and 0, as in Keras
        raise ValueError(f"verbose: expected 0, 1, 2 or 'auto'; got {verbose!r}")
    return int(verbose)
