"""The Adam family: Adam, AdamW, Adamax and Nadam, with Keras 3's formulas and defaults."""

from __future__ import annotations

from ..validation import check_flag, check_fraction, check_non_negative, check_positive
from .base import Optimizer


class _Moments(Optimizer):
    """Shared arguments: ``beta_1``, ``beta_2``, ``epsilon``."""

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = check_fraction(beta_1, "beta_1")
        self.beta_2 = check_fraction(beta_2, "beta_2")
        self.epsilon = check_positive(epsilon, "epsilon")

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adam(_Moments):
    """Adam as Keras 3: ``m += (g - m) * (1 - b1)``, ``v += (g**2 - v) * (1 - b2)``,
    ``W -= m * alpha / (sqrt(v) + epsilon)`` with ``alpha = lr * sqrt(1 - b2**t) / (1 -
    b1**t)`` (epsilon outside the bias correction, unlike torch.optim); amsgrad uses the
    running max of ``v``. Slots: ``momentum``, ``velocity``, ``velocity_hat`` (amsgrad)."""

    name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):  # fmt: skip
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self.amsgrad = check_flag(amsgrad, "amsgrad")

    def _kinds(self):
        return ("momentum", "velocity") + ("velocity_hat",) * self.amsgrad

    def _apply(self, xp, params, grads, slots, lr, t):
        b1, b2, t = self.beta_1, self.beta_2, xp.astype(t, lr.dtype)
        alpha = lr * xp.sqrt(1 - b2**t) / (1 - b1**t)
        m = tuple(a + (g - a) * (1 - b1) for a, g in zip(slots[0], grads))
        v = tuple(a + (g * g - a) * (1 - b2) for a, g in zip(slots[1], grads))
        new = [m, v]
        if self.amsgrad:
            v = tuple(xp.maximum(a, b) for a, b in zip(slots[2], v))
            new.append(v)
        params = tuple(
            p - (a * alpha) / (xp.sqrt(b) + self.epsilon) for p, a, b in zip(params, m, v)
        )
        return params, new

    def _hyper(self):
        return {**super()._hyper(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay, Keras 3's AdamW: the base's ``weight_decay`` (default
    0.004 here), ``W -= W * weight_decay * lr`` before each Adam step, every weight included."""

    name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):  # fmt: skip
        weight_decay = check_non_negative(weight_decay, "weight_decay")  # None refused
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **kwargs)  # fmt: skip


class Adamax(_Moments):
    """Adamax as Keras 3: ``m += (g - m) * (1 - b1)``, ``u = max(b2 * u, |g|)``,
    ``W -= lr * m / ((1 - b1**t) * (u + epsilon))``. Slots: ``momentum``, ``norm``."""

    name = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)

    def _kinds(self):
        return ("momentum", "norm")

    def _apply(self, xp, params, grads, slots, lr, t):
        b1, b2, t = self.beta_1, self.beta_2, xp.astype(t, lr.dtype)
        m = tuple(a + (g - a) * (1 - b1) for a, g in zip(slots[0], grads))
        u = tuple(xp.maximum(b2 * a, xp.abs(g)) for a, g in zip(slots[1], grads))
        correction = 1 - b1**t
        params = tuple(
            p - (lr * a) / (correction * (b + self.epsilon)) for p, a, b in zip(params, m, u)
        )
        return params, [m, u]


class Nadam(_Moments):
    """Nadam as Keras 3 (Dozat's momentum schedule ``u_t = b1 * (1 - 0.5 * 0.96**t)``):
    ``m``, ``v`` as Adam, ``m_hat = u_{t+1} * m / (1 - P_{t+1}) + (1 - u_t) * g / (1 - P_t)``
    with ``P_t = u_1 * ... * u_t``, ``W -= lr * m_hat / (sqrt(v / (1 - b2**t)) + epsilon)``.
    Slots: ``momentum``, ``velocity``; scalar: ``u_product`` (``P_t``, starting at 1)."""

    name = "nadam"
    scalars = ("u_product",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)

    def _kinds(self):
        return ("momentum", "velocity")

    def _scalar_init(self):
        return (1.0,)

    def _apply(self, xp, params, grads, slots, lr, t):
        b1, b2, t = self.beta_1, self.beta_2, xp.astype(t, lr.dtype)
        u_t = b1 * (1.0 - 0.5 * 0.96**t)
        u_next = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        product = slots[2] * u_t
        product_next = product * u_next
        m = tuple(a + (g - a) * (1 - b1) for a, g in zip(slots[0], grads))
        v = tuple(a + (g * g - a) * (1 - b2) for a, g in zip(slots[1], grads))
        correction = 1 - b2**t
        params = tuple(
            p - (m_hat * lr) / (xp.sqrt(b / correction) + self.epsilon)
            for p, m_hat, b in zip(
                params,
                (
                    u_next * a / (1 - product_next) + (1 - u_t) * g / (1 - product)
                    for a, g in zip(m, grads)
                ),  # fmt: skip
                v,
            )
        )
        return params, [m, v, product]
