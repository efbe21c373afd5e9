"""Central-difference gradient checks of the hand-written backprop.

``gradcheck(model_or_layer, X, y)`` compares the analytic gradients with central differences
``(L(w + eps) - L(w - eps)) / (2 eps)``, one entry at a time, in float64 on the selected
backend, and reports for each array the norm-relative error
``‖g − g_num‖ / max(‖g‖ + ‖g_num‖, tiny)``::

    report = arraynet.gradcheck(model, X, y)
    print(report)          # one row per array
    assert report.passed   # max error < tol

A compiled model is checked on its compiled loss (regularizers included, dropout off, as
``model.gradients``), at its weights, which it leaves untouched. A single layer (any
:class:`~arraynet.layers.Layer`) is checked through its own ``forward``/``backward`` on
``L = ½‖layer(X) − y‖² / rows``, parameters and input ``X`` alike; its parameters come from
its initializers and ``numpy.random.default_rng(seed)``, as does its noise (a Dropout
mask); its state (BatchNormalization's moving statistics) is held fixed, from its
initializers unless ``weights`` gives it after the parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import data, losses
from .backend import current_backend, to_numpy, use
from .layers import Context, Layer
from .models import Model
from .network import Network
from .validation import check_count, check_positive

__all__ = ["GradcheckReport", "gradcheck"]

_TINY = np.finfo(np.float64).tiny


@dataclass(frozen=True)
class GradcheckReport:
    """Per-array norm-relative errors of analytic against numerical gradients."""

    names: tuple[str, ...]
    errors: tuple[float, ...]
    analytic: list = field(repr=False)
    numerical: list = field(repr=False)
    loss: float
    tol: float
    backend: str

    @property
    def max_error(self) -> float:
        return max(self.errors, default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_error < self.tol

    def __str__(self) -> str:
        width = max(len(n) for n in ("array", *self.names))
        rows = [f"{'array':<{width}}  {'shape':<12}  rel. error", "-" * (width + 26)]
        for name, g, err in zip(self.names, self.analytic, self.errors):
            mark = "" if err < self.tol else "  <-- FAIL"
            rows.append(f"{name:<{width}}  {str(g.shape):<12}  {err:.3e}{mark}")
        verdict = "passed" if self.passed else "FAILED"
        rows.append(
            f"max {self.max_error:.3e} vs tol {self.tol:.0e}: {verdict} "
            f"({self.backend}, float64, loss {self.loss:.6g})"
        )
        return "\n".join(rows)


def gradcheck(target, X, y, eps: float = 1e-6, tol: float = 1e-7, *, weights=None, seed=0):
    """Check ``target``'s backprop against central differences; returns a :class:`GradcheckReport`.

    ``target``: a compiled model (with weights) or a layer.
    ``weights``: the point to check at, in ``get_weights()`` order (default: the model's
    weights, or a layer's initial parameters drawn from ``seed``; for a layer, its
    parameters, or its parameters then its state). Runs in float64 on the
    selected backend; the selection is restored afterwards.
    """
    eps, tol = check_positive(eps, "eps"), check_positive(tol, "tol")
    check_count(seed, "seed")
    if isinstance(target, Model):
        check = _model_check(target, weights)
    elif isinstance(target, Layer):
        check = _layer_check(target, weights, seed)
    else:
        raise TypeError(
            f"target: expected a compiled model or a layer; got {type(target).__name__}"
        )
    with _float64(current_backend()) as backend:
        names, points, loss, grads = check(backend, X, y)
        numerical = [_central(loss, points, i, eps) for i in range(len(points))]
        value = float(loss(points))
    analytic = [to_numpy(g).astype(np.float64) for g in grads]
    errors = tuple(_rel_error(g, n) for g, n in zip(analytic, numerical))
    return GradcheckReport(tuple(names), errors, analytic, numerical, value, tol, backend.name)


def _float64(selected):
    """The selected backend in float64, on its device (on the default one where the device
    has no float64, as array-api-strict's "no_float64")."""
    device = selected.device.id if selected.name == "cupy" else selected.device
    try:
        return use(selected.name, dtype="float64", device=device)
    except ValueError:
        return use(selected.name, dtype="float64")


def _rel_error(g, g_num) -> float:
    den = max(np.linalg.norm(g) + np.linalg.norm(g_num), _TINY)
    return float(np.linalg.norm(g - g_num) / den)


def _central(loss, points, i, eps):
    """Central differences of ``loss(points)`` in each entry of ``points[i]`` (host float64)."""
    out = np.empty_like(points[i])
    for j in np.ndindex(points[i].shape):
        values = []
        for step in (eps, -eps):
            moved = points[i].copy()
            moved[j] += step
            values.append(float(loss([*points[:i], moved, *points[i + 1 :]])))
        out[j] = (values[0] - values[1]) / (2 * eps)
    return out


def _host(weights, argument="weights"):
    return [data.to_host(w, f"{argument}[{i}]").astype(np.float64) for i, w in enumerate(weights)]


def _model_check(model: Model, weights):
    if model.optimizer is None or model.network.loss is None:
        raise ValueError("target: expected a compiled model; call compile(loss=...) first")
    model.check_trainable()  # a step activation has no derivative to check
    if weights is None and model.example_shape is None:
        raise ValueError("target: the model has no weights yet; give input_dim, fit or set_weights")
    if weights is None:
        weights = model.get_weights()
    points = _host(weights)
    shapes = model.weight_shapes()
    if [p.shape for p in points] != shapes:
        raise ValueError(f"weights: expected shapes {shapes}; got {[p.shape for p in points]}")
    graph = model.graph
    names = [
        f"{i}.{param.short}"
        for i, (params, _) in enumerate(graph.specs(model.example_shape))
        for param in params
    ]
    network = Network(graph, model.network.loss)  # a mixed-precision model's math, in float64

    def check(backend, X, y):
        Xb, Yb = model.intake().arrays(backend, X, y)  # several inputs or outputs: packed

        def loss(ps):
            weights = [backend.asarray(p) for p in _merged(graph, points, ps)]
            return network.loss_value(backend.xp, weights, Xb, Yb)[0]

        params = tuple(backend.asarray(p) for p in points)
        grads = network.loss_and_grads(backend.xp, params, Xb, Yb, training=False)[1]
        return names, graph.trainable(points), loss, grads

    return check


def _merged(graph, points, trainable):
    """The flat weights with the trainable ones replaced by ``trainable``."""
    if not graph.partial:
        return trainable
    merged, given = list(points), iter(trainable)
    for i in graph.trainable_index:
        merged[i] = next(given)
    return merged


def _layer_check(layer, weights, seed):
    layer.check_differentiable(0)

    def check(backend, X, y):
        xp = backend.xp
        host_X = data.to_host(X, "X")
        data.inputs(backend, host_X, None)  # shape and value checks, naming X
        rows, shape = host_X.shape[0], host_X.shape[1:]
        rng = np.random.default_rng(seed)
        specs, states = layer.params(shape), layer.states(shape)
        initial = [spec.initializer(rng, spec.shape) for spec in specs + states]
        given = initial if weights is None else list(weights)
        if len(given) == len(specs):  # the trainable ones: the state from its initializers
            given += initial[len(specs) :]
        params = _host(given)
        shapes = [spec.shape for spec in specs + states]
        if [p.shape for p in params] != shapes:
            raise ValueError(f"weights: expected shapes {shapes}; got {[p.shape for p in params]}")
        params, state = (
            params[: len(specs)],
            tuple(backend.asarray(p) for p in params[len(specs) :]),
        )
        noise = backend.asarray(layer.noise(rng, rows, shape)) if layer.draws_noise else None
        ctx = Context(training=True, noise=noise, need_dX=True)
        Yb = data.targets(backend, y, rows, layer.output_shape(shape), losses.get("squared_error"))

        def forward(ps):
            *ws, Xp = [backend.asarray(p) for p in ps]
            return layer.forward(xp, (*ws, *state), Xp, ctx)

        def loss(ps):
            D = forward(ps)[0] - Yb
            return xp.sum(D * D) / (2 * rows)

        points = [*params, host_X.astype(np.float64)]
        Y, cache = forward(points)
        ws = (*(backend.asarray(p) for p in params), *state)
        dX, grads = layer.backward(xp, ws, cache, (Y - Yb) / rows, ctx)
        names = [*(spec.short for spec in specs), "X"]
        return names, points, loss, [*grads, dX]

    return check
