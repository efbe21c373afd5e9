"""Keras 3's model surface beside arraynet's own: names, shapes with the batch axis, the
weights of one layer, ``model(x)``, the ``*_on_batch`` calls and weights-only files.

Mixed into :class:`~arraynet.models.Model`; each method uses only the model's public
operations (``predict``, ``evaluate``, ``fit``, ``get_weights``, ``set_weights``...).
"""

from __future__ import annotations

import os

import numpy as np

from .. import io
from ..backend import current_backend
from ..backend.session import on_clear_session
from ..layers.handle import WeightCopy
from ..layers.input import ModelCall, symbolic_call, symbolic_inputs
from ..validation import any_size
from . import config as model_config
from . import summary as summary_module


def _clear_compiled() -> None:
    """``clear_session``: the shared compiled runners go too (compiled again when needed)."""
    try:
        from ..train.cache import COMPILED
    except ImportError:  # an arraynet without the shared runner cache
        return
    COMPILED.clear()


on_clear_session(_clear_compiled)


class ModelFilesMixin:
    """A model's config, state, file and summary (mixed into ``Model``)."""

    def get_config(self) -> dict:
        """The architecture and training setup as JSON-able data (loss, optimizer, metrics
        and precision None before ``compile``)."""
        return model_config.get_config(self)

    def get_state(self) -> dict:
        """Everything needed to resume: config, weights, optimizer state, epoch, generator."""
        return model_config.get_state(self)

    def __reduce__(self):
        """Pickled (and deep-copied) as its state, host NumPy data: config, weights,
        optimizer state, epoch, generator; no backend array or compiled program. It comes
        back as ``load`` builds a model, on the backend its next call selects."""
        return model_config.from_state, (self.get_state(),)

    def save(self, filepath, overwrite: bool = True) -> None:
        """Write the model to ``filepath``, atomically, in the format of :mod:`arraynet.io`
        (compiled or not; the optimizer state when there is one). Any name will do:
        ``.arraynet`` is arraynet's, Keras's ``.keras`` names work too (the bytes are
        arraynet's)."""
        if not overwrite and os.path.exists(os.fsdecode(filepath)):
            raise FileExistsError(
                f"filepath: {os.fsdecode(filepath)!r} exists and overwrite is False"
            )
        io.write_state(self.get_state(), filepath)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:  # fmt: skip
        """Print Keras's table: each layer's name and type, output shape (the batch axis
        None) and parameter count, then the total, trainable and non-trainable counts.
        ``print_fn`` gets each line (default ``print``); the layout arguments are Keras's
        and change nothing here."""
        if callable(line_length) and print_fn is None:  # arraynet's summary(print_fn)
            line_length, print_fn = None, line_length
        summary_module.summary(self, print_fn or print)

    def require_layers(self) -> None:
        if not self.layers:
            raise ValueError(
                "model: expected layers; got none (add some with model.add(layer) first)"
            )


class ModelLayersMixin:
    """A model's layers: Keras's list (``layers``) and the graph's (``own_layers``)."""

    @property
    def layers(self) -> list:
        return self.own_layers

    @property
    def own_layers(self) -> list:
        """The layers, in the graph's order (no ``InputLayer``, no ``OutputPart`` wiring):
        what the weights, configs and layer indices count."""
        return [] if self.graph is None else [x for x in self.graph.layers if not x.internal]

    def bind_layers(self) -> None:
        """Tell each layer that this model holds it (and at which index)."""
        for index, layer in enumerate(self.own_layers):
            layer.attach(self, index)

    def holds_layer(self, layer, index: int) -> bool:
        layers = self.own_layers
        return index < len(layers) and layers[index] is layer


