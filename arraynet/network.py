"""The forward pass, the loss and the backward deltas over a stack of layers: pure functions.

Parameters travel as one flat tuple of arrays, in ``get_weights()`` order; each layer reads
its own slice. ``masks`` holds one dropout mask per Dropout layer while training (None at
inference). ``xp`` is the namespace of the selected backend, passed in once.
"""

from __future__ import annotations

from itertools import chain


class Network:
    """A stack of layers with its loss: forward, loss value, and hand-written gradients."""

    def __init__(self, layers, loss=None):
        self.layers = tuple(layers)
        self.loss = loss
        self.slices = []
        start = 0
        for layer in self.layers:
            self.slices.append(slice(start, start + layer.param_count))
            start += layer.param_count
        self.dropouts = [i for i, layer in enumerate(self.layers) if hasattr(layer, "mask")]
        self._is_fused = self.fused
        self.penalized = [
            i for i, layer in enumerate(self.layers) if getattr(layer, "kernel_regularizer", None)
        ]

    @property
    def fused(self) -> bool:
        """True when the loss takes its delta at the output layer's Z (see losses.py)."""
        output = getattr(self.layers[-1], "activation", None)
        return self.loss is not None and output is not None and self.loss.fuses_with == output.name

    def forward(self, xp, params, X, masks=None):
        """``(P, caches)``: the network output and each layer's cache."""
        masks = dict(zip(self.dropouts, masks)) if masks else {}
        caches = []
        for i, (layer, part) in enumerate(zip(self.layers, self.slices)):
            X, cache = layer.forward(xp, params[part], X, masks.get(i))
            caches.append(cache)
        return X, caches

    def predict(self, xp, params, X):
        return self.forward(xp, params, X)[0]

    def _loss(self, xp, P, caches, Y):
        """``(value, delta, delta_is_at_Z)`` for the output layer."""
        if self._is_fused:
            _, Z, A = caches[-1]
            value, dZ = self.loss.fused(xp, Z, A, Y)
            return value, dZ, True
        value, dP = self.loss(xp, P, Y)
        return value, dP, False

    def _penalties(self, xp, params, grads=None):
        """The regularization penalties' sum; their gradients are added into ``grads``."""
        total = 0.0
        for i in self.penalized:
            value, dparams = self.layers[i].penalty(xp, params[self.slices[i]])
            total = total + value
            if grads is not None:
                grads[i] = tuple(g + dg for g, dg in zip(grads[i], dparams))
        return total

    def loss_value(self, xp, params, X, Y):
        """``(loss, P)`` at inference (no dropout), penalties included."""
        P, caches = self.forward(xp, params, X)
        value = self._loss(xp, P, caches, Y)[0]
        return (value + self._penalties(xp, params) if self.penalized else value), P

    def backward(self, xp, params, caches, delta, at_Z):
        """Each layer's grads, last layer first, from the output delta (at ``Z`` if fused)."""
        grads = [()] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            layer, part = self.layers[i], params[self.slices[i]]
            backward = layer.backward_linear if at_Z else layer.backward
            delta, grads[i] = backward(xp, part, caches[i], delta, need_dX=i > 0)
            at_Z = False
        return grads

    def loss_and_grads(self, xp, params, X, Y, masks=None, scale=None):
        """``(loss, grads, P)``: backprop of the deltas, last layer first.

        ``grads`` align with ``params``; ``P`` is the output before the update. ``scale``
        (a loss scale) matters only to mixed precision (``precision.py``).
        """
        P, caches = self.forward(xp, params, X, masks)
        value, delta, at_Z = self._loss(xp, P, caches, Y)
        grads = self.backward(xp, params, caches, delta, at_Z)
        if self.penalized:
            value = value + self._penalties(xp, params, grads)
        return value, tuple(chain.from_iterable(grads)), P
