"""Data in: a call's inputs and targets checked and converted in one place, then handed on
as a feed (in memory on the device, or streamed chunks; see ``sources``)."""

from __future__ import annotations

import math

import numpy as np

from ..backend import numpy_backend
from . import checks, sources

NO_TARGETS = object()


class Intake:
    """What a model takes: inputs of ``input_shape`` (None before it is built: any), targets
    of ``output_shape_for(input_shape)``, checked for ``loss``; ``check_input(xp, X,
    argument)``, if given, may refuse the converted inputs' values (an Embedding's indices)."""

    def __init__(self, input_shape, output_shape_for, loss, check_input=None):
        self.input_shape, self.output_shape_for, self.loss = input_shape, output_shape_for, loss
        self.check_input = check_input

    def arrays(self, backend, X, y=NO_TARGETS, input_shape=None, names=("X", "y")):
        """``X`` and ``Y`` checked and on ``backend``, errors calling them ``names``. Before the
        model is built ``X`` must have ``input_shape`` (None: any)."""
        if y is not NO_TARGETS:
            checks.same_library(**dict(zip(names, (X, y))))
        X = checks.inputs(backend, X, self.input_shape or input_shape, names[0])
        if self.check_input is not None:
            self.check_input(backend.xp, X, names[0])
        if y is NO_TARGETS:
            return X, None
        output_shape = self.output_shape_for(tuple(X.shape[1:]))
        return X, checks.targets(backend, y, X.shape[0], output_shape, self.loss, names)

    def feed(self, backend, X, y, chunk_rows, validation_data, split):
        """``(feed, input_shape)``: the training data, all of it checked before the model is
        built from its shape."""
        source = sources.chunked(X, y, chunk_rows)
        if source is None:
            X, Y = self.arrays(backend, X, y)
            shape = tuple(X.shape[1:])
            if validation_data is not None:
                validation = self.validation(backend, validation_data, shape)
            else:
                X, Y, validation = hold_out(X, Y, split)
            return sources.InMemory(X, Y, validation), shape
        if split:
            raise ValueError(
                f"validation_split: expected 0 when streaming chunks (pass validation_data); "
                f"got {split}"
            )
        shape = self._check_chunks(source, backend.dtype)
        validation = None
        if validation_data is not None:
            validation = self.validation(backend, validation_data, shape)
        return sources.Stream(source, lambda X, y: self._chunk(backend, X, y), validation), shape

    def _check_chunks(self, source, dtype: str) -> tuple:
        """Every chunk checked (one pass, on the host) before training: their common shape."""
        shape = None
        for X_chunk, y_chunk in source.chunks():
            shape = tuple(self.arrays(numpy_backend(dtype), X_chunk, y_chunk, shape)[0].shape[1:])
        if shape is None:  # no chunk at all: a file of 0 rows
            raise ValueError(
                f"X: expected at least 1 row and 1 feature; got shape {tuple(source.X.shape)}"
            )
        return shape

    def _chunk(self, backend, X, y):
        """A streamed chunk on the device, copied beside the training still running. Host
        chunks were checked in the one pass before training: here they are only converted."""
        with backend.copy_stream():
            if isinstance(X, np.ndarray) and isinstance(y, np.ndarray):
                output_shape = self.output_shape_for(tuple(X.shape[1:]))
                return checks.convert_checked(backend, X, y, output_shape, self.loss)
            return self.arrays(backend, X, y)

    def validation(self, backend, validation_data, input_shape: tuple):
        """``validation_data`` as ``(X_val, Y_val)`` on ``backend``."""
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError(
                f"validation_data: expected a pair (X_val, y_val); got {validation_data!r}"
            )
        names = ("validation_data[0]", "validation_data[1]")
        return self.arrays(backend, *validation_data, input_shape=input_shape, names=names)


def hold_out(X, Y, split: float):
    """``(X, Y, (X_val, Y_val) or None)``: the last rows held out for validation, as Keras
    does (training on the first ``floor(n * (1 - split))``)."""
    if not split:
        return X, Y, None
    n = X.shape[0]
    cut = math.floor(n * (1.0 - split))
    if cut < 1 or cut == n:
        raise ValueError(
            f"validation_split: expected a share leaving rows on both sides of {n} rows; "
            f"got {split}"
        )
    return X[:cut, ...], Y[:cut, ...], (X[cut:, ...], Y[cut:, ...])
