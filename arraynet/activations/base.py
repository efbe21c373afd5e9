"""The activation protocol: a forward and its hand-written derivative, side by side.

``forward(xp, Z) -> A`` and ``backward(xp, Z, A, dA) -> dZ``: the backward takes the
pre-activation ``Z``, the output ``A`` and the delta arriving at ``A``. (Recurrent cells
call ``backward(xp, None, A, dA)``: the activations they accept have their derivative in
terms of the output alone.)

An activation object is also a Keras-style function: ``an.activations.relu(x)`` computes
on the selected backend, and keyword arguments (``relu(x, negative_slope=0.1)``) build the
configured activation first. A subclass with arguments stores them as attributes of the
same names and lists them in ``ARGS`` (with their defaults), which gives ``get_config``.
"""

from __future__ import annotations

from ..backend.direct import on_backend


class Activation:
    """The identity; the base of every activation."""

    name = "identity"
    trainable = True
    ARGS: dict = {}  # argument -> default, in signature order

    def forward(self, xp, Z):
        return Z

    def backward(self, xp, Z, A, dA):
        return dA

    def get_config(self) -> dict:
        return {arg: getattr(self, arg) for arg in self.ARGS}

    @property
    def is_default(self) -> bool:
        """True when every argument has its default (the name alone describes it)."""
        return self.get_config() == self.ARGS

    def __call__(self, x, **kwargs):
        """Keras's function form: this activation (configured by ``kwargs``) of ``x``."""
        activation = type(self)(**{**self.get_config(), **kwargs}) if kwargs else self
        xp, (x,) = on_backend(x)
        return activation.forward(xp, x)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.get_config().items())))

    def __repr__(self) -> str:
        if self.is_default:
            return f"<activation {self.name}>"
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"<activation {self.name}({args})>"


def sigmoid_of(xp, Z):
    """The logistic function, never overflowing."""
    E = xp.exp(-xp.abs(Z))
    return xp.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))


def softplus_of(xp, Z):
    """``log(1 + exp(Z))`` without overflow: ``max(Z, 0) + log1p(exp(-|Z|))``."""
    return xp.maximum(Z, 0.0) + xp.log1p(xp.exp(-xp.abs(Z)))


def log_softmax_of(xp, Z, axis: int = -1):
    """Log-softmax along ``axis`` by log-sum-exp, stable for any finite logits."""
    shifted = Z - xp.max(Z, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def softmax_of(xp, Z, axis: int = -1):
    E = xp.exp(Z - xp.max(Z, axis=axis, keepdims=True))
    return E / xp.sum(E, axis=axis, keepdims=True)
