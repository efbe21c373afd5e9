"""Learning-rate schedules: Keras 3's (``keras.optimizers.schedules``), with its names,
signatures, defaults and formulas, and arraynet's ``StepDecay``.

A schedule is a function of the step count (0 for the first update), evaluated with ``xp``
ops on a float array so that it compiles under ``jax.jit``: ``schedule.value(xp, step)``.
``schedule(step)`` (Keras' call) evaluates it on the host and returns a float.

An optimizer given a schedule keeps, as the base learning rate ``state[1]``, the schedule's
``reference`` (its ``initial_learning_rate``; for a warm-up from 0, the warm-up target) and
trains step ``count`` with ``state[1] * schedule.multiplier(xp, count)``, the multiplier
being the schedule divided by its reference: setting the model's learning rate rescales the
whole schedule. Steps are counted in the weights' dtype (in float32, exact to 2**24 steps).

Configs: ``serialize(schedule)`` gives Keras' form ``{"class_name": ..., "config": ...}``;
``deserialize`` reads it, and the ``{"name": "exponential_decay", "initial": ...}`` form that
arraynet wrote before (``initial`` is still accepted for ``initial_learning_rate``).
"""

from __future__ import annotations

import math

from ..backend import numpy_backend, to_numpy
from ..validation import check_flag, check_non_negative, check_positive, check_unit_interval

_UNSET = object()


class LearningRateSchedule:
    """Base: subclasses write ``value(xp, step)`` and ``get_config``, and set ``reference``."""

    reference = 1.0  # the value the base learning rate state[1] starts at (> 0)

    def value(self, xp, step):
        """The learning rate at ``step``, a float array of step counts."""
        raise NotImplementedError

    def multiplier(self, xp, step):
        """The schedule at ``step`` divided by its ``reference``."""
        return self.value(xp, step) / self.reference

    def __call__(self, step):
        """The learning rate at ``step`` (a number or array; Keras' call), on the host."""
        host = numpy_backend()
        result = self.value(host.xp, host.asarray(to_numpy(step)))
        return float(result) if result.ndim == 0 else result

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        items = self.get_config().items()
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in items)})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    __hash__ = object.__hash__


Schedule = LearningRateSchedule  # arraynet's earlier name


def _initial(initial_learning_rate, initial, argument="initial_learning_rate") -> float:
    """``initial_learning_rate`` (or arraynet's former ``initial``), a number >= 0."""
    if initial is not _UNSET:
        if initial_learning_rate is not _UNSET:
            raise TypeError("initial: expected initial_learning_rate or initial, not both")
        initial_learning_rate, argument = initial, "initial"
    if initial_learning_rate is _UNSET:
        raise TypeError("initial_learning_rate: expected a number; got none")
    return check_non_negative(initial_learning_rate, argument)


