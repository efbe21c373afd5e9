"""The loss protocol, and what the Keras losses share.

A loss is called as ``loss(xp, P, Y) -> (value, dP)``: ``P`` the network's output, ``Y``
the targets (same shape), ``value`` the batch loss (a 0-d array) and ``dP`` its hand-written
gradient with respect to ``P``. As Keras's default reduction ("sum_over_batch_size"), the
batch loss is the mean of the per-sample losses, a per-sample loss being the mean (or the
sum, for the distribution losses) over the last axis: ``per_sample(xp, P, Y)`` gives those
(Keras's function value, shape ``P.shape[:-1]``).

Your own loss: arraynet has no autodiff, so a plain function ``(y_true, y_pred) -> loss``
cannot be trained with (compile refuses it). Subclass :class:`Loss` and return the value
and the derivative yourself::

    class MeanFourthPower(an.losses.Loss):
        name = "mean_fourth_power"

        def __call__(self, xp, P, Y):
            D = P - Y
            n = D.shape[0] * D.shape[1]
            return xp.sum(D**4) / n, 4 * D**3 / n

``an.gradcheck(model, X, y)`` then checks that derivative against central differences.
(Saving such a model works; loading it needs the class in ``an.losses.LOSSES`` under its
name.)

Optional attributes: ``fuses_with`` (an output activation's name, "sigmoid" or "softmax":
then ``fused(xp, Z, A, Y) -> (value, dZ)`` takes the delta at that activation's input),
``accepts_labels`` (integer class labels are one-hot encoded on the way in) and ``targets``
("values", "probabilities" in [0, 1], or "distributions": rows summing to 1; the data
checks read it).
"""

from __future__ import annotations

import math

KERAS_EPSILON = 1e-7  # keras.backend.epsilon()


def samples(P, axis: int = -1) -> int:
    """The number of per-sample losses in a batch: every entry but those along ``axis``."""
    return math.prod(P.shape) // P.shape[axis]


def size(P) -> int:
    return math.prod(P.shape)


class Loss:
    """The base of every loss (see the module docstring)."""

    name = ""
    fuses_with: str | None = None
    accepts_labels = False
    targets = "values"
    ARGS: dict = {}  # Keras's arguments -> defaults, stored as attributes of those names

    def __call__(self, xp, P, Y):
        raise NotImplementedError

    def per_sample(self, xp, P, Y):
        raise NotImplementedError(f"{type(self).__name__} gives only the batch loss")

    def get_config(self) -> dict:
        return {arg: getattr(self, arg) for arg in self.ARGS}

    @property
    def is_default(self) -> bool:
        return self.get_config() == self.ARGS

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.get_config().items())))

    def __repr__(self) -> str:
        if self.is_default:
            return f"<loss {self.name}>"
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"<loss {self.name}({args})>"


class KerasLoss(Loss):
    """A loss with Keras's constructor arguments ``reduction``, ``name`` and ``dtype``.

    Only Keras's default reduction, "sum_over_batch_size" (the mean of the per-sample
    losses), is offered; ``name`` is a label (History calls the loss "loss" whatever it
    is); ``dtype`` is ignored: the loss runs in the backend's dtype (float32 under mixed
    precision)."""

    def keras_args(self, reduction="sum_over_batch_size", name=None, dtype=None) -> None:
        if reduction not in ("sum_over_batch_size", "mean"):
            raise ValueError(
                f"reduction: expected 'sum_over_batch_size' (the mean over the batch); "
                f"got {reduction!r}"
            )
        self.label = name

    def __call__(self, xp, P, Y):
        """The batch mean of the per-sample losses, and its ``gradient``."""
        return xp.mean(self.per_sample(xp, P, Y)), self.gradient(xp, P, Y)

    def gradient(self, xp, P, Y):
        raise NotImplementedError


def where_zero(xp, condition, value):
    """``value`` where ``condition``, else 0."""
    return xp.where(condition, value, xp.zeros_like(value))
