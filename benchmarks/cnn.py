"""Shape (f): a small CNN, and the implementations timed on it.

28x28x1 -> Conv2D(32, 3) relu -> MaxPooling2D(2) -> Conv2D(64, 3) relu -> MaxPooling2D(2)
-> Flatten -> Dense(10), ½‖p−y‖² per row on one-hot targets of ``datasets.make_images``
(stripes through a disc, 10 classes), plain SGD, float32, batches in order. The same
protocol as ``peers`` (``name``, ``reset``, ``run``, ``weights_now``; weights in Keras
order and layout: kernels (kh, kw, C, F), Flatten row-major over (H, W, C)):

- arraynet on each backend (``fit``);
- torch eager: ``torch.nn.functional.conv2d``/``max_pool2d``/``linear`` on NCHW data (moved
  to NCHW once, outside the clock; the dense kernel's rows permuted to match), autograd,
  ``torch.optim.SGD``;
- hand-written JAX: ``jax.lax.conv_general_dilated`` (NHWC, HWIO) and
  ``lax.reduce_window`` in a ``jax.value_and_grad`` SGD step, under ``jax.jit`` called
  once per update, and the same step in a ``lax.scan`` epoch under ``jax.jit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import peers

SIDE, CHANNELS, CLASSES = 28, 1, 10
CONVS = ((32, 3), (64, 3))  # (filters, kernel) of each convolution


@dataclass(frozen=True)
class CnnShape:
    """Shape (f): ``rows`` images trained ``epochs`` epochs, ``batch`` rows per update."""

    key: str
    name: str
    batch: int
    rows: int
    epochs: int
    lr: float = 0.01
    repeats: int | None = None
    host_peers: bool = True
    mode = "minibatch"

    @property
    def updates(self) -> int:
        return self.rows // self.batch * self.epochs

    @property
    def samples(self) -> int:
        return self.rows * self.epochs

    @property
    def products(self) -> list[tuple[int, int, int, bool]]:
        """Per layer, its forward product per image ``(positions, k, n)`` and whether its
        backward computes a delta for the input: ``(m, k, n, needs_dX)``."""
        side, channels, out = SIDE, CHANNELS, []
        for i, (filters, kernel) in enumerate(CONVS):
            side -= kernel - 1
            out.append((side * side, kernel * kernel * channels, filters, i > 0))
            side, channels = side // 2, filters
        return [*out, (1, side * side * channels, CLASSES, True)]

    @property
    def flops_per_sample(self) -> int:
        """2·m·k·n per product: forward, the kernel's gradient, and the input's delta
        (not for the first layer). Pooling and elementwise work are not counted."""
        return sum(2 * m * k * n * (3 if dX else 2) for m, k, n, dX in self.products)

    @property
    def largest(self) -> tuple[int, int, int]:
        """The largest forward product at the batch size: the second convolution's."""
        m, k, n, _ = max(self.products, key=lambda p: p[0] * p[1] * p[2])
        return self.batch * m, k, n

    def describe(self) -> str:
        return (
            f"({self.key}) {self.name} {SIDE}x{SIDE}x{CHANNELS} conv32-pool-conv64-pool-10, "
            f"minibatch {self.batch}, lr {self.lr}: {self.rows} images x {self.epochs} epochs "
            f"= {self.updates} updates per repetition, "
            f"{self.flops_per_sample * self.batch / 1e6:.3g} MFLOP per update"
        )


SHAPE = CnnShape("f", "cnn", batch=64, rows=2048, epochs=1, repeats=3)
QUICK = dict(rows=128)


