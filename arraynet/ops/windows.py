"""Sliding windows for convolution and pooling, without scatter or in-place writes.

The Array API standard has no convolution, padding or scatter. Each formulation here is
written once against ``xp``; which one runs depends on how the math runs, as measured on
both (CNN of the benchmarks, 2-core Xeon):

- op by op (NumPy, torch, CuPy, eager JAX): a convolution's windows are one gather
  (``xp.take``) over the flattened plane ``H * W`` with a padding slot appended; their
  adjoint (each input position the sum of the window entries it fed) another gather, over
  the entries plus a zero slot, and a sum. Each pass is one library call.
- traced for a compiler (``jax.jit``): the windows are strided slices of the padded input,
  stacked; the adjoint places each window entry's delta back by zero padding (and zero
  interleaving for strides) and sums. The compiler fuses these; its gathers run 2x slower.

Pooling reads its window entries as strided slices everywhere (views, no copy, op by op).
All indices are plain Python ints worked out once per shape (constants under ``jax.jit``).

Padding as Keras: "valid" none; "same" gives ``ceil(n / stride)`` outputs, the total padding
``max((out - 1) * stride + (size - 1) * dilation + 1 - n, 0)`` split with the odd one after.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from array_api_compat import device

from ..backend import compiling


class AxisWindows(NamedTuple):
    """The windows along one axis: ``out`` windows of ``size`` taps, ``stride`` apart, taps
    ``dilation`` apart, over the axis padded by ``before`` and ``after``; ``taps`` their
    positions on the padded axis (``out * size``, window by window); ``tiles``: side by side
    from the start, unpadded."""

    length: int
    out: int
    size: int
    stride: int
    dilation: int
    before: int
    after: int
    taps: tuple
    tiles: bool


@functools.lru_cache(maxsize=512)
def axis_windows(length, size: int, stride: int, dilation: int, padding: str) -> AxisWindows:
    """The windows of one axis (see the module docstring); ValueError if none fits; None
    for an axis of any size (``length`` None: a shape's unknown axis)."""
    if length is None:
        return None
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
    tiles = not before and not after and taps == tuple(range(len(taps)))
    return AxisWindows(length, out, size, stride, dilation, before, after, taps, tiles)


def out_size(windows) -> int | None:
    """The output size along an axis: its windows' count, None for an axis of any size."""
    return None if windows is None else windows.out


def _fused(xp, X, fused) -> bool:
    return compiling(xp, [X]) if fused is None else fused


# -- window entries as strided slices ---------------------------------------------------


def _zeros_along(xp, like, axis: int, count: int, value: float = 0.0):
    shape = (*like.shape[:axis], count, *like.shape[axis + 1 :])
    return xp.full(shape, value, dtype=like.dtype, device=device(like))


def pad_axis(xp, X, axis: int, before: int, after: int, value: float = 0.0):
    """``X`` with ``before`` and ``after`` entries of ``value`` added along ``axis``."""
    if not before and not after:
        return X
    parts = [_zeros_along(xp, X, axis, before, value)] if before else []
    parts.append(X)
    if after:
        parts.append(_zeros_along(xp, X, axis, after, value))
    return xp.concat(parts, axis=axis)


def pad_2d(xp, X, rows: AxisWindows, cols: AxisWindows, value: float = 0.0):
    """``X`` ``(N, H, W, C)`` padded as the windows need, with ``value``."""
    X = pad_axis(xp, X, 1, rows.before, rows.after, value)
    return pad_axis(xp, X, 2, cols.before, cols.after, value)


def tap_slices(xp, X, rows: AxisWindows, cols: AxisWindows, value: float = 0.0) -> list:
    """Per window entry ``(i, j)``, row-major, the ``(N, Ho, Wo, C)`` entries it holds in
    every window of ``X`` ``(N, H, W, C)``: strided slices of ``X`` padded with ``value``."""
    X = pad_2d(xp, X, rows, cols, value)

    def span(windows, tap):
        start = tap * windows.dilation
        return slice(start, start + (windows.out - 1) * windows.stride + 1, windows.stride)

    return [
        X[:, span(rows, i), span(cols, j), :] for i in range(rows.size) for j in range(cols.size)
    ]


def _dilate(xp, D, axis: int, stride: int):
    """``D`` with ``stride - 1`` zeros between its entries along ``axis``."""
    n = D.shape[axis]
    if stride == 1 or n == 1:
        return D
    D = xp.expand_dims(D, axis=axis + 1)
    D = xp.concat([D, _zeros_along(xp, D, axis + 1, stride - 1)], axis=axis + 1)
    D = xp.reshape(D, (*D.shape[:axis], n * stride, *D.shape[axis + 2 :]))
    index = [slice(None)] * D.ndim
    index[axis] = slice(0, (n - 1) * stride + 1)
    return D[tuple(index)]


def _place(xp, D, axis: int, offset: int, length: int):
    """An axis of ``length`` holding ``D`` from ``offset`` on (cropped to fit), zeros
    elsewhere."""
    start, end = max(0, -offset), min(D.shape[axis], length - offset)
    if end <= start:
        return _zeros_along(xp, D, axis, length)
    index = [slice(None)] * D.ndim
    index[axis] = slice(start, end)
    return pad_axis(xp, D[tuple(index)], axis, offset + start, length - (offset + end))


def tap_slices_adjoint(xp, dtaps: list, rows: AxisWindows, cols: AxisWindows):
    """The adjoint of :func:`tap_slices`: each entry's delta ``(N, Ho, Wo, C)`` placed
    back where it was read, summed, the padding dropped: ``(N, H, W, C)``."""
    total = None
    for t, D in enumerate(dtaps):
        i, j = divmod(t, cols.size)
        for axis, windows, tap in ((1, rows, i), (2, cols, j)):
            D = _dilate(xp, D, axis, windows.stride)
            D = _place(xp, D, axis, tap * windows.dilation - windows.before, windows.length)
        total = D if total is None else total + D
    return total


# -- window entries as gathers ----------------------------------------------------------


class PlaneWindows(NamedTuple):
    """The windows of a plane ``(H, W)``, as indices into its flattened ``H * W`` entries.

    ``taps``: per window entry, the input position it reads (``H * W`` is the padding
    slot), in the order ``(Ho, Wo, kh, kw)`` (a convolution's rows) or, ``tap_major``,
    ``(kh, kw, Ho, Wo)`` (pooling's). ``sources``: for the adjoint, ``fan_in`` entries per
    input position, fan slot by fan slot, each a window entry that read it or the zero slot
    ``len(taps)``."""

    rows: AxisWindows
    cols: AxisWindows
    taps: tuple
    sources: tuple
    fan_in: int
    padded: bool  # some entry reads the padding slot
    ragged: bool  # some position is fed by fewer than fan_in entries: the adjoint's zero slot


def _real(windows: AxisWindows, tap: int):
    """The input position of a tap on the padded axis, None in the padding."""
    position = tap - windows.before
    return position if 0 <= position < windows.length else None


@functools.lru_cache(maxsize=256)
def plane_windows(rows: AxisWindows, cols: AxisWindows, tap_major: bool) -> PlaneWindows:
    """The plane's windows (see :class:`PlaneWindows`), worked out once per shape."""
    slot = rows.length * cols.length
    if tap_major:
        order = [(a, b, i, j) for i in range(rows.size) for j in range(cols.size)
                 for a in range(rows.out) for b in range(cols.out)]  # fmt: skip
    else:
        order = [(a, b, i, j) for a in range(rows.out) for b in range(cols.out)
                 for i in range(rows.size) for j in range(cols.size)]  # fmt: skip
    taps, feeds = [], [[] for _ in range(slot)]
    for entry, (a, b, i, j) in enumerate(order):
        r = _real(rows, rows.taps[a * rows.size + i])
        c = _real(cols, cols.taps[b * cols.size + j])
        position = slot if r is None or c is None else r * cols.length + c
        taps.append(position)
        if position < slot:
            feeds[position].append(entry)
    fan_in = max(1, max(len(fed) for fed in feeds))
    zero = len(order)
    sources = tuple(fed[k] if k < len(fed) else zero for k in range(fan_in) for fed in feeds)
    ragged = any(len(fed) < fan_in for fed in feeds)
    return PlaneWindows(rows, cols, tuple(taps), sources, fan_in, slot in taps, ragged)


def _indices(xp, values, like):
    return xp.asarray(values, dtype=xp.int32, device=device(like))


def gather_plane(xp, X, plane: PlaneWindows, value: float = 0.0):
    """The windows of ``X`` ``(N, H, W, C)``: ``(N, len(plane.taps), C)``, in the plane's
    order; entries in the padding read ``value``."""
    n, h, w, c = X.shape
    flat = xp.reshape(X, (n, h * w, c))
    if plane.padded:
        flat = xp.concat([flat, _zeros_along(xp, flat, 1, 1, value)], axis=1)
    return xp.take(flat, _indices(xp, plane.taps, X), axis=1)


def gather_plane_adjoint(xp, G, plane: PlaneWindows):
    """The adjoint of :func:`gather_plane`: ``(N, len(plane.taps), C)`` back to
    ``(N, H, W, C)``, each position the sum of the entries it fed. ``G`` may hold more
    entries per row, zeros from ``len(plane.taps)`` on: the zero slot, already there."""
    n, entries, c = G.shape
    if plane.ragged and entries == len(plane.taps):
        G = xp.concat([G, _zeros_along(xp, G, 1, 1)], axis=1)
    h, w = plane.rows.length, plane.cols.length
    fed = xp.reshape(xp.take(G, _indices(xp, plane.sources, G), axis=1), (n, -1, h * w, c))
    return xp.reshape(xp.sum(fed, axis=1), (n, h, w, c))


# -- what the layers call ---------------------------------------------------------------


def conv_windows(xp, X, rows: AxisWindows, cols: AxisWindows, fused=None):
    """The windows of ``X`` ``(N, H, W, C)`` as rows ``(N * Ho * Wo, kh * kw * C)``, each
    row-major over ``(kh, kw, C)``; ``fused`` (default: whether ``X`` is traced for a
    compiler) picks strided slices over a gather."""
    n, c = X.shape[0], X.shape[3]
    if _fused(xp, X, fused):
        G = xp.stack(tap_slices(xp, X, rows, cols), axis=3)
    else:
        G = gather_plane(xp, X, plane_windows(rows, cols, False))
    return xp.reshape(G, (n * rows.out * cols.out, rows.size * cols.size * c))


def conv_windows_adjoint(xp, dW, n: int, rows: AxisWindows, cols: AxisWindows, fused=None):
    """The adjoint of :func:`conv_windows`: rows ``(n * Ho * Wo, kh * kw * C)`` back to the
    input ``(n, H, W, C)``."""
    taps = rows.size * cols.size
    c = dW.shape[1] // taps
    if _fused(xp, dW, fused):
        dG = xp.reshape(dW, (n, rows.out, cols.out, taps, c))
        return tap_slices_adjoint(xp, [dG[:, :, :, t, :] for t in range(taps)], rows, cols)
    plane = plane_windows(rows, cols, False)
    return gather_plane_adjoint(xp, xp.reshape(dW, (n, len(plane.taps), c)), plane)


def conv_input_delta(xp, dZ, K, n: int, rows: AxisWindows, cols: AxisWindows, fused=None):
    """A convolution's delta at its input ``(n, H, W, C)``, from the delta at its output
    rows ``dZ`` ``(n * Ho * Wo, filters)`` and its kernel ``K`` ``(kh * kw * C, filters)``:
    the windows' adjoint of ``dZ @ K.T``. Op by op, when some input position is read by
    fewer windows than others, each image's rows of ``dZ`` get a zero row, so that the
    product holds the adjoint's zero slot (a copy of ``dZ``, not of the product, ``kh * kw
    * C / filters`` times larger)."""
    plane = None if _fused(xp, dZ, fused) else plane_windows(rows, cols, False)
    if plane is None or not plane.ragged:
        return conv_windows_adjoint(xp, xp.matmul(dZ, K.mT), n, rows, cols, fused)
    dZ = xp.reshape(dZ, (n, rows.out * cols.out, dZ.shape[1]))
    dZ = xp.reshape(xp.concat([dZ, _zeros_along(xp, dZ, 1, 1)], axis=1), (-1, dZ.shape[2]))
    dflat = xp.matmul(dZ, K.mT)
    return gather_plane_adjoint(
        xp, xp.reshape(dflat, (n, -1, K.shape[0] // (rows.size * cols.size))), plane
    )


def stack_taps(xp, taps: list, rows: AxisWindows, cols: AxisWindows):
    """Window entries (as :func:`tap_slices` gives them) as one array: ``(N, Ho, kh, Wo,
    kw, C)`` when the windows tile (a reshape of the input), else ``(N, kh * kw, Ho, Wo,
    C)``; a delta of that layout goes back by :func:`stacked_taps_adjoint`."""
    if not (rows.tiles and cols.tiles):
        return xp.stack(taps, axis=1)
    by_row = [xp.stack(taps[i * cols.size : (i + 1) * cols.size], axis=3)
              for i in range(rows.size)]  # fmt: skip
    return xp.stack(by_row, axis=2)


def spread(Y, rows: AxisWindows, cols: AxisWindows):
    """``Y`` ``(N, Ho, Wo, C)`` with unit axes where :func:`stack_taps` puts the entries."""
    if rows.tiles and cols.tiles:
        return Y[:, :, None, :, None, :]
    return Y[:, None, ...]


def stacked_taps_adjoint(xp, dT, rows: AxisWindows, cols: AxisWindows, fused=None):
    """A delta laid out as :func:`stack_taps` gives it, back to the ``(N, H, W, C)`` input
    (zeros where no window reads)."""
    n, c = dT.shape[0], dT.shape[-1]
    if not (rows.tiles and cols.tiles):
        if _fused(xp, dT, fused):
            return tap_slices_adjoint(xp, [dT[:, t, ...] for t in range(dT.shape[1])], rows, cols)
        plane = plane_windows(rows, cols, True)
        return gather_plane_adjoint(xp, xp.reshape(dT, (n, len(plane.taps), c)), plane)
    dX = xp.reshape(dT, (n, rows.out * rows.size, cols.out * cols.size, c))
    for axis, windows in ((1, rows), (2, cols)):  # the rows and columns no window reads
        dX = pad_axis(xp, dX, axis, 0, windows.length - windows.out * windows.size)
    return dX


def same_counts(rows: AxisWindows, cols: AxisWindows) -> list:
    """Per output position ``(Ho, Wo)``, how many real (unpadded) entries its window holds."""

    def real(w):
        inside = [w.before <= tap < w.before + w.length for tap in w.taps]
        return [sum(inside[i * w.size : (i + 1) * w.size]) for i in range(w.out)]

    return [[r * c for c in real(cols)] for r in real(rows)]
