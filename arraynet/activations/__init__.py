"""Activation functions, each with its hand-written derivative beside it.

``forward(xp, Z) -> A`` and ``backward(xp, Z, A, dA) -> dZ`` (see ``activations/base.py``).
Keras's names work as strings (``Dense(4, activation="gelu")``) and as objects:
``an.activations.relu`` is an activation (``Dense(4, activation=an.activations.relu)``) and
also Keras's function (``an.activations.relu(x, negative_slope=0.1)`` computes on the
selected backend). The classes (``an.activations.GELU(approximate=True)``) take Keras's
arguments. A plain Python function is refused: arraynet needs each derivative written by
hand (subclass :class:`Activation` with ``forward`` and ``backward``).
"""

from __future__ import annotations

from .base import Activation, log_softmax_of, sigmoid_of, softmax_of, softplus_of
from .basic import (
    HardSigmoid,
    HardSiLU,
    Identity,
    LeakyReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    Step,
    Tanh,
)
from .smooth import (
    ELU,
    GELU,
    SELU,
    Exponential,
    LogSoftmax,
    Mish,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
)
from .special import erf

CLASSES = {
    cls.name: cls
    for cls in (
        Identity, ReLU, Sigmoid, Tanh, Softmax, Step, ELU, SELU, GELU, Softplus, Softsign,
        SiLU, LeakyReLU, ReLU6, HardSigmoid, HardSiLU, Exponential, LogSoftmax, Mish,
    )
}  # fmt: skip
ACTIVATIONS = {name: cls() for name, cls in CLASSES.items()}  # default-configured
_ALIASES = {None: "identity", "linear": "identity", "swish": "silu", "hard_swish": "hard_silu"}

# Keras's function names: each an activation object that is also callable on arrays
identity = linear = ACTIVATIONS["identity"]
relu = ACTIVATIONS["relu"]
sigmoid = ACTIVATIONS["sigmoid"]
tanh = ACTIVATIONS["tanh"]
softmax = ACTIVATIONS["softmax"]
elu = ACTIVATIONS["elu"]
selu = ACTIVATIONS["selu"]
gelu = ACTIVATIONS["gelu"]
softplus = ACTIVATIONS["softplus"]
softsign = ACTIVATIONS["softsign"]
silu = swish = ACTIVATIONS["silu"]
leaky_relu = ACTIVATIONS["leaky_relu"]
relu6 = ACTIVATIONS["relu6"]
hard_sigmoid = ACTIVATIONS["hard_sigmoid"]
hard_silu = hard_swish = ACTIVATIONS["hard_silu"]
exponential = ACTIVATIONS["exponential"]
log_softmax = ACTIVATIONS["log_softmax"]
mish = ACTIVATIONS["mish"]


def get(activation) -> Activation:
    """An activation from a name (``None`` and ``"linear"`` mean identity), an
    :class:`Activation` (or its class), or a config from :func:`serialize`."""
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, type) and issubclass(activation, Activation):
        return activation()
    if isinstance(activation, dict):
        config = dict(activation.get("config", {}))
        name = _ALIASES.get(activation.get("name"), activation.get("name"))
        if name not in CLASSES:
            raise ValueError(f"activation: expected one of {', '.join(CLASSES)}; got {name!r}")
        return CLASSES[name](**config)
    if not (activation is None or isinstance(activation, str)):
        if callable(activation):
            raise TypeError(
                f"activation: got the function {getattr(activation, '__name__', activation)!r}, "
                "whose derivative arraynet cannot take (it has no autodiff); pass a name, or "
                "subclass an.activations.Activation with forward(xp, Z) and a hand-written "
                "backward(xp, Z, A, dA)"
            )
        raise TypeError(
            f"activation: expected a name or an Activation; got {type(activation).__name__}"
        )
    name = _ALIASES.get(activation, activation)
    if name not in ACTIVATIONS:
        raise ValueError(
            f"activation: expected one of {', '.join(ACTIVATIONS)}; got {activation!r}"
        )
    return ACTIVATIONS[name]


def serialize(activation: Activation):
    """The name of a default-configured activation, else ``{"name": ..., "config": {...}}``
    (what :func:`get` rebuilds; for saving a layer's config)."""
    if activation.is_default and activation.name in CLASSES:
        return activation.name
    return {"name": activation.name, "config": activation.get_config()}


__all__ = [
    "ACTIVATIONS",
    "CLASSES",
    "ELU",
    "GELU",
    "SELU",
    "Activation",
    "Exponential",
    "HardSiLU",
    "HardSigmoid",
    "Identity",
    "LeakyReLU",
    "LogSoftmax",
    "Mish",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Softsign",
    "Step",
    "Tanh",
    "elu",
    "erf",
    "exponential",
    "gelu",
    "get",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "identity",
    "leaky_relu",
    "linear",
    "log_softmax",
    "log_softmax_of",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "sigmoid_of",
    "silu",
    "softmax",
    "softmax_of",
    "softplus",
    "softplus_of",
    "softsign",
    "swish",
    "tanh",
]
