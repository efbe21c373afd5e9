"""Keras 3's optimizers and learning-rate schedules written out by hand in float64 NumPy,
one weight at a time, as keras/src/optimizers/*.py and schedules/learning_rate_schedule.py
(Keras 3.15) publish them: the independent reference for tests/test_optimizers.py.

``KerasReference(kind, **hyper).step(weights, grads)`` applies one ``apply_gradients``:
clipping, weight decay, the update step at the current learning rate, then the EMA, then
``iterations += 1``. ``lr`` is a number or one of the schedule functions below.
"""

import math

import numpy as np

# -- schedules: step -> learning rate ---------------------------------------------------------


def exponential_decay(initial, decay_steps, decay_rate, staircase=False):
    def f(step):
        p = step / decay_steps
        return initial * decay_rate ** (math.floor(p) if staircase else p)

    return f


def piecewise_constant(boundaries, values):
    def f(step):
        for b, v in zip(boundaries, values):
            if step <= b:
                return v
        return values[-1]

    return f


def polynomial_decay(initial, decay_steps, end=0.0001, power=1.0, cycle=False):
    def f(step):
        steps = decay_steps
        if cycle:
            steps = decay_steps * (1.0 if step == 0 else math.ceil(step / decay_steps))
        else:
            step = min(step, decay_steps)
        return (initial - end) * (1 - step / steps) ** power + end

    return f


def inverse_time_decay(initial, decay_steps, decay_rate, staircase=False):
    def f(step):
        p = step / decay_steps
        return initial / (1 + decay_rate * (math.floor(p) if staircase else p))

    return f


def cosine_decay(initial, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    def decay(step, start):
        return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / decay_steps)) + alpha)

    def f(step):
        if warmup_target is None:
            return decay(min(step, decay_steps), initial)
        step = min(step, decay_steps + warmup_steps)
        if step < warmup_steps:
            return (warmup_target - initial) * step / warmup_steps + initial
        return decay(step - warmup_steps, warmup_target)

    return f


