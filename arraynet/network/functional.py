"""The functional API's objects: ``Input`` and its symbolic tensors.

Today a symbolic input fixes a ``Sequential`` model's input shape (``Sequential([an.Input(
shape=(64,)), ...])``); calling layers on symbolic tensors and ``Model(inputs, outputs)``
over the resulting graph of :class:`~arraynet.network.Node` are to be added here. The
objects themselves live beside the layers (``layers/input.py``), so that
``arraynet.layers.Input`` needs nothing above the layers.
"""

from ..layers.input import Input, InputLayer, SymbolicTensor, input_shape_of

__all__ = ["Input", "InputLayer", "SymbolicTensor", "input_shape_of"]
