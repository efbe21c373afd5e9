"""Data in: checking inputs and targets, moving them to the backend, and the batch plan."""

from __future__ import annotations

import numpy as np
from array_api_compat import device

from ..backend import Backend, host_array, library_of, same_device
from ..backend.mesh import data_on
from ..validation import check_choice, check_count, check_numeric, fits

MODES = ("full", "minibatch", "stochastic")


def batch_size_for(mode: str, n: int, batch_size) -> int:
    """Rows per update: all of them ("full"), one ("stochastic") or ``batch_size`` (None:
    32, as in Keras)."""
    check_choice(mode, "mode", MODES)
    size = check_count(32 if batch_size is None else batch_size, "batch_size", minimum=1)
    return {"full": n, "stochastic": 1, "minibatch": min(size, n)}[mode]


def to_host(a, argument: str) -> np.ndarray:
    """A host NumPy view of lists, NumPy arrays or any backend's arrays, checked to be numeric."""
    if type(a).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{argument}: expected a dense array; got a sparse {type(a).__name__} "
            "(call .toarray() first)"
        )
    if isinstance(a, np.ma.MaskedArray):
        masked = int(np.ma.count_masked(a))
        if masked:
            raise TypeError(
                f"{argument}: expected an array without masked entries; got {masked} masked "
                "(fill them with .filled(value) or drop those rows)"
            )
        a = a.data
    try:
        host = host_array(a)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{argument}: expected a rectangular array of numbers; got {err}") from err
    return check_numeric(host, argument)


def same_library(**arrays) -> None:
    """Refuse arrays of two different array libraries (NumPy and lists go with any): moving
    one silently to the other's device would hide a mistake."""
    libraries = {name: library_of(a) for name, a in arrays.items() if a is not None}
    found = {lib for lib in libraries.values() if lib not in (None, "numpy")}
    if len(found) > 1:
        got = ", ".join(f"{name} from {lib}" for name, lib in libraries.items() if lib)
        raise ValueError(f"{', '.join(arrays)}: expected arrays of one library; got {got}")


def _check_on_device(backend: Backend, a, argument: str):
    xp = backend.xp
    if not same_device(device(a), backend.device):
        raise ValueError(
            f"{argument}: expected an array on device {backend.device}, the selected one; got "
            f"device {device(a)} (move it there, or select it with arraynet.use(..., device=))"
        )
    if not xp.isdtype(a.dtype, ("bool", "integral", "real floating")):
        raise TypeError(f"{argument}: expected real numbers; got dtype {a.dtype}")
    if xp.isdtype(a.dtype, "real floating") and not bool(xp.all(xp.isfinite(a))):
        raise ValueError(f"{argument}: expected finite numbers; got NaN or inf values")
    return a


def inputs(backend: Backend, X, input_shape: tuple | None, argument: str = "X"):
    """``X`` as a float array ``(rows, *input_shape)`` on ``backend``, checked; ``input_shape``
    None means any per-example shape. ``argument`` is the name errors give it."""
    native = backend.owns(X) and not isinstance(X, np.ndarray)  # NumPy input: host checks
    if native:
        X = _check_on_device(backend, backend.detached(X), argument)
        shape = tuple(X.shape)
    else:
        X = to_host(X, argument)
        shape = X.shape
    _check_input_shape(shape, input_shape, argument)
    if native:
        return _native_float(backend, X, argument)
    return data_on(backend, fits_dtype(X, backend, argument), argument=argument)


def _check_input_shape(shape: tuple, input_shape: tuple | None, argument: str) -> None:
    if input_shape is None or len(input_shape) == 1:
        if len(shape) != 2 and (input_shape is not None or len(shape) < 2):
            raise ValueError(
                f"{argument}: expected a 2-D array (rows, features); got shape {shape}"
            )
    elif len(shape) != len(input_shape) + 1:
        raise ValueError(
            f"{argument}: expected shape (rows, {', '.join(map(str, input_shape))}); "
            f"got shape {shape}"
        )
    if min(shape) < 1:
        raise ValueError(f"{argument}: expected at least 1 row and 1 feature; got shape {shape}")
    if input_shape is not None and not fits(shape[1:], tuple(input_shape)):
        if len(input_shape) == 1:
            raise ValueError(
                f"{argument}: expected {input_shape[0]} features per row; got shape {shape}"
            )
        raise ValueError(
            f"{argument}: expected shape (rows, {', '.join(map(str, input_shape))}); "
            f"got shape {shape}"
        )