def cosine_decay_restarts(initial, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
    def f(step):
        fraction = step / first_decay_steps
        if t_mul == 1.0:
            i = math.floor(fraction)
            fraction -= i
        else:
            i = math.floor(math.log(1 - fraction * (1 - t_mul)) / math.log(t_mul))
            fraction = (fraction - (1 - t_mul**i) / (1 - t_mul)) / t_mul**i
        cosine = 0.5 * m_mul**i * (1 + math.cos(math.pi * fraction))
        return initial * ((1 - alpha) * cosine + alpha)

    return f


def step_decay(initial, step_size, factor):
    return lambda step: initial * factor ** math.floor(step / step_size)


# -- optimizers -----------------------------------------------------------------------------


class KerasReference:
    """One optimizer's variables and ``apply_gradients``, in float64."""

    def __init__(self, kind, lr, weight_decay=None, clipnorm=None, global_clipnorm=None,
                 clipvalue=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 **hyper):  # fmt: skip
        self.kind, self.lr, self.hyper = kind, lr, hyper
        self.weight_decay, self.clipnorm = weight_decay, clipnorm
        self.global_clipnorm, self.clipvalue = global_clipnorm, clipvalue
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.iterations, self.slots, self.average, self.u_product = 0, None, None, 1.0

    def learning_rate(self):
        return self.lr(self.iterations) if callable(self.lr) else self.lr

    def step(self, weights, grads):
        weights = [np.array(w, dtype=np.float64) for w in weights]
        grads = [np.array(g, dtype=np.float64) for g in grads]
        if self.slots is None:
            self.slots = [self.initial_slots(w) for w in weights]
            self.average = [np.zeros_like(w) for w in weights]
        lr = self.learning_rate()
        if self.clipnorm:
            grads = [g * self.clipnorm / max(np.sqrt(np.sum(g * g)), self.clipnorm) for g in grads]
        elif self.global_clipnorm:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            grads = [g * (self.global_clipnorm * min(1 / norm, 1 / self.global_clipnorm))
                     for g in grads]  # fmt: skip
        elif self.clipvalue:
            grads = [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.weight_decay is not None:
            weights = [w - w * self.weight_decay * lr for w in weights]
        if self.kind == "nadam":
            t = self.iterations + 1
            self.u_product *= self.hyper.get("beta_1", 0.9) * (1 - 0.5 * 0.96**t)
        for i, (w, g) in enumerate(zip(weights, grads)):
            weights[i] = getattr(self, self.kind)(w, g, self.slots[i], lr)
        if self.use_ema:
            m = self.ema_momentum if self.iterations != 0 else 0.0
            self.average = [m * a + (1 - m) * w for a, w in zip(self.average, weights)]
            freq = self.ema_overwrite_frequency
            if freq and (self.iterations + 1) % freq == 0:
                weights = [a.copy() for a in self.average]
        self.iterations += 1
        return weights

    def initial_slots(self, w):
        if self.kind == "adagrad":
            return {
                "accumulator": np.full_like(w, self.hyper.get("initial_accumulator_value", 0.1))
            }
        return {}

    def slot(self, slots, name, w):
        return slots.setdefault(name, np.zeros_like(w))

    # each: the new weight from weight w, grad g, this weight's slots and lr

    def sgd(self, w, g, s, lr):
        momentum, nesterov = self.hyper.get("momentum", 0.0), self.hyper.get("nesterov", False)
        if momentum == 0:
            return w - g * lr
        m = s["m"] = self.slot(s, "m", w) * momentum - g * lr
        return w + (m * momentum - g * lr if nesterov else m)

    def rmsprop(self, w, g, s, lr):
        rho, eps = self.hyper.get("rho", 0.9), self.hyper.get("epsilon", 1e-7)
        momentum = self.hyper.get("momentum", 0.0)
        v = s["v"] = rho * self.slot(s, "v", w) + (1 - rho) * g**2
        if self.hyper.get("centered", False):
            a = s["a"] = rho * self.slot(s, "a", w) + (1 - rho) * g
            denominator = v - a**2 + eps
        else:
            denominator = v + eps
        increment = lr * g / np.sqrt(denominator)
        if momentum > 0:
            b = s["b"] = momentum * self.slot(s, "b", w) + increment
            return w - b
        return w - increment

    def adam(self, w, g, s, lr):
        b1, b2 = self.hyper.get("beta_1", 0.9), self.hyper.get("beta_2", 0.999)
        eps, t = self.hyper.get("epsilon", 1e-7), self.iterations + 1
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m = s["m"] = self.slot(s, "m", w) + (g - self.slot(s, "m", w)) * (1 - b1)
        v = s["v"] = self.slot(s, "v", w) + (g**2 - self.slot(s, "v", w)) * (1 - b2)
        if self.hyper.get("amsgrad", False):
            v = s["vhat"] = np.maximum(self.slot(s, "vhat", w), v)
        return w - m * alpha / (np.sqrt(v) + eps)

    adamw = adam

    def adamax(self, w, g, s, lr):
        b1, b2 = self.hyper.get("beta_1", 0.9), self.hyper.get("beta_2", 0.999)
        eps, t = self.hyper.get("epsilon", 1e-7), self.iterations + 1
        m = s["m"] = self.slot(s, "m", w) + (g - self.slot(s, "m", w)) * (1 - b1)
        u = s["u"] = np.maximum(b2 * self.slot(s, "u", w), np.abs(g))
        return w - lr * m / ((1 - b1**t) * (u + eps))

    def nadam(self, w, g, s, lr):
        b1, b2 = self.hyper.get("beta_1", 0.9), self.hyper.get("beta_2", 0.999)
        eps, t = self.hyper.get("epsilon", 1e-7), self.iterations + 1
        u_t = b1 * (1 - 0.5 * 0.96**t)
        u_t_1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_product_t_1 = self.u_product * u_t_1
        m = s["m"] = self.slot(s, "m", w) + (g - self.slot(s, "m", w)) * (1 - b1)
        v = s["v"] = self.slot(s, "v", w) + (g**2 - self.slot(s, "v", w)) * (1 - b2)
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - self.u_product)
        v_hat = v / (1 - b2**t)
        return w - m_hat * lr / (np.sqrt(v_hat) + eps)

    def adagrad(self, w, g, s, lr):
        eps = self.hyper.get("epsilon", 1e-7)
        acc = s["accumulator"] = s["accumulator"] + g**2
        return w - lr * g / np.sqrt(acc + eps)

    def adadelta(self, w, g, s, lr):
        rho, eps = self.hyper.get("rho", 0.95), self.hyper.get("epsilon", 1e-7)
        a = s["a"] = rho * self.slot(s, "a", w) + (1 - rho) * g**2
        delta = -np.sqrt(self.slot(s, "d", w) + eps) * g / np.sqrt(a + eps)
        s["d"] = rho * s["d"] + (1 - rho) * delta**2
        return w + lr * delta

    def lion(self, w, g, s, lr):
        b1, b2 = self.hyper.get("beta_1", 0.9), self.hyper.get("beta_2", 0.99)
        m = self.slot(s, "m", w)
        w = w - lr * np.sign(m * b1 + g * (1 - b1))
        s["m"] = m * b2 + g * (1 - b2)
        return w

    def final_weights(self, weights):
        """Keras' ``finalize_variable_values``: the averages under use_ema."""
        return [a.copy() for a in self.average] if self.use_ema else weights