def make_data(shape: CnnShape):
    """``(X, Y, weights)``: float32 images (rows, 28, 28, 1), one-hot targets, Keras-layout
    weights (glorot-uniform kernels with Keras's fans, biases uniform in ±0.1)."""
    import arraynet as an
    from arraynet import datasets

    with an.use("numpy", dtype="float32"):
        X, labels = datasets.make_images(
            shape.rows, size=SIDE, channels=CHANNELS, classes=CLASSES, seed=0, device_rng=False
        )
    Y = np.eye(CLASSES, dtype=np.float32)[labels]
    rng, weights, channels = np.random.default_rng(0), [], CHANNELS
    for filters, kernel in CONVS:
        field = kernel * kernel
        limit = np.sqrt(6.0 / (field * channels + field * filters))
        weights += [rng.uniform(-limit, limit, (kernel, kernel, channels, filters))]
        weights += [rng.uniform(-0.1, 0.1, filters)]
        channels = filters
    k = shape.products[-1][1]
    limit = np.sqrt(6.0 / (k + CLASSES))
    weights += [rng.uniform(-limit, limit, (k, CLASSES)), rng.uniform(-0.1, 0.1, CLASSES)]
    return X, Y, [w.astype(np.float32) for w in weights]


class ArraynetCnn(peers.Arraynet):
    """``model.fit`` of the CNN on one arraynet backend."""

    def __init__(self, backend, shape, X, Y, weights, device="cpu"):
        import arraynet as an
        from arraynet.layers import Conv2D, Dense, Flatten, MaxPooling2D

        self.name, self.backend = f"arraynet {backend}", backend
        self.use_kwargs = {"device": "cuda"} if backend == "torch" and device == "cuda" else {}
        self.shape, self.weights = shape, weights
        layers = []
        for filters, kernel in CONVS:
            layers += [Conv2D(filters, kernel, activation="relu"), MaxPooling2D(2)]
        self.model = an.Sequential(
            [*layers, Flatten(), Dense(CLASSES)], input_shape=(SIDE, SIDE, CHANNELS)
        )
        self.model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=shape.lr))
        with an.use(backend, **self.use_kwargs) as b:
            self.X, self.Y = b.asarray(X), b.asarray(Y)


def final_side() -> int:
    """The side of the last pooled feature map (5 for 28x28)."""
    side = SIDE
    for _, kernel in CONVS:
        side = (side - kernel + 1) // 2
    return side


def _dense_rows(side: int, channels: int, to_torch: bool):
    """The row order that takes the dense kernel from Keras's (H, W, C) flattening to
    torch's (C, H, W) one (or back)."""
    keras = np.arange(side * side * channels).reshape(side, side, channels)
    order = keras.transpose(2, 0, 1).reshape(-1)  # row of torch's flat index in Keras's
    return order if to_torch else np.argsort(order)


class TorchCnn:
    """The CNN in torch eager on NCHW tensors: functional conv2d/max_pool2d/linear."""

    name = peers.TorchEager.name

    def __init__(self, shape, X, Y, weights, device="cpu"):
        import torch

        self.torch, self.shape, self.weights, self.device = torch, shape, weights, device
        self.X = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2))).to(device)
        self.Y = torch.from_numpy(Y).to(device)
        self.side = final_side()

    def reset(self):
        torch, w = self.torch, self.weights
        rows = _dense_rows(self.side, CONVS[-1][0], to_torch=True)
        params = [w[0].transpose(3, 2, 0, 1), w[1], w[2].transpose(3, 2, 0, 1), w[3]]
        params += [w[4][rows].T, w[5]]
        self.params = [
            torch.tensor(np.ascontiguousarray(p), device=self.device, requires_grad=True)
            for p in params
        ]
        self.opt = torch.optim.SGD(self.params, lr=self.shape.lr, momentum=0)

    def run(self):
        torch, s, F = self.torch, self.shape, self.torch.nn.functional
        K1, b1, K2, b2, W, b = self.params
        for _ in range(s.epochs):
            total = torch.zeros((), device=self.device)
            for start in range(0, s.rows, s.batch):
                h = F.max_pool2d(F.relu(F.conv2d(self.X[start : start + s.batch], K1, b1)), 2)
                h = F.max_pool2d(F.relu(F.conv2d(h, K2, b2)), 2)
                P = F.linear(h.flatten(1), W, b)
                loss = F.mse_loss(P, self.Y[start : start + s.batch], reduction="sum")
                loss = loss * (0.5 / s.batch)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()
                total.add_(loss.detach(), alpha=s.batch)
        if self.device != "cpu":
            torch.cuda.synchronize()
        return total.item() / s.rows

    def weights_now(self):
        K1, b1, K2, b2, W, b = (p.detach().cpu().numpy() for p in self.params)
        rows = _dense_rows(self.side, CONVS[-1][0], to_torch=False)
        return [K1.transpose(2, 3, 1, 0), b1, K2.transpose(2, 3, 1, 0), b2, W.T[rows], b]


