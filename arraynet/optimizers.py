"""Optimizers as pure ``init`` / ``update`` pairs (optax style).

``state = opt.init(xp, params)`` and ``params, state = opt.update(xp, params, grads, state)``.
``params``, ``grads`` and ``state`` are flat tuples of arrays: nothing is mutated, so the
same code runs under ``jax.jit``.

State layout, for every optimizer: ``state[0]`` the step count (int32, shape ()),
``state[1]`` the base learning rate (shape (), the params' dtype), then the slots, one
array per parameter for each slot kind, kinds in the order each class lists in ``slots``.

Learning rate: a number, or a schedule (:class:`StepDecay`, :class:`ExponentialDecay`,
:class:`CosineDecay`). Step ``count`` (0 for the first update) uses
``state[1] * schedule.multiplier(count)``, the multiplier being the schedule divided by its
``initial``; so ``state[1]`` starts at ``initial`` and setting it (``with_learning_rate``)
rescales the whole schedule.

``clipnorm``: grads are first scaled by ``min(1, clipnorm / global_norm)``, the global norm
over all grads (``torch.nn.utils.clip_grad_norm_`` adds 1e-6 to the norm; we do not).
"""

from __future__ import annotations

import math
from itertools import chain

from .validation import check_fraction, check_non_negative, check_positive

# -- learning-rate schedules ----------------------------------------------------------------


class Schedule:
    """A learning rate as a function of the step count, evaluated with ``xp`` ops."""

    name = ""

    def __init__(self, initial: float):
        self.initial = check_positive(initial, "initial")

    def multiplier(self, xp, step):
        """The schedule at ``step`` (a float array) divided by ``initial``."""
        raise NotImplementedError

    def __call__(self, xp, step):
        return self.initial * self.multiplier(xp, step)

    def get_config(self) -> dict:
        return {"name": self.name, **vars(self)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class StepDecay(Schedule):
    """``initial * factor ** floor(step / step_size)`` (torch's StepLR, counted in updates)."""

    name = "step_decay"

    def __init__(self, initial: float, step_size: float, factor: float):
        super().__init__(initial)
        self.step_size = check_positive(step_size, "step_size")
        self.factor = check_positive(factor, "factor")

    def multiplier(self, xp, step):
        return self.factor ** xp.floor(step / self.step_size)


class ExponentialDecay(Schedule):
    """Keras: ``initial * decay_rate ** (step / decay_steps)``, the exponent floored if
    ``staircase``."""

    name = "exponential_decay"

    def __init__(
        self, initial: float, decay_steps: float, decay_rate: float, staircase: bool = False
    ):
        super().__init__(initial)
        self.decay_steps = check_positive(decay_steps, "decay_steps")
        self.decay_rate = check_positive(decay_rate, "decay_rate")
        self.staircase = bool(staircase)

    def multiplier(self, xp, step):
        p = step / self.decay_steps
        return self.decay_rate ** (xp.floor(p) if self.staircase else p)


class CosineDecay(Schedule):
    """Keras: ``initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)``,
    ``s = min(step, decay_steps)``."""

    name = "cosine_decay"

    def __init__(self, initial: float, decay_steps: float, alpha: float = 0.0):
        super().__init__(initial)
        self.decay_steps = check_positive(decay_steps, "decay_steps")
        self.alpha = check_non_negative(alpha, "alpha")
        if self.alpha > 1:
            raise ValueError(f"alpha: expected a number in [0, 1]; got {alpha}")

    def multiplier(self, xp, step):
        s = xp.minimum(step, self.decay_steps) / self.decay_steps
        return (1 - self.alpha) * 0.5 * (1 + xp.cos(math.pi * s)) + self.alpha


SCHEDULES = {cls.name: cls for cls in (StepDecay, ExponentialDecay, CosineDecay)}


def schedule_from_config(config: dict) -> Schedule:
    config = dict(config)
    name = config.pop("name", None)
    if name not in SCHEDULES:
        raise ValueError(f"schedule name: expected one of {', '.join(SCHEDULES)}; got {name!r}")
    return SCHEDULES[name](**config)


# -- optimizers -----------------------------------------------------------------------------


class Optimizer:
    """Base: count, learning rate and clipping; subclasses write ``_apply`` and ``slots``."""

    name = ""

    def __init__(self, lr, clipnorm):
        if isinstance(lr, dict):
            lr = schedule_from_config(lr)
        self.lr = lr if isinstance(lr, Schedule) else check_positive(lr, "lr")
        self.clipnorm = None if clipnorm is None else check_positive(clipnorm, "clipnorm")

    @property
    def slots(self) -> tuple[str, ...]:
        """Names of the slot kinds, in state order (one array per parameter each)."""
        return ()

    def init(self, xp, params) -> tuple:
        dtype, device = (params[0].dtype, params[0].device) if params else (xp.float32, None)
        count = xp.asarray(0, dtype=xp.int32, device=device)
        lr = _learning_rate_array(xp, self.initial_lr, dtype, device)
        return (count, lr) + tuple(xp.zeros_like(p) for _ in self.slots for p in params)

    def update(self, xp, params, grads, state):
        count, base, n = state[0], state[1], len(params)
        lr = base
        if isinstance(self.lr, Schedule):
            lr = base * self.lr.multiplier(xp, xp.astype(count, base.dtype))
        if self.clipnorm is not None:
            norm = xp.sqrt(sum(xp.sum(g * g) for g in grads))
            scale = self.clipnorm / xp.maximum(norm, self.clipnorm)  # min(1, clipnorm / norm)
            grads = tuple(g * scale for g in grads)
        count = count + 1
        slots = [state[start : start + n] for start in range(2, len(state), n or 1)]
        params, slots = self._apply(xp, tuple(params), tuple(grads), slots, lr, count)
        return params, (count, base, *chain.from_iterable(slots))

    def _apply(self, xp, params, grads, slots, lr, count):
        """New params and slots (a list of tuples) from grads, lr and the 1-based step count
        (an int32 array)."""
        raise NotImplementedError

    @property
    def initial_lr(self) -> float:
        """The learning rate of the first step (a schedule's ``initial``)."""
        return self.lr.initial if isinstance(self.lr, Schedule) else self.lr

    def check_dtype(self, xp, dtype) -> None:
        """Refuse, before any training, a learning rate ``dtype`` cannot hold."""
        _check_learning_rate(xp, self.initial_lr, dtype)

    def state_shapes(self, shapes) -> list[tuple[int, ...]]:
        """The shapes of ``init``'s state for parameters of ``shapes``."""
        return [(), ()] + [shape for _ in self.slots for shape in shapes]

    def learning_rate(self, state):
        """The base learning rate array, ``state[1]``."""
        return state[1]

    def with_learning_rate(self, xp, state, lr):
        """``state`` with the base learning rate set to ``lr`` (same dtype and device)."""
        if not hasattr(lr, "shape"):  # a number (arrays come from a state)
            lr = check_non_negative(lr, "lr")  # 0 may freeze training, as in Keras
        old = state[1]
        return (state[0], _learning_rate_array(xp, lr, old.dtype, old.device), *state[2:])

    def get_config(self) -> dict:
        lr = self.lr.get_config() if isinstance(self.lr, Schedule) else self.lr
        return {"name": self.name, "lr": lr, **self._hyper(), "clipnorm": self.clipnorm}

    def _hyper(self) -> dict:
        return {}

    def __repr__(self) -> str:
        config = self.get_config()
        config["lr"] = self.lr
        del config["name"]
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in config.items())})"


