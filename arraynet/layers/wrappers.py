"""Bidirectional and TimeDistributed (Keras 3): layers that call another layer through the
Layer protocol alone (they never ask what kind of layer they hold)."""

from __future__ import annotations

from .base import TRAINING, Context, Layer, Param

MERGE_MODES = ("concat", "sum", "mul", "ave")


def _layer(layer, argument: str = "layer") -> Layer:
    """A layer, or one rebuilt from its config (as ``get_config`` nests it)."""
    if isinstance(layer, dict):
        from . import from_config  # the registry imports this module

        layer = from_config(layer)
    if not isinstance(layer, Layer):
        raise TypeError(f"{argument}: expected a layer; got {type(layer).__name__}")
    return layer


def _renamed(params: list[Param], prefix: str) -> list[Param]:
    return [p._replace(name=f"{prefix}{p.name}") for p in params]


class TimeDistributed(Layer):
    """``layer`` applied to each step of ``(rows, time, ...)``, with the same weights: the
    rows and steps are one batch axis for it (so its statistics, a BatchNormalization's say,
    cover both, as in Keras)."""

    def __init__(self, layer):
        self.layer = _layer(layer)
        self.draws_noise = self.layer.draws_noise
        self.activation = self.layer.activation

    @property
    def penalized(self) -> bool:
        return self.layer.penalized

    @property
    def independent_rows(self) -> bool:  # steps are rows to the layer: its answer holds
        return self.layer.independent_rows

    def _inner(self, input_shape: tuple) -> tuple:
        if len(input_shape) < 2:
            raise ValueError(
                f"TimeDistributed: expected inputs of shape (rows, time, ...); got per-example "
                f"shape {tuple(input_shape)}"
            )
        return tuple(input_shape[1:])

    def output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], *self.layer.output_shape(self._inner(input_shape)))

    def params(self, input_shape: tuple) -> list[Param]:
        return self.layer.params(self._inner(input_shape))

    def states(self, input_shape: tuple) -> list[Param]:
        return self.layer.states(self._inner(input_shape))

    def memory(self, input_shape: tuple) -> int:
        return input_shape[0] * self.layer.memory(self._inner(input_shape))

    def noise(self, rng, rows: int, input_shape: tuple):
        drawn = self.layer.noise(rng, rows * input_shape[0], self._inner(input_shape))
        return drawn.reshape(rows, input_shape[0], *drawn.shape[1:])

    def _merged(self, xp, A):
        """``(rows, time, ...)`` as ``(rows * time, ...)``."""
        return xp.reshape(A, (A.shape[0] * A.shape[1], *A.shape[2:]))

    @staticmethod
    def _split(xp, A, X):
        """``(rows * time, ...)`` back to ``(rows, time, ...)``, rows and time as in ``X``."""
        return xp.reshape(A, (X.shape[0], X.shape[1], *A.shape[1:]))

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        if ctx.noise is not None:
            ctx = ctx._replace(noise=self._merged(xp, ctx.noise))
        ctx = ctx._replace(mask=None)  # a mask over time is no mask of the layer's rows
        Y, cache = self.layer.forward(xp, weights, self._merged(xp, X), ctx)
        fused = None  # a loss fused with the activation reads these (reshapes: no copies)
        if self.activation is not None:
            fused = tuple(self._split(xp, A, X) for A in self.layer.pre_activation(cache))
        return self._split(xp, Y, X), (X, cache, fused)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        X, inner, _ = cache
        dX, grads = self.layer.backward(xp, weights, inner, self._merged(xp, dY), ctx)
        return (None if dX is None else self._split(xp, dX, X)), grads

    def next_state(self, xp, weights, cache) -> tuple:
        return self.layer.next_state(xp, weights, cache[1])

    def penalty(self, xp, weights):
        return self.layer.penalty(xp, weights)

    def pre_activation(self, cache):
        return cache[2]

    def backward_from_preactivation(self, xp, weights, cache, dZ, ctx: Context = TRAINING):
        X, inner, _ = cache
        dX, grads = self.layer.backward_from_preactivation(
            xp, weights, inner, self._merged(xp, dZ), ctx
        )
        return (None if dX is None else self._split(xp, dX, X)), grads

    def check_differentiable(self, index: int) -> None:
        self.layer.check_differentiable(index)

    def check_input(self, xp, X, argument: str = "X") -> None:
        self.layer.check_input(xp, X, argument)

    def get_config(self) -> dict:
        return {"class": "TimeDistributed", "layer": self.layer.get_config()}

    def __repr__(self) -> str:
        return f"TimeDistributed({self.layer!r})"


