"""Keras's ``model.input``/``model.output`` and a Sequential's ``inputs``/``outputs``.

A functional model keeps the symbolic tensors it was made from. A Sequential built for a
known input shape replays its layers on an ``Input`` of that shape the first time they are
asked for (again after ``add`` or ``pop``), as Keras's Sequential builds its graph, so that
``an.Model(inputs=seq.inputs, outputs=[layer.output for layer in seq.layers])`` makes a
feature extractor (it starts from the Sequential's weights).
"""

from __future__ import annotations

from ..layers.input import Input


class SymbolicIO:
    """``input`` and ``output``: one symbolic tensor, or a list of them."""

    @property
    def input(self):
        return _one_or_list(self.inputs)

    @property
    def output(self):
        return _one_or_list(self.outputs)


class SequentialIO(SymbolicIO):
    """A Sequential's ``inputs`` and ``outputs``, from a replay of its layers."""

    _replayed = None  # (layers, shape, input tensor, output tensor)

    @property
    def inputs(self) -> list:
        return [self._replay()[2]]

    @property
    def outputs(self) -> list:
        return [self._replay()[3]]

    def _replay(self) -> tuple:
        shape = self.example_shape or getattr(self, "declared_shape", None)
        if shape is None:
            raise AttributeError(
                f"Sequential model '{self.name}' has no defined inputs yet (give it an "
                "an.Input first, or build it)"
            )
        layers = tuple(self.layers)
        if self._replayed is None or self._replayed[:2] != (layers, shape):
            x = Input(shape=shape)
            y = x
            for layer in layers:
                y = layer(y)
            self._replayed = (layers, shape, x, y)
        return self._replayed


def _one_or_list(tensors: list):
    return tensors[0] if len(tensors) == 1 else list(tensors)
