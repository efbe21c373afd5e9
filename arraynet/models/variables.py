"""Where a model's weights and optimizer state live: host NumPy until a call moves them.

The weights are one flat tuple in ``get_weights()`` order; the optimizer state one flat
tuple (see ``arraynet.optimizers``). Each moves to the backend of the call that uses it,
once, and stays there until another backend asks.
"""

from __future__ import annotations

import numpy as np

from ..backend import Backend, current_backend, numpy_backend, to_numpy
from ..data import to_host


class Variables:
    """A model's weights and optimizer state, and the backends they are on (None: host)."""

    def __init__(self):
        self.weights, self.weights_backend = None, None
        self.opt_state, self.state_backend = None, None

    @property
    def built(self) -> bool:
        return self.weights is not None

    def set_host(self, weights) -> None:
        """Replace the weights with host arrays (kept as float64 until a call moves them)."""
        self.weights = tuple(np.asarray(w, dtype=np.float64) for w in weights)
        self.weights_backend = None

    def clear(self) -> None:
        """No weights and no optimizer state (a Sequential whose last layer was popped)."""
        self.weights, self.weights_backend = None, None
        self.opt_state, self.state_backend = None, None

    def set_state(self, opt_state) -> None:
        """Replace the optimizer state (None: none yet), from host or backend arrays."""
        self.opt_state = None if opt_state is None else tuple(opt_state)
        self.state_backend = None

    def commit(self, weights, opt_state) -> None:
        """Weights and state computed on the backend they are already on."""
        self.weights, self.opt_state = weights, opt_state

    def edit_state(self, edit) -> None:
        """Replace the optimizer state by ``edit(xp, state)``, where it lives (NumPy on the
        host): how an optimizer sets the learning rate it holds there."""
        xp = (self.state_backend or numpy_backend()).xp
        self.opt_state = tuple(edit(xp, self.opt_state))

    def on(self, backend: Backend) -> tuple:
        """The weights (and optimizer state) moved onto ``backend`` if they live elsewhere."""
        if self.weights_backend != backend:
            self.weights = tuple(backend.asarray(to_numpy(w)) for w in self.weights)
            self.weights_backend = backend
        if self.opt_state is not None and self.state_backend != backend:
            self.opt_state = tuple(_move(backend, s) for s in self.opt_state)
            self.state_backend = backend
        return self.weights

    def state_on(self, backend: Backend, optimizer, trainable) -> tuple:
        """The optimizer state on ``backend``, made by ``optimizer.init`` over the weights
        ``trainable`` picks if there is none yet."""
        weights = self.on(backend)
        if self.opt_state is None:
            self.opt_state = optimizer.init(backend.xp, trainable(weights))
            self.state_backend = backend
        return self.opt_state

    @property
    def backend(self) -> Backend:
        """Where the weights are now, or the selected backend while they are on the host."""
        return self.weights_backend or current_backend()

    def host_weights(self) -> list[np.ndarray]:
        """Host NumPy copies in the dtype of the backend they are (or will be) on."""
        if self.weights is None:
            return []
        dtype = self.backend.dtype
        return [to_numpy(w).astype(dtype, copy=False) for w in self.weights]

    def host_state(self) -> list[np.ndarray]:
        return [to_numpy(s) for s in self.opt_state or ()]


def _move(backend: Backend, array):
    """An array moved to ``backend``, integer arrays (step counts) staying integers."""
    host = to_numpy(array)
    if host.dtype.kind in "iu":
        return backend.asarray(host, backend.xp.int32)
    return backend.asarray(host)


def checked_weights(model, weights) -> tuple:
    """``(example_shape, host weights)`` for ``model.set_weights(weights)``: arrays of any
    backend, in ``get_weights()`` order, each of the expected shape and within the dtype."""
    weights = [to_host(w, f"weights[{i}]") for i, w in enumerate(weights)]
    shape = model.example_shape
    if shape is None and weights and weights[0].ndim == 2:
        shape = (weights[0].shape[0],)  # the first kernel's rows
    shapes = model.weight_shapes(shape) if shape is not None else []
    if len(weights) != len(shapes):
        raise ValueError(f"weights: expected {len(shapes)} arrays; got {len(weights)}")
    for i, (w, expected) in enumerate(zip(weights, shapes)):
        check_weight(w, expected, current_backend().dtype, f"weights[{i}]")
    return shape, weights


def check_weight(w: np.ndarray, shape: tuple, dtype: str, argument: str) -> None:
    """Refuse a weight of another shape, or (finite: ``to_host`` checked) with values the
    backend's dtype cannot hold (1e300 would become inf in float32), as data that is."""
    if w.shape != shape:
        raise ValueError(f"{argument}: expected shape {shape}; got {w.shape}")
    limit = float(np.finfo(dtype).max)
    peak = float(np.max(np.abs(w))) if w.size else 0.0
    if peak > limit:
        raise ValueError(
            f"{argument}: expected values that {dtype} can hold (up to {limit:.4g} in size); "
            f"got {peak:g}, which overflows it"
        )
