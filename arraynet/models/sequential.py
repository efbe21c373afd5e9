"""``Sequential``: the chain case of the graph model."""

from __future__ import annotations

from .. import layers as layer_registry
from .. import optimizers
from ..layers import Layer
from ..network import Graph
from . import config as model_config
from .model import Model


class Sequential(Model):
    """A stack of layers, each feeding the next: ``Sequential([Dense(4), Dense(1)])``.

    ``input_dim`` (features) or ``input_shape`` (per example, any rank) builds the weights
    at once; otherwise the first ``fit`` or ``set_weights`` does.
    """

    def __init__(self, layers, input_dim: int | None = None, seed: int | None = None, *,
                 input_shape=None):  # fmt: skip
        if not isinstance(layers, (list, tuple)):
            raise TypeError(f"layers: expected a list of layers; got {type(layers).__name__}")
        layers = list(layers)
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise TypeError(f"layers: expected a non-empty list of layers; got {layers!r}")
        if input_dim is not None and input_shape is not None:
            raise ValueError(
                f"input_shape: expected it or input_dim, not both; got {input_shape!r} "
                f"and input_dim={input_dim!r}"
            )
        super().__init__(Graph.chain(layers), None, seed)
        if input_dim is not None:
            self.build(input_dim, "input_dim")
        elif input_shape is not None:
            self.build(input_shape)

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        """A compiled model from :meth:`get_config` (fresh weights from its seed)."""
        model = cls(
            [layer_registry.from_config(c) for c in config["layers"]],
            config["input_dim"],
            config["seed"],
            input_shape=config.get("input_shape"),
        )
        model.compile(
            config["loss"],
            optimizers.from_config(config["optimizer"]),
            config["metrics"],
            config.get("precision"),
        )
        return model

    @classmethod
    def from_state(cls, state: dict) -> Sequential:
        """The model :meth:`get_state` described, ready to predict or resume training."""
        model = cls.from_config(state["config"])
        model_config.restore(model, state)
        return model
