"""The pure training step, and the device-side divergence guard around it.

``step(weights, opt_state, X, Y, noise, W=None) -> (weights, opt_state, stats)``, ``stats``
being the batch loss then each metric's slots (:class:`Scores`), taken before the update.
``noise`` holds one array per noise-drawing node (dropout masks); ``W``, if given, the
batch's sample weights (the loss weighted as Keras's, ``losses/weighted.py``; metrics
unweighted, as Keras's ``metrics``). The optimizer updates the trainable weights; stateful
layers' new state (moving statistics) comes from the forward.
"""

from __future__ import annotations

from ..losses.weighted import Weighted
from ..network import Network
from ..ops import all_finite, keep_where


def weighted(network, W):
    """``network`` with its loss weighted by the rows' sample weights ``W``."""
    return Network(network.graph, Weighted(network.loss, W), network.policy)


class Scores:
    """What a step reports of ``metrics`` after the loss, as flat *slots*: a mean metric its
    batch mean (one slot, which the loops weigh by the batch's rows and average over the
    epoch), a streaming one its batch contribution (one slot per state array, which the
    loops sum over the epoch). ``summed`` and ``shapes`` describe the slots, the loss's
    first; :meth:`values` turns an epoch's slots into the logged values."""

    def __init__(self, metrics):
        self.metrics = tuple(metrics)
        summed, shapes = [False], [()]
        for metric in self.metrics:
            if metric.streaming:
                states = metric.state_shapes()
                summed += [True] * len(states)
                shapes += [tuple(shape) for shape in states]
            else:
                summed.append(False)
                shapes.append(())
        self.summed, self.shapes = tuple(summed), tuple(shapes)

    def of(self, xp, P, Y) -> tuple:
        """The metrics' slots for one batch."""
        slots = []
        for metric in self.metrics:
            if metric.streaming:
                slots.extend(metric.batch(xp, P, Y))
            else:
                slots.append(metric(xp, P, Y))
        return tuple(slots)

    def values(self, xp, slots) -> list:
        """The loss and each metric's value from an epoch's ``slots`` (means and summed
        states, as the loops return them)."""
        values, k = [slots[0]], 1
        for metric in self.metrics:
            if metric.streaming:
                count = len(metric.state_shapes())
                values.append(metric.result(xp, tuple(slots[k : k + count])))
                k += count
            else:
                values.append(slots[k])
                k += 1
        return values


def make_step(network, optimizer, metrics, xp, scores=None):
    """The pure update for one batch, with ``xp`` bound once; ``scores(xp, P, Y)`` gives the
    metrics' slots (by default ``Scores(metrics).of``)."""
    loss_and_grads, update = network.loss_and_grads, optimizer.update
    loss_scale, graph = network.policy.loss_scale, network.graph
    if scores is None:
        scores = Scores(metrics).of

    def step(weights, opt_state, X, Y, noise, W=None):
        of = loss_and_grads
        if W is not None:
            of = weighted(network, W).loss_and_grads
        loss, grads, P, states = of(xp, weights, X, Y, noise, loss_scale(opt_state))
        if graph.partial:
            params, opt_state = update(xp, graph.trainable(weights), grads, opt_state)
            weights = graph.merge(params, states, weights)
        else:
            weights, opt_state = update(xp, weights, grads, opt_state)
        if not metrics:
            return weights, opt_state, (loss,)
        return weights, opt_state, (loss, *scores(xp, P, Y))

    return step


def guard(step, xp, weights=False):
    """The device-side divergence guard around ``step``: it carries ``good``, the count of
    updates applied, and ``alive``; a non-finite loss (or, with ``weights``, a non-finite
    new weight) stops further updates."""

    def guarded(params, opt_state, alive, good, X, Y, masks, W=None):
        new_params, new_state, stats = step(params, opt_state, X, Y, masks, W)
        ok = alive & xp.isfinite(stats[0])
        if weights:
            ok = ok & all_finite(xp, new_params)
        params = keep_where(xp, ok, new_params, params)
        opt_state = keep_where(xp, ok, new_state, opt_state)
        return params, opt_state, ok, good + xp.astype(ok, good.dtype), stats

    return guarded
