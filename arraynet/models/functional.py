"""``Model(inputs, outputs)``: a model over the graph of layer calls between symbolic
tensors (Keras's functional API).

``an.Model(inputs, outputs, name=...)`` reads the calls back from ``outputs`` to
``inputs`` (one symbolic tensor, a list, or a dict by name each) into a
:class:`~arraynet.network.Graph`, as Keras 3 does (``ops/function.py``: ``_build_map``
and ``map_graph``): a depth-first walk from the outputs, each input tensor in order,
numbers the layers as it meets them and lists the calls inputs first; a call's depth is
one more than the deepest call reading its output (a shared layer takes its deepest
call's depth, propagated as Keras does); the layers (and so ``get_weights()``) are
ordered by depth, deepest first, ties by the walk's numbering. A layer called twice is one
layer with one set of weights (its gradients add up); a tensor read twice gets the sum of
its deltas. A ``Sequential`` or functional model called on symbolic tensors adds its own
layers' calls (its layers become this model's, their current weights copied as initial
weights); it orders as one operation, its layers together in its own order, as Keras
orders a nested model's weights. ``model.layers`` lists, as Keras, each input's
``InputLayer`` (at its depth: first, for an input read by the deepest layer) and the
layers (a nested model: its layers), not the ``OutputPart`` nodes that hand on each output
of a layer of several (``return_state``): the graph keeps them after the layers.
``model.own_layers`` are the layers alone: what the weights and configs follow.
"""

from __future__ import annotations

import numpy as np

from .. import layers as layer_registry
from .. import optimizers
from ..backend import current_backend, to_numpy
from ..layers.input import Input, SymbolicTensor, symbolic_call
from ..network import Graph, Node
from ..network.graph import unpack
from . import config as model_config
from .compile_options import DEFAULT, loss_and_optimizer
from .model import Model
from .multi_io import MultiIntake, MultiLoss, by_output, compiled_parts, metric_lists
from .symbolic_io import SymbolicIO


def flatten_tensors(structure, argument: str) -> tuple[list, object]:
    """``(tensors, keys)``: the symbolic tensors of one tensor (keys None), a list or tuple
    (keys "list") or a dict (keys: its sorted names, as Keras flattens dicts)."""
    if isinstance(structure, SymbolicTensor):
        tensors, keys = [structure], None
    elif isinstance(structure, (list, tuple)):
        tensors, keys = list(structure), "list"
    elif isinstance(structure, dict):
        keys = sorted(structure)
        tensors = [structure[k] for k in keys]
    else:
        tensors, keys = [structure], None
    if not tensors or not all(isinstance(t, SymbolicTensor) for t in tensors):
        raise TypeError(
            f"{argument}: expected a symbolic tensor (an.Input(...) or a layer's output), or a "
            f"list or dict of them; got {structure!r}"
        )
    return tensors, keys


def structured(items: list, keys):
    """``items`` in the structure ``keys`` describes (see :func:`flatten_tensors`)."""
    if keys is None:
        return items[0]
    if keys == "list":
        return list(items)
    return dict(zip(keys, items))


def _layer_call(tensor):
    """The node that made ``tensor`` as the graph runs it: ``(key, operation, parents)``,
    the layer call."""
    layer, parents = tensor.call
    return id(tensor), layer, parents


def _keras_call(tensor):
    """The node that made ``tensor`` as Keras orders layers: the call of the model it came
    out of (a ``Sequential`` or functional model called inside: one operation), else the
    layer call."""
    group = tensor.group
    if group is None:
        return _layer_call(tensor)
    return id(group), group.model, group.inputs


def _walk(inputs: list, outputs: list, node_of=_layer_call, with_inputs=False):
    """Keras's ``_build_map``: the nodes ``(key, operation, parents, tensor)`` in the order
    a depth-first walk from each output finishes them, and each operation's number in the
    order the walk first meets it (``with_inputs``: the inputs' ``InputLayer`` too, nodes
    without parents). Iterative (deep chains need no recursion limit), the same order."""
    given = {id(t) for t in inputs}
    finished, order, numbers = set(), [], {}
    for j, output in enumerate(outputs):
        stack = [(output, False)]
        while stack:
            tensor, expanded = stack.pop()
            if id(tensor) in given:
                if with_inputs and tensor.input_layer and id(tensor) not in finished:
                    numbers.setdefault(id(tensor.input_layer), len(numbers))
                    finished.add(id(tensor))
                    order.append((id(tensor), tensor.input_layer, (), tensor))
                continue
            if tensor.call is None:
                raise _disconnected(j, output, tensor)
            key, operation, parents = node_of(tensor)
            if expanded:
                if key not in finished:
                    finished.add(key)
                    order.append((key, operation, parents, tensor))
                continue
            if key in finished:
                continue
            numbers.setdefault(id(operation), len(numbers))
            stack.append((tensor, True))
            stack.extend((p, False) for p in reversed(parents))
    return order, numbers


