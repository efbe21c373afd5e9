"""``Sequential``: the chain case of the graph model."""

from __future__ import annotations

from .. import layers as layer_registry
from .. import optimizers
from ..layers import Layer
from ..layers.base import check_shape
from ..network import Graph, Network
from ..network.functional import input_shape_of
from . import config as model_config
from .model import Model
from .symbolic_io import SequentialIO


class Sequential(SequentialIO, Model):
    """A stack of layers, each feeding the next: ``Sequential([Dense(4), Dense(1)])``.

    The input shape per example comes from ``an.Input(shape=...)`` as the first element
    (Keras 3's way), ``input_dim`` (features), ``input_shape`` (any rank) or the first
    layer's ``input_shape=``; with one, the weights are drawn at once, otherwise by the
    first ``fit`` or ``set_weights``. ``Sequential()`` then ``add(layer)`` builds it layer
    by layer; ``pop()`` removes the last one (the others keep their weights).
    """

    def __init__(self, layers=None, input_dim: int | None = None, seed: int | None = None, *,
                 input_shape=None, name=None):  # fmt: skip
        if layers is None:
            layers = []
        if not isinstance(layers, (list, tuple)):
            raise TypeError(f"layers: expected a list of layers; got {type(layers).__name__}")
        layers = list(layers)
        given = input_shape_of(layers[0]) if layers else None
        if given is not None:
            layers = layers[1:]
        if not all(isinstance(layer, Layer) for layer in layers):
            raise TypeError(
                f"layers: expected a list of layers (an Input first, if any); got {layers!r}"
            )
        if input_dim is not None and input_shape is not None:
            raise ValueError(
                f"input_shape: expected it or input_dim, not both; got {input_shape!r} "
                f"and input_dim={input_dim!r}"
            )
        super().__init__(Graph.chain(layers) if layers else None, None, seed, name)
        self.declared_shape = None  # the input shape per example given, if any
        if input_dim is not None:
            self.declare(input_dim, "input_dim")
        elif input_shape is not None:
            self.declare(input_shape, "input_shape")
        elif given is not None:
            self.declare(given, "Input shape")
        elif layers and layers[0].declared_input_shape is not None:
            self.declare(layers[0].declared_input_shape, "input_shape")

    def declare(self, shape, argument: str) -> None:
        """Fix the input shape per example; build the weights if there are layers."""
        self.declared_shape = check_shape(shape, argument)
        if self.layers:
            self.build_per_example(self.declared_shape, argument)

    # -- adding and removing layers ---------------------------------------------------------

    def add(self, layer, rebuild: bool = True) -> None:
        """Append ``layer`` (Keras's ``add``); an ``an.Input`` as the first addition fixes
        the input shape. A built model draws the new layer's weights from its generator and
        keeps the others'; a compiled one stays compiled (its optimizer starts afresh)."""
        shape = input_shape_of(layer)
        if shape is not None:
            if self.layers or self.declared_shape is not None:
                known = self.example_shape or self.declared_shape
                what = f"input shape {(None, *known)}" if known else "its layers' input"
                raise ValueError(
                    f"Sequential model '{self.name}' has already been configured to use "
                    f"{what}. You cannot add a different Input layer to it."
                )
            self.declared_shape = check_shape(shape, "Input shape")
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                "Only instances of `arraynet.layers.Layer` can be added to a Sequential "
                f"model. Received: {layer!r} (of type {type(layer).__name__})"
            )
        first = not self.layers and self.declared_shape is None
        if first and layer.declared_input_shape is not None:
            self.declared_shape = check_shape(layer.declared_input_shape, "input_shape")
        self._relayer([*self.layers, layer], rebuild)

    def pop(self, rebuild: bool = True):
        """Remove and return the last layer; the others keep their weights."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layers = self.layers
        self._relayer(layers[:-1], rebuild)
        return layers[-1]

    def _relayer(self, layers: list, rebuild: bool) -> None:
        """Hold ``layers`` now: a new chain, compiled as before; with the input shape known
        (and ``rebuild``), the kept layers' weights and the new ones' drawn."""
        shape = self.example_shape or self.declared_shape
        kept = self.get_weights() if self.built else []
        graph = Graph.chain(layers) if layers else None
        specs = None
        if graph is not None and shape is not None and rebuild:
            specs = graph.build(shape)  # a layer that cannot take its input raises here
        old = self.network
        self.graph, self.runners = graph, {}
        self.network = (
            None
            if graph is None
            else Network(graph, old.loss, old.policy)
            if old
            else Network(graph)
        )
        self.variables.clear()  # the optimizer starts afresh too
        self.example_shape = None
        self.bind_layers()
        if specs is None:
            return
        start = kept[: len(specs)]
        if [w.shape for w in start] != [spec.shape for spec in specs[: len(start)]]:
            start = []
        fresh = [spec.initializer(self.rng, spec.shape) for spec in specs[len(start) :]]
        self.variables.set_host([*start, *fresh])
        self.example_shape = shape

    # -- config ---------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: dict, build: bool = True) -> Sequential:
        """A model from :meth:`get_config` (compiled if it was): with fresh weights from its
        seed, or (``build=False``) without weights, nothing drawn, for stored weights to
        build."""
        model = cls(
            [layer_registry.from_config(c) for c in config["layers"]],
            config["input_dim"] if build else None,
            config["seed"],
            input_shape=config.get("input_shape") if build else None,
            name=config.get("name"),
        )
        for layer, name in zip(model.layers, config.get("layer_names") or ()):
            layer.name = name
        model_config.freeze_layers(model.layers, config)
        if config["loss"] is not None:
            model.compile(
                optimizer=optimizers.from_config(config["optimizer"]),
                loss=config["loss"],
                metrics=config["metrics"],
                precision=config.get("precision"),
            )
        return model

    @classmethod
    def from_state(cls, state: dict) -> Sequential:
        """The model :meth:`get_state` described, ready to predict or resume training (its
        stored weights build it: no initial weights are drawn)."""
        model = cls.from_config(state["config"], build=False)
        model_config.restore(model, state)
        return model
