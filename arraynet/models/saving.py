"""``arraynet.save`` and ``arraynet.load``: a model to its state dict to a file, and back."""

from __future__ import annotations

import os

from .. import io
from .sequential import Sequential


def save(model, path) -> None:
    """Write ``model`` (architecture, weights, optimizer state, epoch, generator) to ``path``
    in the format of :mod:`arraynet.io`, atomically."""
    model.save(path)


def load(path) -> Sequential:
    """The model saved at ``path`` by :func:`save`, verified in full; raises
    :class:`~arraynet.io.ModelFileError` naming the path and the problem."""
    state = io.read_state(path)
    with io.file_errors(os.fsdecode(path), "inconsistent model state"):
        return Sequential.from_state(state)
