"""Optimizers as pure ``init`` / ``update`` pairs (optax style), with Keras 3's names,
signatures, defaults and formulas.

``state = opt.init(xp, params)`` and ``params, state = opt.update(xp, params, grads, state)``.
``params``, ``grads`` and ``state`` are flat tuples of arrays: nothing is mutated, so the
same code runs under ``jax.jit``.

State layout, for every optimizer: ``state[0]`` the step count (int32, shape ()),
``state[1]`` the base learning rate (shape (), the params' dtype), then the per-parameter
slots, one array per parameter for each kind the optimizer's ``slots`` lists, in that order
(the optimizer's own kinds, then ``average``, the moving averages, with ``use_ema``), then
one array of shape () for each name in ``scalars`` (Nadam's ``u_product``). Own kinds:

- ``SGD``: ``velocity`` (momentum > 0); ``Lion``: ``momentum``
- ``RMSprop``: ``velocity``, ``average_gradient`` (centered), ``momentum`` (momentum > 0)
- ``Adam``/``AdamW``: ``momentum``, ``velocity``, ``velocity_hat`` (amsgrad)
- ``Adamax``: ``momentum``, ``norm``; ``Nadam``: ``momentum``, ``velocity``
- ``Adagrad``: ``accumulator``; ``Adadelta``: ``accumulated_grad``, ``accumulated_delta_var``

Learning rate (``learning_rate=``; ``lr=`` is arraynet's spelling of it): a number, or a
schedule from :mod:`arraynet.optimizers.schedules`. Step ``count`` (0 for the first update)
trains with ``state[1]``, or with a schedule ``state[1] * schedule.multiplier(count)``, the
schedule divided by its reference value (its initial learning rate): ``state[1]`` starts
there and setting it rescales the whole schedule. ``optimizer.learning_rate`` reads the live
rate of the model compiled with it (the next update's; the constructor's before the first
fit) and, without a schedule, sets it: the next ``fit`` trains with it, on every backend.

Each update, in Keras' order: the grads are clipped (``clipnorm``: each tensor to that
norm; ``global_clipnorm``: all together; ``clipvalue``: each element; one of the three),
the weights decayed (``weight_decay``: ``W -= W * weight_decay * lr``, every weight), the
optimizer's step taken, then with ``use_ema`` the moving averages updated
(``average = ema_momentum * average + (1 - ema_momentum) * W``, ``W`` itself at the first
step) and, every ``ema_overwrite_frequency`` steps, copied into the weights; at the end of
``fit`` the model takes the averages (``final_weights``).

Not (yet) here from Keras 3: ``loss_scale_factor``, ``gradient_accumulation_steps``,
``name=``, ``exclude_from_weight_decay``, callables as learning rates, Ftrl, Lamb, Muon.
"""

from __future__ import annotations

from . import schedules
from .adam import Adam, Adamax, AdamW, Nadam
from .adaptive import Adadelta, Adagrad, RMSprop
from .base import Optimizer
from .schedules import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
    Schedule,
    StepDecay,
)
from .sgd import SGD, Lion

OPTIMIZERS = {
    cls.name: cls for cls in (SGD, RMSprop, Adam, AdamW, Nadam, Adamax, Adagrad, Adadelta, Lion)
}
_BY_CLASS = {cls.__name__: cls for cls in OPTIMIZERS.values()}
_KERAS_ONLY = {"loss_scale_factor": None, "gradient_accumulation_steps": None}


def from_config(config: dict) -> Optimizer:
    """The optimizer that ``get_config`` (or Keras' ``serialize``, ``{"class_name",
    "config"}``) described. Configs arraynet wrote before it followed Keras (``lr``) keep
    their meaning: their ``clipnorm`` was a global norm, now ``global_clipnorm``."""
    if not isinstance(config, dict):
        raise TypeError(f"optimizer config: expected a dict; got {config!r}")
    if "class_name" in config:
        name = config["class_name"]
        if name not in _BY_CLASS:
            raise ValueError(
                f"optimizer class_name: expected one of {', '.join(_BY_CLASS)}; got {name!r}"
            )
        config = {**config.get("config", {}), "name": _BY_CLASS[name].name}
    config = dict(config)
    name = config.pop("name", None)
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer name: expected one of {', '.join(OPTIMIZERS)}; got {name!r}")
    for key, default in _KERAS_ONLY.items():
        if config.get(key, default) == default:
            config.pop(key, None)
    if "lr" in config and "learning_rate" not in config:  # written before Keras' formulas
        config["learning_rate"] = config.pop("lr")
        config["global_clipnorm"] = config.pop("clipnorm", None)
    return OPTIMIZERS[name](**config)


def get(optimizer) -> Optimizer:
    """An optimizer instance, one built with defaults from its name (Keras': ``"adam"``,
    ``"rmsprop"``, ...; any case), or from a config dict."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, dict):
        return from_config(optimizer)
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(
        f"optimizer: expected an Optimizer or one of {', '.join(OPTIMIZERS)}; got {optimizer!r}"
    )


def serialize(optimizer: Optimizer) -> dict:
    """Keras' form: ``{"class_name": "Adam", "config": {...}}``."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


deserialize = from_config

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "Lion",
    "Nadam",
    "Optimizer",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "RMSprop",
    "Schedule",
    "StepDecay",
    "deserialize",
    "from_config",
    "get",
    "schedules",
    "serialize",
]
