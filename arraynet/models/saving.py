"""``arraynet.save`` and ``arraynet.load``: a model to its state dict to a file, and back."""

from __future__ import annotations

import os

from .. import io
from . import config as model_config
from .sequential import Sequential


def save(model, path) -> None:
    """Write ``model`` (architecture, weights, optimizer state, epoch, generator) to ``path``
    in the format of :mod:`arraynet.io`, atomically."""
    model.save(path)


def model_class(config: dict) -> type:
    """The class whose ``from_config`` reads ``config``: functional or sequential."""
    if isinstance(config, dict) and config.get("functional") is not None:
        from .functional import Functional

        return Functional
    return Sequential


def load(path) -> Sequential:
    """The model saved at ``path`` by :func:`save`, verified in full; raises
    :class:`~arraynet.io.ModelFileError` naming the path and the problem.

    Bounded: the shapes the config declares are checked against the stored arrays'
    headers before any array is read, and the model is built from the stored weights (no
    initial weights are drawn)."""
    models = []

    def expect(state):  # the model config.json describes, unbuilt, and the shapes it declares
        models.append(model_class(state["config"]).from_config(state["config"], build=False))
        return model_config.state_shapes(models[-1], state)

    state = io.read_state(path, expect)
    with io.file_errors(os.fsdecode(path), "inconsistent model state"):
        model_config.restore(models[-1], state)
        return models[-1]


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Keras's ``load_model``: :func:`load` (arraynet's files; never unpickles, so
    ``safe_mode`` changes nothing). The model comes back as it was saved, compiled or not
    (``compile=False`` leaves a compiled one compiled: ``model.compile`` again replaces
    it). Layers are rebuilt from arraynet's registry, so ``custom_objects`` is refused."""
    if custom_objects:
        raise ValueError(
            "custom_objects: arraynet rebuilds layers from its own registry "
            "(arraynet.layers.LAYERS); custom objects cannot be loaded"
        )
    return load(filepath)


def save_model(model, filepath, overwrite: bool = True, **kwargs) -> None:
    """Keras's ``save_model``: ``model.save(filepath, overwrite)``."""
    if kwargs.pop("zipped", True) is not True or kwargs:
        raise ValueError(f"save_model: unsupported arguments {sorted(kwargs) or ['zipped']}")
    model.save(filepath, overwrite=overwrite)
