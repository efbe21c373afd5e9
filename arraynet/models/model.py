"""``Model``: a graph of layers with its weights, compile settings, inference and config.

Training itself is the trainer's (``arraynet.train``), data intake the data package's, the
file format ``arraynet.io``'s; the model holds what they share.
"""

from __future__ import annotations

import numpy as np

from .. import losses, optimizers
from ..backend import current_backend, to_numpy
from ..backend.mesh import process_rows
from ..backend.session import auto_name
from ..callbacks import History
from ..data import Intake
from ..layers.base import check_shape
from ..layers.input import SymbolicTensor
from ..losses.weighted import check_weighable
from ..metrics import get as get_metric
from ..network import Network
from ..precision import PRECISIONS, Policy
from ..train import Trainer
from ..utils import new_generator
from ..validation import check_choice, check_count
from .compile_options import (
    DEFAULT,
    CompiledMixin,
    CompileOptions,
    compile_options,
    loss_and_optimizer,
)
from .config import MODEL_CLASSES, model_class
from .keras_api import KerasModelMixin, ModelFilesMixin
from .scoring import predictions_of, scores_of
from .variables import Variables, checked_weights

NO_GRAPH = object()
SUBCLASSING = (
    "Model: expected inputs and outputs (Model(inputs, outputs), Keras's functional API) or "
    "a Sequential; got neither. Subclassing Model with a call() method is not supported: "
    "arraynet has no autodiff to derive call()'s backward. Wire arraynet's layers (each "
    "with its hand-written backward) in a Sequential or functional model, or write a Layer "
    "with forward and backward (see the Layer protocol)"
)


