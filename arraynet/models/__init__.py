"""Models: ``Model`` over a graph of layers, ``Sequential`` (the chain case), their config
and state (``state``), summary and saving (``load``/``save``, Keras's ``load_model``/
``save_model``)."""

from .functional import Functional
from .keras_files import load_keras
from .model import Model
from .saving import load, load_model, save, save_model
from .sequential import Sequential

__all__ = [
    "Functional",
    "Model",
    "Sequential",
    "load",
    "load_keras",
    "load_model",
    "save",
    "save_model",
]
