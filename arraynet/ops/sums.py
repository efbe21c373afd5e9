"""Sums over the rows of a 2-D array, the way that runs fastest where the math runs."""

from __future__ import annotations

from array_api_compat import device

from ..backend import compiling


def sum_rows(xp, D):
    """The sum of the rows of ``D`` ``(rows, n)``: ``(n,)``. Op by op, a row of ones times
    ``D`` (NumPy's reduction along the first axis of a narrow array runs 5x slower: 0.56
    against 0.10 ms on 43,264 x 32 float32); traced for a compiler, or in a dtype without a
    fast product (float16), a reduction."""
    if compiling(xp, [D]) or D.dtype not in (xp.float32, xp.float64):
        return xp.sum(D, axis=0)
    ones = xp.ones((D.shape[0],), dtype=D.dtype, device=device(D))
    return xp.matmul(ones, D)
