"""torch references for the recurrent layers: ``torch.nn.RNN/LSTM/GRU`` with Keras weights.

Keras keeps ``kernel (D, kU)``, ``recurrent_kernel (U, kU)`` and one bias (a ``(2, 3U)``
pair for GRU); torch keeps ``weight_ih (kU, D)``, ``weight_hh (kU, U)`` and two biases.
LSTM gates are ``i, f, g(c), o`` in both; GRU gates are ``z, r, h`` in Keras and
``r, z, n`` in torch (``TORCH_GRU`` maps torch's rows to Keras's columns).
"""

import numpy as np


def gru_rows(units: int) -> np.ndarray:
    """For each torch GRU row (r, z, n), the Keras column (z, r, h) it holds."""
    return np.r_[np.arange(units, 2 * units), np.arange(units), np.arange(2 * units, 3 * units)]


def module(kind: str, weights, features: int, units: int, bidirectional: bool = False):
    """A float64 torch module of ``kind`` ("SimpleRNN", "LSTM", "GRU") holding the Keras
    ``weights`` (``[kernel, recurrent_kernel, bias]``, twice for ``bidirectional``)."""
    import torch

    cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    m = cls(features, units, batch_first=True, bidirectional=bidirectional, dtype=torch.float64)
    rows = gru_rows(units) if kind == "GRU" else slice(None)
    with torch.no_grad():
        for suffix, (W, R, b) in zip(("", "_reverse"), _triples(weights)):
            getattr(m, f"weight_ih_l0{suffix}").copy_(torch.from_numpy(W[:, rows].T.copy()))
            getattr(m, f"weight_hh_l0{suffix}").copy_(torch.from_numpy(R[:, rows].T.copy()))
            b_ih, b_hh = (b[0], b[1]) if b.ndim == 2 else (b, np.zeros_like(b))
            getattr(m, f"bias_ih_l0{suffix}").copy_(torch.from_numpy(b_ih[rows].copy()))
            getattr(m, f"bias_hh_l0{suffix}").copy_(torch.from_numpy(b_hh[rows].copy()))
    return m


def _triples(weights):
    return [weights[i : i + 3] for i in range(0, len(weights), 3)]


def grads(kind: str, m, units: int, bidirectional: bool = False) -> list[np.ndarray]:
    """The gradients of ``m``'s weights in the Keras layout and order."""
    rows = gru_rows(units) if kind == "GRU" else np.arange(m.weight_ih_l0.shape[0])
    keras_order = np.argsort(rows)  # Keras column c is torch row keras_order[c]
    out = []
    for suffix in ("", "_reverse") if bidirectional else ("",):
        gW = getattr(m, f"weight_ih_l0{suffix}").grad.numpy().T[:, keras_order]
        gR = getattr(m, f"weight_hh_l0{suffix}").grad.numpy().T[:, keras_order]
        g_ih = getattr(m, f"bias_ih_l0{suffix}").grad.numpy()[keras_order]
        g_hh = getattr(m, f"bias_hh_l0{suffix}").grad.numpy()[keras_order]
        gb = np.stack([g_ih, g_hh]) if kind == "GRU" else g_ih  # LSTM/RNN: b_hh held at 0
        out += [gW, gR, gb]
    return out
