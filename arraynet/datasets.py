"""Datasets: small ones on the host, and large synthetic ones drawn in chunks on the backend.

**Small** (``streetlights``, ``xor``, ``spirals``, ``synthetic``, ``digits``): ``(X, y)`` NumPy
arrays, X float64 of shape (rows, features), y int64 labels of shape (rows,); ``fit`` moves
them to the selected backend. The drawn ones (``xor``, ``spirals``, ``synthetic``) take a
``seed`` for ``numpy.random.default_rng``, so one seed gives the same data
everywhere, and come shuffled with balanced classes (counts differ by at most one);
``streetlights`` and ``digits`` are fixed data in their source order.

**Large** (``make_classification``, ``make_spirals``, ``make_parity``, ``make_teacher``,
``make_images``):
``(X, y)`` arrays of the *selected* backend, X in its float dtype, y its default integer
labels (int64; int32 on JAX without x64) or, for ``make_teacher``, floats. They are built
``chunk_rows`` rows at a time (default: about 2**22 values of X per chunk), each chunk written
into the result on the device (in place; JAX, whose arrays are immutable, concatenates the
chunks with ``xp.concat``: about twice the data at the peak), so the host never holds more
than one chunk. Labels are drawn
independently per row (each class equally likely). The seed rule:

- ``device_rng=False``: the draws are made on the host, so **one seed gives the same data on
  every backend** (equal to NumPy's after the cast to the backend's dtype), whatever
  ``chunk_rows`` (``make_teacher``'s targets: up to BLAS rounding). Rows are cut into blocks
  of 2**16; block ``b`` draws from
  ``numpy.random.Generator(PCG64(SeedSequence(seed).spawn(b + 1)[b]))``, each row a fixed
  number of uniform doubles (normals by Box-Muller), so a chunk starts anywhere by
  ``PCG64.advance``. The dataset's parameters (class centres, teacher weights) come from
  ``numpy.random.default_rng(seed)``.
- ``device_rng=True``: the library's generator draws on its device (cupy: ``RandomState``;
  jax: ``jax.random`` keyed by seed and chunk; torch: ``torch.Generator`` on the device).
  Much faster for big data and reproducible for one backend, seed and ``chunk_rows``; not
  equal across backends (NumPy and array-api-strict have none: ``ValueError``).
- ``device_rng="auto"`` (default): True when X has more than 2**24 elements and the backend
  has a device generator, else False.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import random
from .backend import current_backend, numpy_backend
from .validation import check_count, check_non_negative, check_positive

__all__ = [
    "digits",
    "make_classification",
    "make_images",
    "make_parity",
    "make_spirals",
    "make_teacher",
    "spirals",
    "streetlights",
    "synthetic",
    "train_test_split",
    "xor",
]

AUTO_DEVICE_ELEMENTS = 2**24  # device_rng="auto" draws on the device above this many X values
CHUNK_VALUES = 2**22  # chunk_rows=None: about this many X values per chunk


def _blob_args(n, features, classes, informative) -> tuple[int, int, int, int]:
    """Checked sizes of a blobs dataset; ``informative`` defaults to max(2, features // 4)."""
    n = check_count(n, "n", minimum=1)
    features = check_count(features, "features", minimum=1)
    classes = check_count(classes, "classes", minimum=2)
    if informative is None:
        informative = min(features, max(2, features // 4))
    informative = check_count(informative, "informative", minimum=1)
    if informative > features:
        raise ValueError(f"informative: expected at most features={features}; got {informative}")
    return n, features, classes, informative


def _check_seed(seed) -> int | None:
    if seed is None:
        return None
    return check_count(seed, "seed")


def _balanced_labels(rng, n: int, classes: int) -> np.ndarray:
    """``n`` labels, each class ``n // classes`` or one more times, in random order."""
    return rng.permutation(np.arange(n) % classes).astype(np.int64)


def streetlights() -> tuple[np.ndarray, np.ndarray]:
    """Grokking Deep Learning's streetlights (6 rows of 3 lights) and ``walk_vs_stop``."""
    X = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 1], [1, 1, 1], [0, 1, 1], [1, 0, 1]], np.float64)
    y = np.array([0, 1, 0, 1, 1, 0], np.int64)
    return X, y


