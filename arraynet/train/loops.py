"""The loop strategies that run the pure step (``train/step.py``) over epochs.

A runner trains ``epochs`` epochs in one call:

    run(params, state, X, Y, orders, masks, epochs) -> (params, state, means, failed)

``orders`` is None (dataset order) or an (epochs, n) array of row permutations, ``masks``
one (epochs, n, ...) array per noise-drawing node (dropout masks), and ``means`` holds, per
statistic, an (epochs,) array of epoch means weighted by batch size.

Divergence guard: an update whose loss is not finite is not applied, nor any after it;
``failed`` is the index of that update in the call (-1 when all went through), so the
caller gets the weights from just before it. A weight can also overflow while the losses
stay finite (tanh saturates an infinite weight), so the caller checks the weights once
per call; if they are not finite it goes back to the call's start and trains the call
again with ``run.replay``, which checks the new weights at every update (a reduction over
every weight, too dear for every step: about 7 % on a small JAX network). Where arrays live
in host memory the loop checks each loss on the host (free there); elsewhere the step
checks on the device and selects the old weights, with no read-back.

The loop strategy is where the step meets a backend by name: JAX compiles the epochs into
one call (``jax.jit`` + ``lax.scan`` over epochs and over batches); the other backends run
the same step eagerly. Off the host (JAX, CuPy, torch on a GPU) nothing is read back inside
the call; in host memory each loss is read as it comes, which costs no transfer. (Device
choice, data generators and the ``arraynet info`` command name libraries too, in
``backend/``, ``random.py``, ``datasets.py`` and ``cli.py``; the math never does.)
"""

from __future__ import annotations

import math

from .step import guard, make_step

ROWS_PER_CALL = 1 << 16  # epochs are grouped into calls of about this many rows


def _gather(xp, X, Y, order):
    if order is None:
        return X, Y
    return xp.take(X, order, axis=0), xp.take(Y, order, axis=0)


def _rows(arrays, start, stop):
    return tuple(a[start:stop, ...] for a in arrays)


def _epoch_slice(orders, masks, e):
    order = None if orders is None else orders[e, ...]
    return order, tuple(m[e, ...] for m in masks)


def eager_epochs(xp, step, batch_size, on_batch=None, host_checks=True, weights=False):
    """Epochs as a Python loop over consecutive batches of the (reordered) data.

    ``on_batch``, if given, is called around each update: ``params, opt_state =
    on_batch.begin(index, size, params, opt_state)`` and likewise ``end``, so batch hooks see
    the weights so far and may change the state (a learning rate); no values are read back. With
    ``host_checks`` each loss is checked on the host (arrays in host memory: no transfer);
    else the step is guarded on the device (``weights``: the new weights too).
    """
    if not host_checks:
        guarded = guard(step, xp, weights)

    def epoch(params, opt_state, health, X, Y, order, masks):
        X, Y = _gather(xp, X, Y, order)
        n = X.shape[0]
        full = n // batch_size
        rows = []  # each update's statistics
        for index, start in enumerate(range(0, n, batch_size)):
            stop = min(start + batch_size, n)
            if on_batch is not None:
                params, opt_state = on_batch.begin(index, stop - start, params, opt_state)
            X_batch, Y_batch = X[start:stop, ...], Y[start:stop, ...]
            mask_batch = _rows(masks, start, stop) if masks else ()
            if host_checks:  # read each value here: free in host memory, and it checks the loss
                new_params, new_state, stats = step(params, opt_state, X_batch, Y_batch, mask_batch)
                stats = [float(s) for s in stats]
                if not math.isfinite(stats[0]):
                    return params, opt_state, None, health
                params, opt_state, health = new_params, new_state, health + 1
            else:
                params, opt_state, alive, good, stats = guarded(
                    params, opt_state, *health, X_batch, Y_batch, mask_batch
                )
                health = (alive, good)
            if index == full:  # the partial last batch, weighted by its share
                stats = [s * ((stop - start) / batch_size) for s in stats]
            rows.append(stats)
            if on_batch is not None:
                params, opt_state = on_batch.end(index, stop - start, params, opt_state)
        return params, opt_state, [sum(c) * batch_size / n for c in zip(*rows)], health

    def run(params, opt_state, X, Y, orders, masks, epochs):
        health = 0 if host_checks else (xp.asarray(True), xp.asarray(0, dtype=xp.int32))
        means = []
        for e in range(epochs):
            order, epoch_masks = _epoch_slice(orders, masks, e)
            params, opt_state, stats, health = epoch(
                params, opt_state, health, X, Y, order, epoch_masks
            )
            if stats is None:  # a non-finite loss: stop before that update
                return params, opt_state, _columns(means), health
            means.append(stats)
        if host_checks:  # Python floats already: one list per statistic
            return params, opt_state, _columns(means), -1
        alive, good = health
        means = tuple(xp.stack(column) for column in zip(*means))
        return params, opt_state, means, xp.where(alive, -1, good)

    if not weights:  # the weights checked at every update, for ``run.replay``
        run.replay = eager_epochs(xp, step, batch_size, host_checks=False, weights=True)
    return run


