"""Mixed precision: forward and backward in float16 or bfloat16, float32 master weights.

``compile(precision="mixed_bfloat16" | "mixed_float16")``. The step casts the float32
weights, inputs and dropout masks to the compute dtype, runs the layers there, takes the
loss (and its first delta) in float32 from the output layer's Z and A, and casts the grads
back to float32 for the optimizer, which updates the float32 master weights. float16 adds
dynamic loss scaling (Keras' defaults): the output delta is multiplied by the scale, the
grads divided by it; a step whose grads are not finite is skipped and halves the scale,
and 2000 finite steps in a row double it. bfloat16 has float32's range and needs none.
"""

from __future__ import annotations

from .optimizers import Optimizer
from .training import all_finite, keep_where

PRECISIONS = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


class MixedPrecision:
    """A network whose layers compute in ``compute`` (a dtype name) around float32."""

    def __init__(self, network, compute: str):
        self.network, self.compute = network, compute
        self.loss, self.layers, self.dropouts = network.loss, network.layers, network.dropouts

    def _low(self, xp, arrays):
        low = getattr(xp, self.compute)
        return tuple(xp.astype(a, low) for a in arrays)

    def _high(self, xp, arrays, like):
        return tuple(xp.astype(a, like.dtype) for a in arrays)

    def forward(self, xp, params, X, masks=None):
        masks = None if masks is None else self._low(xp, masks)
        P, caches = self.network.forward(xp, self._low(xp, params), self._low(xp, (X,))[0], masks)
        return self._high(xp, (P,), X)[0], caches

    def predict(self, xp, params, X):
        return self.forward(xp, params, X)[0]

    def _loss(self, xp, P, caches, Y):
        """The loss in float32, from the output layer's cache cast up."""
        last = caches[-1]
        if isinstance(last, tuple):  # a dense layer's (X, Z, A); a dropout's is its mask
            X_last, Z, A = last
            last = (X_last, *self._high(xp, (Z, A), Y))
        return self.network._loss(xp, P, [*caches[:-1], last], Y)

    def loss_value(self, xp, params, X, Y):
        P, caches = self.forward(xp, params, X)
        value = self._loss(xp, P, caches, Y)[0]
        return value + self.network._penalties(xp, params), P

    def loss_and_grads(self, xp, params, X, Y, masks=None, scale=None):
        low_params = self._low(xp, params)
        P, caches = self.forward(xp, params, X, masks)
        value, delta, at_Z = self._loss(xp, P, caches, Y)
        if scale is not None:
            delta = delta * scale
        grads = self.network.backward(xp, low_params, caches, self._low(xp, (delta,))[0], at_Z)
        grads = [self._high(xp, g, X) for g in grads]
        if scale is not None:
            grads = [tuple(g / scale for g in layer) for layer in grads]
        value = value + self.network._penalties(xp, params, grads)
        return value, tuple(g for layer in grads for g in layer), P


class DynamicLossScale(Optimizer):
    """Wraps an optimizer for float16: its state gets the loss scale and the count of finite
    steps since the scale last changed; a step with non-finite grads is skipped."""

    def __init__(self, inner: Optimizer, initial: float = 2.0**15, growth_interval: int = 2000):
        self.inner, self.initial, self.growth_interval = inner, initial, growth_interval
        self.lr, self.name = inner.lr, inner.name

    @property
    def slots(self):
        return self.inner.slots

    def init(self, xp, params):
        state = self.inner.init(xp, params)
        scale = xp.asarray(self.initial, dtype=state[1].dtype, device=state[1].device)
        return (*state, scale, xp.zeros_like(scale))  # the count as a float: exact to 2**24

    def state_shapes(self, shapes):
        return [*self.inner.state_shapes(shapes), (), ()]

    def loss_scale(self, state):
        return state[-2]

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

    def learning_rate(self, state):
        return self.inner.learning_rate(state)

    def with_learning_rate(self, xp, state, lr):
        return (*self.inner.with_learning_rate(xp, state[:-2], lr), *state[-2:])

    def get_config(self) -> dict:
        return self.inner.get_config()


def full_precision(network):
    """The network ``MixedPrecision`` wraps, or ``network`` itself: the float32 math."""
    return network.network if isinstance(network, MixedPrecision) else network


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
