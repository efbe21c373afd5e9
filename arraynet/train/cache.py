"""Compiled runners shared by every model of the same math.

A compiled (JAX) runner depends only on what determines the math: the layers and their
configs, how they are wired, the input shape, the loss and its config, the precision, the
optimizer and its config, the metrics, the batch size and the backend (library, dtype,
device). :func:`compile_key` describes exactly that, never the model object, so a new
model of the same architecture (a cross-validation fold, a hyperparameter trial) trains
with the programs the first one compiled. The learning rate is not part of it when it is a
number: the optimizer reads it from its state (``state[1]``), an argument of the program.

Each object is described by its type, its ``get_config()`` (what saving writes and loading
rebuilds from) and its public attributes (a loss-scaling wrapper's growth interval is not
in its config); a value that cannot be compared (an array, say) by its identity, which is
kept alive with the entry: no sharing, but never a wrong one. The cache keeps the
``SIZE`` runners used last.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import types
from collections import OrderedDict

SIZE = 64


def _frozen(value, keep: list):
    """``value`` as a hashable, comparable description (dicts and lists by content)."""
    if isinstance(value, dict):
        items = sorted((str(k), _frozen(v, keep)) for k, v in value.items())
        return ("dict", tuple(items))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_frozen(v, keep) for v in value))
    if isinstance(value, (bool, int, float, complex)):
        return (type(value).__name__, value)  # 1, 1.0 and True apart
    try:
        hash(value)
    except TypeError:
        keep.append(value)
        return ("id", id(value))
    return value


_BY_IDENTITY = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
    type,
    functools.partial,
)


def _described(obj, keep: list, drop=(), depth: int = 0):
    """An object as its type, its ``get_config()`` and its public attributes, described
    alike; not its ``name`` (a layer's "dense_1" is no math), nor the numbers named in
    ``drop`` (the program reads them from the state), nor private attributes (a link to
    the model, the live learning rate)."""
    if isinstance(obj, _BY_IDENTITY) or not hasattr(obj, "__dict__") or depth > 4:
        return _frozen(obj, keep)
    config = {}
    if callable(getattr(obj, "get_config", None)):
        with contextlib.suppress(NotImplementedError):  # the base Layer's
            config = dict(obj.get_config())
    public = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    for found in (config, public):
        found.pop("name", None)
        for name in drop:
            value = found.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                del found[name]
    attributes = tuple((k, _described(v, keep, drop, depth + 1)) for k, v in sorted(public.items()))
    return (type(obj), _frozen(config, keep), attributes)


def compile_key(backend, network, optimizer, metrics, batch_size):
    """``(key, keep)``: the description of the math a compiled runner depends on, and the
    objects its identity-keyed parts refer to (kept with the entry)."""
    keep: list = []
    graph = network.graph
    layers = tuple(_described(layer, keep) for layer in graph.layers)
    structure = (layers, tuple(graph.nodes), graph.outputs, graph.n_inputs, graph.input_shape)
    structure += (tuple(sorted(graph.frozen)),)
    loss = _described(network.loss, keep)
    rate = ("learning_rate", "lr")
    policy = (network.policy.precision, network.policy.scales_loss)
    math = (structure, loss, policy, _described(optimizer, keep, rate))
    math += (tuple(_described(f, keep) for f in metrics), batch_size)
    where = (backend.name, backend.dtype, str(backend.device), backend.matmul_precision)
    return (where, math), keep


class RunnerCache:
    """The ``size`` runners used last, by :func:`compile_key`."""

    def __init__(self, size: int = SIZE):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()
        self.misses = 0

    def get(self, described, make):
        """The runner for ``described`` (``compile_key``'s pair), made by ``make()`` if there
        is none."""
        key, keep = described
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
                return entry[0]
        runner = make()
        with self.lock:
            self.misses += 1
            self.entries[key] = (runner, keep)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return runner

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


COMPILED = RunnerCache()