def _disconnected(j: int, output, tensor) -> ValueError:
    missing = tensor.input_layer
    what = f"input '{missing.name}' of shape {missing.batch_shape}" if missing else tensor.name
    return ValueError(
        f"outputs[{j}] ({output.name}, shape {output.shape}) cannot be computed from the "
        f"inputs: it depends on {what}, which is not among the model's inputs (graph "
        "disconnected)"
    )


def _depths(order: list, given: set, node_of) -> dict:
    """Keras's ``map_graph`` depths: each operation's (by id), from the nodes taken outputs
    first; a node's depth is raised to its operation's depth seen so far."""
    node_depth, op_depth = {}, {}
    for key, operation, parents, _ in reversed(order):
        depth = node_depth.setdefault(key, 0)
        depth = max(depth, op_depth.get(id(operation), 0))
        op_depth[id(operation)] = node_depth[key] = depth
        step = 0 if getattr(operation, "internal", False) else 1  # an OutputPart: as Keras,
        for parent in parents:  # where the layer's outputs are its own
            parent_key = id(parent) if id(parent) in given else node_of(parent)[0]
            node_depth[parent_key] = max(depth + step, node_depth.get(parent_key, 0))
    return op_depth


def keras_order(inputs: list, outputs: list, layers: list) -> list:
    """``layers`` in Keras's order for the graph: operations by depth from the outputs,
    deepest first, ties by the walk's numbering; a model called inside is one operation
    whose layers come together, in its own order."""
    order, numbers = _walk(inputs, outputs, _keras_call, with_inputs=True)
    depths = _depths(order, {id(t) for t in inputs}, _keras_call)
    operations = {id(op): op for _, op, _, _ in order}
    ranked = sorted(operations.values(), key=lambda op: (-depths[id(op)], numbers[id(op)]))
    present, ordered = {id(layer) for layer in layers if not _internal(layer)}, {}
    for op in ranked:
        for layer in op.layers if isinstance(op, Model) else [op]:
            if id(layer) in present:
                ordered.setdefault(id(layer), layer)
    return [*ordered.values(), *(layer for layer in layers if _internal(layer))]


def _internal(layer) -> bool:
    return getattr(layer, "internal", False)  # an InputLayer is no Layer


def trace(inputs: list, outputs: list, layer_order=None) -> Graph:
    """The graph of the calls from ``inputs`` to ``outputs``, layers in Keras's order (or
    in ``layer_order``: a saved model's)."""
    ids = [id(t) for t in inputs]
    if len(set(ids)) != len(ids):
        raise ValueError("inputs: expected each input tensor once; got one several times")
    order, _ = _walk(inputs, outputs)
    layers = list({id(op): op for _, op, _, _ in order}.values())
    if layer_order is not None:
        if {id(layer) for layer in layer_order} != {id(layer) for layer in layers}:
            raise ValueError("config: the layers are not those its graph calls")
        ordered = list(layer_order)
    else:
        ordered = keras_order(inputs, outputs, layers)
    index = {id(layer): i for i, layer in enumerate(ordered)}
    value = {t: i for i, t in enumerate(ids)}
    nodes = []
    for k, (_, layer, parents, tensor) in enumerate(order):
        nodes.append(Node(index[id(layer)], tuple(value[id(p)] for p in parents)))
        value[id(tensor)] = len(inputs) + k
    for j, output in enumerate(outputs):
        if id(output) in set(ids):
            raise ValueError(
                f"outputs[{j}] ({output.name}): expected a layer's output; got a model input"
            )
    _check_unique_names(
        [t.input_layer.name for t in inputs if t.input_layer] + [layer.name for layer in ordered]
    )
    out = [value[id(t)] for t in outputs]
    return Graph(ordered, nodes, out[0] if len(out) == 1 else out, len(inputs))


def _check_unique_names(names: list) -> None:
    """Keras's rule: every layer and input of a model has its own name (configs and
    summaries name them)."""
    for name in dict.fromkeys(names):
        if names.count(name) > 1:
            raise ValueError(
                f'The name "{name}" is used {names.count(name)} times in the model. All layer '
                "names should be unique."
            )


def _held_weights(graph: Graph) -> dict:
    """Per layer index, the weights another built model holds for it now (a trained
    ``Sequential`` called inside this model): this model's initial weights for it."""
    found = {}
    for i, layer in enumerate(graph.layers):
        held = layer.holder()
        if held is not None and held[0].built:  # its values as they are (no rounding)
            model, index = held
            found[i] = [to_numpy(w) for w in model.variables.weights[model.graph.slices[index]]]
    return found


