"""Products with a dropout mask per gate, for Keras 3's ``recurrent_dropout``.

With ``recurrent_dropout`` (Keras's "implementation 1"), each gate block of the kernel
reads the input times its own mask, and each block of the recurrent kernel the previous
state times its own: ``concat_g((A * m_g) @ W_g)``, the masks ``(rows, k, n)`` one per row,
gate and feature, the same at every step. Written as ``k`` products of the whole batch
(gates first), never one small product per row. ``A`` is ``(rows, n)`` (one step) or
``(steps, rows, n)`` (the whole sequence); ``masks`` None is the plain product.
"""

from __future__ import annotations

import math


def dropout_parts(noise, features: int, gates: int, recurrent_dropout: float) -> tuple:
    """``(inputs, gates, states)`` of a recurrent layer's dropout ``noise``: the input's one
    mask ``(rows, 1, features)``, or its mask per gate ``(rows, gates, features)``, and the
    state's per gate (None where there is none; all None without noise)."""
    if noise is None:
        return None, None, None
    if not recurrent_dropout:
        return noise, None, None
    inputs, states = noise[:, :, :features], noise[:, :, features:]
    return (inputs, None, states) if gates == 1 else (None, inputs, states)


def _gates(xp, W, k: int):
    """``W`` ``(n, k * u)`` as ``(k, n, u)``: each gate block's columns."""
    n = W.shape[0]
    return xp.permute_dims(xp.reshape(W, (n, k, W.shape[1] // k)), (1, 0, 2))


def _masked(xp, A, masks):
    """``A * m_g`` for every gate, gates first: ``(k, m, n)``, ``m`` all rows (and steps)."""
    k, n = masks.shape[1], A.shape[-1]
    Am = A[..., None, :] * masks  # (..., rows, k, n)
    order = (Am.ndim - 2, *range(Am.ndim - 2), Am.ndim - 1)
    return xp.reshape(xp.permute_dims(Am, order), (k, -1, n))


def _gates_last(xp, G, lead: tuple):
    """``(k, m, u)`` back to ``(*lead, k * u)``."""
    return xp.reshape(xp.permute_dims(G, (1, 0, 2)), (*lead, -1))


def masked_product(xp, A, W, masks):
    """``A @ W``, each gate block from ``A`` times its mask."""
    if masks is None:
        return xp.matmul(A, W)
    return _gates_last(xp, xp.matmul(_masked(xp, A, masks), _gates(xp, W, masks.shape[1])),
                       A.shape[:-1])  # fmt: skip


def masked_delta(xp, dZ, W, masks):
    """The delta at ``A`` of :func:`masked_product` from the one at its output."""
    if masks is None:
        return xp.matmul(dZ, W.mT)
    k, lead = masks.shape[1], dZ.shape[:-1]
    dZg = xp.permute_dims(xp.reshape(dZ, (math.prod(lead), k, -1)), (1, 0, 2))
    dA = xp.matmul(dZg, _gates(xp, W, k).mT)  # (k, m, n)
    dA = xp.reshape(xp.permute_dims(dA, (1, 0, 2)), (*lead, k, -1))
    return xp.sum(dA * masks, axis=-2)


def masked_grad(xp, A, dZ, masks):
    """The gradient of ``W`` in :func:`masked_product`, summed over rows (and steps)."""
    if masks is None:
        n = A.shape[-1]
        return xp.matmul(xp.reshape(A, (-1, n)).mT, xp.reshape(dZ, (-1, dZ.shape[-1])))
    k = masks.shape[1]
    dZg = xp.permute_dims(xp.reshape(dZ, (-1, k, dZ.shape[-1] // k)), (1, 0, 2))
    return _gates_last(xp, xp.matmul(_masked(xp, A, masks).mT, dZg), (A.shape[-1],))


def part(masks, start: int, stop: int):
    """The masks of gates ``start:stop`` (None stays None)."""
    return None if masks is None else masks[:, start:stop, :]
