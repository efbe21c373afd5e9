"""``arraynet.save`` and ``arraynet.load``: a model to its state dict to a file, and back."""

from __future__ import annotations

from . import config as model_config
from .keras_files import is_keras_file, load_keras
from .sequential import Sequential


def save(model, path) -> None:
    """Write ``model`` (architecture, weights, optimizer state, epoch, generator) to ``path``
    in the format of :mod:`arraynet.io`, atomically."""
    model.save(path)


def load(path) -> Sequential:
    """The model saved at ``path`` by :func:`save`, verified in full; raises
    :class:`~arraynet.io.ModelFileError` naming the path and the problem.

    Bounded: the shapes the config declares are checked against the stored arrays'
    headers before any array is read, and the model is built from the stored weights (no
    initial weights are drawn)."""
    return model_config.read_model(path)


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Keras's ``load_model``: :func:`load` (arraynet's files; never unpickles, so
    ``safe_mode`` changes nothing), or Keras 3's own ``.keras`` files (``keras_files.py``:
    architecture and weights, not compiled). An arraynet model comes back as it was saved,
    compiled or not (``compile=False`` leaves a compiled one compiled: ``model.compile``
    again replaces it). Layers are rebuilt from arraynet's registry, so ``custom_objects``
    is refused."""
    if custom_objects:
        raise ValueError(
            "custom_objects: arraynet rebuilds layers from its own registry "
            "(arraynet.layers.LAYERS); custom objects cannot be loaded"
        )
    if is_keras_file(filepath):
        return load_keras(filepath)
    return load(filepath)


def save_model(model, filepath, overwrite: bool = True, **kwargs) -> None:
    """Keras's ``save_model``: ``model.save(filepath, overwrite)``."""
    if kwargs.pop("zipped", True) is not True or kwargs:
        raise ValueError(f"save_model: unsupported arguments {sorted(kwargs) or ['zipped']}")
    model.save(filepath, overwrite=overwrite)
