"""Loss and metrics of a model on data already on a backend, batch by batch."""

from __future__ import annotations

import numpy as np
from array_api_compat import device as device_of

from ..backend import to_numpy
from ..backend.mesh import awaited, one_program_at_a_time, process_batches
from ..callbacks import step_progress
from ..train.step import weighted
from ..validation import check_count


def scores_of(model, backend, X, Y, batch_size=None, verbose=0, sample_weight=None) -> list:
    """Loss and metrics on ``(X, Y)`` (already on ``backend``; the loss weighted by
    ``sample_weight``, on it too, if given) as device scalars: the loss the batches' means
    weighted by their rows, each metric's state added over the batches (``init``,
    ``update``, ``result``: over all rows; a progress bar over them with ``verbose``)."""
    xp, weights = backend.xp, model.variables.on(backend)
    network, metrics = model.network.on(backend), tuple(f for _, f in model.metrics)
    add, finish = _add_batch, _finish
    if one_program_at_a_time(backend):
        add, finish = awaited(_add_batch, 4), awaited(_finish, 2)
    batches, read = row_batches((X, Y, sample_weight), batch_size)
    total = None  # the loss, summed over the rows, and each metric's state
    for a, b in step_progress(batches, verbose):
        total = add(network, metrics, xp, backend.float_dtype, weights, *read(a, b), b - a, total)
    return finish(metrics, xp, total, batches[-1][1])


def predictions_of(model, backend, X, batch_size=None, verbose=0) -> np.ndarray:
    """The network's output for ``X`` (already on ``backend``) as a host NumPy array,
    ``batch_size`` rows at a time (over several processes: this process's rows)."""
    weights, network = model.variables.on(backend), model.network.on(backend)
    predict = awaited(_predict, 2) if one_program_at_a_time(backend) else _predict
    batches, read = row_batches((X,), batch_size)
    outputs = [
        to_numpy(predict(network, backend.xp, weights, *read(a, b)))
        for a, b in step_progress(batches, verbose)
    ]
    return np.concatenate(outputs, axis=0)


def _predict(network, xp, weights, X):
    return network.predict(xp, weights, X)


def _add_batch(network, metrics, xp, dtype, weights, X, Y, W, rows, total):
    """``total`` (None before the first batch) with this batch's loss times its ``rows`` and
    each metric's contribution added (metric states in the float ``dtype``)."""
    loss, P = (network if W is None else weighted(network, W)).loss_value(xp, weights, X, Y)
    parts = [f.batch(xp, P, Y) for f in metrics]
    if total is None:  # made where the first contribution is (a mesh: there)
        total = (0.0, [f.init(xp, dtype, device_of(p[0])) for f, p in zip(metrics, parts)])
    summed, states = total
    return summed + loss * rows, [f.update(xp, s, p) for f, s, p in zip(metrics, states, parts)]


def _finish(metrics, xp, total, rows):
    """``[loss, *metrics]`` from the totals over ``rows`` rows."""
    summed, states = total
    return [summed / rows, *(f.result(xp, s) for f, s in zip(metrics, states))]


def spans(n: int, batch_size):
    """``(start, stop)`` of each batch of ``batch_size`` rows (None: all at once)."""
    size = n if batch_size is None else check_count(batch_size, "batch_size", minimum=1)
    for start in range(0, n, size):
        yield start, min(start + size, n)


def row_batches(arrays, batch_size):
    """``(spans, read)``: the batches of ``batch_size`` rows of ``arrays`` (of as many rows;
    None stays None) and ``read(a, b)``, one batch of each. Over several processes (the
    arrays split over them, a batch size given) the spans cut this process's rows and a
    batch joins every process's rows there, so its output's rows here are this process's
    (``backend.mesh.process_batches``)."""
    X = arrays[0]
    if batch_size is None or getattr(X, "is_fully_addressable", True):
        n = X.shape[0]
        return list(spans(n, batch_size)), lambda a, b: tuple(
            None if A is None else A if (a, b) == (0, n) else A[a:b, ...] for A in arrays
        )
    rows, size, read = process_batches(arrays, check_count(batch_size, "batch_size", minimum=1))
    return list(spans(rows, size)), read
