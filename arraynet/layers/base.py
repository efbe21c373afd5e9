"""The Layer protocol: what every layer implements, and all that the rest of arraynet asks.

A layer maps a batch ``X`` of shape ``(rows, *input_shape)`` to ``Y`` of shape
``(rows, *output_shape)``, shapes of any rank. It keeps no arrays: its weights live in the
model, are passed in as a tuple ``weights`` (its trainable parameters in Keras order, then
its non-trainable state), and come out of ``backward`` as gradients, values never mutated.

Shapes and weights (per example: shapes never include the batch axis)
    ``output_shape(input_shape) -> tuple``; raise ValueError (naming the layer and the
    shape) for an input it cannot take.
    ``params(input_shape) -> [Param]``: trainable weights, Keras order, with initializers.
    ``states(input_shape) -> [Param]``: non-trainable weights (moving statistics), after
    the params in ``weights``; ``next_state(xp, weights, cache) -> tuple`` gives their new
    values after a training forward (the model keeps them; default: none).

Math (``xp``: the selected Array API namespace; ``ctx``: a :class:`Context`)
    ``forward(xp, weights, X, ctx) -> (Y, cache)``: ``cache`` holds what ``backward``
    needs, arrays only (so it compiles under ``jax.jit`` and stacks inside ``lax.scan``).
    ``backward(xp, weights, cache, dY, ctx) -> (dX, grads)``: the hand-written delta at the
    input (None when ``ctx.need_dX`` is False) and one gradient per param, in order.
    ``penalty(xp, weights) -> (value, grads) | None``: a regularization term and its grads,
    asked only of layers whose ``penalized`` is True.
    ``activity_penalty(xp, cache) -> value``: a term on the layer's output (Keras's
    ``activity_regularizer``), taken from a training or evaluation forward's ``cache`` and
    added to the loss, asked only of layers whose ``activity_penalized`` is True; its
    gradient is the layer's own business (``backward`` adds it to the delta at the output).

Training and noise
    ``ctx.training`` says training or inference; ``ctx.noise`` carries this layer's
    host-drawn noise for the batch. A layer with ``draws_noise = True`` draws it with
    ``noise(rng, rows, input_shape)`` from the fit's seeded NumPy generator (so every
    backend gets the same numbers); the trainer draws it once per epoch and slices it.
    ``independent_rows = True`` says that each row's output depends on that row alone (and
    its noise): no statistic over the batch. JAX then trains a short last batch as a
    full-size one whose extra rows weigh nothing, in the same compiled program (else it
    compiles one per short size). Default False, which is always correct.

Masks (Keras's masking)
    ``ctx.mask``: the mask of the layer's (first) input, ``(rows, time)`` booleans (True:
    a step to use), or None. A layer that reads it (the recurrent layers, Masking,
    GlobalAveragePooling1D) keeps what its backward needs in its cache.
    A node of several inputs also gets ``ctx.masks``, one per input (None where none).
    ``output_masked(input_masked) -> bool`` and ``compute_mask(xp, X, mask)``: whether its
    output carries a mask (given whether any input does), and that mask (None for none;
    ``X`` is the first input, ``mask`` the tuple of the inputs' masks for a node of several
    inputs): by default the input's where
    ``supports_masking`` (a layer acting on each step alone: Dense, Dropout...), else
    none, as Keras 3; Embedding (``mask_zero``) and Masking make one.

Fused output
    ``activation``: the elementwise activation the layer applies last (None if none). A
    loss that fuses with it takes its delta at the pre-activation: ``pre_activation(cache)
    -> (Z, A)`` and ``backward_from_preactivation(xp, weights, cache, dZ, ctx)``.

Also: ``memory(input_shape)`` (entries per example a step holds, for the memory estimate),
``check_differentiable(index)`` (raise ValueError if backward cannot run),
``check_input(xp, X, argument)`` (raise ValueError for model inputs the layer cannot take,
such as an Embedding's index out of range; the data intake calls it on every call's ``X``,
already on the device, for the layers that read the model's input, before any math runs),
``get_config() -> dict`` (with ``"class"``; ``layers.from_config`` rebuilds it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from .handle import KerasLayer
from .input import symbolic_call, symbolic_inputs


class Context(NamedTuple):
    """How a layer is called: ``training``, its ``noise`` for the batch, whether ``dX`` is
    needed, its (first) input's ``mask``, and with several inputs each one's (``masks``)."""

    training: bool = False
    noise: Any = None
    need_dX: bool = True
    mask: Any = None
    masks: Any = None


INFERENCE = Context()
TRAINING = Context(training=True)


class Param(NamedTuple):
    """A weight a layer declares: its Keras ``name``, ``shape``, host ``initializer(rng,
    shape)`` and the ``short`` name reports use (``W``, ``b``)."""

    name: str
    shape: tuple
    initializer: Callable
    short: str


class Layer(KerasLayer):
    """Base of every layer: the defaults of the protocol above (and Keras's ``name=``,
    ``input_shape=``, ``get_weights()``, ``kernel``...: ``layers/handle.py``)."""

    draws_noise = False
    independent_rows = False  # True: no row's output depends on another row
    activation = None
    penalized = False  # True when ``penalty`` returns a term
    activity_penalized = False  # True when ``activity_penalty`` returns a term
    internal = False  # True: graph wiring (``OutputPart``), not listed in ``model.layers``
    supports_masking = False  # True: the output keeps the input's mask (Keras's)

    def output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def params(self, input_shape: tuple) -> list[Param]:
        return []

    def memory(self, input_shape: tuple) -> int:
        """Entries per example a training step holds for this layer (its output, what its
        cache keeps, its delta): for the memory estimate before training."""
        return 3 * math.prod(self.output_shape(input_shape))

    def states(self, input_shape: tuple) -> list[Param]:
        return []

    def forward(self, xp, weights, X, ctx: Context = INFERENCE):
        raise NotImplementedError

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        raise NotImplementedError

    def next_state(self, xp, weights, cache) -> tuple:
        return ()

    def noise(self, rng, rows: int, input_shape: tuple):
        raise NotImplementedError(f"{type(self).__name__} draws no noise")

    def penalty(self, xp, weights):
        return None

    def activity_penalty(self, xp, cache):
        raise NotImplementedError(f"{type(self).__name__} has no activity regularizer")

    def pre_activation(self, cache):
        raise NotImplementedError(f"{type(self).__name__} has no activation")

    def backward_from_preactivation(self, xp, weights, cache, dZ, ctx: Context = TRAINING):
        raise NotImplementedError(f"{type(self).__name__} has no activation")

    def output_masked(self, input_masked: bool) -> bool:
        """Whether the output carries a mask, given whether the input does."""
        return input_masked and self.supports_masking

    def compute_mask(self, xp, X, mask):
        """The output's mask from the input ``X`` and its ``mask`` (None: none)."""
        return mask if self.supports_masking else None

    def check_differentiable(self, index: int) -> None:
        """Raise ValueError if ``backward`` cannot run (a step activation, say)."""

    def check_input(self, xp, X, argument: str = "X") -> None:
        """Raise ValueError (naming ``argument``) if this layer cannot take the model input
        ``X``; by default any values will do."""

    def get_config(self) -> dict:
        raise NotImplementedError

    def __call__(self, inputs, training=None):
        """Keras's functional call: on a symbolic tensor (or a list of them) it records a
        node and returns the output's symbolic tensor (``layers/input.py``); arraynet's
        layers compute only inside a model."""
        tensors = symbolic_inputs(inputs, f"{type(self).__name__} '{self.name}'")
        if tensors is None:
            raise TypeError(
                f"{type(self).__name__} '{self.name}': expected a symbolic tensor "
                f"(an.Input(...)) or a list of them; got {type(inputs).__name__} (arraynet "
                "layers compute inside a model: use model.predict)"
            )
        return symbolic_call(self, tensors)

    def __repr__(self) -> str:
        args = {k: v for k, v in self.get_config().items() if k != "class"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def check_shape(value, argument: str) -> tuple:
    """A per-example shape: a tuple of positive ints, None for an axis of any size (as
    Keras's ``Input(shape=(None, 8))``); an int means a 1-D shape."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 1) for d in value
    ):
        raise ValueError(
            f"{argument}: expected a tuple of positive integers (or None: any size); got {value!r}"
        )
    return tuple(value)
