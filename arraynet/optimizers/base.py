"""The optimizer base: learning rate (number or schedule, live in the model's state), the
common Keras 3 arguments (clipping, weight decay, moving averages), and the pure
``init`` / ``update`` over the state layout described in :mod:`arraynet.optimizers`."""

from __future__ import annotations

import numbers
from itertools import chain

from ..backend import numpy_backend
from ..validation import (
    check_count,
    check_flag,
    check_non_negative,
    check_positive,
    check_unit_interval,
)
from .schedules import LearningRateSchedule, deserialize, serialize

_CLIPS = ("clipnorm", "global_clipnorm", "clipvalue")


class Optimizer:
    """Base: count, learning rate, clipping, weight decay and EMA; subclasses write
    ``_apply`` and list their slot kinds in ``_kinds`` (and scalars in ``scalars``)."""

    name = ""  # the key in configs and in ``optimizers.get``
    scalars: tuple[str, ...] = ()  # state entries of shape (), after the per-parameter slots

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, **kwargs):  # fmt: skip
        self._lr_argument = "learning_rate"
        if "lr" in kwargs:  # arraynet's (and Keras 2's) spelling
            learning_rate, self._lr_argument = kwargs.pop("lr"), "lr"
        if kwargs:
            key = next(iter(kwargs))
            raise TypeError(f"{key}: not an argument of {type(self).__name__}")
        if isinstance(learning_rate, dict):
            learning_rate = deserialize(learning_rate)
        if isinstance(learning_rate, LearningRateSchedule):
            self.schedule, self._base = learning_rate, learning_rate.reference
        else:
            self.schedule = None
            self._base = check_positive(learning_rate, self._lr_argument)
        self._live = None  # the model's Variables once compiled (their state holds the lr)
        if weight_decay is not None:
            weight_decay = check_non_negative(weight_decay, "weight_decay")
        self.weight_decay = weight_decay
        clips = dict(zip(_CLIPS, (clipnorm, global_clipnorm, clipvalue)))
        given = [name for name, value in clips.items() if value is not None]
        if len(given) > 1:
            raise ValueError(f"{given[1]}: expected only one of {', '.join(_CLIPS)}; got "
                             + ", ".join(f"{name}={clips[name]}" for name in given))  # fmt: skip
        for name in given:
            clips[name] = check_positive(clips[name], name)
        self.clipnorm, self.global_clipnorm, self.clipvalue = clips.values()
        self.use_ema = check_flag(use_ema, "use_ema")
        self.ema_momentum = check_unit_interval(ema_momentum, "ema_momentum")
        if ema_overwrite_frequency is not None:
            ema_overwrite_frequency = check_count(
                ema_overwrite_frequency, "ema_overwrite_frequency", minimum=1
            )
        self.ema_overwrite_frequency = ema_overwrite_frequency

    # -- the learning rate ---------------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update: the live one in the compiled model's state
        once it has one, else the constructor's (with a schedule: its value at the step)."""
        state = self._state()
        base = self._base if state is None else float(state[1])
        if self.schedule is None:
            return base
        host = numpy_backend()
        count = host.asarray(0 if state is None else int(state[0]))
        return base * float(self.schedule.multiplier(host.xp, count))

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if self.schedule is not None:
            raise TypeError(
                f"learning_rate: this optimizer follows {self.schedule!r}, so its learning "
                "rate cannot be set (as in Keras); set model.learning_rate to rescale the "
                "schedule"
            )
        value = check_non_negative(value, "learning_rate")  # 0 may freeze training, as Keras
        self._base = value
        state = self._state()
        if state is not None:
            self._live.edit_state(lambda xp, state: self.with_learning_rate(xp, state, value))

    lr = learning_rate  # arraynet's spelling

    def attach(self, variables) -> None:
        """Read and write the learning rate in ``variables.opt_state`` (a compiled model's)."""
        self._live = variables

    def detach(self, variables) -> None:
        """Stop following ``variables`` (a model compiled anew), keeping its learning rate."""
        if self._live is variables:
            state = self._state()
            if state is not None:
                self._base = float(state[1])
            self._live = None

    def _state(self):
        return None if self._live is None else self._live.opt_state

    def current_learning_rate(self, state):
        """The base learning rate array in ``state`` (``state[1]``)."""
        return state[1]

    def with_learning_rate(self, xp, state, lr):
        """``state`` with the base learning rate set to ``lr`` (same dtype and device); errors
        name ``learning_rate``, the attribute set (the model's or the optimizer's)."""
        if not hasattr(lr, "shape"):  # a number (arrays come from a state)
            lr = check_non_negative(lr, "learning_rate")  # 0 may freeze training, as Keras
        old = state[1]
        return (state[0], _learning_rate_array(xp, lr, old.dtype, old.device), *state[2:])

    def check_dtype(self, xp, dtype) -> None:
        """Refuse, before any training, a learning rate ``dtype`` cannot hold."""
        _check_learning_rate(xp, self._base, dtype, self._lr_argument)

    # -- state ---------------------------------------------------------------------------

    def _kinds(self) -> tuple[str, ...]:
        """The optimizer's own per-parameter slot kinds, in state order."""
        return ()

    @property
    def slots(self) -> tuple[str, ...]:
        """Names of the per-parameter slot kinds in state order (one array per parameter
        each): the optimizer's own, then ``average`` with ``use_ema``."""
        return self._kinds() + ("average",) * self.use_ema

    def _slot_init(self, xp, kind: str, p):
        return xp.zeros_like(p)

    def _scalar_init(self) -> tuple[float, ...]:
        return ()

    def init(self, xp, params) -> tuple:
        dtype, device = (params[0].dtype, params[0].device) if params else (xp.float32, None)
        count = xp.asarray(0, dtype=xp.int32, device=device)
        lr = _learning_rate_array(xp, self._base, dtype, device, self._lr_argument)
        slots = tuple(self._slot_init(xp, kind, p) for kind in self._kinds() for p in params)
        average = tuple(xp.asarray(p, copy=True) for p in params) if self.use_ema else ()
        scalars = tuple(xp.asarray(v, dtype=dtype, device=device) for v in self._scalar_init())
        return (count, lr, *slots, *average, *scalars)

    def state_shapes(self, shapes) -> list[tuple[int, ...]]:
        """The shapes of ``init``'s state for parameters of ``shapes``."""
        return [(), ()] + [shape for _ in self.slots for shape in shapes] + [()] * len(self.scalars)

    # -- the update ----------------------------------------------------------------------

    def update(self, xp, params, grads, state):
        """``(params, state)`` after one step: clip the grads, decay the weights, the
        optimizer's own step, then the moving averages (Keras' order)."""
        count, base = state[0], state[1]
        lr = base
        if self.schedule is not None:
            lr = base * self.schedule.multiplier(xp, xp.astype(count, base.dtype))
        grads = self._clip(xp, tuple(grads))
        params = tuple(params)
        if self.weight_decay:
            params = tuple(p - p * self.weight_decay * lr for p in params)
        if not self.slots and not self.scalars:  # nothing but the count (plain SGD)
            t = count + 1
            return self._apply(xp, params, grads, [], lr, t)[0], (t, base)
        n, k = len(params), len(self._kinds())
        groups = [state[2 + i * n : 2 + (i + 1) * n] for i in range(len(self.slots))]
        scalars = list(state[2 + len(groups) * n :][: len(self.scalars)])
        t = count + 1
        params, new = self._apply(xp, params, grads, groups[:k] + scalars, lr, t)
        average = ()
        if self.use_ema:
            params, average = self._average(xp, params, groups[k], count, t)
        slots = chain.from_iterable(new[:k])
        return params, (t, base, *slots, *average, *new[k:])

    def _apply(self, xp, params, grads, slots, lr, t):
        """New params and slots from grads, lr and the 1-based step count ``t`` (an int32
        array). ``slots``: a tuple of arrays per own kind, then each scalar (an array)."""
        raise NotImplementedError

    def _clip(self, xp, grads) -> tuple:
        if self.clipnorm is not None:  # each tensor on its own (Keras)
            c = self.clipnorm
            return tuple(g * c / xp.maximum(xp.sqrt(xp.sum(g * g)), c) for g in grads)
        if self.global_clipnorm is not None:
            c = self.global_clipnorm
            norm = xp.sqrt(sum(xp.sum(g * g) for g in grads))
            scale = c / xp.maximum(norm, c)  # min(1, c / norm), with no 1 / 0
            return tuple(g * scale for g in grads)
        if self.clipvalue is not None:
            return tuple(xp.clip(g, -self.clipvalue, self.clipvalue) for g in grads)
        return grads

    def _average(self, xp, params, average, count, t):
        """Keras' EMA: ``average = m * average + (1 - m) * params`` (``m`` 0 at the first
        step); every ``ema_overwrite_frequency`` steps the params become the averages."""
        m = xp.astype(count != 0, params[0].dtype) * self.ema_momentum
        average = tuple(m * a + (1 - m) * p for a, p in zip(average, params))
        if self.ema_overwrite_frequency is not None:
            now = t % self.ema_overwrite_frequency == 0
            params = tuple(xp.where(now, a, p) for a, p in zip(average, params))
        return params, average

    def final_weights(self, xp, state, params) -> tuple:
        """The trainable weights to end ``fit`` with: the moving averages with ``use_ema``
        (Keras' ``finalize_variable_values``), else ``params`` itself."""
        if not self.use_ema:
            return params
        start = 2 + len(self._kinds()) * len(params)
        return tuple(state[start : start + len(params)])

    # -- config --------------------------------------------------------------------------

    def get_config(self) -> dict:
        """Keras' config: ``name``, ``learning_rate`` (the live value, or the schedule as
        ``{"class_name", "config"}``), the common arguments, then the optimizer's own."""
        lr = self.learning_rate if self.schedule is None else serialize(self.schedule)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            **self._hyper(),
        }

    def _hyper(self) -> dict:
        return {}

    def __repr__(self) -> str:
        config = self.get_config()
        del config["name"]
        if self.schedule is not None:
            config["learning_rate"] = self.schedule
        defaults = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                    "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                    "ema_overwrite_frequency": None}  # fmt: skip
        shown = {k: v for k, v in config.items() if k not in defaults or defaults[k] != v}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def _learning_rate_array(xp, lr, dtype, device, argument="learning_rate"):
    """``lr`` as a 0-d array of the params' dtype (see ``_check_learning_rate``)."""
    _check_learning_rate(xp, lr, dtype, argument)
    return xp.asarray(lr, dtype=dtype, device=device)


def _check_learning_rate(xp, lr, dtype, argument="learning_rate") -> None:
    """Refuse a number ``dtype`` cannot hold (in float32, a learning rate of 1e300 would be
    inf and one of 1e-50 would be 0)."""
    if isinstance(lr, numbers.Real) and lr != 0:
        info = xp.finfo(dtype)
        if not float(info.smallest_normal) <= lr <= float(info.max):
            name = getattr(dtype, "__name__", None) or str(dtype).rsplit(".", 1)[-1]
            raise ValueError(
                f"{argument}: expected a learning rate that {name} can hold, from "
                f"{info.smallest_normal:.3g} to {info.max:.3g}; got {lr!r}"
            )
