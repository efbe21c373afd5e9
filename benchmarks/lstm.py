"""Shape (g): an LSTM over 100 time steps, and the implementations timed on it.

(batch, 100, 32) -> LSTM(128) (the last step's output) -> Dense(1), ½‖p−y‖² per row, plain
SGD, float32, batches in order. The same protocol as ``peers`` (``name``, ``reset``,
``run``, ``weights_now``; weights in Keras order and layout: kernel (32, 512),
recurrent_kernel (128, 512), bias (512,) with gates i, f, c, o, then the dense kernel and
bias):

- arraynet on each backend (``fit``);
- torch eager: ``torch.nn.LSTM`` (its fused CPU kernel, one call for the sequence;
  ``bias_ih`` the Keras bias, ``bias_hh`` frozen at 0: trained too, it would move the
  sum twice as fast) and ``torch.nn.Linear``, autograd, ``torch.optim.SGD``;
- a hand-written JAX epoch: the LSTM cell under ``lax.scan`` over time, ``jax.value_and_grad``
  of the loss, ``lax.scan`` over the batches, ``jax.jit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import peers

STEPS, FEATURES, UNITS, OUTPUTS = 100, 32, 128, 1


@dataclass(frozen=True)
class LstmShape:
    """Shape (g): ``rows`` sequences of ``steps`` steps trained ``epochs`` epochs, ``batch``
    rows per update."""

    key: str
    name: str
    batch: int
    rows: int
    epochs: int
    steps: int = STEPS
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
    def flops_per_sample(self) -> int:
        """2·k·n per row and step for each product: the input side (forward and its kernel's
        gradient; the input needs no delta) and the recurrent side (forward, its kernel's
        gradient and the state's delta), then the dense head's three. Elementwise work (the
        gates) is not counted."""
        four = 4 * UNITS
        per_step = 2 * FEATURES * four * 2 + 2 * UNITS * four * 3
        return self.steps * per_step + 2 * UNITS * OUTPUTS * 3

    @property
    def largest(self) -> tuple[int, int, int]:
        """The product each step makes: ``h_prev @ recurrent_kernel`` at the batch size."""
        return self.batch, UNITS, 4 * UNITS

    def describe(self) -> str:
        return (
            f"({self.key}) {self.name} ({self.steps} steps, {FEATURES} features) -> "
            f"LSTM({UNITS}) -> Dense({OUTPUTS}), minibatch {self.batch}, lr {self.lr}: "
            f"{self.rows} sequences x {self.epochs} epochs = {self.updates} updates per "
            f"repetition, {self.flops_per_sample * self.batch / 1e6:.3g} MFLOP per update"
        )


SHAPE = LstmShape("g", "lstm", batch=64, rows=512, epochs=1, repeats=3)
QUICK = dict(rows=128, steps=10)


def make_data(shape: LstmShape):
    """``(X, Y, weights)``: float32 sequences (rows, steps, 32), targets (rows, 1), and
    Keras-initialised weights (glorot-uniform kernels, an orthogonal recurrent kernel, the
    forget gate's bias at 1)."""
    from arraynet import initializers

    rng = np.random.default_rng(0)
    X = rng.standard_normal((shape.rows, shape.steps, FEATURES), np.float32)
    Y = rng.standard_normal((shape.rows, OUTPUTS), np.float32)
    four = 4 * UNITS
    bias = np.zeros(four)
    bias[UNITS : 2 * UNITS] = 1.0
    weights = [
        initializers.glorot_uniform(rng, (FEATURES, four)),
        initializers.orthogonal(rng, (UNITS, four)),
        bias,
        initializers.glorot_uniform(rng, (UNITS, OUTPUTS)),
        rng.uniform(-0.1, 0.1, OUTPUTS),
    ]
    return X, Y, [w.astype(np.float32) for w in weights]


class ArraynetLstm(peers.Arraynet):
    """``model.fit`` of the LSTM on one arraynet backend."""

    def __init__(self, backend, shape, X, Y, weights, device="cpu"):
        import arraynet as an
        from arraynet.layers import LSTM, Dense

        self.name, self.backend = f"arraynet {backend}", backend
        self.use_kwargs = {"device": "cuda"} if backend == "torch" and device == "cuda" else {}
        self.shape, self.weights = shape, weights
        self.model = an.Sequential(
            [LSTM(UNITS), Dense(OUTPUTS)], input_shape=(shape.steps, FEATURES)
        )
        self.model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=shape.lr))
        with an.use(backend, **self.use_kwargs) as b:
            self.X, self.Y = b.asarray(X), b.asarray(Y)