class KerasModelMixin(ModelLayersMixin):
    """Keras's model surface; see the module docstring."""

    # -- layers and their weights ---------------------------------------------------------

    @property
    def built(self) -> bool:
        return self.variables.built

    @property
    def trainable(self) -> bool:
        """False once set so: setting it sets every layer's ``trainable`` (Keras); it counts
        from the next ``compile``."""
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self.own_layers:
            layer.trainable = value
        self._trainable = value

    def layer_weights(self, index: int) -> list[np.ndarray]:
        """Host copies of layer ``index``'s weights (params, then state)."""
        if not self.built:
            return []
        return self.get_weights()[self.graph.slices[index]]

    def set_layer_weights(self, index: int, weights) -> None:
        """Replace layer ``index``'s weights (checked as ``set_weights`` checks them)."""
        self.require_weights()
        if not isinstance(weights, (list, tuple)):
            raise TypeError(
                f"weights: expected a list of arrays, as get_weights() returns; "
                f"got {type(weights).__name__}"
            )
        part = self.graph.slices[index]
        current = self.get_weights()
        expected, name = len(current[part]), self.own_layers[index].name
        if len(weights) != expected:
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{name}' with a "
                f"weight list of length {len(weights)}, but the layer was expecting "
                f"{expected} weights."
            )
        current[part] = list(weights)
        self.set_weights(current)

    def layer_weight(self, index: int, name: str) -> WeightCopy:
        """A host copy of layer ``index``'s weight called ``name`` ("kernel", "bias"...)."""
        params, states = self.graph.specs(self.example_shape)[index]
        names = [p.name for p in params + states]
        layer = self.own_layers[index]
        if name not in names:
            raise AttributeError(
                f"{type(layer).__name__} {layer.name!r} has no weight {name!r}; "
                f"its weights: {names}"
            )
        position = names.index(name)
        copy = self.layer_weights(index)[position].view(WeightCopy)
        copy.where = (self, index, position)
        return copy

    def get_layer(self, name: str | None = None, index: int | None = None):
        """The layer called ``name``, or at ``index`` (Keras's ``get_layer``)."""
        if index is not None and name is not None:
            raise ValueError(
                f"Provide only a layer name or a layer index. Received: index={index}, name={name}."
            )
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(self.layers)} layers."
                )
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}."
        )

    # -- shapes and sizes (Keras's: the batch axis first, None) ---------------------------

    @property
    def input_shape(self) -> tuple | None:
        """Keras's input shape, ``(None, *per_example)`` (None before the model is built;
        ``example_shape`` is the per-example shape)."""
        shape = self.example_shape
        return None if shape is None else (None, *shape)

    @property
    def output_shape(self) -> tuple | None:
        """Keras's output shape, ``(None, *per_example)`` (None before the model is built)."""
        shape = self.example_shape
        return None if shape is None else (None, *self.output_shape_for(shape))

    def count_params(self) -> int:
        """The number of weights (trainable and not), as Keras counts them."""
        if not self.built:
            raise ValueError(
                "You tried to call `count_params` on this model, but it isn't built. You can "
                "build it manually via: `model.build(input_shape)`, or give the first layer "
                "an `an.Input(shape=...)`."
            )
        return sum(int(np.prod(shape)) for shape in self.weight_shapes())

    # -- calls ----------------------------------------------------------------------------

    def __call__(self, x, training: bool | None = None):
        """The output for ``x`` as an array of the selected backend (Keras returns the
        backend's tensor; ``predict`` returns host NumPy). ``training=True`` runs the layers
        as in training, as Keras: dropout on (its masks drawn from the model's seeded
        generator, on the host), batch statistics, the moving statistics updated. On
        symbolic tensors (the functional API) it adds this model's layer calls to the graph
        being built and returns the output tensor(s)."""
        tensors = symbolic_inputs(x, f"model '{self.name}'")
        if tensors is not None:
            return self.call_symbolic(tensors)
        self.require_weights()
        backend = current_backend()
        X, _ = self.intake().arrays(backend, x)
        weights, network = self.variables.on(backend), self.network.on(backend)
        if not training:
            return network.predict(backend.xp, weights, X)
        shape = tuple(X.shape[1:]) if any_size(self.example_shape) else None  # one input
        drawn = self.graph.noise_for(self.rng, X.shape[0], shape)
        noise = [backend.asarray(n) for n in drawn]
        P, weights = network.forward_training(backend.xp, weights, X, noise)
        self.variables.commit(weights, self.variables.opt_state)
        return P

    def call_symbolic(self, tensors: list):
        """This model's graph replayed on symbolic ``tensors`` (one per model input): the
        output tensor, or a list of them."""
        graph = self.graph
        self.require_layers()
        if len(tensors) != graph.n_inputs:
            raise ValueError(
                f"model '{self.name}': expected {graph.n_inputs} input tensors; got {len(tensors)}"
            )
        if self.example_shape is not None:
            expected = graph.input_shapes(self.example_shape)
            got = [tuple(t.example_shape) for t in tensors]
            if got != expected:
                raise ValueError(
                    f"model '{self.name}': expected inputs of shape "
                    f"{[(None, *s) for s in expected]}; got {[(None, *s) for s in got]}"
                )
        values = list(tensors)
        for node in graph.nodes:
            values.append(symbolic_call(graph.layers[node.layer], [values[i] for i in node.inputs]))
        out = graph.outputs_of(values)
        made = values[len(tensors) :]
        call = ModelCall(self, tuple(tensors), tuple(out) if isinstance(out, tuple) else (out,))
        for tensor in made:
            tensor.group = call
        return list(out) if isinstance(out, tuple) else out

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict: bool = False):  # fmt: skip
        """One update on the batch ``(x, y)``: the loss (and metrics) computed before it, as
        Keras returns them. The model's epoch count and history are left as they were."""
        extra = {k: v for k, v in (("sample_weight", sample_weight),
                                   ("class_weight", class_weight)) if v is not None}  # fmt: skip
        epoch, history = self.epoch, self.history
        try:
            trained = self.fit(x, y, mode="full", epochs=1, shuffle=False, verbose=0, **extra)
        finally:
            self.epoch, self.history = epoch, history
        logs = {name: values[-1] for name, values in trained.history.items()}
        return _scores(logs, self.score_names(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        """The loss (and metrics) on the batch ``(x, y)``."""
        extra = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.evaluate(x, y, verbose=0, return_dict=return_dict, **extra)

    def predict_on_batch(self, x) -> np.ndarray:
        """The output for the batch ``x``, as host NumPy."""
        return self.predict(x, verbose=0)

    # -- weights-only files -----------------------------------------------------------------

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Write the weights to ``filepath`` in arraynet's model file format (atomically; any
        name: Keras's ``.weights.h5`` names are fine, the bytes are arraynet's, never
        pickle): the architecture and weights without optimizer state. ``load_weights``
        (or ``an.load``) reads it."""
        self.require_weights()
        path = os.fsdecode(filepath)
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"filepath: {path!r} exists and overwrite is False")
        state = model_config.get_state(self)
        state.update(optimizer_state=[], has_optimizer_state=False)
        io.write_state(state, path)

    def load_weights(self, filepath, skip_mismatch: bool = False) -> None:
        """Replace the weights with those of a file that ``save_weights``, ``save`` or a
        ``ModelCheckpoint`` wrote (verified in full); builds an unbuilt model for them.
        The optimizer state is left as it is."""
        if skip_mismatch:
            raise NotImplementedError("load_weights: skip_mismatch=True is not supported")
        self._weights_from(model_config.read_model(filepath), filepath)

    resume_at = None  # set by BackupAndRestore: the epoch fit goes on from (read once)

    def restore_state(self, filepath) -> int:
        """Put back the training state a file of this model holds (weights, optimizer
        state, epoch count, shuffling generator), as ``BackupAndRestore`` does; returns the
        epoch count."""
        source = model_config.read_model(filepath)
        self._weights_from(source, filepath)
        state = source.variables.host_state()
        if state and self.optimizer is not None:
            trainable = self.graph.trainable(self.weight_shapes())
            expected = self.optimizer.state_shapes(list(trainable))
            if [s.shape for s in state] != [tuple(e) for e in expected]:
                raise ValueError(
                    f"{os.fsdecode(filepath)}: the optimizer state does not fit this model's "
                    f"optimizer {self.optimizer!r}"
                )
            self.variables.set_state(state)
        self.epoch = source.epoch
        self.rng.bit_generator.state = source.rng.bit_generator.state
        return source.epoch

    def _weights_from(self, source, filepath) -> None:
        """Take ``source``'s weights (building this model for its input shape if needed)."""
        weights = source.get_weights()
        with io.file_errors(os.fsdecode(filepath), "the weights do not fit this model"):
            if self.example_shape is None and source.example_shape is not None:
                shapes = self.graph.weight_shapes(source.example_shape)
                if shapes != [w.shape for w in weights]:
                    raise ValueError(
                        f"expected weights of shapes {shapes}; the file has "
                        f"{[w.shape for w in weights]}"
                    )
                self.graph.build(source.example_shape)
                self.example_shape = source.example_shape
            self.set_weights(weights)


def _scores(logs: dict, names: list, return_dict: bool):
    """Keras's return value of a batch call: a dict, the loss alone, or ``[loss, *metrics]``."""
    if return_dict:
        return dict(logs)
    values = [logs[name] for name in names]
    return values[0] if len(values) == 1 else values
