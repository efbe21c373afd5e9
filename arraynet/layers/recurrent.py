"""SimpleRNN, LSTM and GRU (Keras 3): each cell's step and its hand-written step back.

The loop, the shapes and the weight gradients are the base's (``rnn.py``). Gate orders and
formulas are Keras's, so weights move between the two unchanged:

- SimpleRNN: ``h = act(x W + b + h_prev U)``.
- LSTM, gates ``i, f, c, o``: ``z = x W + b + h_prev U``; ``i, f, o = rec(z_i, z_f, z_o)``,
  ``g = act(z_c)``; ``c = f * c_prev + i * g``; ``h = o * act(c)``. ``unit_forget_bias``
  starts the forget gate's bias at 1.
- GRU, gates ``z, r, h``. With ``reset_after=True`` (Keras's default; torch's GRU) the bias
  is ``(2, 3U)``, input side then recurrent side: ``z, r = rec(x W_zr + b_i + h_prev U_zr +
  b_r)``, candidate ``act(x W_h + b_ih + r * (h_prev U_h + b_rh))``. With ``reset_after=False``
  the bias is ``(3U,)`` and the candidate ``act(x W_h + b_h + (r * h_prev) U_h)``. Both:
  ``h = z * h_prev + (1 - z) * candidate``.

``rec`` is ``recurrent_activation`` (sigmoid), ``act`` is ``activation`` (tanh).
"""

from __future__ import annotations

from .. import initializers
from ..validation import check_flag
from .base import Param
from .rnn import RNN, cell_activation, flat


class SimpleRNN(RNN):
    """A fully connected recurrent layer: ``h = act(x W + b + h_prev U)``."""

    def step(self, xp, weights, carry, xw):
        h = self.cell.forward(xp, xw + xp.matmul(carry[0], weights[1]))
        return (h,), (h,)

    def step_back(self, xp, weights, dcarry, saved, prev):
        dZ = self.cell.backward(xp, None, saved[0], dcarry[0])
        return (xp.matmul(dZ, weights[1].mT),), (dZ,)