class Functional(SymbolicIO, Model):
    """A model over the graph from ``inputs`` to ``outputs`` (see the module docstring);
    ``an.Model(inputs, outputs, name=...)`` makes one. Built at once: its input shapes are
    the inputs'; ``seed`` fixes the initial weights (as for ``Sequential``)."""

    def __init__(self, inputs=None, outputs=None, name=None, seed=None, *, _draw=True,
                 _layer_order=None):  # fmt: skip
        if inputs is None or outputs is None:
            raise TypeError("Model: expected inputs= and outputs= (symbolic tensors)")
        in_tensors, self.input_keys = flatten_tensors(inputs, "inputs")
        out_tensors, self.output_keys = flatten_tensors(outputs, "outputs")
        graph = trace(in_tensors, out_tensors, _layer_order)
        inherited = _held_weights(graph)
        super().__init__(graph, None, seed, name)
        self.inputs, self.outputs = in_tensors, out_tensors
        given = [t.input_layer for t in in_tensors if t.input_layer is not None]
        view, own = (
            keras_order(in_tensors, out_tensors, [*given, *self.own_layers]),
            iter(self.own_layers),
        )
        self._layers = [x if x in given else next(own) for x in view]  # the graph's order kept
        self.input_names = [_input_name(t) for t in in_tensors]
        # how data name the inputs: a dict's keys, else the input layers' names
        self.input_data_names = (
            list(self.input_keys) if isinstance(self.input_keys, list) else self.input_names
        )
        self.compile_spec = None  # per-output losses and metrics (several outputs)
        self.output_names = (
            list(self.output_keys)
            if isinstance(self.output_keys, list)
            else _unique([_producer(t).name for t in out_tensors])
        )
        shapes = [t.example_shape for t in in_tensors]
        self.declared_shape = shapes[0] if len(shapes) == 1 else tuple(shapes)
        if _draw:
            self.build(self.declared_shape, inherited=inherited)
        else:  # shapes only: stored weights will come (``load``)
            graph.build(self.declared_shape)
            self.example_shape = self.declared_shape

    def build(self, input_shape=None, argument: str = "input_shape", inherited=None) -> None:
        """Draw the initial weights for the inputs' shapes (fixed by the model's inputs);
        layers another built model holds start from its weights."""
        shape = self.declared_shape
        known = _as_shape(shape)  # also in Keras's form, the batch axis first
        if input_shape is not None and _as_shape(input_shape) not in (known, (None, *known)):
            raise ValueError(
                f"{argument}: expected the model inputs' shape {shape}; got {input_shape!r}"
            )
        specs = self.graph.build(shape)
        weights = [spec.initializer(self.rng, spec.shape) for spec in specs]
        for i, held in (inherited or {}).items():
            part = self.graph.slices[i]
            if [w.shape for w in held] == [w.shape for w in weights[part]]:
                weights[part] = held
        self.example_shape = shape
        self.variables.set_host(weights)

    @property
    def layers(self) -> list:
        """Keras's list: the ``InputLayer`` of each input and the layers, by depth from the
        outputs (the weights, configs and ``get_weights()`` follow ``own_layers``: the
        layers alone, in that order)."""
        return list(self._layers)

    @property
    def input_shape(self):
        """Keras's input shape(s): ``(None, *shape)``, a list of them for several inputs."""
        shapes = [(None, *s) for s in self.graph.input_shapes(self.declared_shape)]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        values = self.graph.value_shapes(self.declared_shape)
        shapes = [(None, *values[o]) for o in self.graph.outputs]
        return shapes[0] if self.graph.single_output else shapes

    # -- several inputs and outputs (``multi_io.py``) --------------------------------------

    @property
    def multi(self) -> bool:
        """Whether data travel packed (several inputs or outputs) or per-output losses."""
        graph = self.graph
        return graph.n_inputs > 1 or not graph.single_output or self.compile_spec is not None

    def compile(self, optimizer=DEFAULT, loss=DEFAULT, metrics=(), precision=None,
                loss_weights=None, **kwargs) -> None:  # fmt: skip
        """As ``Model.compile``; with several outputs ``loss`` one for all, a list or a dict
        by output name, ``loss_weights`` a list or dict, ``metrics`` a list with one entry
        per output or a dict by output name (``multi_io.py``)."""
        loss, optimizer = loss_and_optimizer(optimizer, loss)
        names = self.output_names
        if len(names) == 1 and loss_weights is None:
            if isinstance(loss, (list, tuple, dict)):
                loss = by_output(loss, names, "loss")[0]
            entries = metric_lists(metrics, names)[0]
            Model.compile(self, optimizer, loss, entries, precision, **kwargs)
            self.compile_spec = None
            return
        multi, chosen, spec = compiled_parts(self, loss, metrics, loss_weights)
        Model.compile(self, optimizer, multi, (), precision, **kwargs)
        self.metrics, self.compile_spec = chosen, spec

    def intake(self):
        if not self.multi:
            return super().intake()
        loss = self.network.loss
        parts = loss.parts if isinstance(loss, MultiLoss) else [loss] * len(self.output_names)
        return MultiIntake(self, parts)

    def predict(self, X, batch_size=None, verbose="auto"):
        """The outputs for ``X`` (a list or dict for several inputs), as host NumPy: one
        array, or a list (a dict for dict outputs) of them."""
        P = super().predict(X, batch_size, verbose)
        if self.graph.single_output:
            return P
        return structured(list(unpack(np, P, self.graph.output_shapes)), self.output_keys)

    def __call__(self, x, training=None):
        """On symbolic tensors, this model's calls added to a graph; on arrays, its outputs as
        arrays of the selected backend (a list, or a dict for dict outputs)."""
        out = super().__call__(x, training)
        if isinstance(out, (list, SymbolicTensor)) or self.graph.single_output:
            return out
        outputs = unpack(current_backend().xp, out, self.graph.output_shapes)
        return structured(list(outputs), self.output_keys)

    # -- config --------------------------------------------------------------------------

    def get_config(self) -> dict:
        """As a ``Sequential``'s, with ``functional``: the inputs (name, shape, dtype),
        the nodes ``[layer, [values]]`` (values: inputs first, then each node's output),
        the output values and how inputs and outputs are structured."""
        config = model_config.get_config(self)
        if self.compile_spec is not None:
            config["loss"] = self.compile_spec["losses"]
            config["metrics"] = self.compile_spec["metrics"]
            config["loss_weights"] = self.compile_spec["loss_weights"]
        config.pop("input_shape", None)
        config["input_dim"] = None
        wiring = self.graph.layers[len(self.own_layers) :]  # OutputPart nodes' layers, last
        config["layers"] = [*config["layers"], *(part.get_config() for part in wiring)]
        config["functional"] = {
            "inputs": [
                {"name": name, "shape": list(t.example_shape), "dtype": t.dtype}
                for name, t in zip(self.input_names, self.inputs)
            ],
            "nodes": [[n.layer, list(n.inputs)] for n in self.graph.nodes],
            "outputs": list(self.graph.outputs),
            "input_keys": self.input_keys,
            "output_keys": self.output_keys,
        }
        return config

    @classmethod
    def from_config(cls, config: dict, build: bool = True) -> Functional:
        """The model :meth:`get_config` describes (compiled if it was): fresh weights from
        its seed, or (``build=False``) none drawn, for stored weights."""
        spec = config["functional"]
        layers = [layer_registry.from_config(c) for c in config["layers"]]
        for layer, name in zip(layers, config.get("layer_names") or ()):
            layer.name = name
        model_config.freeze_layers(layers, config)
        inputs = [
            Input(shape=tuple(i["shape"]), name=i["name"], dtype=i["dtype"]) for i in spec["inputs"]
        ]
        values = list(inputs)
        for k, (layer, ids) in enumerate(spec["nodes"]):
            if not (
                _index(layer, len(layers)) and all(_index(i, len(values)) for i in ids) and ids
            ):
                raise ValueError(
                    f"config: node {k}: expected a layer index and value indices; "
                    f"got {[layer, ids]}"
                )
            values.append(symbolic_call(layers[layer], [values[i] for i in ids]))
        if not all(_index(o, len(values)) for o in spec["outputs"]):
            raise ValueError(f"config: outputs: expected value indices; got {spec['outputs']}")
        outputs = [values[o] for o in spec["outputs"]]
        model = cls(
            structured(inputs, spec["input_keys"]),
            structured(outputs, spec["output_keys"]),
            name=config.get("name"),
            seed=config["seed"],
            _draw=build,
            _layer_order=layers,
        )
        if config["loss"] is not None:
            model.compile(
                optimizer=optimizers.from_config(config["optimizer"]),
                loss=config["loss"],
                metrics=config["metrics"],
                precision=config.get("precision"),
                loss_weights=config.get("loss_weights"),
            )
        return model

    @classmethod
    def from_state(cls, state: dict) -> Functional:
        model = cls.from_config(state["config"], build=False)
        model_config.restore(model, state)
        return model


def _as_shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(_as_shape(s) if isinstance(s, (list, tuple)) else s for s in shape)


def _index(value, size: int) -> bool:
    return type(value) is int and 0 <= value < size


def _producer(tensor):
    """The layer whose output ``tensor`` is (for one of several outputs, that layer)."""
    layer, parents = tensor.call
    return _producer(parents[0]) if layer.internal else layer


def _input_name(tensor) -> str:
    return tensor.input_layer.name if tensor.input_layer is not None else tensor.name


def _unique(names: list) -> list:
    """Names made unique as Keras does for outputs of one layer: ``name``, ``name_1``..."""
    seen, out = {}, []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}_{count}")
    return out
