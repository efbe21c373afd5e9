"""Optimizers that divide by a running scale of the gradients: RMSprop, Adagrad and
Adadelta, with Keras 3's formulas and defaults (epsilon inside the square root)."""

from __future__ import annotations

from ..validation import check_flag, check_fraction, check_non_negative, check_positive
from .base import Optimizer


class RMSprop(Optimizer):
    """RMSprop as Keras 3: ``v = rho * v + (1 - rho) * g**2``, step ``lr * g / sqrt(v +
    epsilon)``; centered: ``sqrt(v - a**2 + epsilon)``, ``a = rho * a + (1 - rho) * g`` the
    mean gradient; with momentum ``b = momentum * b + step``, ``W -= b`` (else ``W -= step``).

    One deliberate difference: centered, ``v - a**2`` (never below 0 in exact arithmetic)
    is clamped at 0 before epsilon is added, where float32 rounding can take it below
    ``-epsilon`` and Keras goes NaN. Slots: ``velocity``, ``average_gradient`` (centered),
    ``momentum`` (momentum > 0), in that order (arraynet's; files keep it).
    """

    name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):  # fmt: skip
        super().__init__(learning_rate, **kwargs)
        self.rho = check_fraction(rho, "rho")
        self.momentum = check_fraction(momentum, "momentum")
        self.epsilon = check_positive(epsilon, "epsilon")
        self.centered = check_flag(centered, "centered")

    def _kinds(self):
        return (
            ("velocity",)
            + ("average_gradient",) * self.centered
            + (("momentum",) if self.momentum else ())
        )

    def _apply(self, xp, params, grads, slots, lr, t):
        rho, eps, slots = self.rho, self.epsilon, list(slots)
        velocity = tuple(rho * v + (1 - rho) * (g * g) for v, g in zip(slots.pop(0), grads))
        new = [velocity]
        if self.centered:
            mean = tuple(rho * a + (1 - rho) * g for a, g in zip(slots.pop(0), grads))
            new.append(mean)
            denominator = (xp.maximum(v - a * a, 0.0) + eps for v, a in zip(velocity, mean))
        else:
            denominator = (v + eps for v in velocity)
        steps = tuple(lr * g / xp.sqrt(d) for g, d in zip(grads, denominator))
        if self.momentum:
            steps = tuple(self.momentum * b + s for b, s in zip(slots.pop(0), steps))
            new.append(steps)
        return tuple(p - s for p, s in zip(params, steps)), new

    def _hyper(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}  # fmt: skip


class Adagrad(Optimizer):
    """Adagrad as Keras 3: ``s += g**2`` (``s`` starting at ``initial_accumulator_value``),
    ``W -= lr * g / sqrt(s + epsilon)``. Slots: ``accumulator``."""

    name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):  # fmt: skip
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = check_non_negative(
            initial_accumulator_value, "initial_accumulator_value"
        )
        self.epsilon = check_positive(epsilon, "epsilon")

    def _kinds(self):
        return ("accumulator",)

    def _slot_init(self, xp, kind, p):
        return xp.zeros_like(p) + self.initial_accumulator_value

    def _apply(self, xp, params, grads, slots, lr, t):
        accumulator = tuple(s + g * g for s, g in zip(slots[0], grads))
        params = tuple(
            p - lr * g / xp.sqrt(s + self.epsilon) for p, g, s in zip(params, grads, accumulator)
        )
        return params, [accumulator]

    def _hyper(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}  # fmt: skip


class Adadelta(Optimizer):
    """Adadelta as Keras 3: ``a = rho * a + (1 - rho) * g**2``, ``d = -sqrt(u + epsilon) * g /
    sqrt(a + epsilon)``, ``u = rho * u + (1 - rho) * d**2``, ``W += lr * d``. Slots:
    ``accumulated_grad``, ``accumulated_delta_var``."""

    name = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = check_fraction(rho, "rho")
        self.epsilon = check_positive(epsilon, "epsilon")

    def _kinds(self):
        return ("accumulated_grad", "accumulated_delta_var")

    def _apply(self, xp, params, grads, slots, lr, t):
        rho, eps = self.rho, self.epsilon
        grad_sq = tuple(rho * a + (1 - rho) * (g * g) for a, g in zip(slots[0], grads))
        deltas = tuple(
            -(xp.sqrt(u + eps) * g) / xp.sqrt(a + eps) for u, g, a in zip(slots[1], grads, grad_sq)
        )
        delta_sq = tuple(rho * u + (1 - rho) * (d * d) for u, d in zip(slots[1], deltas))
        params = tuple(p + lr * d for p, d in zip(params, deltas))
        return params, [grad_sq, delta_sq]

    def _hyper(self):
        return {"rho": self.rho, "epsilon": self.epsilon}
