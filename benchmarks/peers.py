"""The implementations timed side by side, arraynet's ``fit`` among them.

Each one is built from ``(shape, X, Y, weights)`` and has

- ``name``;
- ``reset()``: put the initial weights back (outside the clock);
- ``run() -> float``: train ``shape.epochs`` epochs in dataset order, one update per
  ``shape.batch`` rows, and return the last epoch's mean loss, ½‖p−y‖² per row; all work
  is finished when it returns.
- ``weights_now()``: the weights after the last ``run`` as host arrays in Keras order
  ``[W1, b1, ...]`` (outside the clock), to check that all trained the same model.

Every one computes the batch loss before each update, as arraynet records it.
"""

from __future__ import annotations

import warnings

import numpy as np


class Arraynet:
    """``model.fit(...)`` on one arraynet backend (torch on CUDA with ``device="cuda"``);
    the weights are moved there in ``reset``."""

    def __init__(self, backend, shape, X, Y, weights, device="cpu"):
        import arraynet as an

        self.name, self.backend = f"arraynet {backend}", backend
        self.use_kwargs = {"device": "cuda"} if backend == "torch" and device == "cuda" else {}
        self.shape, self.weights = shape, weights
        last = len(shape.layers) - 1
        layers = [
            an.layers.Dense(n, activation="relu" if i < last else None, use_bias=shape.bias)
            for i, (_, n) in enumerate(shape.layers)
        ]
        self.model = an.Sequential(layers, input_dim=shape.dims[0])
        self.model.compile(loss="squared_error", optimizer=an.optimizers.SGD(lr=shape.lr))
        with an.use(backend, **self.use_kwargs) as b:
            self.X, self.Y = b.asarray(X), b.asarray(Y)

    def reset(self):
        import arraynet as an

        an.use(self.backend, **self.use_kwargs)  # run() trains there; the caller restores its own
        self.model.set_weights(self.weights)
        self.model.predict(self.X[:1, ...])  # moves the weights onto the backend now

    def run(self):
        return self.fit(self.X, self.Y)

    def fit(self, X, Y):
        """``run``'s ``model.fit`` on ``X, Y`` (host or backend arrays): the last loss."""
        s = self.shape
        history = self.model.fit(
            X,
            Y,
            mode=s.mode,
            batch_size=s.batch,
            epochs=s.epochs,
            shuffle=False,
            verbose=0,
        )
        return history.history["loss"][-1]

    def weights_now(self):
        return self.model.get_weights()


class NumpyLoop:
    """The book's delta style, vectorised over the batch: in-place updates, loss each step."""

    name = "numpy (hand-written)"

    def __init__(self, shape, X, Y, weights):
        self.shape, self.X, self.Y, self.weights = shape, X, Y, weights

    def reset(self):
        step = 2 if self.shape.bias else 1
        ws = [w.copy() for w in self.weights]
        self.Ws, self.bs = ws[::step], (ws[1::2] if self.shape.bias else None)

    def run(self):
        s, X, Y, Ws, bs = self.shape, self.X, self.Y, self.Ws, self.bs
        last, lr = len(Ws) - 1, np.float32(s.lr)
        for _ in range(s.epochs):
            error = 0.0
            for start in range(0, s.rows, s.batch):
                layers = [X[start : start + s.batch]]
                for i, W in enumerate(Ws):
                    z = layers[-1] @ W
                    if bs is not None:
                        z += bs[i]
                    if i < last:
                        np.maximum(z, 0, out=z)  # relu
                    layers.append(z)
                diff = layers[-1] - Y[start : start + s.batch]
                error += np.sum(diff**2)  # the book's layer_2_error += np.sum((l2 - y) ** 2)
                delta = diff / s.batch
                for i in range(last, -1, -1):
                    grad = layers[i].T @ delta
                    if bs is not None:
                        bs[i] -= lr * delta.sum(axis=0)
                    if i > 0:  # relu2deriv(output) = output > 0; W still the old one
                        delta = (delta @ Ws[i].T) * (layers[i] > 0)
                    Ws[i] -= lr * grad
        return float(error) / (2 * s.rows)

    def weights_now(self):
        if self.bs is None:
            return list(self.Ws)
        return [w for pair in zip(self.Ws, self.bs) for w in pair]


