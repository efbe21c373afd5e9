"""The device memory a fit needs, estimated before training, and the refusal of a batch
that would not fit ``use(memory_limit=)``."""

from __future__ import annotations

import math

import numpy as np

from ..backend import DeviceMemoryError
from ..backend import mesh as placement


def memory_needed(model, feed, backend, example_shape=None) -> int:
    """Estimated device bytes for training ``model`` on ``feed``: its data on the device (and
    a shuffled copy), weights, gradients, new weights and optimizer slots, and what each node
    holds for one batch (``Layer.memory``: output, cache and delta); on a mesh, per device
    (its share of the data and of each batch, the whole weights). ``example_shape``: the
    data's per-example shape (default: the model's)."""
    graph = model.graph
    shapes = graph.value_shapes(example_shape or model.example_shape)
    sizes = [_entries(s) for s in shapes]
    split = placement.device_count(backend)
    values = -(-feed.device_rows // split) * (sizes[0] + sizes[-1]) * 2
    weights = sum(math.prod(s) for s in model.weight_shapes())
    values += weights * (3 + len(model.optimizer.slots))
    held = sum(graph.layers[n.layer].memory(shapes[n.inputs[0]]) for n in graph.nodes)
    values += -(-feed.batch_size // split) * (sizes[0] + held)
    return values * np.dtype(backend.dtype).itemsize


def check_memory(model, feed, backend, example_shape=None) -> None:
    """Refuse, before training, a batch whose estimate exceeds ``use(memory_limit=)``."""
    needed = memory_needed(model, feed, backend, example_shape)
    if backend.memory_limit is not None and needed > backend.memory_limit:
        raise DeviceMemoryError(
            feed.batch_size, needed, placement.describe(backend), backend.memory_limit
        )


def _entries(shape: tuple) -> int:
    """Entries per example of a value's shape (a layer's several outputs: all of them)."""
    if shape and isinstance(shape[0], tuple):
        return sum(math.prod(s) for s in shape)
    return math.prod(shape)
