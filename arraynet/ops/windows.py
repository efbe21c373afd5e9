"""Sliding windows written with gathers only, for convolution and pooling.

The Array API standard has no convolution, padding or scatter. Along one axis of length
``n``, windows of ``size`` taps spaced ``dilation`` apart, every ``stride``, are one gather
(``xp.take``) of the padded axis; the gather's adjoint (what backward needs: each input
position sums the window entries it fed) is another gather, over the window entries plus a
zero slot, followed by a sum. No scatter, no in-place write, nothing undefined for repeated
indices, and the indices are plain Python ints (constants under ``jax.jit``).

Padding as Keras: "valid" none; "same" gives ``ceil(n / stride)`` outputs, the total padding
``max((out - 1) * stride + (size - 1) * dilation + 1 - n, 0)`` split with the odd one after.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from array_api_compat import device


class AxisWindows(NamedTuple):
    """The windows along one axis: ``out`` windows of ``size`` taps over an axis padded by
    ``before`` and ``after``; ``taps`` the gather's indices (``out * size`` of them, window by
    window), ``sources`` the adjoint's (``padded * fan_in``, the zero slot ``out * size``)."""

    length: int
    out: int
    size: int
    before: int
    after: int
    taps: tuple
    sources: tuple
    fan_in: int
    tiles: bool  # side by side from the start, unpadded: a reshape, not a gather

    @property
    def padded(self) -> int:
        return self.length + self.before + self.after