def _reference(value: float, argument: str) -> float:
    if value <= 0:
        raise ValueError(f"{argument}: expected a finite number > 0; got {value}")
    return value


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``, the exponent floored if
    ``staircase``."""

    def __init__(self, initial_learning_rate=_UNSET, decay_steps=None, decay_rate=None,
                 staircase=False, name="ExponentialDecay", *, initial=_UNSET):  # fmt: skip
        self.initial_learning_rate = _initial(initial_learning_rate, initial)
        self.reference = _reference(self.initial_learning_rate, "initial_learning_rate")
        self.decay_steps = check_positive(decay_steps, "decay_steps")
        self.decay_rate = check_positive(decay_rate, "decay_rate")
        self.staircase = check_flag(staircase, "staircase")
        self.name = name

    def value(self, xp, step):
        p = step / self.decay_steps
        if self.staircase:
            p = xp.floor(p)
        return self.initial_learning_rate * self.decay_rate**p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}  # fmt: skip


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while ``boundaries[i-1] <
    step <= boundaries[i]``, ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
            raise TypeError(
                f"boundaries: expected lists of numbers (boundaries and values); "
                f"got {boundaries!r} and {values!r}"
            )
        self.boundaries = [check_non_negative(b, f"boundaries[{i}]") for i, b in
                           enumerate(boundaries)]  # fmt: skip
        self.values = [check_non_negative(v, f"values[{i}]") for i, v in enumerate(values)]
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                f"values: expected one more value than boundaries ({len(boundaries) + 1}); "
                f"got {len(values)}"
            )
        if any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"boundaries: expected increasing numbers; got {boundaries}")
        self.reference = _reference(self.values[0] or max(self.values), "values")
        self.name = name

    def value(self, xp, step):
        lr = xp.zeros_like(step) + self.values[-1]
        for b, v in zip(reversed(self.boundaries), reversed(self.values[:-1])):
            lr = xp.where(step <= b, v, lr)
        return lr

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial_learning_rate - end_learning_rate) * (1 - s / decay_steps) ** power +
    end_learning_rate``, ``s = min(step, decay_steps)``; with ``cycle``, ``decay_steps`` is
    the first multiple of itself at or past ``step`` (itself at step 0)."""

    def __init__(self, initial_learning_rate=_UNSET, decay_steps=None,
                 end_learning_rate=0.0001, power=1.0, cycle=False, name="PolynomialDecay",
                 *, initial=_UNSET):  # fmt: skip
        self.initial_learning_rate = _initial(initial_learning_rate, initial)
        self.decay_steps = check_positive(decay_steps, "decay_steps")
        self.end_learning_rate = check_non_negative(end_learning_rate, "end_learning_rate")
        self.power = check_positive(power, "power")
        self.cycle = check_flag(cycle, "cycle")
        self.reference = _reference(
            self.initial_learning_rate or self.end_learning_rate, "initial_learning_rate"
        )
        self.name = name

    def value(self, xp, step):
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps = decay_steps * xp.where(step == 0, 1.0, xp.ceil(step / decay_steps))
        else:
            step = xp.minimum(step, decay_steps)
        p = step / decay_steps
        span = self.initial_learning_rate - self.end_learning_rate
        return span * (1 - p) ** self.power + self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}  # fmt: skip


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``, the quotient floored
    if ``staircase``."""

    def __init__(self, initial_learning_rate=_UNSET, decay_steps=None, decay_rate=None,
                 staircase=False, name="InverseTimeDecay", *, initial=_UNSET):  # fmt: skip
        self.initial_learning_rate = _initial(initial_learning_rate, initial)
        self.reference = _reference(self.initial_learning_rate, "initial_learning_rate")
        self.decay_steps = check_positive(decay_steps, "decay_steps")
        self.decay_rate = check_non_negative(decay_rate, "decay_rate")
        self.staircase = check_flag(staircase, "staircase")
        self.name = name

    def value(self, xp, step):
        p = step / self.decay_steps
        if self.staircase:
            p = xp.floor(p)
        return self.initial_learning_rate / (1 + self.decay_rate * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}  # fmt: skip


class CosineDecay(LearningRateSchedule):
    """Without warm-up: ``initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s /
    decay_steps)) + alpha)``, ``s = min(step, decay_steps)``. With ``warmup_target``: a linear
    rise from ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then that
    cosine from ``warmup_target``."""

    def __init__(self, initial_learning_rate=_UNSET, decay_steps=None, alpha=0.0,
                 name="CosineDecay", warmup_target=None, warmup_steps=0,
                 *, initial=_UNSET):  # fmt: skip
        self.initial_learning_rate = _initial(initial_learning_rate, initial)
        self.decay_steps = check_positive(decay_steps, "decay_steps")
        self.alpha = check_unit_interval(alpha, "alpha")
        self.name = name
        if warmup_target is not None:
            warmup_target = check_non_negative(warmup_target, "warmup_target")
        self.warmup_target = warmup_target
        self.warmup_steps = check_non_negative(warmup_steps, "warmup_steps")
        self.reference = _reference(
            self.initial_learning_rate or (warmup_target or 0.0), "initial_learning_rate"
        )

    def _decay(self, xp, step, start):
        cosine = 0.5 * (1.0 + xp.cos(math.pi * (step / self.decay_steps)))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def value(self, xp, step):
        if self.warmup_target is None:
            step = xp.minimum(step, self.decay_steps)
            return self._decay(xp, step, self.initial_learning_rate)
        warmup, target = self.warmup_steps, self.warmup_target
        step = xp.minimum(step, self.decay_steps + warmup)
        rise = (target - self.initial_learning_rate) * (step / max(warmup, 1.0))
        return xp.where(
            step < warmup,
            rise + self.initial_learning_rate,
            self._decay(xp, step - warmup, target),
        )

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}  # fmt: skip


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of ``first_decay_steps``, each
    ``t_mul`` times longer than the last and starting ``m_mul`` times lower, each decaying as
    :class:`CosineDecay` does to ``alpha`` times its start."""

    def __init__(self, initial_learning_rate=_UNSET, first_decay_steps=None, t_mul=2.0,
                 m_mul=1.0, alpha=0.0, name="SGDRDecay", *, initial=_UNSET):  # fmt: skip
        self.initial_learning_rate = _initial(initial_learning_rate, initial)
        self.reference = _reference(self.initial_learning_rate, "initial_learning_rate")
        self.first_decay_steps = check_positive(first_decay_steps, "first_decay_steps")
        self.t_mul = check_positive(t_mul, "t_mul")
        self.m_mul = check_non_negative(m_mul, "m_mul")
        self.alpha = check_unit_interval(alpha, "alpha")
        self.name = name

    def value(self, xp, step):
        fraction, t_mul = step / self.first_decay_steps, self.t_mul
        if t_mul == 1.0:
            restart = xp.floor(fraction)
            fraction = fraction - restart
        else:
            restart = xp.floor(xp.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            done = (1.0 - t_mul**restart) / (1.0 - t_mul)
            fraction = (fraction - done) / t_mul**restart
        cosine = 0.5 * self.m_mul**restart * (1.0 + xp.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}  # fmt: skip


class StepDecay(LearningRateSchedule):
    """arraynet's: ``initial_learning_rate * factor ** floor(step / step_size)`` (torch's
    StepLR, counted in updates)."""

    def __init__(self, initial_learning_rate=_UNSET, step_size=None, factor=None,
                 name="StepDecay", *, initial=_UNSET):  # fmt: skip
        self.initial_learning_rate = _initial(initial_learning_rate, initial)
        self.reference = _reference(self.initial_learning_rate, "initial_learning_rate")
        self.step_size = check_positive(step_size, "step_size")
        self.factor = check_positive(factor, "factor")
        self.name = name

    def value(self, xp, step):
        return self.initial_learning_rate * self.factor ** xp.floor(step / self.step_size)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "step_size": self.step_size, "factor": self.factor,
                "name": self.name}  # fmt: skip


