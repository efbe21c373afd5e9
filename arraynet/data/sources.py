"""Feeds: the training data of one ``fit``, in device memory or streamed in chunks.

``InMemory`` holds X and Y on the device and lets the runner train several epochs per call.
``Stream`` reads host chunks (a memory-mapped ``.npy``, any host array cut every
``chunk_rows`` rows, or a sequence of ``(X, y)`` pairs), moves one chunk at a time to the
device and trains on it, so host and device memory hold about two chunks, whatever the
dataset's size. The next chunk is read and moved after the current one's training is
launched and before its result is read back: on CuPy and JAX, whose work is asynchronous,
the disk read and the copy overlap the device's compute. On CuPy the copy goes through
pinned memory on a second CUDA stream (``Backend.copy_stream``), so it also overlaps the
kernels still queued; JAX's transfers are asynchronous by themselves.

Each epoch visits the chunks in a shuffled order and shuffles the rows
within each chunk (as a shuffle buffer does); batches do not span chunks.

``train(trainer, rng, count, shuffle) -> (means, done, failed)``: the host means (a
streaming metric's state: sums, added across chunks) of the ``done`` epochs that completed
(the trainer draws the orders and noise, ``trainer.draws``, and runs the runner over one
array pair, ``trainer.run``), and ``failed``: -1 when all went through, None when a
divergence was found but not its update, else the failed batch within the epoch.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import host_array, to_numpy
from ..validation import check_count
from . import weights

CHUNK_BYTES = 1 << 26  # the default chunk of a memory-mapped X: about 64 MiB


class InMemory:
    streams = False
    batch_size = None

    def __init__(self, X, Y, validation, W=None):
        self.X, self.Y, self.validation, self.W = X, Y, validation, W
        self.rows = self.largest = self.device_rows = X.shape[0]

    def train(self, trainer, rng, count, shuffle):
        orders, masks = trainer.draws(rng, self.rows, count, shuffle)
        means, failed = trainer.run(self.X, self.Y, orders, masks, count, W=self.W)
        if failed is None:
            return [], 0, None
        batches = -(-self.rows // self.batch_size)
        done = count if failed == -1 else failed // batches
        means = [to_numpy(m) for m in means] if done else []
        return means, done, (-1 if failed == -1 else failed % batches)


class Chunks:
    """Host chunks: ``X`` cut every ``chunk_rows`` rows (and the host weights ``W`` with
    it), or explicit ``(X, y)`` pairs."""

    def __init__(self, pairs=None, X=None, y=None, chunk_rows=None, W=None):
        self.pairs, self.X, self.y, self.W = pairs, X, y, W
        if pairs is None:
            n = X.shape[0]
            self.bounds = [(a, min(a + chunk_rows, n)) for a in range(0, n, chunk_rows)]

    def __len__(self) -> int:
        return len(self.pairs) if self.pairs is not None else len(self.bounds)

    def __getitem__(self, i):
        if self.pairs is not None:
            return self.pairs[i]
        a, b = self.bounds[i]
        return host_array(self.X[a:b, ...]), host_array(self.y[a:b, ...])  # one chunk

    def weights(self, i):
        """The host weights of chunk ``i`` (None: unweighted)."""
        if self.W is None:
            return None
        a, b = self.bounds[i]
        return self.W[a:b]

    def chunks(self):
        return (self[i] for i in range(len(self)))


def chunked(X, y, chunk_rows, sample_weight=None) -> Chunks | None:
    """The chunks to stream, or None when ``X`` is an ordinary in-memory dataset."""
    if y is None and isinstance(X, (list, tuple)) and X and all(_is_pair(p) for p in X):
        if chunk_rows is not None:
            raise ValueError(f"chunk_rows: expected None with (X, y) chunk pairs; got {chunk_rows}")
        if sample_weight is not None:
            raise ValueError(
                "sample_weight: expected None with (X, y) chunk pairs (pass X, y and "
                "sample_weight as arrays with chunk_rows); got weights"
            )
        return Chunks(pairs=list(X))
    if chunk_rows is None and not isinstance(X, np.memmap):
        if y is None:
            raise TypeError(
                "y: expected targets; got None (y=None is for X given as a list of "
                "(X_chunk, y_chunk) pairs)"
            )
        return None
    if not hasattr(X, "shape") or len(X.shape) < 2:
        raise ValueError(f"X: expected a 2-D array to stream in chunks; got {type(X).__name__}")
    if chunk_rows is None:
        row_bytes = math.prod(X.shape[1:]) * X.dtype.itemsize
        chunk_rows = max(1, CHUNK_BYTES // max(row_bytes, 1))
    chunk_rows = check_count(chunk_rows, "chunk_rows", minimum=1)
    rows = y.shape[0] if getattr(y, "shape", ()) else len(y) if hasattr(y, "__len__") else None
    if rows != X.shape[0]:
        got = f"{rows} rows" if rows is not None else f"{type(y).__name__} {y!r}"
        raise ValueError(f"y: expected {X.shape[0]} rows, as in X; got {got}")
    W = weights.sample_weights(sample_weight, X.shape[0])
    return Chunks(X=X, y=y, chunk_rows=chunk_rows, W=W)


def _is_pair(item) -> bool:
    return isinstance(item, (tuple, list)) and len(item) == 2 and hasattr(item[0], "__len__")


class Stream:
    streams = True
    batch_size = None

    def __init__(self, source: Chunks, load, validation):
        self.source, self.load, self.validation = source, load, validation
        sizes = (
            [len(X) for X, _ in (source[i] for i in range(len(source)))]
            if source.pairs
            else [b - a for a, b in source.bounds]
        )
        self.rows, self.largest = sum(sizes), max(sizes)
        self.device_rows = 2 * self.largest  # the chunk training and the next one arriving

    def train(self, trainer, rng, count, shuffle):
        order = rng.permutation(len(self.source)) if shuffle else np.arange(len(self.source))
        weighted, rows, batches_before = [], 0, 0  # each chunk's means times its rows
        sums = trainer.summed  # streaming metrics' states: added, not weighted
        source = self.source
        pending = [self.load(*source[order[0]], source.weights(order[0]))]

        def load_next(k):  # the next chunk's read and transfer, while this one trains
            pending[0] = self.load(*source[order[k + 1]], source.weights(order[k + 1]))

        for k in range(len(order)):
            X, Y, W = pending[0]
            m = X.shape[0]
            orders, masks = trainer.draws(rng, m, 1, shuffle)
            meanwhile = (lambda k=k: load_next(k)) if k + 1 < len(order) else None
            means, failed = trainer.run(X, Y, orders, masks, 1, meanwhile, W=W)
            if failed is None:
                return [], 0, None
            if failed >= 0:
                return [], 0, batches_before + failed
            weighted.append(
                [to_numpy(mean)[0] * (1 if summed else m) for mean, summed in zip(means, sums)]
            )
            rows += m
            batches_before += -(-m // self.batch_size)
        totals = [sum(c) if summed else sum(c) / rows for c, summed in zip(zip(*weighted), sums)]
        return [np.asarray(total)[None, ...] for total in totals], 1, -1
