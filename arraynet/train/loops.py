"""The loop strategies that run the pure step (``train/step.py``) over epochs.

A runner trains ``epochs`` epochs in one call:

    run(params, state, X, Y, orders, masks, epochs, plan=None, W=None)
        -> (params, state, means, failed)

``orders`` is None (dataset order) or an (epochs, n) array of row permutations, ``masks``
one (epochs, n, ...) array per noise-drawing node (dropout masks), host (NumPy) arrays that
the runner moves (or arrays already on the device), and ``means`` holds, per statistic, the
epoch means weighted by batch size (an array of at least ``epochs`` entries), or for a
streaming metric's state (``step.Scores``) the epoch sums (``(epochs, *shape)``). ``plan``
(:class:`Plan`) says how the fit will call the runner; only JAX's compiled programs use it.
``W``, if given, holds the rows' sample weights, batched (and reordered) like ``Y``.

Divergence guard: an update whose loss is not finite is not applied, nor any after it;
``failed`` is the index of that update in the call (-1 when all went through), so the
caller gets the weights from just before it. A weight can also overflow while the losses
stay finite (tanh saturates an infinite weight), so the runner checks the weights once
per call, inside the call (``failed`` is then ``NOT_FINITE``); the caller goes back to the
call's start and trains the call again with ``run.replay``, which checks the new weights
at every update (a reduction over every weight, too dear for every step: about 7 % on a
small JAX network). Where arrays live in host memory the loop checks each loss on the host
(free there); elsewhere the step checks on the device and selects the old weights, with no
read-back.

The loop strategy is where the step meets a backend by name: JAX compiles the epochs into
one call (``jax.jit``, a loop over epochs and in it one over batches); the other backends
run the same step eagerly. JAX's programs depend only on the math (``cache.py`` keys them
by the configs, not by the model) and on the batch size: the rows are padded to a bucket
(``padded_rows``), the numbers of rows and of epochs are values the program reads, and the
short last batch trains as a full-size batch whose extra rows weigh nothing (where the
layers keep rows apart, ``Layer.independent_rows``; else it is compiled by its size). Off
the host (JAX, CuPy, torch on a GPU) nothing is read back inside the call; in host memory
each loss is read as it comes, which costs no transfer. (Device choice, data generators and
the ``arraynet info`` command name libraries too, in ``backend/``, ``random.py``,
``datasets.py`` and ``cli.py``; the math never does.)
"""

from __future__ import annotations

import math
import operator
import weakref
from functools import partial, reduce
from typing import NamedTuple

import numpy as np

from ..backend import mesh as placement
from ..network import Network
from ..ops import all_finite
from .cache import COMPILED, compile_key
from .step import Scores, guard, make_step

NOT_FINITE = -2  # ``failed``: every loss was finite, a weight is not
ROWS_PER_CALL = 1 << 16  # epochs are grouped into calls of about this many rows


class Plan(NamedTuple):
    """How a fit calls its runner: ``grouped`` when several epochs go in one call (no
    callback needs each on time), ``rows`` the most rows a call gets (a stream's largest
    chunk). JAX compiles for them, so that every call of the fit runs the same program."""

    grouped: bool
    rows: int


def _gather(xp, X, Y, order, W=None):
    if order is None:
        return (X, Y) if W is None else (X, Y, W)
    taken = (xp.take(X, order, axis=0), xp.take(Y, order, axis=0))
    return taken if W is None else (*taken, xp.take(W, order, axis=0))


def _rows(arrays, start, stop):
    return tuple(a[start:stop, ...] for a in arrays)


def _epoch_slice(orders, masks, e):
    order = None if orders is None else orders[e, ...]
    return order, tuple(m[e, ...] for m in masks)


def _moved(backend, orders, masks):
    """Host orders and masks on ``backend`` (arrays already there pass through)."""
    if isinstance(orders, np.ndarray):
        orders = backend.asarray(orders, getattr(backend.xp, orders.dtype.name))
    masks = tuple(backend.asarray(m) if isinstance(m, np.ndarray) else m for m in masks)
    return orders, masks


