"""Merge layers (Keras 3 semantics): several inputs in, one output out, no weights.

A merge layer is called on a list of inputs; the graph passes it a list of arrays (a
single array when a node has one input) and its ``backward`` returns one ``dX`` per input,
as a tuple. ``output_shape(*shapes)`` takes every input's per-example shape.

Elementwise merges (``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``) broadcast axes of size 1 between inputs of the same rank, as Keras; the delta
of a broadcast input is summed over those axes. ``Maximum``/``Minimum`` share the delta
equally among inputs tied at the extreme. ``Concatenate(axis=-1)`` joins along ``axis``
(counting the batch axis, as Keras); ``Dot(axes, normalize=False)`` is Keras's batch dot
product of two inputs (L2-normalized along the axes first with ``normalize``).
"""

from __future__ import annotations

import math

from .base import TRAINING, Context, Layer
from .masking import all_of

EPSILON = 1e-7  # Keras's backend.epsilon(): the least norm ``Dot(normalize=True)`` divides by


def _listed(X):
    """The inputs as a list (one array: a list of one)."""
    return list(X) if isinstance(X, (list, tuple)) else [X]


def _unbroadcast(xp, d, shape: tuple):
    """``d`` summed over the axes an input of ``shape`` was broadcast along (size 1)."""
    axes = tuple(i for i, (n, m) in enumerate(zip(shape, d.shape)) if n == 1 and m != 1)
    return xp.sum(d, axis=axes, keepdims=True) if axes else d


class Merge(Layer):
    """Base of the merge layers: input checks, the single-input case, no weights."""

    independent_rows = True
    least_inputs, most_inputs = 1, None

    def __init__(self):  # Keras's name= (layers/handle.py)
        pass

    def check_count(self, shapes) -> None:
        count, most = len(shapes), self.most_inputs
        if count < self.least_inputs or (most is not None and count > most):
            wanted = (
                f"exactly {most}" if most == self.least_inputs else f"at least {self.least_inputs}"
            )
            raise ValueError(
                f"{self.describe()}: expected a list of {wanted} inputs; got {count} "
                f"(input shapes {[tuple(s) for s in shapes]})"
            )

    def describe(self) -> str:
        return f"{type(self).__name__} layer '{self.name}'"

    def memory(self, input_shape: tuple) -> int:
        """Entries per example held: the inputs (about two of this shape) and the output."""
        return 4 * math.prod(input_shape)

    def get_config(self) -> dict:
        return {"class": type(self).__name__}


class _Elementwise(Merge):
    """An elementwise merge: ``output_shape`` broadcasts sizes of 1 (the same rank); the
    output's mask is where every input's is True (Keras's, over the masked inputs)."""

    supports_masking = True

    def compute_mask(self, xp, X, mask):
        return all_of(xp, mask if isinstance(mask, tuple) else (mask,))

    def output_shape(self, *shapes) -> tuple:
        self.check_count(shapes)
        shapes = [tuple(s) for s in shapes]
        if len({len(s) for s in shapes}) > 1:
            raise ValueError(
                f"{self.describe()}: expected inputs of the same rank; got input shapes {shapes}"
            )
        out = []
        for sizes in zip(*shapes):
            wide = {n for n in sizes if n not in (1, None)}  # None: any size
            if len(wide) > 1:
                raise ValueError(
                    f"{self.describe()}: expected input shapes equal or of size 1 on each "
                    f"axis; got input shapes {shapes}"
                )
            out.append(wide.pop() if wide else (None if None in sizes else 1))
        return tuple(out)

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        Xs = _listed(X)
        if len(Xs) == 1:
            return Xs[0], ()
        return self.combine(xp, Xs), tuple(Xs)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        if not cache:  # one input: the identity
            return dY, ()
        parts = self.deltas(xp, list(cache), dY)
        return tuple(_unbroadcast(xp, d, X.shape) for d, X in zip(parts, cache)), ()


class Add(_Elementwise):
    """The sum of the inputs."""

    def combine(self, xp, Xs):
        total = Xs[0]
        for X in Xs[1:]:
            total = total + X
        return total

    def deltas(self, xp, Xs, dY):
        return [dY] * len(Xs)


class Subtract(_Elementwise):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    least_inputs = most_inputs = 2

    def combine(self, xp, Xs):
        return Xs[0] - Xs[1]

    def deltas(self, xp, Xs, dY):
        return [dY, -dY]


