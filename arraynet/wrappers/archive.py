"""A fitted model as arraynet's own archive bytes (``arraynet.io``), for pickling: no backend
array is ever pickled, and the model comes back on the backend selected when it is used."""

from __future__ import annotations

import copy
import os
import tempfile

from ..models import Model, load


class ModelArchive:
    """The bytes of one model file (what ``model.save`` writes), standing in for the model
    inside a pickled estimator; a model with no weights yet is kept as its class and config
    (JSON data)."""

    def __init__(self, data: bytes | None, kind=None, config: dict | None = None):
        self.data, self.kind, self.config = data, kind, config

    @classmethod
    def of(cls, model: Model) -> ModelArchive:
        if not model.built:
            return cls(None, type(model), model.get_config())
        with tempfile.TemporaryDirectory(prefix="arraynet-") as folder:
            path = os.path.join(folder, "model.arraynet")
            model.save(path)
            with open(path, "rb") as f:
                return cls(f.read())

    def load(self) -> Model:
        """The model again (verified in full by ``arraynet.load``)."""
        if self.data is None:
            return self.kind.from_config(self.config)
        with tempfile.TemporaryDirectory(prefix="arraynet-") as folder:
            path = os.path.join(folder, "model.arraynet")
            with open(path, "wb") as f:
                f.write(self.data)
            return load(path)


def copy_model(model: Model) -> Model:
    """A copy of ``model`` (weights, optimizer state, generator) through its state, as
    ``copy.deepcopy`` makes one (no file written: ``clone`` runs it for every fit)."""
    return copy.deepcopy(model)


def pack(state: dict, keys=("model", "model_")) -> dict:
    """``state`` (an estimator's ``__dict__``) with its models as archives."""
    return {
        key: ModelArchive.of(value) if key in keys and isinstance(value, Model) else value
        for key, value in state.items()
    }


def unpack(state: dict) -> dict:
    """``state`` with its archives loaded back into models."""
    return {
        key: value.load() if isinstance(value, ModelArchive) else value
        for key, value in state.items()
    }