def _columns(means):
    """Per statistic, the list of the epochs' means (None if no epoch ended)."""
    return tuple(map(list, zip(*means))) if means else None


def jax_epochs(xp, step, batch_size, on_batch=None, host_checks=False):
    """Epochs as one compiled call: ``lax.scan`` over epochs, and inside each over the full
    batches, then the partial last batch. Batch callbacks need the host between steps: then
    the step alone is compiled and the epochs run eagerly (guarded on the device)."""
    import jax

    if on_batch is not None:
        return eager_epochs(xp, jax.jit(step), batch_size, on_batch, host_checks=False)

    def compiled(weights):
        guarded = guard(step, xp, weights)

        def epoch(carry, X, Y, order, masks):
            X, Y = _gather(xp, X, Y, order)
            n = X.shape[0]
            full = n // batch_size
            cut = full * batch_size

            def stacked(a):
                return xp.reshape(a[:cut, ...], (full, batch_size, *a.shape[1:]))

            def body(carry, batch):
                X, Y, masks = batch
                *carry, stats = guarded(*carry, X, Y, masks)
                return tuple(carry), stats

            batches = (stacked(X), stacked(Y), tuple(map(stacked, masks)))
            carry, stats = jax.lax.scan(body, carry, batches)
            totals = tuple(xp.sum(s) * batch_size for s in stats)
            if cut < n:
                rest = _rows((X, Y), cut, n)
                *carry, last = guarded(*carry, *rest, _rows(masks, cut, n))
                totals = tuple(t + s * (n - cut) for t, s in zip(totals, last))
            return tuple(carry), tuple(t / n for t in totals)

        def run(params, opt_state, X, Y, orders, masks, epochs):
            def body(carry, per_epoch):
                return epoch(carry, X, Y, *per_epoch)

            start = (params, opt_state, xp.asarray(True), xp.asarray(0, dtype=xp.int32))
            (params, opt_state, alive, good), means = jax.lax.scan(
                body, start, (orders, masks), length=epochs
            )
            return params, opt_state, means, xp.where(alive, -1, good)

        return jax.jit(run, static_argnames="epochs")

    fast = compiled(weights=False)

    def run(*args, **kwargs):
        return fast(*args, **kwargs)

    run.replay = compiled(weights=True)
    return run


def make_runner(backend, network, optimizer, metrics, batch_size, on_batch=None):
    """The epochs runner for ``backend`` (see the module docstring)."""
    step = make_step(network, optimizer, metrics, backend.xp)
    strategy = jax_epochs if backend.name == "jax" else eager_epochs
    return strategy(backend.xp, step, batch_size, on_batch, host_checks=backend.on_host)


def epochs_per_call(rows: int, remaining: int, timely: bool) -> int:
    """How many epochs one runner call trains: 1 where callbacks need each epoch on time,
    else enough to amortise the call (and, on JAX, its dispatch)."""
    if timely:
        return 1
    return max(1, min(remaining, ROWS_PER_CALL // rows))