class Model(ModelFilesMixin, KerasModelMixin, CompiledMixin):
    """Layers wired as a :class:`~arraynet.network.Graph`, trained by hand-written backprop.

    Each call (``fit``, ``predict``, ...) runs on the backend chosen by ``arraynet.use`` at
    that moment; the weights follow it there. ``seed`` fixes the initial weights and, unless
    ``fit`` is given its own seed, the shuffling order and dropout masks, on every backend
    (without one, from ``an.utils.set_random_seed``'s generator). ``example_shape`` is the
    input shape per example; ``input_shape`` Keras's, with the batch axis (None) first.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        MODEL_CLASSES[cls.__name__] = cls  # for Model(inputs, outputs) and from_config

    def __new__(cls, *args, **kwargs):
        """``Model(inputs, outputs, name=...)`` (or ``inputs=``, ``outputs=``) over symbolic
        tensors is Keras's functional model: a :class:`~arraynet.models.functional.Functional`."""
        if cls is Model and _functional_call(args, kwargs):
            return super().__new__(MODEL_CLASSES["Functional"])
        return super().__new__(cls)

    @classmethod
    def from_config(cls, config: dict, build: bool = True):
        """The model ``get_config()`` described: functional or sequential, by the config."""
        return model_class(config).from_config(config, build)

    def __init__(self, graph=NO_GRAPH, input_shape=None, seed: int | None = None, name=None):
        if graph is NO_GRAPH:
            raise TypeError(SUBCLASSING)
        self.graph = graph  # None: a Sequential with no layers yet
        self.name = auto_name(type(self).__name__) if name is None else str(name)
        self.seed = None if seed is None else check_count(seed, "seed")
        self.rng = new_generator(seed)  # initial weights, orders, noise
        self.example_shape = None
        self.variables = Variables()
        self.network = None if graph is None else Network(graph)
        self.optimizer, self.metrics, self.precision = None, [], None
        self.compile_options = CompileOptions()
        self.runners = {}  # compiled runners by (backend, batch size), until compile
        self.epoch = 0  # epochs trained so far: fit(initial_epoch=model.epoch) resumes
        self.stop_training = False
        self.history = None
        self.bind_layers()
        if input_shape is not None:
            self.build_per_example(input_shape)

    @property
    def input_dim(self) -> int | None:
        """The number of input features, for 1-D inputs (None before the model is built)."""
        shape = self.example_shape
        return shape[0] if shape is not None and len(shape) == 1 else None

    # -- weights -------------------------------------------------------------------------

    def build(self, input_shape, argument: str = "input_shape") -> None:
        """Draw the initial weights (on the host) for inputs of ``input_shape`` per example
        (an int: that many features), or Keras's shape with the batch axis first (a shape
        starting with None: ``build((None, 784))``)."""
        if isinstance(input_shape, (tuple, list)) and input_shape and input_shape[0] is None:
            input_shape = tuple(input_shape[1:])  # Keras's batch axis
        self.build_per_example(input_shape, argument)

    def build_per_example(self, input_shape, argument: str = "input_shape") -> None:
        """``build`` for a per-example shape (None there: an axis of any size)."""
        shape = check_shape(input_shape, argument)
        specs = self.graph.build(shape)  # a shape a layer cannot take raises here
        self.example_shape = shape
        self.variables.set_host([spec.initializer(self.rng, spec.shape) for spec in specs])

    def build_for(self, input_shape: tuple) -> None:
        """Build for ``input_shape`` if the model has no weights yet."""
        if self.example_shape is None:
            self.build_per_example(input_shape)

    def weight_shapes(self, input_shape=None) -> list[tuple]:
        return self.graph.weight_shapes(input_shape or self.example_shape)

    def output_shape_for(self, input_shape: tuple) -> tuple:
        return self.graph.value_shapes(input_shape)[self.graph.output]

    def get_weights(self) -> list[np.ndarray]:
        """Host NumPy copies in Keras order ``[W1, b1, W2, b2, ...]``, W of shape (inputs, units).

        The dtype is the backend's (float32 by default), also before any training.
        """
        return self.variables.host_weights()

    def set_weights(self, weights) -> None:
        """Replace the weights with arrays of any backend, in ``get_weights()`` order."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(
                f"weights: expected a list of arrays, as get_weights() returns; "
                f"got {type(weights).__name__}"
            )
        shape, weights = checked_weights(self, weights)
        if self.example_shape is None:
            self.graph.build(shape)
        self.example_shape = shape
        self.variables.set_host(weights)

    def require_weights(self) -> None:
        if not self.variables.built:
            raise ValueError(
                "model: expected weights; got none yet (give input_dim, call fit or set_weights)"
            )

    # -- compile -------------------------------------------------------------------------

    def compile(self, optimizer=DEFAULT, loss=DEFAULT, metrics=(), precision=None,
                loss_weights=None, **options) -> None:  # fmt: skip
        """Choose the optimizer (an instance or a name; default "sgd"), the loss (default
        "squared_error"), metric names and the precision: None (the backend's dtype),
        "mixed_bfloat16" or "mixed_float16" (layers compute in 16 bits around float32
        master weights; see ``arraynet.precision``). Keras's signature; the loss first,
        positionally, is read too; Keras's further arguments in ``compile_options.py``;
        ``loss_weights`` is the functional model's."""
        loss, optimizer = loss_and_optimizer(optimizer, loss)
        metrics = [metrics] if isinstance(metrics, str) else (metrics or ())
        self.require_layers()
        if precision is not None:
            check_choice(precision, "precision", tuple(PRECISIONS))
        chosen_options = compile_options(loss_weights=loss_weights, **options)
        loss = losses.get(loss)
        chosen_metrics = [get_metric(m, loss) for m in metrics]
        policy = Policy(precision, chosen_options.auto_scale_loss)
        network = Network(self.graph, loss, policy)
        optimizer = policy.optimizer(optimizers.get(optimizer))  # all checked: now change
        if self.optimizer is not None:  # it keeps the learning rate it trained with
            self.optimizer.detach(self.variables)
        self.metrics, self.precision = chosen_metrics, precision
        self.network, self.optimizer = network, optimizer
        self.compile_options = chosen_options
        self.variables.set_state(None)
        if self.built:  # which layers train: their trainable flags now, as in Keras
            self.graph.freeze()
        optimizer.attach(self.variables)  # its learning_rate reads and sets the state's
        self.runners = {}

    # -- train and infer -----------------------------------------------------------------

    def intake(self) -> Intake:
        """The data intake for this model's shapes and loss."""
        return Intake(
            self.example_shape, self.output_shape_for, self.network.loss, self.graph.check_input
        )

    def fit(self, X, y, mode: str = "minibatch", batch_size: int = 32, epochs: int = 1,
            shuffle: bool = True, seed: int | None = None, verbose="auto", callbacks=(),
            validation_data=None, validation_split: float = 0.0, initial_epoch: int = 0,
            chunk_rows: int | None = None, sample_weight=None,
            class_weight=None) -> History:  # fmt: skip
        """Train in ``mode`` "full", "minibatch" or "stochastic", epochs ``initial_epoch`` to
        ``epochs``.

        Each epoch's order and dropout masks come from ``numpy.random.default_rng(seed)``,
        or the model's own generator, drawn on the host. Loss and metrics are read back once
        per epoch into ``logs``; ``validation_split`` holds out the last rows as Keras does.
        ``verbose``: 0 silent, 1 progress bar, 2 a line per epoch, "auto" a bar when
        interactive.

        Data larger than the device: pass a memory-mapped ``.npy`` (``np.load(path,
        mmap_mode="r")``) or set ``chunk_rows``, or pass ``X`` as a sequence of ``(X_chunk,
        y_chunk)`` pairs with ``y=None``. Chunks are checked in one pass first, then streamed
        to the device one at a time, the next one read and moved while the device trains on
        the current one; each epoch visits the chunks in a shuffled order and shuffles the
        rows within each chunk. Batches do not span chunks.

        ``sample_weight`` (one weight >= 0 per row) or ``class_weight`` (``{class index:
        weight}``, a row's class being its label, the argmax of a one-hot row or a single
        output rounded) weigh each row's loss as Keras does: the weighted sum divided by the
        batch's rows, not by the weights' sum; metrics stay unweighted (Keras's ``metrics``).
        ``validation_data`` may carry weights as a third element; ``validation_split`` holds
        out the sample weights with the rows (class weights are not applied to validation).

        A NaN or infinite loss or weight raises :class:`DivergenceError` naming the epoch,
        the batch and the learning rate, keeping the weights from before that update; with
        a ``TerminateOnNaN`` callback training stops there instead, without raising.
        """
        return Trainer(self).fit(
            X, y, mode, batch_size, epochs, shuffle, seed, verbose, callbacks,
            validation_data, validation_split, initial_epoch, chunk_rows, sample_weight,
            class_weight,
        )  # fmt: skip

    def predict(self, X, batch_size: int | None = None, verbose="auto") -> np.ndarray:
        """The network's output for ``X`` as a host NumPy array, ``batch_size`` rows at a time
        (all at once by default); ``verbose`` as ``evaluate``'s."""
        self.require_weights()
        backend = current_backend()
        X, _ = self.intake().arrays(backend, X)
        return predictions_of(self, backend, X, batch_size, verbose)

    def score_names(self) -> list[str]:
        return ["loss", *(name for name, _ in self.metrics)]

    def compute_scores(self, backend, X, Y, batch_size=None, verbose=0,
                       sample_weight=None) -> list:  # fmt: skip
        """Loss and metrics on ``(X, Y)``, on ``backend`` (see ``scoring.scores_of``)."""
        return scores_of(self, backend, X, Y, batch_size, verbose, sample_weight)

    def evaluate(self, X, y, batch_size: int | None = None, verbose="auto",
                 return_dict: bool = False, sample_weight=None):  # fmt: skip
        """The compiled loss on ``(X, y)``; with metrics, ``[loss, *metrics]`` (or a dict).
        ``verbose``: 0 silent, 1 a progress bar over the batches, 2 one line at the end,
        "auto" a bar when interactive. ``sample_weight`` weighs the loss as ``fit``'s."""
        self.check_compiled()
        self.require_weights()
        backend = current_backend()
        X, Y = self.intake().arrays(backend, X, y)
        W = self.intake().weights(backend, sample_weight, process_rows(X))
        if W is not None:
            check_weighable(self.network.loss)
        scores = self.compute_scores(backend, X, Y, batch_size, verbose, W)
        scores = [float(s) for s in scores]
        if return_dict:
            return dict(zip(self.score_names(), scores))
        return scores[0] if len(scores) == 1 else scores

    def gradients(self, X, y) -> tuple[float, list[np.ndarray]]:
        """``(loss, grads)`` by backprop, at inference (no dropout); grads align with the
        trainable weights (``get_weights()`` while no layer keeps state)."""
        self.check_trainable()
        self.require_weights()
        backend = current_backend()
        X, Y = self.intake().arrays(backend, X, y)
        network, weights = self.network.on(backend), self.variables.on(backend)
        loss, grads, _, _ = network.loss_and_grads(backend.xp, weights, X, Y, training=False)
        return float(loss), [to_numpy(g) for g in grads]


def _functional_call(args: tuple, kwargs: dict) -> bool:
    """Whether ``Model(...)`` was given symbolic inputs (and outputs)."""
    if "inputs" in kwargs or "outputs" in kwargs:
        return True
    first = args[0] if args else None
    if isinstance(first, dict):
        first = list(first.values())
    if isinstance(first, (list, tuple)):
        return any(isinstance(t, SymbolicTensor) for t in first)
    return isinstance(first, SymbolicTensor)
