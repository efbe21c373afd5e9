"""Models: ``Model`` over a graph of layers, ``Sequential`` (the chain case), their config
and state (``state``), summary and saving."""

from .model import Model
from .saving import load, save
from .sequential import Sequential

__all__ = ["Model", "Sequential", "load", "save"]
