"""Training a model of several inputs or outputs (Keras 3's names and rules).

Data: ``fit([X1, X2], [y1, y2])`` or dicts by input and output name; each input and target
is checked as a single one would be (naming it, ``X[1]``, ``y['value']``), then they are
packed side by side (``network.graph.pack``) so that every batch takes the same rows of
each, through the same loops. ``predict`` unpacks the outputs again (a list, or a dict for
dict outputs).

Compile: ``loss`` one for every output, a list, or a dict by output name (an output
without a loss trains through the others only); ``loss_weights`` a list or dict (1 each by
default): the loss is ``sum(weight * loss_i)``. ``metrics`` a list with one entry per
output (a metric or a list of them) or a dict by output name. The History names each
output's loss ``{output}_loss`` and its metrics ``{output}_{metric}``, after ``loss``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import losses
from .. import metrics as metrics_module
from ..backend import numpy_backend
from ..data import checks
from ..data.intake import NO_TARGETS, Intake
from ..losses.base import Loss
from ..metrics import get as get_metric
from ..metrics.base import Metric
from ..network.graph import pack, unpack
from ..validation import any_size


def by_output(value, names: list, argument: str, default=None) -> list:
    """One entry per output from a single value (every output), a list or a dict by
    output name (missing names: ``default``)."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{argument}: expected keys among the outputs {names}; got {unknown}")
        return [value.get(name, default) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(
                f"{argument}: expected {len(names)} entries, one per output {names}; "
                f"got {len(value)}"
            )
        return list(value)
    return [value] * len(names)


class MultiLoss(Loss):
    """``sum(weight_i * loss_i(P_i, Y_i))`` over the outputs, on packed ``P`` and ``Y``
    (a single output: ``P`` and ``Y`` as they are); an output whose loss is None adds
    nothing and gets a zero delta. ``fused_outputs``: per output, whether its loss takes
    its delta at the output layer's pre-activation (as a single output's would: softmax
    and cross-entropy, say); the network then calls :meth:`fused` with the packed
    pre-activations ``Z`` (``A`` for the outputs that do not fuse) and activations ``A``."""

    name = "multi_output"

    def __init__(self, parts, weights, shapes, fused_outputs=None):
        self.parts, self.weights, self.shapes = list(parts), list(weights), list(shapes)
        self.fused_outputs = tuple(fused_outputs or (False,) * len(self.parts))

    def _split(self, xp, *arrays):
        if len(self.parts) == 1:
            return [(a,) for a in arrays]
        return [unpack(xp, a, self.shapes) for a in arrays]

    def _join(self, xp, arrays):
        return arrays[0] if len(self.parts) == 1 else pack(xp, arrays)

    def __call__(self, xp, P, Y):
        Ps, Ys = self._split(xp, P, Y)
        return self._sum(xp, [(loss, (Pi, Yi)) for loss, Pi, Yi in zip(self.parts, Ps, Ys)])

    def fused(self, xp, Z, A, Y):
        Zs, As, Ys = self._split(xp, Z, A, Y)
        calls = [
            (loss and (loss.fused if fused else loss), (Zi, Ai, Yi) if fused else (Ai, Yi))
            for loss, fused, Zi, Ai, Yi in zip(self.parts, self.fused_outputs, Zs, As, Ys)
        ]
        return self._sum(xp, calls)

    def _sum(self, xp, calls):
        """The weighted sum of each output's ``loss(*arrays)``, and the packed deltas."""
        total, deltas = 0.0, []
        for (loss, arrays), weight in zip(calls, self.weights):
            if loss is None:
                deltas.append(xp.zeros_like(arrays[-2]))
                continue
            value, delta = loss(xp, *arrays)
            total = total + weight * value
            deltas.append(delta * weight)
        return total, self._join(xp, deltas)

    def per_sample(self, xp, P, Y):
        """Each row's ``sum(weight_i * mean of loss_i's per-sample values in the row)``: so
        sample weights weigh each output's loss as Keras does (``losses/weighted.py``)."""
        Ps, Ys = self._split(xp, P, Y)
        calls = [(loss, "per_sample", (Pi, Yi)) for loss, Pi, Yi in zip(self.parts, Ps, Ys)]
        return self._rows(xp, calls)

    def fused_per_sample(self, xp, Z, A, Y):
        """:meth:`per_sample` where the fused outputs' values come from ``Z``."""
        Zs, As, Ys = self._split(xp, Z, A, Y)
        calls = [
            (loss, "fused_per_sample", (Zi, Ai, Yi)) if fused else (loss, "per_sample", (Ai, Yi))
            for loss, fused, Zi, Ai, Yi in zip(self.parts, self.fused_outputs, Zs, As, Ys)
        ]
        return self._rows(xp, calls)

    def _rows(self, xp, calls):
        total = 0.0
        for (loss, method, arrays), weight in zip(calls, self.weights):
            if loss is None:
                continue
            if type(loss).per_sample is Loss.per_sample or not callable(
                getattr(loss, method, None)
            ):
                raise TypeError(
                    f"sample_weight: expected losses with per-sample values; got {loss!r}"
                )
            values = getattr(loss, method)(xp, *arrays)
            rows = xp.reshape(values, (values.shape[0], -1))
            total = total + weight * xp.mean(rows, axis=1)
        return total

    def get_config(self) -> dict:
        return {
            "losses": [None if loss is None else losses.serialize(loss) for loss in self.parts],
            "loss_weights": list(self.weights),
        }

    @property
    def is_default(self) -> bool:
        return False


class _OnOutput(Metric):
    """A metric of one output's ``(P_i, Y_i)`` from the packed arrays."""

    def __init__(self, name: str, index: int, shapes: list):
        self.name, self.index, self.shapes = name, index, list(shapes)

    def part(self, xp, P, Y):
        if len(self.shapes) == 1:
            return P, Y
        start = sum(math.prod(s) for s in self.shapes[: self.index])
        stop = start + math.prod(self.shapes[self.index])
        shape = (P.shape[0], *self.shapes[self.index])
        return xp.reshape(P[:, start:stop], shape), xp.reshape(Y[:, start:stop], shape)


class OutputMetric(_OnOutput):
    """``metric`` on output ``index`` (History: ``{output}_{metric}``)."""

    def __init__(self, name: str, metric: Metric, index: int, shapes: list):
        super().__init__(name, index, shapes)
        self.metric, self.streaming = metric, metric.streaming

    def state_shapes(self) -> tuple:
        return self.metric.state_shapes()

    def init(self, xp, dtype, device=None) -> tuple:
        return self.metric.init(xp, dtype, device)

    def batch(self, xp, P, Y) -> tuple:
        return self.metric.batch(xp, *self.part(xp, P, Y))

    def update(self, xp, state, contribution) -> tuple:
        return self.metric.update(xp, state, contribution)

    def result(self, xp, state):
        return self.metric.result(xp, state)

    def __call__(self, xp, P, Y):
        return self.metric(xp, *self.part(xp, P, Y))

    def get_config(self) -> dict:
        return {"name": self.name, "metric": self.metric.get_config(), "output": self.index}


class OutputLoss(_OnOutput):
    """Output ``index``'s own loss, unweighted, as a metric (History: ``{output}_loss``):
    the batch mean, or over an evaluation its mean weighted by rows."""

    streaming = False

    def __init__(self, name: str, loss: Loss, index: int, shapes: list):
        super().__init__(name, index, shapes)
        self.loss = loss

    def state_shapes(self) -> tuple:
        return ((), ())

    def batch(self, xp, P, Y) -> tuple:
        value = self(xp, P, Y)
        return value * P.shape[0], xp.asarray(float(P.shape[0]), dtype=value.dtype)

    def result(self, xp, state):
        return state[0] / state[1]

    def __call__(self, xp, P, Y):
        return self.loss(xp, *self.part(xp, P, Y))[0]

    def get_config(self) -> dict:
        return {"name": self.name, "output": self.index}


def compiled_parts(model, loss, metrics, loss_weights):
    """``(MultiLoss, [(name, metric)], spec)`` for ``model``'s outputs; ``spec`` is what
    the model's config keeps (the per-output losses, weights and metric names)."""
    names, shapes = model.output_names, list(model.graph.output_shapes)
    parts = [None if p is None else losses.get(p) for p in by_output(loss, names, "loss")]
    if all(p is None for p in parts):
        raise ValueError(f"loss: expected a loss for at least one of the outputs {names}")
    weights = by_output(1.0 if loss_weights is None else loss_weights, names, "loss_weights", 0.0)
    for name, w in zip(names, weights):
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise ValueError(f"loss_weights: expected a finite number for {name!r}; got {w!r}")
    weights = [float(w) for w in weights]
    chosen, saved = [], []
    if len(names) > 1:
        chosen = [
            (f"{name}_loss", OutputLoss(f"{name}_loss", p, i, shapes))
            for i, (name, p) in enumerate(zip(names, parts))
            if p is not None
        ]
    for i, (name, entry, part) in enumerate(zip(names, metric_lists(metrics, names), parts)):
        found = [get_metric(m, part) for m in entry]
        saved.append([metrics_module.saved(inner, metric, part) for inner, metric in found])
        for inner, metric in found:
            label = inner if len(names) == 1 else f"{name}_{inner}"
            chosen.append((label, OutputMetric(label, metric, i, shapes)))
    spec = {
        "losses": [None if p is None else losses.serialize(p) for p in parts],
        "loss_weights": weights,
        "metrics": saved,
    }
    return MultiLoss(parts, weights, shapes, _fused_outputs(model.graph, parts)), chosen, spec


def _fused_outputs(graph, parts) -> tuple:
    """Per output, whether its loss fuses with its layer's activation: the layer applies
    it last, no other node reads the output, and no other output is the same tensor."""
    flags = []
    for value, layer, loss in zip(graph.outputs, graph.output_layers, parts):
        activation = layer.activation
        flags.append(
            bool(loss and activation and loss.fuses_with == activation.name)
            and value not in graph.consumed
            and graph.outputs.count(value) == 1
        )
    return tuple(flags)


def metric_lists(metrics, names: list) -> list[list]:
    """Per output, its list of metrics (Keras: a list with one entry per output, or a dict
    by output name; a single output takes a plain list)."""
    if metrics is None or (isinstance(metrics, (list, tuple, dict)) and not metrics):
        return [[] for _ in names]
    if isinstance(metrics, str) or callable(metrics) and not isinstance(metrics, dict):
        metrics = [metrics]
    if len(names) == 1 and isinstance(metrics, (list, tuple)):
        flat = all(not isinstance(m, (list, tuple)) for m in metrics)
        return [list(metrics)] if flat else [list(metrics[0])]
    entries = by_output(metrics, names, "metrics", [])
    return [list(e) if isinstance(e, (list, tuple)) else [] if e is None else [e] for e in entries]


class MultiIntake(Intake):
    """The data intake of a model of several inputs or outputs (see the module docstring)."""

    def __init__(self, model, loss_parts):
        super().__init__(None, None, None, model.graph.check_input)
        self.model, self.parts = model, loss_parts
        graph = model.graph
        if any_size(graph.built_input_shapes) or any_size(graph.output_shapes):
            raise ValueError(
                f"model '{model.name}': expected inputs and outputs of known shapes for a model "
                "of several inputs or outputs (their data travel packed); got input shapes "
                f"{list(graph.built_input_shapes)}, output shapes {list(graph.output_shapes)} "
                "(None: any size)"
            )

    def arrays(self, backend, X, y=NO_TARGETS, input_shape=None, names=("X", "y")):
        model, graph = self.model, self.model.graph
        given = _listed(X, model.input_data_names, names[0], "input")
        Ys = None if y is NO_TARGETS else _listed(y, model.output_names, names[1], "output")
        # host data are checked and packed on the host, then moved as one array (no
        # device program per shape); data already on the device stay there
        on_host = not any(_native(backend, a) for _, a in given + (Ys or []))
        where = numpy_backend(backend.dtype) if on_host else backend
        Xs = [
            checks.inputs(where, Xi, shape, f"{names[0]}{key}")
            for (key, Xi), shape in zip(given, graph.built_input_shapes)
        ]
        rows = Xs[0].shape[0]
        for (key, _), Xi in zip(given, Xs):
            if Xi.shape[0] != rows:
                raise ValueError(
                    f"{names[0]}{key}: expected {rows} rows, as the first input; got {Xi.shape[0]}"
                )
        self.check_input(where.xp, Xs[0] if len(Xs) == 1 else tuple(Xs), names[0])
        X = _moved(backend, where, Xs[0] if len(Xs) == 1 else pack(where.xp, Xs))
        if Ys is None:
            return X, None
        targets = []
        for (key, yi), shape, loss in zip(Ys, graph.output_shapes, self.parts):
            checking = loss if loss is not None else losses.get("mse")
            called = (names[0], f"{names[1]}{key}")
            targets.append(checks.targets(where, yi, rows, shape, checking, called))
        Y = targets[0] if len(targets) == 1 else pack(where.xp, targets)
        return X, _moved(backend, where, Y)

    def feed(self, backend, X, y, chunk_rows, validation_data, split, sample_weight=None,
             class_weight=None):  # fmt: skip
        if class_weight is not None and len(self.model.output_names) > 1:
            raise ValueError(
                "class_weight: expected None for a model of several outputs (Keras: "
                "`class_weight` is only supported for Models with a single output); "
                "pass sample_weight"
            )
        if chunk_rows is not None:
            raise ValueError(
                f"chunk_rows: a model of several inputs or outputs trains from arrays in memory; "
                f"got {chunk_rows}"
            )
        if y is None:
            raise TypeError("y: expected targets for the model's outputs; got None")
        return super().feed(
            backend, X, y, chunk_rows, validation_data, split, sample_weight, class_weight
        )


def _native(backend, array) -> bool:
    return backend.owns(array) and not isinstance(array, np.ndarray)


def _moved(backend, where, array):
    """``array`` (checked on ``where``) on ``backend``."""
    return array if where is backend else backend.asarray(array)


def _listed(data, names: list, argument: str, what: str) -> list[tuple]:
    """``[(key, array)]`` for each of the model's inputs (or outputs), from one array (one
    input), a list in order or a dict by name; ``key`` is how errors name it."""
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        unknown = sorted(set(data) - set(names))
        if missing or unknown:
            raise ValueError(
                f"{argument}: expected a dict with the {what} names {names}; got keys "
                f"{sorted(data)}"
            )
        return [(f"[{n!r}]", data[n]) for n in names]
    if len(names) == 1:
        if isinstance(data, (list, tuple)) and len(data) == 1 and hasattr(data[0], "shape"):
            data = data[0]
        return [("", data)]
    if not isinstance(data, (list, tuple)) or len(data) != len(names):
        got = f"{len(data)} arrays" if isinstance(data, (list, tuple)) else type(data).__name__
        raise ValueError(
            f"{argument}: expected a list of {len(names)} arrays (one per {what}: {names}) or a "
            f"dict by name; got {got}"
        )
    return [(f"[{i}]", d) for i, d in enumerate(data)]
