"""A model as data: its config (architecture and training setup) and its whole state
(config, weights, optimizer state, epoch, generator), and restoring a state into a model."""

from __future__ import annotations

import math
import os

import numpy as np

from .. import io, losses, metrics
from ..layers.base import check_shape

MODEL_CLASSES: dict = {}  # each model class by name (``Model.__init_subclass__`` fills it)


def model_class(config: dict) -> type:
    """The class whose ``from_config`` reads ``config``: functional or sequential."""
    functional = isinstance(config, dict) and config.get("functional") is not None
    return MODEL_CLASSES["Functional" if functional else "Sequential"]


def read_model(path):
    """The model saved at ``path``, verified in full (see ``arraynet.load``)."""
    models = []

    def expect(state):  # the model config.json describes, unbuilt, and the shapes it declares
        models.append(model_class(state["config"]).from_config(state["config"], build=False))
        return state_shapes(models[-1], state)

    state = io.read_state(path, expect)
    with io.file_errors(os.fsdecode(path), "inconsistent model state"):
        restore(models[-1], state)
        return models[-1]


def from_state(state: dict):
    """A new model from ``get_state()``'s data, built from its weights (nothing drawn)."""
    model = model_class(state["config"]).from_config(state["config"], build=False)
    restore(model, state)
    return model


def get_config(model) -> dict:
    """The architecture and training setup as JSON-able data (1-D inputs as ``input_dim``,
    others as ``input_shape``, per example). Before ``compile``, ``loss``, ``optimizer``
    and ``metrics`` are None. A configured loss or metric (``Huber(delta=2.0)``, ``AUC(curve=
    "PR")``) is kept as its config, a default one by its name. ``name`` and ``layer_names``
    are Keras's names, ``frozen_layers`` those with ``trainable`` False (kept apart from the
    layers' configs, which describe only their math)."""
    compiled = model.optimizer is not None
    config = {
        "layers": [layer.get_config() for layer in model.own_layers],
        "input_dim": model.input_dim,
        "seed": model.seed,
        "loss": losses.serialize(model.network.loss) if compiled else None,
        "optimizer": model.optimizer.get_config() if compiled else None,
        "metrics": [metrics.saved(name, m, model.network.loss) for name, m in model.metrics]
        if compiled
        else None,
        "precision": model.precision,
        "name": model.name,
        "layer_names": [layer.name for layer in model.own_layers],
        "frozen_layers": [i for i, layer in enumerate(model.own_layers) if not layer.trainable],
    }
    if model.example_shape is not None and model.input_dim is None:
        config["input_shape"] = list(model.example_shape)
    return config


def freeze_layers(layers, config: dict) -> None:
    """Set ``trainable`` False on the layers ``config["frozen_layers"]`` lists (indices)."""
    frozen = config.get("frozen_layers") or []
    if not isinstance(frozen, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(layers) for i in frozen
    ):
        raise ValueError(
            f"frozen_layers: expected a list of layer indices from 0 to {len(layers) - 1}; "
            f"got {frozen!r}"
        )
    for i in frozen:
        layers[i].trainable = False


def get_state(model) -> dict:
    """Everything needed to resume: config, weights, optimizer state, epoch, shuffle rng."""
    return {
        "config": model.get_config(),
        "weights": model.get_weights(),
        "optimizer_state": model.variables.host_state(),
        "has_optimizer_state": model.variables.opt_state is not None,
        "epoch": model.epoch,
        "rng_state": model.rng.bit_generator.state,
    }


def declared_input_shape(config: dict) -> tuple | None:
    """The per-example input shape ``config`` declares (None: the model was saved unbuilt;
    a functional model's: its inputs' shapes, a tuple of them for several)."""
    if config.get("functional") is not None:
        shapes = [check_shape(i["shape"], "inputs shape") for i in config["functional"]["inputs"]]
        return shapes[0] if len(shapes) == 1 else tuple(shapes)
    for key in ("input_dim", "input_shape"):
        if config.get(key) is not None:
            return check_shape(config[key], key)
    return None


def state_shapes(model, state: dict) -> tuple[list, list]:
    """The shapes of the weights and of the optimizer state that ``state["config"]``
    declares, for ``model`` (compiled from that config, not built): they are checked
    against the stored arrays' headers before any array is read. Draws nothing."""
    shape = declared_input_shape(state["config"])
    if shape is None:
        return [], []
    weights = model.graph.weight_shapes(shape)  # a shape a layer cannot take raises here
    model.graph.build(shape)  # shapes only: which weights are trainable
    if not state["has_optimizer_state"]:
        return weights, []
    return weights, model.optimizer.state_shapes(list(model.graph.trainable(weights)))


def restore(model, state: dict) -> None:
    """Put ``state``'s weights, optimizer state, epoch and generator into ``model`` (compiled
    from ``state["config"]``, not built: the stored weights build it, nothing is drawn),
    checking the optimizer state as strictly as the optimizer checks its arguments."""
    shape = declared_input_shape(state["config"])
    if model.example_shape is None and shape is not None:
        model.graph.build(shape)
        model.example_shape = shape
    if model.example_shape is not None or state["weights"]:  # an unbuilt model has none
        model.set_weights(state["weights"])
    if state["has_optimizer_state"]:
        trainable = model.graph.trainable([w.shape for w in state["weights"]])
        expected = model.optimizer.state_shapes(list(trainable))
        shapes = [s.shape for s in state["optimizer_state"]]
        if shapes != expected:
            raise ValueError(
                f"optimizer.npz: expected shapes {expected} for {model.optimizer!r}; got {shapes}"
            )
        check_optimizer_state(model, state["optimizer_state"])
        model.variables.set_state(state["optimizer_state"])
    elif state["optimizer_state"]:
        raise ValueError("optimizer.npz: expected no arrays (has_optimizer_state is false)")
    model.epoch = int(state["epoch"])
    model.rng.bit_generator.state = state["rng_state"]


def check_optimizer_state(model, arrays) -> None:
    """Refuse optimizer state that no training makes (layout: :mod:`arraynet.optimizers`):
    a step count outside [0, 2**31), a learning rate below 0, NaN or infinite, any slot
    value NaN or infinite; under mixed float16, a loss scale that is not a finite number
    > 0 or a count of finite steps that is not a whole number >= 0."""
    count, lr = arrays[0], float(arrays[1])
    if not 0 <= int(count) < 2**31:
        raise ValueError(
            f"optimizer.npz: s0 (the step count): expected an integer from 0 to 2**31 - 1; "
            f"got {int(count)}"
        )
    if not (math.isfinite(lr) and lr >= 0):
        raise ValueError(
            f"optimizer.npz: s1 (the learning rate): expected a finite number >= 0; got {lr}"
        )
    for i, array in enumerate(arrays[2:], start=2):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise ValueError(
                f"optimizer.npz: s{i}: expected finite numbers; got {bad} NaN or infinite"
            )
    if model.precision == "mixed_float16":
        scale, good = float(arrays[-2]), float(arrays[-1])
        last = len(arrays) - 1
        if not scale > 0:
            raise ValueError(
                f"optimizer.npz: s{last - 1} (the loss scale): expected a number > 0; got {scale}"
            )
        if not (good >= 0 and good == int(good)):
            raise ValueError(
                f"optimizer.npz: s{last} (finite steps since the loss scale changed): "
                f"expected a whole number >= 0; got {good}"
            )
