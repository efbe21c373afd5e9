"""Pictures: training curves, activations, a gradient field, decision boundaries.

matplotlib is an optional extra (``pip install arraynet[plot]``), imported inside each
function. Figures are drawn with the Agg canvas directly (no pyplot, no display, no global
backend switch). Every function writes ``path`` (creating its folder) in the format its
suffix names (``.png``, ``.svg``, ``.pdf``, ``.jpg``, ...; PNG without one) and returns it
as a ``pathlib.Path``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .validation import check_count, check_positive

__all__ = [
    "numerical_gradient",
    "plot_activations",
    "plot_decision_boundary",
    "plot_gradient_field",
    "plot_history",
    "square_sum",
]


def _figure(width: float = 6.4, height: float = 4.8):
    """A matplotlib Figure on an Agg canvas."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("plotting needs matplotlib: pip install arraynet[plot]") from err
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path) -> Path:
    """Write ``figure`` in the format ``path``'s suffix names (PNG without one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=path.suffix[1:].lower() or "png", dpi=100)
    return path


def plot_history(history, path, title: str | None = None) -> Path:
    """Loss (and each metric) per epoch, validation values (``val_*``) dashed beside them.

    ``history``: what ``fit`` returns, or its ``.history`` dict.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(f"history: expected a History or a non-empty dict; got {history!r}")
    names = list(dict.fromkeys(key.removeprefix("val_") for key in logs))  # val_ beside its own
    figure = _figure(4.2 * len(names), 3.6)
    for ax, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names):
        for key, style in ((name, "-"), ("val_" + name, "--")):
            if key in logs:
                values = logs[key]
                ax.plot(range(1, len(values) + 1), values, style, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_activations(path, names=("step", "sigmoid", "relu", "tanh", "softmax")) -> Path:
    """Each named activation of :mod:`arraynet.activations` on [-5, 5], one panel each
    (softmax over the whole grid, as the from-scratch notebook plots it)."""
    import array_api_compat.numpy as xp

    from . import activations

    if isinstance(names, str):
        names = [names]
    functions = [activations.get(name) for name in names]
    if not functions:
        raise ValueError("names: expected at least one activation name; got none")
    z = np.linspace(-5.0, 5.0, 501)
    figure = _figure(3.0 * len(functions), 3.0)
    for ax, function in zip(figure.subplots(1, len(functions), squeeze=False)[0], functions):
        ax.plot(z, function.forward(xp, z))
        ax.axhline(0.0, color="#999999", lw=0.8)
        ax.axvline(0.0, color="#999999", lw=0.8)
        ax.set_title(function.name)
        ax.grid(alpha=0.3)
    return _save(figure, path)


def square_sum(X):
    """``f(x) = x0² + x1²`` for each row of ``X`` (or one point)."""
    X = np.asarray(X, dtype=np.float64)
    return np.sum(X**2, axis=-1)


def numerical_gradient(f, X, h: float = 1e-4):
    """Central differences ``(f(x + h) - f(x - h)) / 2h`` along each column, for each row;
    ``f`` maps rows of ``X`` to one value each (the from-scratch notebook's gradient)."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    grad = np.empty_like(X)
    for j in range(X.shape[1]):
        step = np.zeros(X.shape[1])
        step[j] = h
        grad[:, j] = (f(X + step) - f(X - step)) / (2 * h)
    return grad


def plot_gradient_field(
    f_grad=None, path="gradient_field.png", lim: float = 2.0, title: str | None = None
) -> Path:
    """Arrows of the negative gradient on a grid of step 0.25 over [-lim, lim]²: each points
    downhill, longer the steeper. ``f_grad`` maps (N, 2) points to (N, 2) gradients; the
    default is the numerical gradient of ``x0² + x1²``, all arrows pointing at the minimum."""
    if f_grad is None:
        title = "negative gradient of x0² + x1²" if title is None else title

        def f_grad(P):
            return numerical_gradient(square_sum, P)

    if not callable(f_grad):
        raise TypeError(f"f_grad: expected a callable (N, 2) -> (N, 2); got {f_grad!r}")
    check_positive(lim, "lim")
    axis = np.arange(-lim, lim + 0.5, 0.25)
    x0, x1 = (a.ravel() for a in np.meshgrid(axis, axis))
    grad = np.asarray(f_grad(np.stack([x0, x1], axis=1)), dtype=np.float64)
    if grad.shape != (x0.size, 2):
        raise ValueError(f"f_grad: expected gradients of shape ({x0.size}, 2); got {grad.shape}")
    figure = _figure(5.0, 5.0)
    ax = figure.subplots()
    ax.quiver(x0, x1, -grad[:, 0], -grad[:, 1], angles="xy", color="#666666")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    if title:
        ax.set_title(title)
    ax.grid()
    return _save(figure, path)


def plot_decision_boundary(
    model, X, y, path, resolution: int = 200, title: str | None = None
) -> Path:
    """The classes ``model`` predicts over the plane around 2-D data ``X``, points coloured by
    label ``y``. One output unit: class 1 where the output is above 0.5; else the argmax."""
    resolution = check_count(resolution, "resolution", minimum=2)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X: expected 2-D points of shape (rows, 2); got shape {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y: expected {X.shape[0]} labels, as rows in X; got {y.shape[0]}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * (hi - lo) + 1e-9
    g0, g1 = np.meshgrid(*(np.linspace(lo[i] - pad[i], hi[i] + pad[i], resolution) for i in (0, 1)))
    output = np.asarray(model.predict(np.stack([g0.ravel(), g1.ravel()], axis=1)))
    if output.shape[-1] == 1:
        classes = (output[:, 0] > 0.5).astype(int)
    else:
        classes = np.argmax(output, axis=-1)
    figure = _figure(5.0, 5.0)
    ax = figure.subplots()
    levels = np.arange(max(int(classes.max()), int(y.max()), 1) + 2) - 0.5
    ax.contourf(g0, g1, classes.reshape(g0.shape), levels=levels, cmap="coolwarm", alpha=0.35)
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=y,
        cmap="coolwarm",
        s=12,
        edgecolors="k",
        linewidths=0.3,
        vmin=levels[0] + 0.5,
        vmax=levels[-1] - 0.5,
    )
    ax.set_aspect("equal")
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    if title:
        ax.set_title(title)
    return _save(figure, path)
