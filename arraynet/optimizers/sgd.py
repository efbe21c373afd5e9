"""Momentum optimizers: SGD (the book's ``W -= alpha * weight_delta``) and Lion, with Keras
3's formulas and defaults."""

from __future__ import annotations

from ..validation import check_flag, check_fraction, check_unit_interval
from .base import Optimizer


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum, as Keras 3.

    ``W -= lr * g``; with momentum ``m``: ``v = m * v - lr * g``, ``W += v``; Nesterov:
    ``W += m * v - lr * g`` (``v`` the new velocity). Equal to torch.optim.SGD (dampening 0)
    for a constant lr; when lr changes, the velocity keeps the old lr's steps. Slots:
    ``velocity`` (only when momentum > 0).
    """

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = check_fraction(momentum, "momentum")
        self.nesterov = check_flag(nesterov, "nesterov")

    def _kinds(self):
        return ("velocity",) if self.momentum else ()

    def _apply(self, xp, params, grads, slots, lr, t):
        m = self.momentum
        if not m:
            return tuple(p - g * lr for p, g in zip(params, grads)), []
        velocity = tuple(v * m - g * lr for v, g in zip(slots[0], grads))
        steps = velocity
        if self.nesterov:
            steps = tuple(v * m - g * lr for v, g in zip(velocity, grads))
        return tuple(p + s for p, s in zip(params, steps)), [velocity]

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Lion(Optimizer):
    """Lion (Chen et al. 2023), as Keras 3: ``W -= lr * sign(b1 * m + (1 - b1) * g)``, then
    ``m = b2 * m + (1 - b2) * g``. Slots: ``momentum``."""

    name = "lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = check_unit_interval(beta_1, "beta_1", open_low=True)
        self.beta_2 = check_fraction(beta_2, "beta_2")

    def _kinds(self):
        return ("momentum",)

    def _apply(self, xp, params, grads, slots, lr, t):
        b1, b2 = self.beta_1, self.beta_2
        params = tuple(
            p - lr * xp.sign(m * b1 + g * (1.0 - b1)) for p, m, g in zip(params, slots[0], grads)
        )
        momentum = tuple(m * b2 + g * (1.0 - b2) for m, g in zip(slots[0], grads))
        return params, [momentum]

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}