class TorchEager:
    """``torch.nn.Sequential`` of Linear + ReLU, ``torch.optim.SGD``, ``loss.backward()``."""

    name = "torch eager"

    def __init__(self, shape, X, Y, weights, device="cpu"):
        import torch

        self.torch, self.shape, self.weights, self.device = torch, shape, weights, device
        modules = []
        for i, (k, n) in enumerate(shape.layers):
            modules.append(torch.nn.Linear(k, n, bias=shape.bias))
            if i < len(shape.layers) - 1:
                modules.append(torch.nn.ReLU())
        self.net = torch.nn.Sequential(*modules).to(device)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=shape.lr, momentum=0)
        self.X, self.Y = torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device)

    def reset(self):
        torch = self.torch
        with torch.no_grad():
            linears = [m for m in self.net if isinstance(m, torch.nn.Linear)]
            step = 2 if self.shape.bias else 1
            for linear, i in zip(linears, range(0, len(self.weights), step)):
                linear.weight.copy_(torch.from_numpy(self.weights[i].T.copy()))
                if self.shape.bias:
                    linear.bias.copy_(torch.from_numpy(self.weights[i + 1]))

    def run(self):
        torch, s, F = self.torch, self.shape, self.torch.nn.functional
        for _ in range(s.epochs):
            total = torch.zeros((), device=self.device)
            for start in range(0, s.rows, s.batch):
                P = self.net(self.X[start : start + s.batch])
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
        out = []
        for linear in (m for m in self.net if isinstance(m, self.torch.nn.Linear)):
            out.append(linear.weight.detach().cpu().numpy().T)
            if self.shape.bias:
                out.append(linear.bias.detach().cpu().numpy())
        return out


def _jax_sgd_step(shape):
    """``(jax, jnp, step)``: ``step(params, (X, Y)) -> (params, loss)``, plain SGD on
    ½‖p−y‖² per row through ``jax.value_and_grad``; params a list of (W, b) or (W,)."""
    import jax
    import jax.numpy as jnp

    last, lr = len(shape.layers) - 1, shape.lr

    def loss(params, X, Y):
        for i, layer in enumerate(params):
            X = X @ layer[0] + layer[1] if shape.bias else X @ layer[0]
            X = jax.nn.relu(X) if i < last else X
        return 0.5 * jnp.sum((X - Y) ** 2) / X.shape[0]

    def step(params, batch):
        value, grads = jax.value_and_grad(loss)(params, *batch)
        return jax.tree.map(lambda p, g: p - lr * g, params, grads), value

    return jax, jnp, step


class JaxScan:
    """A ``jax.jit`` epoch: ``jax.lax.scan`` of a ``jax.value_and_grad`` SGD step over the
    epoch's batches (one compiled call per epoch)."""

    name = "jax scan (hand-written)"

    def __init__(self, shape, X, Y, weights):
        jax, jnp, step = _jax_sgd_step(shape)
        self.jax, self.jnp, self.shape, self.weights = jax, jnp, shape, weights
        batches = shape.rows // shape.batch
        self.X = jnp.asarray(X.reshape(batches, shape.batch, -1))
        self.Y = jnp.asarray(Y.reshape(batches, shape.batch, -1))

        @jax.jit
        def epoch(params, X, Y):
            params, values = jax.lax.scan(step, params, (X, Y))
            return params, jnp.mean(values)

        self.epoch = epoch

    def reset(self):
        step = 2 if self.shape.bias else 1
        ws = [self.jnp.asarray(w) for w in self.weights]
        self.params = [tuple(ws[i : i + step]) for i in range(0, len(ws), step)]
        self.jax.block_until_ready(self.params)

    def run(self):
        params = self.params
        for _ in range(self.shape.epochs):
            params, value = self.epoch(params, self.X, self.Y)
        self.jax.block_until_ready((params, value))
        self.params = params
        return float(value)

    def weights_now(self):
        return [np.asarray(w) for layer in self.params for w in layer]