class TorchLstm:
    """``torch.nn.LSTM`` + ``torch.nn.Linear`` in eager mode, autograd, ``torch.optim.SGD``."""

    name = peers.TorchEager.name

    def __init__(self, shape, X, Y, weights, device="cpu"):
        import torch

        self.torch, self.shape, self.weights, self.device = torch, shape, weights, device
        self.lstm = torch.nn.LSTM(FEATURES, UNITS, batch_first=True).to(device)
        self.head = torch.nn.Linear(UNITS, OUTPUTS).to(device)
        self.lstm.bias_hh_l0.requires_grad_(False)
        params = [p for p in self.lstm.parameters() if p.requires_grad]
        params += list(self.head.parameters())
        self.opt = torch.optim.SGD(params, lr=shape.lr, momentum=0)
        self.X, self.Y = torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device)

    def reset(self):
        torch, (W, R, b, Wd, bd) = self.torch, self.weights
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(torch.from_numpy(W.T.copy()))
            self.lstm.weight_hh_l0.copy_(torch.from_numpy(R.T.copy()))
            self.lstm.bias_ih_l0.copy_(torch.from_numpy(b))
            self.lstm.bias_hh_l0.zero_()
            self.head.weight.copy_(torch.from_numpy(Wd.T.copy()))
            self.head.bias.copy_(torch.from_numpy(bd))

    def run(self):
        torch, s, F = self.torch, self.shape, self.torch.nn.functional
        for _ in range(s.epochs):
            total = torch.zeros((), device=self.device)
            for start in range(0, s.rows, s.batch):
                out, _ = self.lstm(self.X[start : start + s.batch])
                P = self.head(out[:, -1, :])
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
        def host(p):
            return p.detach().cpu().numpy()

        lstm = self.lstm
        return [
            host(lstm.weight_ih_l0).T,
            host(lstm.weight_hh_l0).T,
            host(lstm.bias_ih_l0),
            host(self.head.weight).T,
            host(self.head.bias),
        ]


class JaxLstmScan:
    """A ``jax.jit`` epoch: ``lax.scan`` over the batches of a ``jax.value_and_grad`` SGD
    step whose LSTM is a ``lax.scan`` of the cell over time."""

    name = peers.JaxScan.name

    def __init__(self, shape, X, Y, weights):
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp, self.shape, self.weights = jax, jnp, shape, weights
        batches = shape.rows // shape.batch
        self.X = jnp.asarray(X.reshape(batches, shape.batch, *X.shape[1:]))
        self.Y = jnp.asarray(Y.reshape(batches, shape.batch, -1))
        lr = shape.lr

        def loss(params, X, Y):
            W, R, b, Wd, bd = params
            XW = jnp.swapaxes(X @ W + b, 0, 1)  # (steps, batch, 4U)

            def cell(carry, xw):
                h, c = carry
                i, f, g, o = jnp.split(xw + h @ R, 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                h = jax.nn.sigmoid(o) * jnp.tanh(c)
                return (h, c), None

            zeros = jnp.zeros((X.shape[0], UNITS), X.dtype)
            (h, _), _ = jax.lax.scan(cell, (zeros, zeros), XW)
            P = h @ Wd + bd
            return 0.5 * jnp.sum((P - Y) ** 2) / X.shape[0]

        def step(params, batch):
            value, grads = jax.value_and_grad(loss)(params, *batch)
            return jax.tree.map(lambda p, g: p - lr * g, params, grads), value

        @jax.jit
        def epoch(params, X, Y):
            params, values = jax.lax.scan(step, params, (X, Y))
            return params, jnp.mean(values)

        self.epoch = epoch

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


def build(shape, X, Y, weights, backends, device="cpu"):
    """``(implementations, notes)`` for shape (g), as ``peers.build``."""
    impls = [ArraynetLstm(b, shape, X, Y, weights, device) for b in backends]
    notes = []
    for peer in (TorchLstm, JaxLstmScan):
        try:
            kwargs = {"device": device} if peer is TorchLstm else {}
            impls.append(peer(shape, X, Y, weights, **kwargs))
        except ImportError as err:
            notes.append(f"{peer.name}: left out ({err})")
    return impls, notes
