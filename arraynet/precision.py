"""The dtype policy: mixed precision in float16 or bfloat16 around float32 master weights.

``compile(precision="mixed_bfloat16" | "mixed_float16")`` gives the network a
:class:`Policy`: the forward and backward cast the float32 weights, inputs and noise to the
compute dtype and run the layers there; the loss (and its first delta) is taken in float32
from the output layer's pre-activation and output; the grads are cast back to float32 for
the optimizer, which updates the float32 master weights. float16 adds dynamic loss scaling
(Keras' defaults), kept in the optimizer state by :class:`DynamicLossScale`: the output
delta is multiplied by the scale, the grads divided by it; a step whose grads are not
finite is skipped and halves the scale, and 2000 finite steps in a row double it.
bfloat16 has float32's range and needs none.
"""

from __future__ import annotations

from .ops import all_finite, keep_where
from .optimizers import Optimizer

PRECISIONS = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


class Policy:
    """``precision`` None (the weights' dtype throughout) or a key of ``PRECISIONS``;
    ``scale_loss`` False turns mixed float16's dynamic loss scale off (Keras's
    ``auto_scale_loss``)."""

    def __init__(self, precision: str | None = None, scale_loss: bool = True):
        self.precision = precision
        self.compute = PRECISIONS.get(precision)
        self.scales_loss = precision == "mixed_float16" and scale_loss

    def low(self, xp, arrays) -> tuple:
        """``arrays`` in the compute dtype."""
        low = getattr(xp, self.compute)
        return tuple(xp.astype(a, low) for a in arrays)

    def high(self, xp, arrays, like) -> tuple:
        """``arrays`` back in the dtype of ``like`` (float32)."""
        return tuple(xp.astype(a, like.dtype) for a in arrays)

    def loss_scale(self, opt_state):
        """The loss scale in ``opt_state`` (mixed float16), or None."""
        return opt_state[-2] if self.scales_loss else None

    def optimizer(self, optimizer: Optimizer) -> Optimizer:
        """``optimizer`` with the loss scale in its state where this policy needs one."""
        return DynamicLossScale(optimizer) if self.scales_loss else optimizer

    def on(self, backend) -> Policy:
        """This policy, or full precision where ``backend``'s library lacks the 16-bit dtype
        (a model trained elsewhere predicts with its float32 math: NumPy has no bfloat16)."""
        return self if has_compute_dtype(self.precision, backend) else FULL


FULL = Policy()


class DynamicLossScale(Optimizer):
    """Wraps an optimizer for float16: its state gets the loss scale and the count of finite
    steps since the scale last changed; a step with non-finite grads is skipped."""

    def __init__(self, inner: Optimizer, initial: float = 2.0**15, growth_interval: int = 2000):
        self.inner, self.initial, self.growth_interval = inner, initial, growth_interval
        self.name, self.schedule = inner.name, inner.schedule

    @property
    def learning_rate(self) -> float:
        return self.inner.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner.learning_rate = value  # keeps the state's last two entries

    lr = learning_rate

    @property
    def slots(self):
        return self.inner.slots

    def attach(self, variables) -> None:
        self.inner.attach(variables)

    def detach(self, variables) -> None:
        self.inner.detach(variables)

    def check_dtype(self, xp, dtype) -> None:
        self.inner.check_dtype(xp, dtype)

    def init(self, xp, params):
        state = self.inner.init(xp, params)
        scale = xp.asarray(self.initial, dtype=state[1].dtype, device=state[1].device)
        return (*state, scale, xp.zeros_like(scale))  # the count as a float: exact to 2**24

    def state_shapes(self, shapes):
        return [*self.inner.state_shapes(shapes), (), ()]

    def update(self, xp, params, grads, state):
        *inner, scale, good = state
        finite = all_finite(xp, grads)
        safe = tuple(xp.where(finite, g, 0.0) for g in grads)
        new_params, new_inner = self.inner.update(xp, params, safe, tuple(inner))
        params = keep_where(xp, finite, new_params, params)
        inner = keep_where(xp, finite, new_inner, tuple(inner))
        grow = finite & (good + 1 >= self.growth_interval)
        scale = xp.where(finite, xp.where(grow, scale * 2.0, scale), scale * 0.5)
        good = xp.where(finite & ~grow, good + 1, xp.zeros_like(good))
        return params, (*inner, scale, good)

    def current_learning_rate(self, state):
        return self.inner.current_learning_rate(state)

    def final_weights(self, xp, state, params):
        return self.inner.final_weights(xp, state[:-2], params)

    def with_learning_rate(self, xp, state, lr):
        return (*self.inner.with_learning_rate(xp, state[:-2], lr), *state[-2:])

    def get_config(self) -> dict:
        return self.inner.get_config()


def has_compute_dtype(precision, backend) -> bool:
    """Whether ``backend``'s library has the 16-bit dtype of ``precision`` (None: yes)."""
    return precision is None or hasattr(backend.xp, PRECISIONS[precision])


def check_support(precision, backend) -> None:
    """Refuse a precision the backend's library lacks, or a master dtype other than float32."""
    if precision is None:
        return
    compute = PRECISIONS[precision]
    if not has_compute_dtype(precision, backend):
        raise ValueError(
            f"precision: expected a dtype {backend.name} has; got {precision!r} "
            f"({backend.name} has no {compute})"
        )
    if backend.dtype != "float32":
        raise ValueError(
            f"dtype: expected 'float32' master weights for precision={precision!r}; "
            f"got {backend.dtype!r}"
        )