class JaxStep(JaxScan):
    """The same step under ``jax.jit`` alone, called once per update from Python (the
    batches are device arrays cut beforehand); the losses are read once per epoch."""

    name = "jax jit step (hand-written)"  # report.JAX_STEP

    def __init__(self, shape, X, Y, weights):
        super().__init__(shape, X, Y, weights)
        self.step = self.jax.jit(_jax_sgd_step(shape)[2])
        self.batches = [(self.X[i], self.Y[i]) for i in range(self.X.shape[0])]
        self.jax.block_until_ready(self.batches)

    def run(self):
        params, jnp = self.params, self.jnp
        for _ in range(self.shape.epochs):
            values = []
            for batch in self.batches:
                params, value = self.step(params, batch)
                values.append(value)
        mean = jnp.mean(jnp.stack(values))
        self.jax.block_until_ready((params, mean))
        self.params = params
        return float(mean)


class Sklearn:
    """``MLPRegressor(solver="sgd")``, plain constant-lr SGD, ``fit`` with ``warm_start`` from
    the weights set in ``reset``. Its loss is ½ the mean over elements: times the outputs it
    is ours; its gradient is ours already (it divides by rows only)."""

    name = "sklearn MLPRegressor"

    def __init__(self, shape, X, Y, weights):
        from sklearn.neural_network import MLPRegressor

        if not shape.bias:
            raise ValueError("sklearn's MLP always has biases")
        self.shape, self.X, self.Y, self.weights = shape, X, Y, weights
        self.est = MLPRegressor(
            hidden_layer_sizes=shape.dims[1:-1],
            activation="relu",
            solver="sgd",
            learning_rate="constant",
            learning_rate_init=shape.lr,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            batch_size=shape.batch,
            max_iter=1,
            shuffle=False,
            n_iter_no_change=2**31 - 1,
            early_stopping=False,
            warm_start=True,
        )
        self._fit(X[: shape.batch], Y[: shape.batch])  # builds its attributes once
        self.est.set_params(max_iter=shape.epochs)

    def _fit(self, X, Y):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.est.fit(X, Y if Y.shape[1] > 1 else Y[:, 0])

    def reset(self):
        self.est.coefs_ = [w.copy() for w in self.weights[::2]]
        self.est.intercepts_ = [b.copy() for b in self.weights[1::2]]

    def run(self):
        self._fit(self.X, self.Y)
        return float(self.est.loss_) * self.shape.dims[-1]

    def weights_now(self):
        return [w for pair in zip(self.est.coefs_, self.est.intercepts_) for w in pair]


GPU_BACKENDS = ("cupy", "jax", "torch")  # arraynet backends that run on a GPU


def build(shape, X, Y, weights, backends, device="cpu"):
    """``(implementations, notes)``: arraynet on each of ``backends``, then the peers; a peer
    that cannot run here (not installed, no bias option) is left out with a note, and so
    are the CPU-only ones on a GPU shape."""
    notes = [
        f"arraynet {b}: left out (a CPU-only backend; this shape is for a GPU)"
        for b in backends
        if not shape.host_peers and b not in GPU_BACKENDS
    ]
    impls = [
        Arraynet(b, shape, X, Y, weights, device)
        for b in backends
        if shape.host_peers or b in GPU_BACKENDS
    ]
    for peer in (NumpyLoop, TorchEager, JaxStep, JaxScan, Sklearn):
        if not shape.host_peers and peer in (NumpyLoop, Sklearn):
            notes.append(f"{peer.name}: left out (a CPU-only peer; this shape is for a GPU)")
            continue
        try:
            kwargs = {"device": device} if peer is TorchEager else {}
            impls.append(peer(shape, X, Y, weights, **kwargs))
        except (ImportError, ValueError) as err:
            notes.append(f"{peer.name}: left out ({err})")
    return impls, notes