class Multiply(_Elementwise):
    """The elementwise product of the inputs."""

    def combine(self, xp, Xs):
        product = Xs[0]
        for X in Xs[1:]:
            product = product * X
        return product

    def deltas(self, xp, Xs, dY):
        out = []
        for i in range(len(Xs)):  # the product of the others (no division: zeros are fine)
            d = dY
            for j, X in enumerate(Xs):
                if j != i:
                    d = d * X
            out.append(d)
        return out


class Average(_Elementwise):
    """The elementwise mean of the inputs."""

    def combine(self, xp, Xs):
        return Add.combine(self, xp, Xs) / len(Xs)

    def deltas(self, xp, Xs, dY):
        return [dY / len(Xs)] * len(Xs)


class _Extreme(_Elementwise):
    """Maximum or Minimum: the delta goes to the inputs at the extreme, shared among ties."""

    def combine(self, xp, Xs):
        out = Xs[0]
        for X in Xs[1:]:
            out = self.pick(xp, out, X)
        return out

    def deltas(self, xp, Xs, dY):
        Y = self.combine(xp, Xs)
        hits = [xp.astype(X == Y, dY.dtype) for X in Xs]
        count = Add.combine(self, xp, hits)
        share = dY / count
        return [share * hit for hit in hits]


class Maximum(_Extreme):
    """The elementwise maximum of the inputs."""

    def pick(self, xp, a, b):
        return xp.maximum(a, b)


class Minimum(_Extreme):
    """The elementwise minimum of the inputs."""

    def pick(self, xp, a, b):
        return xp.minimum(a, b)


class Concatenate(Merge):
    """The inputs joined along ``axis`` (counting the batch axis: -1 the last, 1 the first
    axis of an example); their shapes must match on every other axis."""

    def __init__(self, axis: int = -1):
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(f"axis: expected an integer; got {axis!r}")
        self.axis = axis

    def _axis(self, rank: int, shapes) -> int:
        """The axis as a non-negative index into a batch of ``rank`` axes."""
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f"{self.describe()}: axis {self.axis} is not an axis of the examples (the "
                f"batch axis included, inputs of rank {rank}); got input shapes {shapes}"
            )
        return self.axis % rank

    def output_shape(self, *shapes) -> tuple:
        self.check_count(shapes)
        shapes = [tuple(s) for s in shapes]
        ranks = {len(s) for s in shapes}
        a = self._axis(len(shapes[0]) + 1, shapes) - 1 if len(ranks) == 1 else None
        rest = {s[:a] + s[a + 1 :] for s in shapes} if a is not None else ()
        if a is None or len(rest) != 1:
            raise ValueError(
                f"{self.describe()}: expected inputs with matching shapes except for the "
                f"concatenation axis {self.axis}; got input shapes {shapes}"
            )
        sizes = [s[a] for s in shapes]
        joined = None if None in sizes else sum(sizes)  # None: any size
        return (*shapes[0][:a], joined, *shapes[0][a + 1 :])

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        Xs = _listed(X)
        if len(Xs) == 1:
            return Xs[0], ()
        return xp.concat(Xs, axis=self.axis % Xs[0].ndim), tuple(Xs)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        if not cache:
            return dY, ()
        a, start, parts = self.axis % dY.ndim, 0, []
        for X in cache:
            stop = start + X.shape[a]
            parts.append(dY[(slice(None),) * a + (slice(start, stop), ...)])
            start = stop
        return tuple(parts), ()

    def get_config(self) -> dict:
        return {"class": "Concatenate", "axis": self.axis}


