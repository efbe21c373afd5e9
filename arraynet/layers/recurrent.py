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

``rec`` is ``recurrent_activation`` (sigmoid), ``act`` is ``activation`` (tanh). With those
defaults the gates take fewer array operations per step (the loop's cost on an eager
backend is mostly their count): a sigmoid is computed as ``0.5 * tanh(z / 2) + 0.5`` (3
operations instead of 9), and the LSTM's four gates as one ``tanh`` of the scaled
pre-activation, their derivatives as one product.
"""

from __future__ import annotations

from .. import activations, initializers
from ..validation import check_flag
from .base import Param
from .rnn import RNN, flat, from_output, plain
from .rnn_masks import masked_delta, masked_grad, masked_product, part


class SimpleRNN(RNN):
    """A fully connected recurrent layer: ``h = act(x W + b + h_prev U)``."""

    def step(self, xp, weights, consts, carry, xw):
        Z = xw + masked_product(xp, carry[0], weights[1], consts[-1])
        h = self.cell.forward(xp, Z)
        return (h,), ((h,) if from_output(self.cell) else (h, Z))

    def step_back(self, xp, weights, consts, dcarry, saved, prev):
        Z = saved[1] if len(saved) > 1 else None
        dZ = self.cell.backward(xp, Z, saved[0], dcarry[0])
        return (masked_delta(xp, dZ, weights[1], consts[-1]),), (dZ,)


def fast_sigmoid(xp, Z):
    """The logistic function as ``0.5 * tanh(Z / 2) + 0.5``: exact, never overflowing, and
    3 array operations where the stable exp form takes 9."""
    return 0.5 * xp.tanh(0.5 * Z) + 0.5


class _Gated(RNN):
    """A cell with a ``recurrent_activation`` (the gates') beside its ``activation``."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", **kwargs):
        super().__init__(units, activation, **kwargs)
        self.gate = activations.get(recurrent_activation)
        self.fused = plain(self.gate, "sigmoid") and plain(self.cell, "tanh")
        self.keep_z = not (from_output(self.gate) and from_output(self.cell))

    def gate_forward(self, xp, Z):
        return fast_sigmoid(xp, Z) if self.fused else self.gate.forward(xp, Z)

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

    def constants(self, xp, weights) -> tuple:
        """For the fused gates: ``scale`` (1/2 on i, f, o; 1 on c), so that ``a = tanh(z *
        scale)`` is ``2 sigmoid(z) - 1`` on the gates and ``tanh(z)`` on c; and the factor
        of their derivatives, ``d gate / dz = (1 - a**2) * (1/4 on i, f, o; 1 on c)``."""
        if not self.fused:
            return ()
        U, ones = self.units, xp.ones_like(weights[1][0, :])
        half = 0.5 * ones[: 2 * U]
        scale = xp.concat([half, ones[2 * U : 3 * U], 0.5 * ones[3 * U :]])
        return scale, xp.concat([0.5 * half, ones[2 * U : 3 * U], 0.25 * ones[3 * U :]])

    def step(self, xp, weights, consts, carry, xw):
        h_prev, c_prev = carry
        U, z = self.units, xw + masked_product(xp, h_prev, weights[1], consts[-1])
        if self.fused:  # a = tanh(z * scale): 2 sigmoid(z) - 1 on i, f, o; tanh(z) on c
            a = xp.tanh(z * consts[0])
            s = 0.5 * a + 0.5
            i, f, g, o = s[:, :U], s[:, U : 2 * U], a[:, 2 * U : 3 * U], s[:, 3 * U :]
        else:
            i_f = self.gate.forward(xp, z[:, : 2 * U])
            i, f = i_f[:, :U], i_f[:, U:]
            g = self.cell.forward(xp, z[:, 2 * U : 3 * U])
            o = self.gate.forward(xp, z[:, 3 * U :])
        c = f * c_prev + i * g
        a_c = self.cell.forward(xp, c)
        h = o * a_c
        if self.fused:
            return (h, c), (h, c, a, a_c)
        return (h, c), (h, c, i, f, g, o, a_c, *((z,) if self.keep_z else ()))

    def step_back(self, xp, weights, consts, dcarry, saved, prev):
        (dh, dc), U = dcarry, self.units
        if self.fused:
            _, c, a, a_c = saved
            s = 0.5 * a + 0.5
            i, f, g, o = s[:, :U], s[:, U : 2 * U], a[:, 2 * U : 3 * U], s[:, 3 * U :]
            dc = dc + dh * o * (1.0 - a_c * a_c)
            dA = xp.concat([dc * g, dc * prev[1], dc * i, dh * a_c], axis=-1)
            dZ = dA * (1.0 - a * a) * consts[1]
            return (masked_delta(xp, dZ, weights[1], consts[-1]), dc * f), (dZ,)
        _, c, i, f, g, o, a_c, *kept = saved
        z = kept[0] if kept else None  # the pre-activation, where an activation needs it

        def at(k):
            return None if z is None else z[:, k * U : (k + 1) * U]

        dc = dc + self.cell.backward(xp, None if z is None else c, a_c, dh * o)
        gate = self.gate.backward
        dZ = xp.concat(
            [
                gate(xp, at(0), i, dc * g),
                gate(xp, at(1), f, dc * prev[1]),
                self.cell.backward(xp, at(2), g, dc * i),
                gate(xp, at(3), o, dh * a_c),
            ],
            axis=-1,
        )
        return (masked_delta(xp, dZ, weights[1], consts[-1]), dc * f), (dZ,)

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

    def step(self, xp, weights, consts, carry, xw):
        (h_prev,), U, R, masks = carry, self.units, weights[1], consts[-1]
        if self.reset_after:
            hU = masked_product(xp, h_prev, R, masks)
            if self.use_bias:
                hU = hU + weights[2][1, :]
            pre_zr = xw[:, : 2 * U] + hU[:, : 2 * U]
            hh = hU[:, 2 * U :]
        else:
            pre_zr = xw[:, : 2 * U] + masked_product(xp, h_prev, R[:, : 2 * U], part(masks, 0, 2))
        z_r = self.gate_forward(xp, pre_zr)
        z, r = z_r[:, :U], z_r[:, U:]
        if not self.reset_after:
            hh = masked_product(xp, r * h_prev, R[:, 2 * U :], part(masks, 2, 3))
        pre_h = xw[:, 2 * U :] + (r * hh if self.reset_after else hh)
        candidate = self.cell.forward(xp, pre_h)
        h = z * h_prev + (1.0 - z) * candidate
        saved = (h, z_r, candidate, *((hh,) if self.reset_after else ()))
        return (h,), (*saved, *((pre_zr, pre_h) if self.keep_z else ()))

    def step_back(self, xp, weights, consts, dcarry, saved, prev):
        (dh,), (h_prev,), U, R, masks = dcarry, prev, self.units, weights[1], consts[-1]
        z_r, candidate = saved[1:3]
        z, r = z_r[:, :U], z_r[:, U:]
        pre_zr, pre_h = saved[-2:] if self.keep_z else (None, None)
        dz = dh * (h_prev - candidate)
        dcandidate = self.cell.backward(xp, pre_h, candidate, dh * (1.0 - z))
        if self.reset_after:
            dz_r = self._gate_back(xp, pre_zr, z_r, dz, dcandidate * saved[3])
            dZx = xp.concat([dz_r, dcandidate], axis=-1)
            dZh = xp.concat([dz_r, dcandidate * r], axis=-1)
            return (dh * z + masked_delta(xp, dZh, R, masks),), (dZx, dZh)
        drh = masked_delta(xp, dcandidate, R[:, 2 * U :], part(masks, 2, 3))
        dz_r = self._gate_back(xp, pre_zr, z_r, dz, drh * h_prev)
        dh_prev = dh * z + drh * r + masked_delta(xp, dz_r, R[:, : 2 * U], part(masks, 0, 2))
        return (dh_prev,), (xp.concat([dz_r, dcandidate], axis=-1),)

    def _gate_back(self, xp, pre_zr, z_r, dz, dr):
        """The delta at the z and r gates' pre-activation from those at their outputs (one
        call where the derivative needs the outputs only)."""
        if pre_zr is None:
            return self.gate.backward(xp, None, z_r, xp.concat([dz, dr], axis=-1))
        U = self.units
        return xp.concat(
            [
                self.gate.backward(xp, pre_zr[:, :U], z_r[:, :U], dz),
                self.gate.backward(xp, pre_zr[:, U:], z_r[:, U:], dr),
            ],
            axis=-1,
        )

    def weight_grads(self, xp, weights, X_tm, prev, saved, dZ, masks):
        (gates, states), H_prev = masks, prev[0]
        if self.reset_after:
            dZx, dZh = dZ
            grads = (masked_grad(xp, X_tm, dZx, gates), masked_grad(xp, H_prev, dZh, states))
            if self.use_bias:
                sums = [xp.sum(flat(xp, d), axis=0) for d in (dZx, dZh)]
                grads = (*grads, xp.stack(sums, axis=0))
            return dZx, grads
        U, dZ = self.units, dZ[0]
        R = saved[1][..., U:]
        dR = xp.concat(
            [
                masked_grad(xp, H_prev, dZ[..., : 2 * U], part(states, 0, 2)),
                masked_grad(xp, R * H_prev, dZ[..., 2 * U :], part(states, 2, 3)),
            ],
            axis=-1,
        )
        grads = (masked_grad(xp, X_tm, dZ, gates), dR)
        if self.use_bias:
            grads = (*grads, xp.sum(flat(xp, dZ), axis=0))
        return dZ, grads

    def get_config(self) -> dict:
        return {**super().get_config(), "reset_after": self.reset_after}


__all__ = ["GRU", "LSTM", "SimpleRNN"]