def targets(backend: Backend, y, rows: int, output_shape, loss, names=("X", "y")) -> object:
    """``y`` as a ``(rows, *output_shape)`` float array on ``backend``; integer labels become
    one-hot (for a 1-D output).

    Arrays already on the backend are checked and encoded there, without a trip to the host.
    ``names``: what errors call the inputs and ``y``.
    """
    x_name, argument = names
    if y is None:
        raise TypeError(f"{argument}: expected targets for the {rows} rows of {x_name}; got None")
    native = backend.owns(y) and not isinstance(y, np.ndarray)
    xp, dtype = (backend.xp, backend.float_dtype) if native else (np, np.float64)
    Y = _check_on_device(backend, backend.detached(y), argument) if native else to_host(y, argument)
    output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
    units = output_shape[0] if len(output_shape) == 1 else None
    column = Y.ndim == 1 or (Y.ndim == 2 and Y.shape[1] == 1)
    if (
        loss.accepts_labels and units is not None and units > 1 and column
    ):  # class labels, (n,) or (n, 1) as Keras
        Y = _one_hot(xp, _labels(xp, xp.reshape(Y, (-1,)), argument), units, dtype, argument)
    elif Y.ndim == 1 and units == 1:
        Y = xp.reshape(Y, (-1, 1))
    if xp.isdtype(Y.dtype, "bool"):
        Y = xp.astype(Y, dtype)  # 0 and 1 (the standard has no min or max of bools)
    if tuple(Y.shape[1:]) != output_shape:
        expected = ", ".join(map(str, (rows, *output_shape)))
        raise ValueError(f"{argument}: expected shape ({expected}); got shape {tuple(Y.shape)}")
    if Y.shape[0] != rows:
        raise ValueError(f"{argument}: expected {rows} rows, as in {x_name}; got {Y.shape[0]}")
    _check_kind(xp, Y, loss, dtype, argument)
    if native:
        return _native_float(backend, Y, argument)
    return data_on(backend, fits_dtype(Y, backend, argument), argument=argument)


def _check_kind(xp, Y, loss, dtype, argument="y") -> None:
    """Cross-entropy targets must be probabilities; categorical ones, rows summing to 1."""
    if loss.targets == "values":
        return
    low, high = float(xp.min(Y)), float(xp.max(Y))
    if low < 0 or high > 1:
        raise ValueError(
            f"{argument}: expected targets in [0, 1] for {loss.name}; "
            f"got values from {low} to {high}"
        )
    if loss.targets == "distributions":
        sums = xp.sum(xp.astype(Y, dtype), axis=-1)
        spacing = 1e-6  # float16 rows sum to 1 within its own spacing, about 1e-3
        if xp.isdtype(Y.dtype, "real floating"):
            spacing = max(spacing, float(xp.finfo(Y.dtype).eps))
        if not bool(xp.all(xp.abs(sums - 1.0) <= spacing * Y.shape[-1])):
            raise ValueError(
                f"{argument}: expected one-hot rows (or probabilities summing to 1) "
                f"for {loss.name}; "
                f"got row sums from {float(xp.min(sums))} to {float(xp.max(sums))}"
            )


def _native_float(backend: Backend, a, argument: str):
    """A backend array in the backend's float dtype, refusing values that overflow it (a
    float64 array cast to float32)."""
    xp = backend.xp
    cast = xp.astype(a, backend.float_dtype)
    narrowed = cast.dtype != a.dtype and xp.isdtype(a.dtype, "real floating")
    if narrowed and not bool(xp.all(xp.isfinite(cast))):
        raise ValueError(
            f"{argument}: expected values that fit {backend.dtype}; got values up to "
            f"{float(xp.max(xp.abs(a)))} that overflow it"
        )
    return cast


def fits_dtype(host: np.ndarray, backend: Backend, argument: str) -> np.ndarray:
    """``host`` in the backend's float dtype, refusing values that overflow it."""
    with np.errstate(over="ignore"):
        cast = host.astype(backend.dtype, copy=False)
    if cast.dtype.kind == "f" and not np.all(np.isfinite(cast)):
        raise ValueError(
            f"{argument}: expected values that fit {backend.dtype}; got values up to "
            f"{np.max(np.abs(host))} that overflow it"
        )
    return cast


def _labels(xp, y, argument: str):
    """Class labels from integers, bools or whole-number floats (as pandas often gives)."""
    if xp.isdtype(y.dtype, "bool"):
        return xp.astype(y, xp.int32)
    if xp.isdtype(y.dtype, "real floating") and not bool(xp.all(y == xp.floor(y))):
        raise ValueError(
            f"{argument}: expected integer class labels (or one-hot rows); got values that "
            "are not whole numbers"
        )
    return y


def _one_hot(xp, labels, classes: int, dtype, argument="y"):
    low, high = int(xp.min(labels)), int(xp.max(labels))
    if low < 0 or high >= classes:
        raise ValueError(
            f"{argument}: expected integer labels in [0, {classes}); "
            f"got values from {low} to {high}"
        )
    labels = xp.astype(labels, xp.int32)  # in range: uint8 could not count 300 classes
    columns = xp.arange(classes, dtype=xp.int32, device=device(labels))
    return xp.astype(labels[:, None] == columns, dtype)


def convert_checked(backend: Backend, X, y, output_shape, loss):
    """``(X, Y)`` on ``backend`` from host arrays that :func:`inputs` and :func:`targets` have
    already accepted (a streamed chunk, checked in the pass before training): the same
    conversion, without the checks' passes over the data."""
    dtype = backend.dtype
    X = data_on(backend, np.asarray(X, dtype=dtype))  # on a mesh: split by rows
    Y = np.asarray(y)
    units = output_shape[0] if len(output_shape) == 1 else None
    column = Y.ndim == 1 or (Y.ndim == 2 and Y.shape[1] == 1)
    if loss.accepts_labels and units is not None and units > 1 and column:
        labels = Y.reshape(-1).astype(np.int64)
        Y = labels[:, None] == np.arange(units)
    elif Y.ndim == 1 and units == 1:
        Y = Y.reshape(-1, 1)
    return X, data_on(backend, np.asarray(Y, dtype=dtype), argument="y")
