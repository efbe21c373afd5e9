"""The recurrent layers' shared part: shapes, weights, the loop over time and its backward.

A recurrent layer reads ``X`` of shape ``(rows, time, features)``. Its cell (``SimpleRNN``,
``LSTM``, ``GRU`` in ``recurrent.py``) gives one step forward and one step back; this base
does the rest, the same for every cell:

- the input side of every step at once: ``XW = X @ kernel (+ bias)``, one product
  ``(rows * time, features) @ (features, k * units)``, then time-major;
- the loop: ``backend.scan`` (``jax.lax.scan`` on JAX, a Python loop elsewhere) over the
  steps, carrying the state(s) and stacking what each step's backward needs;
- backprop through time: a reverse ``scan`` carrying the state deltas back, stacking each
  step's pre-activation delta ``dZ``; then the weight gradients as whole-sequence products
  (``dkernel = X^T dZ``, ``drecurrent = H_prev^T dZ``, over rows * time) and
  ``dX = dZ @ kernel^T``.

Dropout as Keras 3 (masks from ``noise``, the same at every step): ``dropout`` alone
multiplies the input by one mask per row and feature; with ``recurrent_dropout`` each
gate's block of the kernel and of the recurrent kernel reads its own mask
(``rnn_masks.py``), the state masks reaching the cells as the last entry of ``consts``.

Keras's masking (``ctx.mask``: Embedding's ``mask_zero``, Masking): the states carry over
the unused steps (``masked_steps.py``).

Keras semantics: ``return_sequences`` (all the steps' outputs, else the last), ``go_backwards``
(the sequence read last step first; the output sequence stays in that reversed order),
``return_state`` (the output, then the final state(s): a list, as Keras; in a functional
model each is a tensor of its own, an ``OutputPart`` of the layer's node) and initial
states as further inputs (``forward(xp, weights, [X, h0(, c0)], ctx)``: the graph passes
a list when a node has several inputs). Weights ``[kernel (D, kU), recurrent_kernel (U, kU),
bias]`` in Keras's gate order, so they move to and from Keras unchanged.

Any activation Keras allows works in a cell. Where an activation's derivative follows from
its output alone (the default tanh and sigmoid, relu, ...) the loop keeps only the output;
otherwise it keeps the pre-activation too, for ``backward(xp, Z, A, dA)``.
"""

from __future__ import annotations

import math

from .. import activations, initializers
from ..backend import scan
from ..validation import check_count, check_flag, check_fraction
from .base import TRAINING, Context, Layer, Param
from .dropout import dropout_mask, gate_masks
from .masked_steps import masked_step, masked_step_back, shown_outputs
from .outputs import output_parts
from .rnn_masks import dropout_parts, masked_delta, masked_grad, masked_product

SETTINGS = ("units", "use_bias", "return_sequences", "return_state", "go_backwards", "dropout",
            "recurrent_dropout", "zero_output_for_mask")  # fmt: skip
INITIALIZERS = ("kernel_initializer", "recurrent_initializer", "bias_initializer")
FROM_OUTPUT = ("identity", "relu", "sigmoid", "tanh", "softmax")  # derivatives from A alone


def from_output(activation) -> bool:
    """Whether ``activation``'s derivative needs its output only (not the pre-activation)."""
    return activation.name in FROM_OUTPUT and getattr(activation, "is_default", True)


def plain(activation, name: str) -> bool:
    """Whether ``activation`` is ``name`` with Keras's default arguments."""
    return activation.name == name and getattr(activation, "is_default", True)