class Dot(Merge):
    """Keras's batch dot product of two inputs over ``axes`` (an int for both, or a pair;
    counting the batch axis, which cannot be one of them): the output keeps the first
    input's other axes, then the second's (a rank-1 result gets an axis of 1).
    ``normalize``: L2-normalize each input along its axis first (the cosine proximity)."""

    least_inputs = most_inputs = 2

    def __init__(self, axes, normalize: bool = False):
        pair = isinstance(axes, (list, tuple))
        if pair and len(axes) != 2:
            raise ValueError(f"axes: expected an integer or a pair of integers; got {axes!r}")
        if not all(
            isinstance(a, int) and not isinstance(a, bool) for a in (axes if pair else [axes])
        ):
            raise TypeError(f"axes: expected an integer or a pair of integers; got {axes!r}")
        if not isinstance(normalize, bool):
            raise TypeError(f"normalize: expected True or False; got {normalize!r}")
        self.axes = tuple(axes) if pair else axes
        self.normalize = normalize

    def _axes(self, ranks, shapes) -> tuple:
        """Each input's contracted axis, non-negative, counting the batch axis."""
        given = self.axes if isinstance(self.axes, tuple) else (self.axes, self.axes)
        axes = tuple(a % r if a < 0 else a for a, r in zip(given, ranks))
        if any(a == 0 or a >= r for a, r in zip(axes, ranks)):
            raise ValueError(
                f"{self.describe()}: axes {self.axes} must name axes of the examples (not "
                f"the batch axis 0); got input shapes {shapes}"
            )
        return axes

    def output_shape(self, *shapes) -> tuple:
        self.check_count(shapes)
        shapes = [tuple(s) for s in shapes]
        a, b = self._axes([len(s) + 1 for s in shapes], shapes)
        if shapes[0][a - 1] != shapes[1][b - 1]:
            raise ValueError(
                f"{self.describe()}: expected the axes {(a, b)} to have the same size; got "
                f"{shapes[0][a - 1]} != {shapes[1][b - 1]} (input shapes {shapes})"
            )
        out = shapes[0][: a - 1] + shapes[0][a:] + shapes[1][: b - 1] + shapes[1][b:]
        return out or (1,)

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        X1, X2 = _listed(X)
        a, b = self._axes([X1.ndim, X2.ndim], [X1.shape[1:], X2.shape[1:]])
        N1 = _normalized(xp, X1, a) if self.normalize else X1
        N2 = _normalized(xp, X2, b) if self.normalize else X2
        A, B = _to_last(xp, N1, a), _to_last(xp, N2, b)  # (rows, I, K), (rows, J, K)
        product = xp.matmul(A, xp.permute_dims(B, (0, 2, 1)))  # (rows, I, J)
        rest = tuple(N1.shape[1:a] + N1.shape[a + 1 :] + N2.shape[1:b] + N2.shape[b + 1 :])
        Y = xp.reshape(product, (X1.shape[0], *(rest or (1,))))
        return Y, (X1, X2, A, B)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        if not ctx.need_dX:
            return None, ()
        X1, X2, A, B = cache
        a, b = self._axes([X1.ndim, X2.ndim], [X1.shape[1:], X2.shape[1:]])
        dP = xp.reshape(dY, (A.shape[0], A.shape[1], B.shape[1]))
        dA = xp.matmul(dP, B)  # (rows, I, K)
        dB = xp.matmul(xp.permute_dims(dP, (0, 2, 1)), A)  # (rows, J, K)
        dN1, dN2 = _from_last(xp, dA, X1.shape, a), _from_last(xp, dB, X2.shape, b)
        if self.normalize:
            dN1 = _normalized_backward(xp, X1, a, dN1)
            dN2 = _normalized_backward(xp, X2, b, dN2)
        return (dN1, dN2), ()

    def get_config(self) -> dict:
        axes = list(self.axes) if isinstance(self.axes, tuple) else self.axes
        return {"class": "Dot", "axes": axes, "normalize": self.normalize}


def _to_last(xp, X, axis: int):
    """``X`` as ``(rows, others, size of axis)``: ``axis`` moved last, the others flattened."""
    order = [i for i in range(X.ndim) if i != axis] + [axis]
    moved = xp.permute_dims(X, tuple(order))
    return xp.reshape(moved, (X.shape[0], -1, X.shape[axis]))


def _from_last(xp, D, shape: tuple, axis: int):
    """The inverse of :func:`_to_last`: ``D`` back to ``shape``."""
    order = [i for i in range(len(shape)) if i != axis] + [axis]
    moved = xp.reshape(D, tuple(shape[i] for i in order))
    inverse = sorted(range(len(order)), key=order.__getitem__)
    return xp.permute_dims(moved, tuple(inverse))


def _inverse_norm(xp, X, axis: int):
    """Keras's ``normalize``: ``min(1 / sqrt(sum(X**2)), 1 / epsilon)`` along ``axis``."""
    return 1.0 / xp.maximum(xp.sqrt(xp.sum(X * X, axis=axis, keepdims=True)), EPSILON)


def _normalized(xp, X, axis: int):
    return X * _inverse_norm(xp, X, axis)


def _normalized_backward(xp, X, axis: int, dN):
    """The delta at ``X`` of ``N = X * r``, ``r = 1/||X||`` (a constant where clamped)."""
    r = _inverse_norm(xp, X, axis)
    clamped = r >= 1.0 / EPSILON
    projected = dN * r - X * (r * r * r) * xp.sum(dN * X, axis=axis, keepdims=True)
    return xp.where(clamped, dN * r, projected)