@functools.lru_cache(maxsize=512)
def axis_windows(length: int, size: int, stride: int, dilation: int, padding: str) -> AxisWindows:
    """The windows of one axis (see the module docstring); ValueError if none fits."""
    span = (size - 1) * dilation + 1
    if padding == "same":
        out = -(-length // stride)
        total = max((out - 1) * stride + span - length, 0)
        before, after = total // 2, total - total // 2
    else:
        out = (length - span) // stride + 1 if length >= span else 0
        before = after = 0
    if out < 1:
        raise ValueError(
            f"expected an input of at least {span} along each window axis for a window of "
            f"{size} (dilation {dilation}) with padding 'valid'; got {length}"
        )
    taps = tuple(i * stride + j * dilation for i in range(out) for j in range(size))
    padded = length + before + after
    feeds = [[] for _ in range(padded)]
    for k, position in enumerate(taps):
        feeds[position].append(k)
    fan_in = max(1, max(len(f) for f in feeds))
    zero = out * size
    sources = tuple(k for f in feeds for k in f + [zero] * (fan_in - len(f)))
    tiles = not before and not after and taps == tuple(range(len(taps)))
    return AxisWindows(length, out, size, before, after, taps, sources, fan_in, tiles)


def _indices(xp, values, like):
    return xp.asarray(values, dtype=xp.int32, device=device(like))


def pad(xp, X, axis: int, windows: AxisWindows, value: float = 0.0):
    """``X`` with ``windows.before`` and ``after`` entries of ``value`` added along ``axis``."""
    if not windows.before and not windows.after:
        return X
    parts = []
    for count in (windows.before, None, windows.after):
        if count is None:
            parts.append(X)
        elif count:
            shape = (*X.shape[:axis], count, *X.shape[axis + 1 :])
            parts.append(xp.full(shape, value, dtype=X.dtype, device=device(X)))
    return xp.concat(parts, axis=axis)


def unpad(X, axis: int, windows: AxisWindows):
    """The inverse of :func:`pad`: the real entries along ``axis``."""
    index = [slice(None)] * X.ndim
    index[axis] = slice(windows.before, windows.before + windows.length)
    return X[tuple(index)]


def gather(xp, X, axis: int, windows: AxisWindows):
    """The windows of padded ``X`` along ``axis``: that axis becomes two, ``(out, size)``."""
    G = xp.take(X, _indices(xp, windows.taps, X), axis=axis)
    return xp.reshape(G, (*X.shape[:axis], windows.out, windows.size, *X.shape[axis + 1 :]))


def gather_adjoint(xp, G, axis: int, windows: AxisWindows):
    """The adjoint of :func:`gather`: axes ``(axis, axis + 1)`` = ``(out, size)`` of ``G`` go
    back to the padded axis, each position the sum of the window entries it fed."""
    flat = xp.reshape(G, (*G.shape[:axis], windows.out * windows.size, *G.shape[axis + 2 :]))
    zero_shape = (*flat.shape[:axis], 1, *flat.shape[axis + 1 :])
    flat = xp.concat([flat, xp.zeros(zero_shape, dtype=G.dtype, device=device(G))], axis=axis)
    fed = xp.take(flat, _indices(xp, windows.sources, G), axis=axis)
    fed = xp.reshape(
        fed, (*flat.shape[:axis], windows.padded, windows.fan_in, *flat.shape[axis + 1 :])
    )
    return xp.sum(fed, axis=axis + 1)


def windows_2d(xp, X, rows: AxisWindows, cols: AxisWindows, value: float = 0.0):
    """``(N, H, W, C)`` to its windows ``(N, Ho, Wo, kh, kw, C)`` (padded with ``value``)."""
    X = pad(xp, pad(xp, X, 1, rows, value), 2, cols, value)
    G = gather(xp, gather(xp, X, 1, rows), 3, cols)  # (N, Ho, kh, Wo, kw, C)
    return xp.permute_dims(G, (0, 1, 3, 2, 4, 5))


def windows_2d_adjoint(xp, dG, rows: AxisWindows, cols: AxisWindows):
    """The adjoint of :func:`windows_2d`: ``(N, Ho, Wo, kh, kw, C)`` to ``(N, H, W, C)``."""
    dG = xp.permute_dims(dG, (0, 1, 3, 2, 4, 5))  # (N, Ho, kh, Wo, kw, C)
    dX = gather_adjoint(xp, gather_adjoint(xp, dG, 3, cols), 1, rows)  # (N, Hp, Wp, C)
    return unpad(unpad(dX, 1, rows), 2, cols)


def same_counts(rows: AxisWindows, cols: AxisWindows) -> list:
    """Per output position ``(Ho, Wo)``, how many real (unpadded) entries its window holds."""

    def real(w):
        inside = [w.before <= tap < w.before + w.length for tap in w.taps]
        return [sum(inside[i * w.size : (i + 1) * w.size]) for i in range(w.out)]

    return [[r * c for c in real(cols)] for r in real(rows)]


def tile_2d(xp, X, rows: AxisWindows, cols: AxisWindows):
    """Windows that tile ``X`` (``rows.tiles and cols.tiles``): ``(N, H, W, C)`` to
    ``(N, Ho, Wo, kh * kw, C)`` (as :func:`windows_2d` gives them, window entries
    row-major), by a crop, a reshape and a transpose: no gather."""
    n, c = X.shape[0], X.shape[3]
    T = X[:, : rows.out * rows.size, : cols.out * cols.size, :]
    T = xp.reshape(T, (n, rows.out, rows.size, cols.out, cols.size, c))
    T = xp.permute_dims(T, (0, 1, 3, 2, 4, 5))
    return xp.reshape(T, (n, rows.out, cols.out, rows.size * cols.size, c))


def untile_2d(xp, dG, rows: AxisWindows, cols: AxisWindows):
    """The adjoint of :func:`tile_2d`: ``(N, Ho, Wo, kh * kw, C)`` back to ``(N, H, W, C)``,
    zeros where no window reads (the rows and columns the crop dropped)."""
    n, c = dG.shape[0], dG.shape[4]
    T = xp.reshape(dG, (n, rows.out, cols.out, rows.size, cols.size, c))
    T = xp.permute_dims(T, (0, 1, 3, 2, 4, 5))
    dX = xp.reshape(T, (n, rows.out * rows.size, cols.out * cols.size, c))
    for axis, windows in ((1, rows), (2, cols)):
        missing = windows.length - windows.out * windows.size
        if missing:
            shape = (*dX.shape[:axis], missing, *dX.shape[axis + 1 :])
            zeros = xp.zeros(shape, dtype=dX.dtype, device=device(dX))
            dX = xp.concat([dX, zeros], axis=axis)
    return dX