def eager_epochs(
    backend, step, batch_size, on_batch=None, host_checks=True, weights=False, summed=()
):
    """Epochs as a Python loop over consecutive batches of the (reordered) data.

    ``on_batch``, if given, is called around each update: ``params, opt_state =
    on_batch.begin(index, size, params, opt_state)`` and likewise ``end``, so batch hooks see
    the weights so far and may change the state (a learning rate); no values are read back. With
    ``host_checks`` each loss is checked on the host (arrays in host memory: no transfer);
    else the step is guarded on the device (``weights``: the new weights too). ``summed``
    flags the statistics that are summed over the epoch (a streaming metric's state, kept
    on the device), not averaged by rows (``step.Scores``).
    """
    xp = backend.xp
    if not host_checks:
        guarded = guard(step, xp, weights)

    def epoch(params, opt_state, health, X, Y, order, masks, W):
        X, Y, *W = _gather(xp, X, Y, order, W)
        n = X.shape[0]
        full = n // batch_size
        rows = []  # each update's statistics
        for index, start in enumerate(range(0, n, batch_size)):
            stop = min(start + batch_size, n)
            if on_batch is not None:
                params, opt_state = on_batch.begin(index, stop - start, params, opt_state)
            X_batch, Y_batch = X[start:stop, ...], Y[start:stop, ...]
            mask_batch = _rows(masks, start, stop) if masks else ()
            W_batch = W[0][start:stop] if W else None
            if host_checks:  # read each value here: free in host memory, and it checks the loss
                new_params, new_state, stats = step(
                    params, opt_state, X_batch, Y_batch, mask_batch, W_batch
                )
                stats = [s if _flag(summed, k) else float(s) for k, s in enumerate(stats)]
                if not math.isfinite(stats[0]):
                    return params, opt_state, None, health
                params, opt_state, health = new_params, new_state, health + 1
            else:
                params, opt_state, alive, good, stats = guarded(
                    params, opt_state, *health, X_batch, Y_batch, mask_batch, W_batch
                )
                health = (alive, good)
            if index == full:  # the partial last batch, weighted by its share
                share = (stop - start) / batch_size
                stats = [s if _flag(summed, k) else s * share for k, s in enumerate(stats)]
            rows.append(stats)
            if on_batch is not None:
                params, opt_state = on_batch.end(index, stop - start, params, opt_state)
        totals = [
            reduce(operator.add, c) if _flag(summed, k) else sum(c) * batch_size / n
            for k, c in enumerate(zip(*rows))
        ]
        return params, opt_state, totals, health

    def run(params, opt_state, X, Y, orders, masks, epochs, plan=None, W=None):
        orders, masks = _moved(backend, orders, masks)
        health = 0 if host_checks else (xp.asarray(True), xp.asarray(0, dtype=xp.int32))
        means = []
        for e in range(epochs):
            order, epoch_masks = _epoch_slice(orders, masks, e)
            params, opt_state, stats, health = epoch(
                params, opt_state, health, X, Y, order, epoch_masks, W
            )
            if stats is None:  # a non-finite loss: stop before that update
                columns = _columns(xp, means, summed)
                return params, opt_state, columns, _host_failed(xp, health, params)
            means.append(stats)
        if host_checks:  # Python floats already (summed states stacked): one per statistic
            return params, opt_state, _columns(xp, means, summed), _host_failed(xp, -1, params)
        alive, good = health
        means = tuple(xp.stack(column) for column in zip(*means))
        return params, opt_state, means, _failed(xp, alive, good, params, weights)

    if not weights:  # the weights checked at every update, for ``run.replay``
        run.replay = eager_epochs(
            backend, step, batch_size, host_checks=False, weights=True, summed=summed
        )
    return run


def _flag(summed, k: int) -> bool:
    """Whether statistic ``k`` is summed (a streaming metric's state), not averaged."""
    return k < len(summed) and summed[k]


def _failed(xp, alive, good, params, checked: bool):
    """The call's ``failed`` on the device: -1, the failed update's index, or
    ``NOT_FINITE`` (every loss finite, a weight not: only where ``checked`` is False)."""
    failed = xp.where(alive, -1, good)
    if checked:
        return failed
    return xp.where(all_finite(xp, params), failed, NOT_FINITE)


def _host_failed(xp, failed: int, params) -> int:
    """``_failed`` for weights in host memory."""
    return failed if bool(all_finite(xp, params)) else NOT_FINITE


def _columns(xp, means, summed=()):
    """Per statistic, the list of the epochs' means, summed states stacked (None if no
    epoch ended)."""
    if not means:
        return None
    columns = zip(*means)
    return tuple(xp.stack(c) if _flag(summed, k) else list(c) for k, c in enumerate(columns))


