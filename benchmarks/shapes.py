"""The benchmark shapes, their data and initial weights, and the FLOP count per sample.

Every implementation trains on the same float32 data from the same weights, all drawn
once from ``numpy.random.default_rng(0)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import cnn, lstm

# The book's streetlights (Grokking Deep Learning, ch. 6).
STREETLIGHTS_X = [[1, 0, 1], [0, 1, 1], [0, 0, 1], [1, 1, 1]]
STREETLIGHTS_Y = [[1], [1], [0], [0]]


@dataclass(frozen=True)
class Shape:
    """An MLP ``dims[0] - ... - dims[-1]`` (relu hidden, identity output) trained ``epochs``
    epochs over ``rows`` rows, ``batch`` rows per update (1: stochastic), per repetition."""

    key: str
    name: str
    dims: tuple[int, ...]
    batch: int
    rows: int
    epochs: int
    lr: float = 0.01
    bias: bool = True
    repeats: int | None = None  # None: the command's --repeats
    host_peers: bool = True  # False: a GPU shape; hand-written NumPy and sklearn sit out

    def __post_init__(self):
        if self.rows % self.batch:  # whole batches only: every peer sees the same updates
            raise ValueError(f"rows: expected a multiple of batch {self.batch}; got {self.rows}")

    @property
    def mode(self) -> str:
        return "stochastic" if self.batch == 1 else "minibatch"

    @property
    def updates(self) -> int:
        """Updates per repetition."""
        return self.rows // self.batch * self.epochs

    @property
    def samples(self) -> int:
        """Rows seen per repetition."""
        return self.rows * self.epochs

    @property
    def layers(self) -> list[tuple[int, int]]:
        return list(zip(self.dims[:-1], self.dims[1:]))

    @property
    def flops_per_sample(self) -> int:
        """2·k·n per row per matmul: forward 1 per layer, backward 2 (dW and dX) per layer,
        except the first layer's dX, which nobody computes."""
        return sum(2 * k * n * (2 if i == 0 else 3) for i, (k, n) in enumerate(self.layers))

    @property
    def largest(self) -> tuple[int, int, int]:
        """``(m, k, n)`` of the forward matmul of the largest layer at the batch size."""
        k, n = max(self.layers, key=lambda kn: kn[0] * kn[1])
        return self.batch, k, n

    def describe(self) -> str:
        arch = "-".join(map(str, self.dims))
        bias = "" if self.bias else ", no bias"
        return (
            f"({self.key}) {self.name} {arch}{bias}, {self.mode} batch {self.batch}, "
            f"lr {self.lr}: {self.rows} rows x {self.epochs} epochs = {self.updates} "
            f"updates per repetition, {self.flops_per_sample * self.batch / 1e6:.3g} MFLOP "
            "per update"
        )


SHAPES = {
    "a": Shape("a", "tiny", (3, 4, 1), batch=1, rows=4, epochs=1000, lr=0.2, bias=False),
    "b": Shape("b", "small", (64, 128, 10), batch=32, rows=4096, epochs=10),
    "c": Shape("c", "medium", (784, 512, 512, 10), batch=256, rows=4096, epochs=2),
    "d": Shape("d", "large", (1024, 4096, 4096, 10), batch=1024, rows=4096, epochs=1, repeats=3),
    # (e) is for a GPU (the default with --device cuda): 4.4 TFLOP per update.
    "e": Shape("e", "gpu", (4096, 8192, 8192, 10), 8192, 65536, 1, repeats=3, host_peers=False),
    "f": cnn.SHAPE,  # a small CNN on 28x28x1 images (benchmarks/cnn.py)
    "g": lstm.SHAPE,  # an LSTM over 100 time steps (benchmarks/lstm.py)
}

# --quick: the same shapes shrunk to seconds (for the test); (c) and (d) are narrowed.
QUICK = {
    "a": dict(epochs=25),
    "b": dict(rows=256, epochs=1),
    "c": dict(rows=512, epochs=1),
    "d": dict(dims=(256, 512, 512, 10), batch=128, rows=256),
    "e": dict(dims=(256, 512, 512, 10), batch=128, rows=256),
    "f": cnn.QUICK,
    "g": lstm.QUICK,
}


def get(key: str, quick: bool = False) -> Shape:
    shape = SHAPES[key]
    return replace(shape, **QUICK[key]) if quick else shape


def make_data(shape: Shape) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``(X, Y, weights)``: float32 host arrays, weights in Keras order ``[W1, b1, ...]``
    (``W`` of shape (inputs, units)); the streetlights for the tiny shape; images for the
    CNN (``cnn.make_data``); sequences for the LSTM (``lstm.make_data``)."""
    if isinstance(shape, cnn.CnnShape):
        return cnn.make_data(shape)
    if isinstance(shape, lstm.LstmShape):
        return lstm.make_data(shape)
    rng = np.random.default_rng(0)
    if shape.name == "tiny":
        X = np.array(STREETLIGHTS_X, np.float32)
        Y = np.array(STREETLIGHTS_Y, np.float32)
    else:
        X = rng.standard_normal((shape.rows, shape.dims[0]), np.float32)
        Y = rng.standard_normal((shape.rows, shape.dims[-1]), np.float32)
    weights = []
    for k, n in shape.layers:
        if shape.name == "tiny":
            weights.append(rng.uniform(-1.0, 1.0, (k, n)))  # the book's 2 * random - 1
        else:
            limit = np.sqrt(6.0 / (k + n))  # glorot uniform
            weights.append(rng.uniform(-limit, limit, (k, n)))
        if shape.bias:
            weights.append(rng.uniform(-0.1, 0.1, n))
    return X, Y, [w.astype(np.float32) for w in weights]