def _learning_rate_array(xp, lr, dtype, device):
    """``lr`` as a 0-d array of the params' dtype (see ``_check_learning_rate``)."""
    _check_learning_rate(xp, lr, dtype)
    return xp.asarray(lr, dtype=dtype, device=device)


def _check_learning_rate(xp, lr, dtype) -> None:
    """Refuse a number ``dtype`` cannot hold (in float32, a learning rate of 1e300 would be
    inf and one of 1e-50 would be 0)."""
    if isinstance(lr, (int, float)) and lr != 0:
        info = xp.finfo(dtype)
        if not float(info.smallest_normal) <= lr <= float(info.max):
            name = getattr(dtype, "__name__", None) or str(dtype).rsplit(".", 1)[-1]
            raise ValueError(
                f"lr: expected a learning rate that {name} can hold, from "
                f"{info.smallest_normal:.3g} to {info.max:.3g}; got {lr!r}"
            )


class SGD(Optimizer):
    """Gradient descent, the book's ``W -= alpha * weight_delta``; optional (Nesterov) momentum.

    With momentum ``m`` (Keras' formulation): ``v = m * v - lr * g`` and ``W = W + v``;
    Nesterov: ``W = W + m * v - lr * g``. Equal to torch.optim.SGD (dampening 0) for a
    constant lr; when lr changes, the velocity keeps the old lr's steps. Slots: velocity
    (only when momentum > 0).
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum: float = 0.0, nesterov: bool = False, clipnorm=None):
        super().__init__(lr, clipnorm)
        self.momentum = check_fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)

    @property
    def slots(self):
        return ("velocity",) if self.momentum else ()

    def _apply(self, xp, params, grads, slots, lr, count):
        m = self.momentum
        if not m:
            return tuple([p - lr * g for p, g in zip(params, grads)]), []
        velocity = tuple(m * v - lr * g for v, g in zip(slots[0], grads))
        if self.nesterov:
            steps = tuple(m * v - lr * g for v, g in zip(velocity, grads))
        else:
            steps = velocity
        return tuple(p + s for p, s in zip(params, steps)), [velocity]

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop as torch.optim.RMSprop (Keras' defaults): ``a = rho * a + (1 - rho) * g**2``,
    ``d = sqrt(a) + epsilon`` (centered: ``sqrt(max(a - mg**2, 0)) + epsilon``, ``mg`` the mean
    grad; torch goes NaN where rounding takes ``a - mg**2`` below 0),
    ``W -= lr * g / d``; with momentum ``b = m * b + lr * g / d``, ``W -= b``.

    Differences: Keras 3 puts epsilon inside the sqrt (``sqrt(a + epsilon)``); torch keeps lr
    out of the momentum buffer (same numbers for a constant lr). Slots: mean square, mean
    grad (if centered), momentum buffer (if momentum > 0).
    """

    name = "rmsprop"

    def __init__(
        self,
        lr=0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        clipnorm=None,
    ):
        super().__init__(lr, clipnorm)
        self.rho = check_fraction(rho, "rho")
        self.momentum = check_fraction(momentum, "momentum")
        self.epsilon = check_positive(epsilon, "epsilon")
        self.centered = bool(centered)

    @property
    def slots(self):
        return (
            ("mean_square",) + ("mean_grad",) * self.centered + ("momentum",) * (self.momentum > 0)
        )

    def _apply(self, xp, params, grads, slots, lr, count):
        rho, eps, slots = self.rho, self.epsilon, list(slots)
        square = tuple(rho * a + (1 - rho) * (g * g) for a, g in zip(slots.pop(0), grads))
        new = [square]
        if self.centered:
            mean = tuple(rho * a + (1 - rho) * g for a, g in zip(slots.pop(0), grads))
            new.append(mean)
            # a - mg**2 >= 0 in exact arithmetic; rounding can take it below (torch: NaN)
            variance = (xp.maximum(a - mg * mg, 0.0) for a, mg in zip(square, mean))
            denom = tuple(xp.sqrt(v) + eps for v in variance)
        else:
            denom = tuple(xp.sqrt(a) + eps for a in square)
        steps = tuple(lr * g / d for g, d in zip(grads, denom))
        if self.momentum:
            steps = tuple(self.momentum * b + s for b, s in zip(slots.pop(0), steps))
            new.append(steps)
        return tuple(p - s for p, s in zip(params, steps)), new

    def _hyper(self):
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adam(Optimizer):
    """Adam as torch.optim.Adam: ``m = b1 * m + (1 - b1) * g``, ``v = b2 * v + (1 - b2) * g**2``,
    ``W -= lr / (1 - b1**t) * m / (sqrt(v / (1 - b2**t)) + epsilon)``; amsgrad uses the running
    max of ``v``.

    Keras adds epsilon to ``sqrt(v)`` before the bias correction, i.e. an epsilon smaller by
    ``sqrt(1 - b2**t)``; we follow torch. Slots: m, v, v max (if amsgrad).
    """

    name = "adam"

    def __init__(
        self,
        lr=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm=None,
    ):
        super().__init__(lr, clipnorm)
        self.beta_1 = check_fraction(beta_1, "beta_1")
        self.beta_2 = check_fraction(beta_2, "beta_2")
        self.epsilon = check_positive(epsilon, "epsilon")
        self.amsgrad = bool(amsgrad)

    @property
    def slots(self):
        return ("m", "v") + ("v_max",) * self.amsgrad

    def _decay(self, params, lr):
        return params

    def _apply(self, xp, params, grads, slots, lr, count):
        b1, b2, t = self.beta_1, self.beta_2, xp.astype(count, lr.dtype)
        m = tuple(b1 * a + (1 - b1) * g for a, g in zip(slots[0], grads))
        v = tuple(b2 * a + (1 - b2) * (g * g) for a, g in zip(slots[1], grads))
        new = [m, v]
        if self.amsgrad:
            v = tuple(xp.maximum(a, b) for a, b in zip(slots[2], v))
            new.append(v)
        step_size, correction = lr / (1 - b1**t), xp.sqrt(1 - b2**t)
        params = self._decay(params, lr)
        params = tuple(
            p - step_size * a / (xp.sqrt(b) / correction + self.epsilon)
            for p, a, b in zip(params, m, v)
        )
        return params, new

    def _hyper(self):
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay, as torch.optim.AdamW and Keras: ``W *= 1 - lr * wd``
    first (every parameter, biases included), then the Adam step."""

    name = "adamw"

    def __init__(
        self,
        lr=0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm=None,
    ):
        super().__init__(lr, beta_1, beta_2, epsilon, amsgrad, clipnorm)
        self.weight_decay = check_non_negative(weight_decay, "weight_decay")

    def _decay(self, params, lr):
        return tuple(p - lr * self.weight_decay * p for p in params)

    def _hyper(self):
        return {"weight_decay": self.weight_decay, **super()._hyper()}


OPTIMIZERS = {cls.name: cls for cls in (SGD, RMSprop, Adam, AdamW)}


def from_config(config: dict) -> Optimizer:
    """The optimizer that ``get_config`` described."""
    config = dict(config)
    name = config.pop("name", None)
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer name: expected one of {', '.join(OPTIMIZERS)}; got {name!r}")
    return OPTIMIZERS[name](**config)


def get(optimizer) -> Optimizer:
    """An optimizer instance, one built with defaults from its name, or from a config dict."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, dict):
        return from_config(optimizer)
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(
        f"optimizer: expected an Optimizer or one of {', '.join(OPTIMIZERS)}; got {optimizer!r}"
    )
