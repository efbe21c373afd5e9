"""Weight initializers. All draw on the host from a seeded ``numpy.random.Generator``.

Drawing on the host, in float64, and moving the result once is what gives every backend
the same initial weights for the same seed.
"""

from __future__ import annotations

import numpy as np


def uniform(rng, shape):
    """The book's ``2 * random - 1``: uniform on [-1, 1)."""
    return 2.0 * rng.random(shape) - 1.0


def zeros(rng, shape):
    return np.zeros(shape)


def ones(rng, shape):
    return np.ones(shape)


def _fans(shape):
    """``(fan_in, fan_out)``; for a kernel of rank > 2 (a convolution's ``(kh, kw, C, F)``)
    each is times the receptive field ``kh * kw``, as Keras counts them."""
    if len(shape) > 2:
        field = int(np.prod(shape[:-2]))
        return shape[-2] * field, shape[-1] * field
    fan_in = shape[0] if len(shape) > 1 else 1
    return fan_in, shape[-1]


def glorot_uniform(rng, shape):
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def glorot_normal(rng, shape):
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape)


def he_uniform(rng, shape):
    limit = np.sqrt(6.0 / _fans(shape)[0])
    return rng.uniform(-limit, limit, shape)


def he_normal(rng, shape):
    return rng.normal(0.0, np.sqrt(2.0 / _fans(shape)[0]), shape)


def lecun(rng, shape):
    return rng.normal(0.0, np.sqrt(1.0 / _fans(shape)[0]), shape)


def orthogonal(rng, shape):
    """Keras's ``Orthogonal``: a standard normal ``(max(r, c), min(r, c))`` matrix (``r`` the
    product of all axes but the last, ``c`` the last), its QR's ``Q`` with each column's sign
    set by the sign of ``R``'s diagonal (so ``Q`` is uniform over orthogonal matrices), transposed
    when ``r < c``: orthonormal columns, or rows for a wide kernel such as an LSTM's (U, 4U)."""
    if len(shape) < 2:
        raise ValueError(f"orthogonal: expected a shape of at least 2 axes; got {tuple(shape)}")
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape)


def unit_forget_bias(initializer, units: int):
    """Keras's LSTM bias with ``unit_forget_bias``: ``initializer`` for the i gate, ones for
    the f gate, ``initializer`` for the c and o gates, drawn in that order."""

    def draw(rng, shape):
        ones = np.ones(units)
        return np.concatenate([initializer(rng, (units,)), ones, initializer(rng, (2 * units,))])

    return draw


def random_uniform(rng, shape):
    """Keras's ``RandomUniform()`` (its ``"uniform"``, Embedding's default): on [-0.05, 0.05)."""
    return rng.uniform(-0.05, 0.05, shape)


INITIALIZERS = {
    f.__name__: f
    for f in (uniform, zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal, lecun)
}
INITIALIZERS.update(orthogonal=orthogonal, random_uniform=random_uniform)


def get(initializer, argument="initializer"):
    """An initializer by name, or a callable ``(rng, shape) -> ndarray`` as given."""
    if callable(initializer):
        return initializer
    if initializer not in INITIALIZERS:
        raise ValueError(
            f"{argument}: expected one of {', '.join(INITIALIZERS)}; got {initializer!r}"
        )
    return INITIALIZERS[initializer]


def name_of(initializer) -> str:
    """The registered name of an initializer (for saving a model's architecture)."""
    name = getattr(initializer, "__name__", None)
    if INITIALIZERS.get(name) is not initializer:
        raise ValueError(f"initializer: only named initializers can be saved; got {initializer!r}")
    return name
