"""The JAX runner: the epochs of a fit compiled into one call (see ``loops.py``).

JAX's programs depend only on the math (``cache.py`` keys them by the configs, not by the
model) and on the batch size: the rows are padded to a bucket (``padded_rows``), the numbers
of rows and of epochs are values the program reads, and the short last batch trains as a
full-size batch whose extra rows weigh nothing (where the layers keep rows apart,
``Layer.independent_rows``; else it is compiled by its size)."""

from __future__ import annotations

import weakref
from functools import partial

import numpy as np

from ..backend import mesh as placement
from ..network import Network
from .batches import ROWS_PER_CALL, failed_at, gather
from .step import Scores, guard, make_step


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

            def full(i, state):  # batch i, whole: the plain step
                carry, totals = state
                *carry, values = guarded(*carry, *parts(take(i, i * size)))
                return tuple(carry), add(totals, values, size)

            def short(state):
                """The short last batch: the window ending at the room's end, rows before
                the batch's first and past the data's last weighing nothing."""
                carry, totals = state
                i = rows // size
                start = i * size
                window = xp.minimum(start, arrays[0].shape[0] - size)
                part = take(i, window)  # window == start on a mesh (whole batches)
                index = window + xp.arange(size, dtype=start.dtype)
                real = rows - start
                X_part, Y_part, masks, W = parts(part)
                step = short_step((index >= start) & (index < rows), real, W)
                *carry, values = guard(step, xp, checked)(*carry, X_part, Y_part, masks)
                return tuple(carry), add(totals, values, xp.astype(real, totals[0].dtype))

            if size <= arrays[0].shape[0]:
                carry, totals = lax.fori_loop(0, rows // size, full, (carry, totals))
            if masked and size > 1:  # a short last batch, if any, in the same program
                carry, totals = lax.cond(
                    rows % size != 0, short, lambda state: state, (carry, totals)
                )
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
                    data = gather(xp, X, Y, order, W)
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
            return params, opt_state, means, failed_at(xp, alive, good, params, checked)

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
