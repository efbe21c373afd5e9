"""``OutputPart``: one output of a layer that returns several, as a node of the graph.

A recurrent layer with ``return_state=True`` returns its output and its final state(s): in
a functional model, ``out, h, c = LSTM(8, return_state=True)(x)``. The layer's node then
holds a list of values; each tensor the call returns is an ``OutputPart`` node reading one
of them. Its backward hands the delta back in that slot of a list (None in the others:
nothing downstream used them), and the graph adds up the lists of every part read.

It is wiring, not a layer of the model (``internal``): ``model.layers``, ``summary()`` and
``get_weights()`` do not show it, as Keras's show no indexing of a layer's outputs; the
saved configuration lists it after the model's layers, to wire the graph again.
"""

from __future__ import annotations

from ..validation import check_count
from .base import TRAINING, Context, Layer
from .input import symbolic_call


class OutputPart(Layer):
    """Output ``index`` of a layer's ``count`` outputs."""

    internal = True
    independent_rows = True

    def __init__(self, index: int, count: int):
        self.count = check_count(count, "count", minimum=2)
        self.index = check_count(index, "index", minimum=0)
        if self.index >= self.count:
            raise ValueError(f"index: expected below count {self.count}; got {index}")

    def output_shape(self, input_shape) -> tuple:
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != self.count:
            raise ValueError(f"OutputPart: expected {self.count} output shapes; got {input_shape}")
        return tuple(input_shape[self.index])

    def memory(self, input_shape) -> int:
        return 0  # a view of its layer's output

    def output_masked(self, input_masked: bool) -> bool:
        """A layer's mask is its first output's (attention's with its scores)."""
        return input_masked and self.index == 0

    def compute_mask(self, xp, X, mask):
        return mask if self.index == 0 else None

    def forward(self, xp, weights, X, ctx: Context = TRAINING):
        return X[self.index], ()

    def backward(self, xp, weights, cache, dY, ctx: Context = TRAINING):
        return [dY if k == self.index else None for k in range(self.count)], ()

    def get_config(self) -> dict:
        return {"class": "OutputPart", "index": self.index, "count": self.count}


def output_parts(tensor, count: int) -> list:
    """The symbolic tensors of each of ``count`` outputs of the call that made ``tensor``."""
    return [symbolic_call(OutputPart(k, count), [tensor]) for k in range(count)]