def xor(n: int = 200, seed: int | None = 0, noise: float = 0.0):
    """``n`` points at the corners of the unit square, label ``x0 XOR x1``.

    The four corners are used equally often (so the labels are balanced); ``noise`` is the
    standard deviation of Gaussian jitter added to the coordinates.
    """
    n = check_count(n, "n", minimum=4)
    noise = check_non_negative(noise, "noise")
    rng = np.random.default_rng(_check_seed(seed))
    corner = _balanced_labels(rng, n, 4)
    X = np.stack([corner // 2, corner % 2], axis=1).astype(np.float64)
    y = (X[:, 0] != X[:, 1]).astype(np.int64)
    return X + noise * rng.standard_normal(X.shape), y


def spirals(n: int = 400, seed: int | None = 0, noise: float = 0.2, turns: float = 1.5):
    """Two interleaved spirals of ``turns`` turns each, labels 0 and 1.

    A point at angle ``t`` (radians, from 0 to ``2π·turns``) lies at radius ``t``, the second
    spiral rotated by π; ``noise`` is the standard deviation of Gaussian jitter in those units
    (the two arms are π apart). The result is divided by ``2π·turns`` so the outer radius is 1.
    """
    n = check_count(n, "n", minimum=2)
    noise = check_non_negative(noise, "noise")
    if isinstance(turns, bool) or not isinstance(turns, numbers.Real):
        raise TypeError(f"turns: expected a number > 0; got {turns!r}")
    if not math.isfinite(turns) or turns <= 0:
        raise ValueError(f"turns: expected a finite number > 0; got {turns}")
    rng = np.random.default_rng(_check_seed(seed))
    y = _balanced_labels(rng, n, 2)
    end = 2 * math.pi * turns
    t = end * np.sqrt(rng.uniform(0.0, 1.0, n))  # sqrt: even spacing along the arm
    angle = t + math.pi * y
    X = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    X = X + noise * rng.standard_normal(X.shape)
    return X / end, y


def digits():
    """scikit-learn's 8x8 handwritten digits: 1,797 images as 64 pixels scaled to [0, 1],
    labels 0-9. Shipped with scikit-learn (no download): ``pip install arraynet[digits]``."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError("digits() needs scikit-learn: pip install arraynet[digits]") from err
    bunch = load_digits()
    return bunch.data.astype(np.float64) / 16.0, bunch.target.astype(np.int64)


def synthetic(
    n: int = 10_000,
    features: int = 20,
    classes: int = 2,
    seed: int | None = 0,
    informative: int | None = None,
):
    """Gaussian blobs: one unit-variance blob per class around a centre drawn from N(0, 2²) in
    the first ``informative`` features (default ``max(2, features // 4)``, at most
    ``features``); the other features are N(0, 1) noise."""
    n, features, classes, informative = _blob_args(n, features, classes, informative)
    if n < classes:
        raise ValueError(f"n: expected at least classes={classes} rows; got {n}")
    rng = np.random.default_rng(_check_seed(seed))
    centres = 2.0 * rng.standard_normal((classes, informative))
    y = _balanced_labels(rng, n, classes)
    X = rng.standard_normal((n, features))
    X[:, :informative] += centres[y]
    return X, y


def train_test_split(X, y, test_size: float | int = 0.2, seed: int | None = 0):
    """``X_train, X_test, y_train, y_test`` after a seeded shuffle (scikit-learn's order).

    ``test_size``: a share in (0, 1) (rounded up to whole rows) or a row count; both sides
    keep at least one row.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 1 or y.ndim < 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"y: expected as many rows as X ({X.shape[:1]}); got shape {y.shape}")
    n = X.shape[0]
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size: expected a share in (0, 1) or a row count; got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    elif 0 < test_size < 1:
        n_test = math.ceil(n * test_size)
    else:
        raise ValueError(f"test_size: expected a share in (0, 1) or a row count; got {test_size}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_size: expected 1 to {n - 1} test rows of {n}; got {test_size} ({n_test} rows)"
        )
    order = np.random.default_rng(_check_seed(seed)).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


# -- large synthetic data, drawn in chunks on the selected backend ---------------------------


def _device_rng(device_rng, backend, elements: int) -> bool:
    """Resolve ``device_rng`` (True, False or "auto") for ``backend`` and X's size."""
    if isinstance(device_rng, str):
        if device_rng != "auto":
            raise ValueError(f"device_rng: expected True, False or 'auto'; got {device_rng!r}")
        return random.has_device_rng(backend) and elements > AUTO_DEVICE_ELEMENTS
    if not isinstance(device_rng, (bool, np.bool_)):
        raise TypeError(f"device_rng: expected True, False or 'auto'; got {device_rng!r}")
    if device_rng and not random.has_device_rng(backend):
        raise ValueError(
            f"device_rng: expected False or 'auto' on backend {backend.name!r}, which has no "
            "device random generator; got True"
        )
    return bool(device_rng)


def _int_dtype(xp):
    """The namespace's default integer dtype (int64; int32 on JAX without x64)."""
    return xp.asarray(0).dtype


def _generate(root, n, width, layout, transform, params, chunk_rows, device_rng, floats=False):
    """``(X, y)`` on the selected backend (X of shape (n, width)), ``chunk_rows`` rows at a time.

    ``transform(xp, parts, params) -> (X, y)`` turns one chunk's draws (see
    :mod:`arraynet.random`) into rows, in floats (class labels as whole numbers); it runs in
    float64 NumPy on the host, or on the device with ``device_rng``. ``params`` are host
    arrays, moved to the device once when needed.
    """
    if chunk_rows is None:
        chunk_rows = max(1, CHUNK_VALUES // width)
    chunk_rows = check_count(chunk_rows, "chunk_rows", minimum=1)
    backend = current_backend()
    xp, host = backend.xp, numpy_backend().xp
    on_device = _device_rng(device_rng, backend, n * width)
    labels = backend.float_dtype if floats else _int_dtype(xp)
    if on_device:
        params = [backend.asarray(p) for p in params]
    X_out = y_out = None
    pieces = []
    for chunk, start in enumerate(range(0, n, chunk_rows)):
        stop = min(start + chunk_rows, n)
        if on_device:
            parts = random.device_draws(backend, root, chunk, stop - start, layout)
            X, y = transform(xp, parts, params)
            X, y = xp.astype(X, backend.float_dtype), xp.astype(y, labels)
        else:
            X, y = transform(host, random.host_draws(root, start, stop, layout), params)
            y = y if floats else y.astype(np.int64)
            X, y = backend.asarray(X), backend.asarray(y, labels)
        if backend.name == "jax":  # immutable arrays: concatenated at the end
            pieces.append((X, y))
            continue
        if X_out is None:
            X_out = xp.empty((n, *X.shape[1:]), dtype=X.dtype, device=backend.device)
            y_out = xp.empty((n, *y.shape[1:]), dtype=y.dtype, device=backend.device)
        X_out[start:stop, ...] = X
        y_out[start:stop, ...] = y
    if backend.name == "jax":
        if len(pieces) == 1:
            return pieces[0]
        return tuple(xp.concat(column, axis=0) for column in zip(*pieces))
    return X_out, y_out


def _class_of(xp, u, classes: int):
    """Uniform draws in [0, 1) to class indices 0..classes-1, as floats."""
    return xp.minimum(xp.floor(u * classes), classes - 1.0)


def make_classification(
    n: int,
    features: int = 20,
    informative: int | None = None,
    classes: int = 2,
    seed: int | None = 0,
    chunk_rows: int | None = None,
    device_rng="auto",
    separation: float = 2.0,
):
    """Gaussian blobs on the selected backend: ``n`` rows of ``features`` unit-variance
    features, one blob per class around a centre whose coordinates are drawn from
    N(0, ``separation``²) in the first ``informative`` features (default
    ``max(2, features // 4)``, at most ``features``); the other features are N(0, 1) noise.
    The seed rule and ``chunk_rows``, ``device_rng``: see the module docstring."""
    n, features, classes, informative = _blob_args(n, features, classes, informative)
    separation = check_non_negative(separation, "separation")
    root = random.root_sequence(_check_seed(seed))
    centres = separation * random.parameter_rng(root).standard_normal((classes, informative))

    def transform(xp, parts, params):
        u, z = parts
        y = _class_of(xp, u[:, 0], classes)
        shift = xp.take(params[0], xp.astype(y, _int_dtype(xp)), axis=0)
        return xp.concat([z[:, :informative] + shift, z[:, informative:]], axis=1), y

    layout = [("uniform", 1), ("normal", features)]
    return _generate(root, n, features, layout, transform, [centres], chunk_rows, device_rng)


def make_spirals(
    n: int,
    classes: int = 2,
    noise: float = 0.2,
    turns: float = 1.5,
    seed: int | None = 0,
    chunk_rows: int | None = None,
    device_rng="auto",
):
    """``classes`` interleaved spiral arms in the plane, as :func:`spirals` (arm ``c`` rotated
    by ``2π·c/classes``; the outer radius is 1), on the selected backend, chunked."""
    n = check_count(n, "n", minimum=1)
    classes = check_count(classes, "classes", minimum=2)
    noise = check_non_negative(noise, "noise")
    end = 2 * math.pi * check_positive(turns, "turns")
    root = random.root_sequence(_check_seed(seed))

    def transform(xp, parts, params):
        u, z = parts
        y = _class_of(xp, u[:, 0], classes)
        t = end * xp.sqrt(u[:, 1])  # sqrt: even spacing along the arm
        angle = t + (2 * math.pi / classes) * y
        X = xp.stack([t * xp.cos(angle), t * xp.sin(angle)], axis=1) + noise * z
        return X / end, y

    layout = [("uniform", 2), ("normal", 2)]
    return _generate(root, n, 2, layout, transform, [], chunk_rows, device_rng)


def make_parity(
    n: int,
    bits: int,
    noise: float = 0.0,
    seed: int | None = 0,
    chunk_rows: int | None = None,
    device_rng="auto",
):
    """Random bit strings (each bit 0 or 1, equally likely) labelled by their parity, the XOR
    of the bits (``bits=2`` is XOR); ``noise`` adds N(0, noise²) jitter to X, not to y."""
    n = check_count(n, "n", minimum=1)
    bits = check_count(bits, "bits", minimum=1)
    noise = check_non_negative(noise, "noise")
    root = random.root_sequence(_check_seed(seed))

    def transform(xp, parts, params):
        B = xp.astype(parts[0] < 0.5, parts[0].dtype)
        y = xp.remainder(xp.sum(B, axis=1), 2.0)
        return (B + noise * parts[1] if noise else B), y

    layout = [("uniform", bits)] + ([("normal", bits)] if noise else [])
    return _generate(root, n, bits, layout, transform, [], chunk_rows, device_rng)


def make_teacher(
    n: int,
    features: int,
    hidden=(64,),
    outputs: int = 1,
    seed: int | None = 0,
    noise: float = 0.0,
    chunk_rows: int | None = None,
    device_rng="auto",
):
    """Teacher-network regression: X ~ N(0, 1) of ``features`` columns, y the output of a
    random MLP (tanh hidden layers of widths ``hidden``, linear output of ``outputs`` units;
    weights N(0, 1/fan_in), biases N(0, 0.1²)) plus N(0, noise²). y is float, of shape (n,)
    when ``outputs`` is 1, else (n, outputs). (On the host the matrix products run in float64
    NumPy, whose BLAS may round differently for different ``chunk_rows``.)"""
    n = check_count(n, "n", minimum=1)
    features = check_count(features, "features", minimum=1)
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden: expected a sequence of layer widths; got {hidden!r}")
    hidden = [check_count(h, "hidden", minimum=1) for h in hidden]
    outputs = check_count(outputs, "outputs", minimum=1)
    noise = check_non_negative(noise, "noise")
    root = random.root_sequence(_check_seed(seed))
    rng, params, sizes = random.parameter_rng(root), [], [features, *hidden, outputs]
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += [rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in)]
        params += [0.1 * rng.standard_normal(fan_out)]

    def transform(xp, parts, params):
        h = parts[0]
        for i in range(0, len(params) - 2, 2):
            h = xp.tanh(h @ params[i] + params[i + 1])
        y = h @ params[-2] + params[-1]
        y = y + noise * parts[1] if noise else y
        return parts[0], (y[:, 0] if outputs == 1 else y)

    layout = [("normal", features)] + ([("normal", outputs)] if noise else [])
    return _generate(root, n, features, layout, transform, params, chunk_rows, device_rng, True)


def make_images(
    n: int,
    size: int = 32,
    channels: int = 3,
    classes: int = 4,
    noise: float = 0.5,
    seed: int | None = 0,
    chunk_rows: int | None = None,
    device_rng="auto",
):
    """Images of textured discs, ``(n, size, size, channels)`` on the selected backend, for
    CNNs. Class ``c`` is a stripe texture at angle ``π·c/classes`` (±¼ of the spacing, at
    random) with a random period (3 to 6 pixels), phase and colour, seen through a soft disc
    of random centre and radius on a background of N(0, noise²) pixel noise (also on the
    disc). Where the disc falls and the stripes' phase change from image to image, so no
    pixel tells the class: a small CNN (oriented filters, pooled) learns it in a few epochs
    where an MLP of the pixels overfits (16x16, 800 images, 4 epochs of Adam: 99% and 74%
    held out; 32x32, 2,000 images, 5 epochs: 100% and 78%). Seed rule, ``chunk_rows``,
    ``device_rng``: see the module docstring (host draws are the same on every backend)."""
    n = check_count(n, "n", minimum=1)
    size = check_count(size, "size", minimum=4)
    channels = check_count(channels, "channels", minimum=1)
    classes = check_count(classes, "classes", minimum=2)
    noise = check_non_negative(noise, "noise")
    root = random.root_sequence(_check_seed(seed))
    pixels = np.arange(size, dtype=np.float64)

    def transform(xp, parts, params):
        u, colour, z = parts
        y = _class_of(xp, u[:, 0], classes)
        angle = (math.pi / classes) * (y + 0.5 * (u[:, 1] - 0.5))
        period, phase = 3.0 + 3.0 * u[:, 2], 2 * math.pi * u[:, 3]
        cx, cy = size * (0.25 + 0.5 * u[:, 4]), size * (0.25 + 0.5 * u[:, 5])
        radius = size * (0.2 + 0.15 * u[:, 6])
        dx = params[0][None, None, :] - cx[:, None, None]  # (rows, 1, size): columns
        dy = params[0][None, :, None] - cy[:, None, None]  # (rows, size, 1): rows
        across = dx * xp.cos(angle)[:, None, None] + dy * xp.sin(angle)[:, None, None]
        stripes = xp.sin((2 * math.pi) * across / period[:, None, None] + phase[:, None, None])
        edge = radius[:, None, None] - xp.sqrt(dx * dx + dy * dy) + 0.5
        disc = xp.minimum(xp.maximum(edge, 0.0), 1.0)
        image = (disc * stripes)[..., None] * (0.5 + 0.5 * colour[:, None, None, :])
        return image + noise * xp.reshape(z, (-1, size, size, channels)), y

    layout = [("uniform", 7), ("uniform", channels), ("normal", size * size * channels)]
    width = size * size * channels
    return _generate(root, n, width, layout, transform, [pixels], chunk_rows, device_rng)
