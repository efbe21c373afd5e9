"""Random streams for the large-data generators of :mod:`arraynet.datasets`.

A generator asks for its draws as a *layout*: a list of parts ``("uniform", k)`` or
``("normal", k)``, ``k`` values per row each, and gets one array per part.

- **Host draws** (:func:`host_draws`, float64 NumPy) are the same on every backend. Rows are
  cut into blocks of :data:`BLOCK_ROWS`; block ``b`` draws from
  ``Generator(PCG64(SeedSequence(seed).spawn(b + 1)[b]))``. A row takes ``words`` uniform
  doubles of that stream (one 64-bit word each: ``k`` for a uniform part, ``2·ceil(k/2)`` for a
  normal part, by Box-Muller), so any row range starts by ``PCG64.advance`` and the data do
  not depend on how they are chunked.
- **Device draws** (:func:`device_draws`) use the selected library's own generator on its
  device (cupy, jax, torch: one small function each, named by backend, importing its library
  lazily, as in ``backend/``), seeded from ``seed`` and the chunk index. Fast and
  reproducible per backend and ``chunk_rows``, not equal across backends.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

BLOCK_ROWS = 2**16  # rows per host stream: part of the seed rule, never change it


def root_sequence(seed: int | None) -> np.random.SeedSequence:
    """The dataset's seed sequence; ``seed=None`` takes fresh entropy."""
    return np.random.SeedSequence(seed)


def parameter_rng(root: np.random.SeedSequence) -> np.random.Generator:
    """The generator of a dataset's parameters (class centres, teacher weights):
    ``numpy.random.default_rng(seed)``, separate from the row blocks' streams."""
    return np.random.Generator(np.random.PCG64(root))


def _child(root: np.random.SeedSequence, index: int) -> np.random.SeedSequence:
    """``root.spawn(index + 1)[index]``, without spawning the ones before it."""
    return np.random.SeedSequence(
        root.entropy, spawn_key=(*root.spawn_key, index), pool_size=root.pool_size
    )


def words_per_row(layout) -> int:
    """Uniform doubles a row takes from the host stream."""
    return sum(k if kind == "uniform" else 2 * math.ceil(k / 2) for kind, k in layout)


def host_uniforms(root: np.random.SeedSequence, start: int, stop: int, words: int) -> np.ndarray:
    """Rows ``start:stop`` of the host stream as a float64 array of shape (rows, words)."""
    out = np.empty((stop - start, words))
    row = start
    while row < stop:
        block, offset = divmod(row, BLOCK_ROWS)
        end = min(stop, (block + 1) * BLOCK_ROWS)
        bits = np.random.PCG64(_child(root, block))
        bits.advance(offset * words)
        np.random.Generator(bits).random(out=out[row - start : end - start])
        row = end
    return out


def host_draws(root: np.random.SeedSequence, start: int, stop: int, layout) -> list:
    """The layout's parts for rows ``start:stop``, float64 NumPy arrays."""
    uniforms = host_uniforms(root, start, stop, words_per_row(layout))
    parts, column = [], 0
    for kind, k in layout:
        if kind == "uniform":
            parts.append(uniforms[:, column : column + k])
            column += k
            continue
        # Box-Muller in place over the part's own words (no temporaries beyond one half):
        # radius from the first half, angle from the second, then (r cos a | r sin a).
        half = math.ceil(k / 2)
        radius = uniforms[:, column : column + half]
        angle = uniforms[:, column + half : column + 2 * half]
        # log(1 - u), 1 - u in (0, 1]. (Not np.negative(out=): NumPy 2.4 gets it wrong in
        # place on a strided column.)
        np.log1p(np.multiply(radius, -1.0, out=radius), out=radius)
        np.sqrt(np.multiply(radius, -2.0, out=radius), out=radius)
        np.multiply(angle, 2 * np.pi, out=angle)
        cosine = np.cos(angle)
        np.multiply(np.sin(angle, out=angle), radius, out=angle)
        np.multiply(cosine, radius, out=radius)
        parts.append(uniforms[:, column : column + k])
        column += 2 * half
    return parts


# -- device streams: one function per library, ``(backend, seed) -> draw(kind, shape)`` --------


def _cupy(backend, seed: int):
    import cupy

    state, dtype = cupy.random.RandomState(seed), getattr(cupy, backend.dtype)

    def draw(kind, shape):
        if kind == "uniform":
            return state.random_sample(shape, dtype=dtype)
        return state.standard_normal(shape, dtype=dtype)

    return draw


def _jax(backend, seed: int):
    import jax

    key, dtype = jax.random.key(seed), getattr(backend.xp, backend.dtype)
    count = itertools.count()

    def draw(kind, shape):
        sub = jax.random.fold_in(key, next(count))
        sample = jax.random.uniform if kind == "uniform" else jax.random.normal
        return jax.device_put(sample(sub, shape, dtype), backend.device)

    return draw


def _torch(backend, seed: int):
    import torch

    device, dtype = torch.device(backend.device or "cpu"), getattr(torch, backend.dtype)
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)

    def draw(kind, shape):
        sample = torch.rand if kind == "uniform" else torch.randn
        return sample(shape, generator=generator, dtype=dtype, device=device)

    return draw


_DEVICE_STREAMS = {"cupy": _cupy, "jax": _jax, "torch": _torch}


def has_device_rng(backend) -> bool:
    """Whether ``backend``'s library has a generator on its device."""
    return backend.name in _DEVICE_STREAMS


def device_draws(backend, root: np.random.SeedSequence, chunk: int, rows: int, layout) -> list:
    """The layout's parts for chunk ``chunk`` (``rows`` rows), drawn on ``backend``'s device
    in its float dtype, from a 32-bit seed that ``seed`` and ``chunk`` fix."""
    seed = int(_child(root, chunk).generate_state(1)[0])
    draw = _DEVICE_STREAMS[backend.name](backend, seed)
    return [draw(kind, (rows, k)) for kind, k in layout]