class Bidirectional(Layer):
    """A recurrent ``layer`` read forwards and a copy of it read backwards (its config with
    ``go_backwards`` flipped, fresh weights), outputs merged by ``merge_mode``: "concat"
    ``[forward, backward]`` (default), "sum", "mul" or "ave". With ``return_sequences`` the
    backward layer's sequence is put back in time order first. Weights: the forward layer's,
    then the backward's (Keras's order)."""

    def __init__(self, layer, merge_mode: str = "concat"):
        layer = _layer(layer)
        config = layer.get_config()
        if "go_backwards" not in config:
            raise ValueError(
                f"layer: expected a recurrent layer (one with go_backwards); got {layer!r}"
            )
        if config.get("return_state"):
            raise ValueError(
                "layer: expected return_state=False (a layer of several outputs needs the "
                "functional API); got return_state=True"
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode: expected one of {', '.join(MERGE_MODES)}; got "
                             f"{merge_mode!r}")  # fmt: skip
        self.forward_layer = layer
        backward = {**config, "go_backwards": not config["go_backwards"]}
        self.backward_layer = _layer(backward)
        self.return_sequences = bool(config.get("return_sequences"))
        self.merge_mode = merge_mode
        for inner in (self.forward_layer, self.backward_layer):  # Keras: masked steps show 0
            inner.zero_output_for_mask = self.return_sequences

    @property
    def independent_rows(self) -> bool:
        return self.forward_layer.independent_rows

    @property
    def draws_noise(self) -> bool:
        return self.forward_layer.draws_noise

    def noise(self, rng, rows: int, input_shape: tuple):
        """Each direction's masks side by side on axis 1: the forward's, then the backward's
        (``(rows, 2 * k, ...)`` for a layer's ``(rows, k, ...)``)."""
        drawn = self.forward_layer.noise(rng, 2 * rows, input_shape)
        return drawn.reshape(rows, 2 * drawn.shape[1], *drawn.shape[2:])

    def output_shape(self, input_shape: tuple) -> tuple:
        f = tuple(self.forward_layer.output_shape(input_shape))
        b = tuple(self.backward_layer.output_shape(input_shape))
        return (*f[:-1], f[-1] + b[-1]) if self.merge_mode == "concat" else f

    def params(self, input_shape: tuple) -> list[Param]:
        return _renamed(self.forward_layer.params(input_shape), "forward_") + _renamed(
            self.backward_layer.params(input_shape), "backward_"
        )

    def memory(self, input_shape: tuple) -> int:
        return self.forward_layer.memory(input_shape) + self.backward_layer.memory(input_shape)

    def _halves(self, weights) -> tuple:
        half = len(weights) // 2  # the two layers differ in direction only
        return tuple(weights[:half]), tuple(weights[half:])

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        wf, wb = self._halves(weights)
        ctx_f = ctx_b = ctx
        if ctx.noise is not None:
            k = ctx.noise.shape[1] // 2
            ctx_f, ctx_b = (
                ctx._replace(noise=ctx.noise[:, :k, ...]),
                ctx._replace(noise=ctx.noise[:, k:, ...]),
            )
        Yf, cf = self.forward_layer.forward(xp, wf, X, ctx_f)
        Yb, cb = self.backward_layer.forward(xp, wb, X, ctx_b)
        if self.return_sequences:
            Yb = xp.flip(Yb, axis=1)
        mode = self.merge_mode
        if mode == "concat":
            Y = xp.concat([Yf, Yb], axis=-1)
        elif mode == "sum":
            Y = Yf + Yb
        elif mode == "ave":
            Y = (Yf + Yb) / 2.0
        else:
            Y = Yf * Yb
        return Y, (cf, cb, (Yf, Yb) if mode == "mul" else None)

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        cf, cb, outputs = cache
        mode = self.merge_mode
        if mode == "concat":
            units = dY.shape[-1] // 2
            dYf, dYb = dY[..., :units], dY[..., units:]
        elif mode == "sum":
            dYf = dYb = dY
        elif mode == "ave":
            dYf = dYb = dY / 2.0
        else:
            dYf, dYb = dY * outputs[1], dY * outputs[0]
        if self.return_sequences:
            dYb = xp.flip(dYb, axis=1)
        wf, wb = self._halves(weights)
        dXf, gf = self.forward_layer.backward(xp, wf, cf, dYf, ctx)
        dXb, gb = self.backward_layer.backward(xp, wb, cb, dYb, ctx)
        return (dXf + dXb if ctx.need_dX else None), (*gf, *gb)

    def check_differentiable(self, index: int) -> None:
        self.forward_layer.check_differentiable(index)

    def check_input(self, xp, X, argument: str = "X") -> None:
        self.forward_layer.check_input(xp, X, argument)

    def get_config(self) -> dict:
        return {
            "class": "Bidirectional",
            "layer": self.forward_layer.get_config(),
            "merge_mode": self.merge_mode,
        }

    def __repr__(self) -> str:
        mode = "" if self.merge_mode == "concat" else f", merge_mode={self.merge_mode!r}"
        return f"Bidirectional({self.forward_layer!r}{mode})"