def padded_rows(rows: int) -> int:
    """The rows a compiled program takes: the next power of two up to ``ROWS_PER_CALL``,
    above it the next multiple of an eighth of the next power of two (at most 12.5 %
    padding), so a program serves every row count of its bucket."""
    power = 1 << max(rows - 1, 0).bit_length()
    if power <= ROWS_PER_CALL:
        return power
    step = power >> 3
    return -(-rows // step) * step


def epochs_cap(padded: int) -> int:
    """The epochs a program's buffers hold for ``padded`` rows: as many as
    ``epochs_per_call`` gives any row count of the bucket."""
    return max(1, ROWS_PER_CALL // (padded // 2 + 1))


class ShortBatchLoss:
    """``loss`` on a batch of which the rows ``keep`` marks (``rows`` of them) are real:
    what the loss gives a batch of those rows alone. A loss is the mean of its rows' losses (the
    Loss protocol), so each row's loss is taken as a batch of one (``per_row``: ``jax.vmap``)
    and averaged over the real rows, and each real row's delta divided by ``rows``, the
    others' zero: the backward then gives the short batch's gradients. With sample weights
    ``W``, each real row's loss and delta are multiplied by its weight (Keras's reduction:
    still divided by ``rows``)."""

    def __init__(self, loss, rows, keep, per_row, W=None):
        self.loss, self.rows, self.keep, self.per_row = loss, rows, keep, per_row
        self.W = W
        self.fuses_with = loss.fuses_with

    def __getattr__(self, name):  # name, targets, ... as the loss's
        return getattr(self.loss, name)

    def __call__(self, xp, P, Y):
        return self._of(xp, lambda P, Y: self.loss(xp, P, Y), P, Y)

    def fused(self, xp, Z, A, Y):
        return self._of(xp, lambda Z, A, Y: self.loss.fused(xp, Z, A, Y), Z, A, Y)

    def _of(self, xp, loss, *arrays):
        values, deltas = self.per_row(loss)(*arrays)
        deltas = deltas[:, 0, ...]  # each row's (1, ...) delta
        keep = xp.reshape(self.keep, (-1,) + (1,) * (deltas.ndim - 1))
        rows = xp.astype(self.rows, deltas.dtype)
        if self.W is not None:
            values = values * xp.astype(self.W, values.dtype)
            deltas = deltas * xp.reshape(xp.astype(self.W, deltas.dtype), keep.shape)
        value = short_mean(xp, values, self.keep, self.rows)
        return value, xp.where(keep, deltas / rows, xp.zeros_like(deltas))


def short_mean(xp, values, keep, rows):
    """The mean of ``values`` over the rows ``keep`` marks (``rows`` of them)."""
    return xp.sum(xp.where(keep, values, xp.zeros_like(values))) / xp.astype(rows, values.dtype)


def jax_epochs(backend, network, optimizer, metrics, batch_size):
    """Epochs as one compiled call: a loop over the epochs (their number a value the program
    reads), in each the gather of the epoch's order and a loop over its batches. The data
    are padded to ``padded_rows`` (once per array pair), the orders and masks to the
    program's epochs and rows, so one program serves a bucket of row counts and any number
    of epochs. Where the layers keep rows apart every batch runs the step for ``size`` rows
    of which the first are real (all but in the short last batch: ``short_step``); else the
    full batches run the plain step and the short one is compiled by its size.
    ``run.step`` is the plain step alone, compiled, for batch callbacks."""
    import jax
    from jax import lax

    xp, size, floats = backend.xp, batch_size, backend.float_dtype
    step = make_step(network, optimizer, metrics, xp)
    scoring = Scores(metrics)
    summed, shapes = scoring.summed, scoring.shapes
    masked = all(layer.independent_rows for layer in network.layers)

    def per_row(function):
        return jax.vmap(lambda *rows: function(*(r[None, ...] for r in rows)))

    def short_step(keep, rows, W=None):
        """The step on ``size`` rows of which those ``keep`` marks (``rows`` of them) are
        real, weighted by ``W`` (None: unweighted)."""
        loss = ShortBatchLoss(network.loss, rows, keep, per_row, W)

        def scores(xp, P, Y):  # each row's values (or contributions), the real rows' only
            slots = []
            for metric in metrics:
                if not metric.streaming:
                    slots.append(short_mean(xp, per_row(partial(metric, xp))(P, Y), keep, rows))
                    continue
                if metric.masks_rows:  # counts only the kept rows itself
                    slots.extend(metric.batch(xp, P, Y, keep))
                    continue
                for part in per_row(partial(metric.batch, xp))(P, Y):
                    mask = xp.reshape(keep, (-1,) + (1,) * (part.ndim - 1))
                    slots.append(xp.sum(xp.where(mask, part, xp.zeros_like(part)), axis=0))
            return tuple(slots)

        network_ = Network(network.graph, loss, network.policy)
        return make_step(network_, optimizer, metrics, xp, scores)

    def program(checked):
        guarded = guard(step, xp, checked)

        def batches(carry, totals, arrays, rows, tail, weighted):
            """Train on the epoch's batches, adding each one's statistics times its rows;
            ``arrays``: X, Y, the sample weights if ``weighted``, the masks."""

            def parts(part):  # (X, Y, masks, W)
                if weighted:
                    return part[0], part[1], tuple(part[3:]), part[2]
                return part[0], part[1], tuple(part[2:]), None

            def add(totals, values, weight):
                return tuple(
                    t + xp.astype(v, t.dtype) * (1 if s else weight)
                    for t, v, s in zip(totals, values, summed)
                )

            take = placement.batch_taker(arrays, size, mesh)  # on a mesh: each batch split

            def body(i, state):
                carry, totals = state
                start = i * size
                if not masked:
                    part = take(i, start)
                    *carry, values = guarded(*carry, *parts(part))
                    return tuple(carry), add(totals, values, size)
                # a short last batch: the window ending at the room's end, rows before the
                # batch's first and past the data's last weighing nothing
                window = xp.minimum(start, arrays[0].shape[0] - size)
                part = take(i, window)  # window == start on a mesh (whole batches)
                index = window + xp.arange(size, dtype=start.dtype)
                real = xp.minimum(rows - start, size)
                X_part, Y_part, masks, W = parts(part)
                short = short_step((index >= start) & (index < rows), real, W)
                *carry, values = guard(short, xp, checked)(*carry, X_part, Y_part, masks)
                return tuple(carry), add(totals, values, xp.astype(real, totals[0].dtype))

            count = (rows + size - 1) // size if masked else rows // size
            if masked or size <= arrays[0].shape[0]:
                carry, totals = lax.fori_loop(0, count, body, (carry, totals))
            if tail:  # layers that mix rows: the short batch compiled by its size
                part = [lax.dynamic_slice_in_dim(a, rows - tail, tail) for a in arrays]
                *carry, values = guarded(*carry, *parts(part))
                totals = add(totals, values, tail)
            return tuple(carry), totals

        def run(params, opt_state, X, Y, orders, noise, counts, tail=None, epochs=1, W=None):
            rows, count = counts[0], counts[1]
            carry = (params, opt_state, xp.asarray(True), xp.asarray(0, dtype=xp.int32))
            means = tuple(xp.zeros((epochs, *shape), dtype=floats) for shape in shapes)

            def body(e, state):
                carry, means = state
                data = (X, Y) if W is None else (X, Y, W)
                if orders is not None:
                    order = lax.dynamic_index_in_dim(orders, e, 0, False)
                    data = _gather(xp, X, Y, order, W)
                masks = [lax.dynamic_index_in_dim(m, e, 0, False) for m in noise]
                totals = tuple(xp.zeros(shape, dtype=floats) for shape in shapes)
                arrays = (*data, *masks)
                carry, totals = batches(carry, totals, arrays, rows, tail, W is not None)
                means = tuple(
                    lax.dynamic_update_index_in_dim(
                        m, t if s else t / xp.astype(rows, t.dtype), e, 0
                    )
                    for m, t, s in zip(means, totals, summed)
                )
                return carry, means

            carry, means = lax.fori_loop(0, count, body, (carry, means))
            params, opt_state, alive, good = carry
            if mesh is not None:  # the weights leave replicated, as they came
                params, opt_state = placement.constrain_replicated((params, opt_state), mesh)
            return params, opt_state, means, _failed(xp, alive, good, params, checked)

        return jax.jit(run, static_argnames=("tail", "epochs"))

    programs, held, counted = {}, {}, {}  # compiled when first called; the last (X, Y)
    # padded, while that X lives; the (rows, epochs) pairs on the device

    target = backend.device or jax.devices()[0]
    mesh = placement.mesh_of(backend)  # data-parallel over its devices (backend/mesh.py)

    def put(host):
        """A new host array, on the device: shared through DLPack on the CPU, not copied."""
        if mesh is not None:  # orders, masks: replicated
            return placement.put(host, placement.replicated(mesh))
        if target.platform == "cpu":
            try:
                shared = jax.dlpack.from_dlpack(host)
            except Exception:  # an alignment or layout DLPack refuses: copied below
                shared = None
            if shared is not None and next(iter(shared.devices())) == target:
                return shared
        return jax.device_put(host, target)

    def pad(a, rows):
        if mesh is not None:
            return placement.pad_rows(a, rows, mesh)
        n = a.shape[0]
        if n == rows:
            return a
        if target.platform != "cpu":  # on the device (a small program)
            return jax.numpy.pad(a, [(0, rows - n)] + [(0, 0)] * (a.ndim - 1))
        host = jax.device_get(a)  # no copy on the CPU
        out = np.zeros((rows, *host.shape[1:]), host.dtype)
        out[:n, ...] = host
        return put(out)

    def padded(X, Y, rows, W=None):
        last = held.get("data")
        same = last is not None and last[0]() is X and last[1]() is Y and last[2] == rows
        if same and (last[4]() if last[4] is not None else None) is W:
            return last[3]

        def forget(ref):
            if held.get("data", (None,))[0] is ref:
                del held["data"]

        arrays = (pad(X, rows), pad(Y, rows), None if W is None else pad(W, rows))
        weights = None if W is None else weakref.ref(W)
        held["data"] = (weakref.ref(X, forget), weakref.ref(Y), rows, arrays, weights)
        return arrays

    def moved(a, shape, dtype):
        """``a`` (host or device) in a zero array of ``shape``, moved to the device."""
        a = a if isinstance(a, np.ndarray) else jax.device_get(a)
        out = np.zeros(shape, dtype)
        out[tuple(slice(0, k) for k in a.shape)] = a
        return put(out)

    def call(checked, params, opt_state, X, Y, orders, masks, epochs, plan=None, W=None):
        n = X.shape[0]
        grouped, largest = plan if plan is not None else (False, n)
        bucket = padded_rows(max(n, largest))
        room = max(bucket, size) if masked else bucket  # a short batch is sliced at full size
        if mesh is not None:  # whole batches, each split evenly over the devices
            room = placement.room_for(room, size, mesh)
        per_epoch = orders is not None or bool(masks)
        kept = max(epochs, epochs_cap(bucket)) if grouped or not per_epoch else epochs
        X, Y, W = padded(X, Y, room, W)
        if orders is not None:
            orders = moved(orders, (kept, room), np.dtype(orders.dtype))
        masks = tuple(moved(m, (kept, room, *m.shape[2:]), np.dtype(floats)) for m in masks)
        counts = counted.get((n, epochs))  # a transfer costs more than tiny epochs
        if counts is None:
            if len(counted) > 16:
                counted.clear()
            counts = counted[n, epochs] = jax.device_put(
                np.array([n, epochs], np.int32), backend.device
            )
        if checked not in programs:
            programs[checked] = program(checked)
        tail = None if masked else n % size
        return programs[checked](
            params, opt_state, X, Y, orders, masks, counts, tail=tail, epochs=kept, W=W
        )

    def run(*args, **kwargs):
        return call(False, *args, **kwargs)

    run.replay = partial(call, True)
    run.step = jax.jit(step)
    return run


def make_runner(backend, network, optimizer, metrics, batch_size, on_batch=None):
    """The epochs runner for ``backend`` (see the module docstring). JAX's come from the
    compiled-runner cache, shared by every model of the same math."""
    summed = Scores(metrics).summed
    if backend.name == "jax":
        key = compile_key(backend, network, optimizer, metrics, batch_size)
        runner = COMPILED.get(
            key, lambda: jax_epochs(backend, network, optimizer, metrics, batch_size)
        )
        if on_batch is None:
            return runner
        return eager_epochs(
            backend, runner.step, batch_size, on_batch, host_checks=False, summed=summed
        )
    step = make_step(network, optimizer, metrics, backend.xp)
    return eager_epochs(
        backend, step, batch_size, on_batch, host_checks=backend.on_host, summed=summed
    )


def epochs_per_call(rows: int, remaining: int, timely: bool) -> int:
    """How many epochs one runner call trains: 1 where callbacks need each epoch on time,
    else enough to amortise the call (and, on JAX, its dispatch)."""
    if timely:
        return 1
    return max(1, min(remaining, ROWS_PER_CALL // rows))
