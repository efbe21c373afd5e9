"""Loss and metrics of a model on data already on a backend, batch by batch."""

from __future__ import annotations

from array_api_compat import device as device_of

from ..backend.mesh import process_batches
from ..callbacks import step_progress
from ..train.step import weighted
from ..validation import check_count


def scores_of(model, backend, X, Y, batch_size=None, verbose=0, sample_weight=None) -> list:
    """Loss and metrics on ``(X, Y)`` (already on ``backend``; the loss weighted by
    ``sample_weight``, on it too, if given) as device scalars: the loss the batches' means
    weighted by their rows, each metric's state added over the batches (``init``,
    ``update``, ``result``: over all rows; a progress bar over them with ``verbose``)."""
    xp, weights, n = backend.xp, model.variables.on(backend), X.shape[0]
    network = model.network.on(backend)
    metrics = [f for _, f in model.metrics]
    states = [None] * len(metrics)  # made where the first contribution is (a mesh: there)
    losses = []  # each batch's loss times its rows
    for a, b in step_progress(spans(n, batch_size), verbose):
        net = network
        if sample_weight is not None:
            net = weighted(network, sample_weight[a:b])
        Y_batch = Y[a:b, ...]
        loss, P = net.loss_value(xp, weights, X[a:b, ...], Y_batch)
        losses.append(loss * (b - a))
        for k, f in enumerate(metrics):
            part = f.batch(xp, P, Y_batch)
            if states[k] is None:
                states[k] = f.init(xp, backend.float_dtype, device_of(part[0]))
            states[k] = f.update(xp, states[k], part)
    return [sum(losses) / n, *(f.result(xp, s) for f, s in zip(metrics, states))]


def spans(n: int, batch_size):
    """``(start, stop)`` of each batch of ``batch_size`` rows (None: all at once)."""
    size = n if batch_size is None else check_count(batch_size, "batch_size", minimum=1)
    for start in range(0, n, size):
        yield start, min(start + size, n)


def row_batches(X, batch_size):
    """``(spans, read)``: the batches of ``batch_size`` rows of ``X`` and ``read(a, b)``, one
    of them. Over several processes (``X`` split over them, a batch size given) the spans
    cut this process's rows and a batch joins every process's rows there, so its output's
    rows here are this process's (``backend.mesh.process_batches``)."""
    if batch_size is None or getattr(X, "is_fully_addressable", True):
        return list(spans(X.shape[0], batch_size)), lambda a, b: X[a:b, ...]
    rows, size, read = process_batches(X, check_count(batch_size, "batch_size", minimum=1))
    return list(spans(rows, size)), read