class JaxCnnScan:
    """A ``jax.jit`` epoch: ``lax.scan`` of a ``jax.value_and_grad`` SGD step written with
    ``lax.conv_general_dilated`` and ``lax.reduce_window``."""

    name = peers.JaxScan.name

    def __init__(self, shape, X, Y, weights):
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp, self.shape, self.weights = jax, jnp, shape, weights
        batches = shape.rows // shape.batch
        self.X = jnp.asarray(X.reshape(batches, shape.batch, *X.shape[1:]))
        self.Y = jnp.asarray(Y.reshape(batches, shape.batch, -1))
        lax, lr = jax.lax, shape.lr

        def pool(h):
            return lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

        def loss(params, X, Y):
            K1, b1, K2, b2, W, b = params
            for K, bias in ((K1, b1), (K2, b2)):
                X = lax.conv_general_dilated(
                    X, K, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
                )
                X = pool(jax.nn.relu(X + bias))
            P = X.reshape(X.shape[0], -1) @ W + b
            return 0.5 * jnp.sum((P - Y) ** 2) / X.shape[0]

        def step(params, batch):
            value, grads = jax.value_and_grad(loss)(params, *batch)
            return jax.tree.map(lambda p, g: p - lr * g, params, grads), value

        @jax.jit
        def epoch(params, X, Y):
            params, values = jax.lax.scan(step, params, (X, Y))
            return params, jnp.mean(values)

        self.epoch, self.step = epoch, jax.jit(step)

    def reset(self):
        self.params = [self.jnp.asarray(w) for w in self.weights]
        self.jax.block_until_ready(self.params)

    def run(self):
        params = self.params
        for _ in range(self.shape.epochs):
            params, value = self.epoch(params, self.X, self.Y)
        self.jax.block_until_ready((params, value))
        self.params = params
        return float(value)

    def weights_now(self):
        return [np.asarray(w) for w in self.params]


class JaxCnnStep(JaxCnnScan):
    """The same step under ``jax.jit`` alone, called once per update from Python. On the
    CPU, XLA runs these convolutions about 10x slower inside ``lax.scan``'s loop than in a
    step of their own (measured: 1.47 s against 0.147 s per update, one thread)."""

    name = peers.JaxStep.name
    run = peers.JaxStep.run

    def __init__(self, shape, X, Y, weights):
        super().__init__(shape, X, Y, weights)
        self.batches = [(self.X[i], self.Y[i]) for i in range(self.X.shape[0])]
        self.jax.block_until_ready(self.batches)


def build(shape, X, Y, weights, backends, device="cpu"):
    """``(implementations, notes)`` for shape (f), as ``peers.build``."""
    impls = [ArraynetCnn(b, shape, X, Y, weights, device) for b in backends]
    notes = []
    for peer in (TorchCnn, JaxCnnStep, JaxCnnScan):
        try:
            kwargs = {"device": device} if peer is TorchCnn else {}
            impls.append(peer(shape, X, Y, weights, **kwargs))
        except ImportError as err:
            notes.append(f"{peer.name}: left out ({err})")
    return impls, notes