class RNN(Layer):
    """The loop and its backward for a cell of ``gates`` blocks of ``units`` columns.

    A subclass defines ``gates``, ``state_count`` and

    - ``step(xp, weights, consts, carry, xw) -> (carry, saved)``: one step from the states
      ``carry`` (a tuple) and this step's input side ``xw`` (rows, gates * units); ``saved``
      is a tuple of arrays whose first ``state_count`` entries are the new states;
    - ``step_back(xp, weights, consts, dcarry, saved, prev) -> (dcarry, dZ)``: from the
      deltas at the new states, those at the previous ones (``prev``: their values) and
      this step's deltas ``dZ`` (a tuple) for ``weight_grads``;
    - optionally ``constants(xp, weights)`` (``consts``: arrays made once per call, not
      once per step), ``input_bias``/``weight_grads``/``bias_param`` where its bias differs.
    """

    gates = 1
    state_count = 1
    independent_rows = True  # each sequence is its own

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", return_sequences=False, return_state=False,
                 go_backwards=False, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, zero_output_for_mask=False):  # fmt: skip
        self.units = check_count(units, "units", minimum=1)
        self.cell = activations.get(activation)
        self.use_bias = check_flag(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.recurrent_initializer = initializers.get(
            recurrent_initializer, "recurrent_initializer"
        )
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.return_sequences = check_flag(return_sequences, "return_sequences")
        self.return_state = check_flag(return_state, "return_state")
        self.go_backwards = check_flag(go_backwards, "go_backwards")
        self.dropout = check_fraction(dropout, "dropout")
        self.recurrent_dropout = check_fraction(recurrent_dropout, "recurrent_dropout")
        self.seed = seed  # Keras's; the masks come from the fit's seeded generator
        self.zero_output_for_mask = check_flag(zero_output_for_mask, "zero_output_for_mask")

    @property
    def draws_noise(self) -> bool:
        return self.dropout > 0 or self.recurrent_dropout > 0

    def noise(self, rng, rows: int, input_shape: tuple):
        """Keras's dropout masks, the same at every step: with ``dropout`` alone one per row
        and feature, ``(rows, 1, features)``; with ``recurrent_dropout`` one per row, gate
        and feature of the input, then of the state: ``(rows, gates, features + units)``
        (one gate for SimpleRNN). Entries 0 or 1/(1 - rate)."""
        if not self.recurrent_dropout:
            return dropout_mask(rng, (rows, 1, input_shape[-1]), self.dropout)
        return gate_masks(rng, rows, self.gates, input_shape[-1], self.units, self.dropout,
                          self.recurrent_dropout)  # fmt: skip

    # -- shapes and weights -----------------------------------------------------------------

    def __call__(self, inputs, initial_state=None, training=None):
        """Keras's functional call; ``initial_state`` (h, or [h, c] for an LSTM: symbolic
        tensors of shape (None, units)) joins the inputs (the node's further inputs). With
        ``return_state`` it returns a list: the output, then the final state(s)."""
        if initial_state is not None:
            states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
            if isinstance(inputs, (list, tuple)):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': initial states given twice (in "
                    "inputs and in initial_state=); give them in initial_state="
                )
            inputs = [inputs, *states]
        out = super().__call__(inputs, training)
        return output_parts(out, 1 + self.state_count) if self.return_state else out

    def output_shape(self, input_shape: tuple, *state_shapes) -> tuple | list:
        """``(time, units)`` with ``return_sequences``, else ``(units,)``; with
        ``return_state`` a list: that, then ``(units,)`` per state."""
        name = type(self).__name__
        if len(input_shape) != 2:
            raise ValueError(
                f"{name}: expected inputs of shape (rows, time, features); got per-example "
                f"shape {tuple(input_shape)}"
            )
        if state_shapes and (
            len(state_shapes) != self.state_count
            or any(tuple(s) != (self.units,) for s in state_shapes)
        ):
            raise ValueError(
                f"{name}: expected {self.state_count} initial state(s) of shape "
                f"({self.units},); got {[tuple(s) for s in state_shapes]}"
            )
        out = (input_shape[0], self.units) if self.return_sequences else (self.units,)
        if self.return_state:
            return [out, *[(self.units,)] * self.state_count]
        return out

    def params(self, input_shape: tuple) -> list[Param]:
        width = self.gates * self.units
        params = [
            Param("kernel", (input_shape[-1], width), self.kernel_initializer, "W"),
            Param("recurrent_kernel", (self.units, width), self.recurrent_initializer, "U"),
        ]
        return params + ([self.bias_param()] if self.use_bias else [])

    def bias_param(self) -> Param:
        return Param("bias", (self.gates * self.units,), self.bias_initializer, "b")

    def memory(self, input_shape: tuple) -> int:
        """Per example: the input side, the saved steps and the step deltas, all time steps."""
        return input_shape[0] * self.units * (4 * self.gates + 3 * self.state_count + 2)

    def check_differentiable(self, index: int) -> None:
        for activation in self.activations():
            if not activation.trainable:
                raise ValueError(
                    f"activation: layer {index} uses {activation.name!r}, which has no "
                    "derivative; expected a trainable activation (tanh, sigmoid, ...)"
                )

    def activations(self) -> tuple:
        return (self.cell,)

    # -- forward ----------------------------------------------------------------------------

    def constants(self, xp, weights) -> tuple:
        """Arrays the steps share, made once per forward and once per backward."""
        return ()

    def input_bias(self, xp, weights):
        """The bias added to the input side (None without one)."""
        return weights[2] if self.use_bias else None

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        X, initial = (X[0], tuple(X[1:])) if isinstance(X, (list, tuple)) else (X, ())
        inputs, gates, states = dropout_parts(
            ctx.noise, X.shape[-1], self.gates, self.recurrent_dropout
        )
        if inputs is not None:  # one input mask: the same at every step
            X = X * inputs
        used = ctx.mask  # Keras's masking: (rows, time), True where a step is used
        if self.go_backwards:
            X = xp.flip(X, axis=1)
            used = None if used is None else xp.flip(used, axis=1)
        rows, steps, features = X.shape
        if gates is None:
            XW = xp.matmul(xp.reshape(X, (rows * steps, features)), weights[0])
            XW = xp.permute_dims(xp.reshape(XW, (rows, steps, -1)), (1, 0, 2))  # time-major
        else:  # a mask per gate (recurrent dropout)
            XW = masked_product(xp, xp.permute_dims(X, (1, 0, 2)), weights[0], gates)
        bias = self.input_bias(xp, weights)
        if bias is not None:
            XW = XW + bias
        zero = xp.zeros_like(XW[0, :, : self.units])
        start = initial or (zero,) * self.state_count
        consts = (*self.constants(xp, weights), states)

        def step(carry, xw):
            return self.step(xp, weights, consts, carry, xw)

        if used is None:
            final, saved = scan(xp, step, start, XW)
            H, shown = saved[0], None  # (time, rows, units)
        else:
            used = xp.permute_dims(used, (1, 0))[..., None]  # (time, rows, 1)
            final, saved = scan(xp, lambda c, s: masked_step(xp, step, self.state_count, c, s),
                                start, (XW, used))  # fmt: skip
            H, shown = shown_outputs(xp, saved[0], used, self.zero_output_for_mask)
        last = final[0] if shown is None else H[-1, ...]
        Y = xp.permute_dims(H, (1, 0, 2)) if self.return_sequences else last
        cache = (X, start, saved, bool(initial), ctx.noise, used, shown)
        return ([Y, *final] if self.return_state else Y), cache

    # -- backward ---------------------------------------------------------------------------

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        X, start, saved, has_initial, noise, used, shown = cache
        inputs, gates, states = dropout_parts(
            noise, X.shape[-1], self.gates, self.recurrent_dropout
        )
        rows, steps, features = X.shape
        dY, dfinal = (dY[0], tuple(dY[1:])) if self.return_state else (dY, ())
        dcarry = []
        for k in range(self.state_count):
            given = dfinal[k] if k < len(dfinal) else None
            dcarry.append(xp.zeros_like(start[k]) if given is None else given)
        dH = None
        if dY is not None and self.return_sequences:
            dH = xp.permute_dims(dY, (1, 0, 2))
            dH = dH if shown is None else dH * shown
        elif dY is not None:  # the output is the last state
            dcarry[0] = dcarry[0] + (dY if shown is None else dY * shown[-1, ...])
        prev = tuple(
            xp.concat([xp.expand_dims(s0, axis=0), S[:-1, ...]], axis=0)
            for s0, S in zip(start, saved[: self.state_count])
        )

        consts = (*self.constants(xp, weights), states)

        def back(dcarry, step):
            dH_t, saved_t, prev_t, used_t = step
            if dH_t is not None:
                dcarry = (dcarry[0] + dH_t, *dcarry[1:])

            def step_back(deltas):
                return self.step_back(xp, weights, consts, deltas, saved_t, prev_t)

            if used_t is None:
                return step_back(dcarry)
            return masked_step_back(xp, step_back, dcarry, used_t)

        dstart, dZ = scan(xp, back, tuple(dcarry), (dH, saved, prev, used), reverse=True)
        X_tm = xp.permute_dims(X, (1, 0, 2))  # (time, rows, features)
        dZx, grads = self.weight_grads(xp, weights, X_tm, prev, saved, dZ, (gates, states))
        if not ctx.need_dX:
            return None, grads
        if gates is None:  # one product over every step
            dX = xp.reshape(xp.matmul(flat(xp, dZx), weights[0].mT), (steps, rows, -1))
        else:
            dX = masked_delta(xp, dZx, weights[0], gates)
        dX = xp.permute_dims(dX, (1, 0, 2))
        if self.go_backwards:
            dX = xp.flip(dX, axis=1)
        if inputs is not None:
            dX = dX * inputs
        return ([dX, *dstart] if has_initial else dX), grads

    def weight_grads(self, xp, weights, X_tm, prev, saved, dZ, masks):
        """``(dZx, grads)``: the delta at the input side ``(time, rows, gates * units)`` and
        the gradients of ``[kernel, recurrent_kernel, bias]``; ``masks``: the input's and
        the state's per gate (None without recurrent dropout)."""
        dZ, (gates, states) = dZ[0], masks
        grads = (masked_grad(xp, X_tm, dZ, gates), masked_grad(xp, prev[0], dZ, states))
        if self.use_bias:
            grads = (*grads, xp.sum(flat(xp, dZ), axis=0))
        return dZ, grads

    # -- config -----------------------------------------------------------------------------

    def get_config(self) -> dict:
        names = {k: initializers.name_of(getattr(self, k)) for k in INITIALIZERS}
        settings = {k: getattr(self, k) for k in SETTINGS}
        return {"class": type(self).__name__, "activation": self.cell.name, **settings, **names}

    def __repr__(self) -> str:
        defaults = type(self)(self.units).get_config()
        changed = [f"{k}={v!r}" for k, v in self.get_config().items() if defaults[k] != v]
        return f"{type(self).__name__}({', '.join([str(self.units), *changed])})"


def flat(xp, A):
    """``(time, rows, n)`` as ``(time * rows, n)``."""
    return xp.reshape(A, (math.prod(A.shape[:-1]), A.shape[-1]))