SCHEDULES = {
    cls.__name__: cls
    for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay,
                CosineDecay, CosineDecayRestarts, StepDecay)
}  # fmt: skip
_LEGACY = {"step_decay": StepDecay, "exponential_decay": ExponentialDecay,
           "cosine_decay": CosineDecay}  # fmt: skip


def serialize(schedule: LearningRateSchedule) -> dict:
    """Keras' form: ``{"class_name": "ExponentialDecay", "config": {...}}``."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict) -> LearningRateSchedule:
    """The schedule ``serialize`` (or arraynet before it, ``{"name": "step_decay", ...}``)
    described."""
    if not isinstance(config, dict):
        raise TypeError(f"learning_rate: expected a number or a schedule config; got {config!r}")
    if "class_name" in config:
        name = config["class_name"]
        if name not in SCHEDULES:
            raise ValueError(
                f"schedule class_name: expected one of {', '.join(SCHEDULES)}; got {name!r}"
            )
        return SCHEDULES[name].from_config(dict(config.get("config", {})))
    config = dict(config)
    name = config.pop("name", None)
    if name not in _LEGACY:
        raise ValueError(f"schedule name: expected one of {', '.join(_LEGACY)}; got {name!r}")
    return _LEGACY[name](**config)


__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "StepDecay",
    "deserialize",
    "serialize",
]
