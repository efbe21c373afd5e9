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
one call (``jax_loop.py``: ``jax.jit``, a loop over epochs and in it one over batches); the
other backends run the same step eagerly (``eager_epochs`` here). What both share (the
fit's plan, the reordering, ``failed``) is in ``batches.py``. Off the host (JAX, CuPy, torch
on a GPU) nothing is read back inside the call; in host memory each loss is read as it
comes, which costs no transfer. (Device choice, data generators and the ``arraynet info``
command name libraries too, in ``backend/``, ``random.py``, ``datasets.py`` and ``cli.py``;
the math never does.)
"""

from __future__ import annotations

import math
import operator
from functools import reduce

import numpy as np

from .batches import (
    NOT_FINITE,
    Plan,
    epoch_columns,
    epochs_per_call,
    failed_at,
    flag,
    gather,
    host_failed,
)
from .cache import COMPILED, compile_key
from .jax_loop import jax_epochs
from .step import Scores, guard, make_step

__all__ = ["NOT_FINITE", "Plan", "eager_epochs", "epochs_per_call", "make_runner"]


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
        X, Y, *W = gather(xp, X, Y, order, W)
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
                stats = [s if flag(summed, k) else float(s) for k, s in enumerate(stats)]
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
                stats = [s if flag(summed, k) else s * share for k, s in enumerate(stats)]
            rows.append(stats)
            if on_batch is not None:
                params, opt_state = on_batch.end(index, stop - start, params, opt_state)
        totals = [
            reduce(operator.add, c) if flag(summed, k) else sum(c) * batch_size / n
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
                columns = epoch_columns(xp, means, summed)
                return params, opt_state, columns, host_failed(xp, health, params)
            means.append(stats)
        if host_checks:  # Python floats already (summed states stacked): one per statistic
            return params, opt_state, epoch_columns(xp, means, summed), host_failed(xp, -1, params)
        alive, good = health
        means = tuple(xp.stack(column) for column in zip(*means))
        return params, opt_state, means, failed_at(xp, alive, good, params, weights)

    if not weights:  # the weights checked at every update, for ``run.replay``
        run.replay = eager_epochs(
            backend, step, batch_size, host_checks=False, weights=True, summed=summed
        )
    return run


def make_runner(backend, network, optimizer, metrics, batch_size, on_batch=None,
                compiled=True):  # fmt: skip
    """The epochs runner for ``backend`` (see the module docstring). JAX's come from the
    compiled-runner cache, shared by every model of the same math; ``compiled`` False
    (``compile(run_eagerly=True)``) runs JAX's step op by op, as the other backends'."""
    summed = Scores(metrics).summed
    if backend.name == "jax" and compiled:
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
