"""Data in: a call's inputs and targets checked and converted in one place, then handed on
as a feed (in memory on the device, or streamed chunks; see ``sources``)."""

from __future__ import annotations

import math

import numpy as np

from ..backend import numpy_backend
from ..backend.mesh import data_on, process_devices, process_rows
from . import checks, sources, weights

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
        rows = process_rows(X)  # this process's rows, where X is split over several
        return X, checks.targets(backend, y, rows, output_shape, self.loss, names)

    def feed(self, backend, X, y, chunk_rows, validation_data, split, sample_weight=None,
             class_weight=None):  # fmt: skip
        """``(feed, input_shape)``: the training data, all of it checked before the model is
        built from its shape; the rows' weights from ``sample_weight`` or ``class_weight``
        (None: unweighted)."""
        weights.refuse_both(sample_weight, class_weight)
        table = weights.class_table(class_weight)
        source = sources.chunked(X, y, chunk_rows, sample_weight)
        if source is None and split and validation_data is None and process_devices(backend):
            X, y, sample_weight, validation_data = own_hold_out(
                backend, X, y, split, sample_weight, keep=table is None
            )
            split = 0
        if source is None:
            X, Y = self.arrays(backend, X, y)
            shape = tuple(X.shape[1:])
            W = weights.sample_weights(sample_weight, process_rows(X))
            if table is not None:
                W = weights.class_weights(table, Y)
            if validation_data is not None:
                validation = self.validation(backend, validation_data, shape)
            else:
                X, Y, W, validation = hold_out(X, Y, split, W, keep=table is None)
                validation = validation and self._weighted(backend, *validation)
            return sources.InMemory(X, Y, validation, self._on(backend, W)), shape
        if split:
            raise ValueError(
                f"validation_split: expected 0 when streaming chunks (pass validation_data); "
                f"got {split}"
            )
        shape = self._check_chunks(source, backend.dtype)
        validation = None
        if validation_data is not None:
            validation = self.validation(backend, validation_data, shape)

        def load(X, y, W):
            if table is not None:
                W = weights.class_weights(table, y)
            return (*self._chunk(backend, X, y), self._on(backend, W))

        return sources.Stream(source, load, validation), shape

    def weights(self, backend, sample_weight, rows: int, argument="sample_weight"):
        """``sample_weight`` checked (``(rows,)``, finite, >= 0) and on ``backend``; None
        stays None."""
        return self._on(backend, weights.sample_weights(sample_weight, rows, argument), argument)

    def _on(self, backend, W, argument="sample_weight"):
        """Host weights (or None) on ``backend``, in its float dtype."""
        if W is None:
            return None
        return data_on(backend, checks.fits_dtype(W, backend, argument), argument=argument)

    def _weighted(self, backend, X, Y, W):
        return X, Y, self._on(backend, W)

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
        """``validation_data`` as ``(X_val, Y_val, W_val)`` on ``backend`` (``W_val`` None
        where it is a pair or its weights are None)."""
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data: expected a pair (X_val, y_val) or a triple (X_val, y_val, "
                f"sample_weight_val); got {validation_data!r}"
            )
        names = ("validation_data[0]", "validation_data[1]")
        X, Y = self.arrays(backend, *validation_data[:2], input_shape=input_shape, names=names)
        given = validation_data[2] if len(validation_data) == 3 else None
        W = weights.sample_weights(given, process_rows(X), "validation_data[2]")
        return X, Y, self._on(backend, W, "validation_data[2]")


def own_hold_out(backend, X, y, split: float, sample_weight, keep: bool):
    """Over several processes each holds out its own last rows (as Keras's ``fit`` does
    with the rows each process is given), before they join the mesh; the cut is rounded
    down to a multiple of this process's devices, so both sides split over them."""
    n = len(_first(X))
    W = weights.sample_weights(sample_weight, n)
    rows = np.arange(n)
    train, _, W, (_, _, W_held) = hold_out(rows, rows, split, W, keep, process_devices(backend))
    first, last = slice(None, len(train)), slice(len(train), None)
    return (_rows(X, first), _rows(y, first), W,
            (_rows(X, last), _rows(y, last), W_held))  # fmt: skip


def _several(data) -> bool:
    """Whether ``data`` is a list or dict of arrays (a model's several inputs or outputs)."""
    if isinstance(data, dict):
        return True
    return isinstance(data, (list, tuple)) and bool(data) and all(hasattr(a, "shape") for a in data)


def _first(data):
    """The first array of ``data`` (one array, or several)."""
    if not _several(data):
        return np.asarray(data)
    return _first(next(iter(data.values())) if isinstance(data, dict) else data[0])


def _rows(data, rows: slice):
    """``data`` (one array, or several) cut to ``rows`` on the host."""
    if isinstance(data, dict):
        return {k: _rows(v, rows) for k, v in data.items()}
    if _several(data):
        return type(data)(np.asarray(a)[rows] for a in data)
    return np.asarray(data)[rows]


def hold_out(X, Y, split: float, W=None, keep: bool = True, multiple: int = 1):
    """``(X, Y, W, (X_val, Y_val, W_val) or None)``: the last rows held out for validation,
    as Keras does (training on the first ``floor(n * (1 - split))``, rounded down to a
    multiple of ``multiple``); host weights ``W`` split alike (``keep`` False: the held-out
    rows unweighted, as class weights are not applied to validation data)."""
    if not split:
        return X, Y, W, None
    n = X.shape[0]
    cut = math.floor(n * (1.0 - split)) // multiple * multiple
    if cut < 1 or cut == n:
        raise ValueError(
            f"validation_split: expected a share leaving rows on both sides of {n} rows; "
            f"got {split}"
        )
    held = None if W is None or not keep else W[cut:]
    W = None if W is None else W[:cut]
    return X[:cut, ...], Y[:cut, ...], W, (X[cut:, ...], Y[cut:, ...], held)