class _Gated(RNN):
    """A cell with a ``recurrent_activation`` (the gates') beside its ``activation``."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", **kwargs):
        super().__init__(units, activation, **kwargs)
        self.gate = cell_activation(recurrent_activation, "recurrent_activation")

    def activations(self) -> tuple:
        return (self.cell, self.gate)

    def get_config(self) -> dict:
        config = super().get_config()
        config["recurrent_activation"] = self.gate.name
        return config


class LSTM(_Gated):
    """Long short-term memory, gates ``i, f, c, o`` (Keras's order); states ``[h, c]``."""

    gates = 4
    state_count = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):  # fmt: skip
        super().__init__(units, activation, recurrent_activation, **kwargs)
        self.unit_forget_bias = check_flag(unit_forget_bias, "unit_forget_bias")

    def bias_param(self) -> Param:
        if not self.unit_forget_bias:
            return super().bias_param()
        init = initializers.unit_forget_bias(self.bias_initializer, self.units)
        return Param("bias", (4 * self.units,), init, "b")

    def step(self, xp, weights, carry, xw):
        h_prev, c_prev = carry
        U, z = self.units, xw + xp.matmul(h_prev, weights[1])
        i_f = self.gate.forward(xp, z[:, : 2 * U])
        i, f = i_f[:, :U], i_f[:, U:]
        g = self.cell.forward(xp, z[:, 2 * U : 3 * U])
        o = self.gate.forward(xp, z[:, 3 * U :])
        c = f * c_prev + i * g
        a_c = self.cell.forward(xp, c)
        h = o * a_c
        return (h, c), (h, c, i, f, g, o, a_c)

    def step_back(self, xp, weights, dcarry, saved, prev):
        dh, dc = dcarry
        _, _, i, f, g, o, a_c = saved
        dc = dc + self.cell.backward(xp, None, a_c, dh * o)
        gate = self.gate.backward
        dZ = xp.concat(
            [
                gate(xp, None, i, dc * g),
                gate(xp, None, f, dc * prev[1]),
                self.cell.backward(xp, None, g, dc * i),
                gate(xp, None, o, dh * a_c),
            ],
            axis=-1,
        )
        return (xp.matmul(dZ, weights[1].mT), dc * f), (dZ,)

    def get_config(self) -> dict:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_Gated):
    """Gated recurrent unit, gates ``z, r, h`` (Keras's order); ``reset_after`` as Keras."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):  # fmt: skip
        super().__init__(units, activation, recurrent_activation, **kwargs)
        self.reset_after = check_flag(reset_after, "reset_after")

    def bias_param(self) -> Param:
        if not self.reset_after:
            return super().bias_param()
        return Param("bias", (2, 3 * self.units), self.bias_initializer, "b")

    def input_bias(self, xp, weights):
        if not self.use_bias:
            return None
        return weights[2][0, :] if self.reset_after else weights[2]

    def step(self, xp, weights, carry, xw):
        (h_prev,), U, R = carry, self.units, weights[1]
        if self.reset_after:
            hU = xp.matmul(h_prev, R)
            if self.use_bias:
                hU = hU + weights[2][1, :]
            z_r = self.gate.forward(xp, xw[:, : 2 * U] + hU[:, : 2 * U])
            hh = hU[:, 2 * U :]
            z, r = z_r[:, :U], z_r[:, U:]
            candidate = self.cell.forward(xp, xw[:, 2 * U :] + r * hh)
        else:
            z_r = self.gate.forward(xp, xw[:, : 2 * U] + xp.matmul(h_prev, R[:, : 2 * U]))
            z, r = z_r[:, :U], z_r[:, U:]
            hh = xp.matmul(r * h_prev, R[:, 2 * U :])
            candidate = self.cell.forward(xp, xw[:, 2 * U :] + hh)
        h = z * h_prev + (1.0 - z) * candidate
        return (h,), ((h, z, r, candidate, hh) if self.reset_after else (h, z, r, candidate))

    def step_back(self, xp, weights, dcarry, saved, prev):
        (dh,), (h_prev,), U, R = dcarry, prev, self.units, weights[1]
        z, r, candidate = saved[1:4]
        dz = self.gate.backward(xp, None, z, dh * (h_prev - candidate))
        dcandidate = self.cell.backward(xp, None, candidate, dh * (1.0 - z))
        if self.reset_after:
            dr = self.gate.backward(xp, None, r, dcandidate * saved[4])
            dZx = xp.concat([dz, dr, dcandidate], axis=-1)
            dZh = xp.concat([dz, dr, dcandidate * r], axis=-1)
            return (dh * z + xp.matmul(dZh, R.mT),), (dZx, dZh)
        drh = xp.matmul(dcandidate, R[:, 2 * U :].mT)
        dr = self.gate.backward(xp, None, r, drh * h_prev)
        dz_r = xp.concat([dz, dr], axis=-1)
        dh_prev = dh * z + drh * r + xp.matmul(dz_r, R[:, : 2 * U].mT)
        return (dh_prev,), (xp.concat([dz_r, dcandidate], axis=-1),)

    def weight_grads(self, xp, weights, X_flat, prev, saved, dZ):
        if self.reset_after:
            dZx, dZh = flat(xp, dZ[0]), flat(xp, dZ[1])
            grads = (xp.matmul(X_flat.mT, dZx), xp.matmul(flat(xp, prev[0]).mT, dZh))
            if self.use_bias:
                grads = (*grads, xp.stack([xp.sum(dZx, axis=0), xp.sum(dZh, axis=0)], axis=0))
            return dZx, grads
        U, dZ = self.units, flat(xp, dZ[0])
        H_prev, R = flat(xp, prev[0]), flat(xp, saved[2])
        dR = xp.concat(
            [xp.matmul(H_prev.mT, dZ[:, : 2 * U]), xp.matmul((R * H_prev).mT, dZ[:, 2 * U :])],
            axis=-1,
        )
        grads = (xp.matmul(X_flat.mT, dZ), dR)
        if self.use_bias:
            grads = (*grads, xp.sum(dZ, axis=0))
        return dZ, grads

    def get_config(self) -> dict:
        return {**super().get_config(), "reset_after": self.reset_after}


__all__ = ["GRU", "LSTM", "SimpleRNN"]
