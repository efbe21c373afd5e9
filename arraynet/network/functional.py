"""The functional API's objects: ``Input`` and its symbolic tensors.

Calling a layer on symbolic tensors records a node (``layers/input.py``: the objects live
beside the layers, so that ``arraynet.layers.Input`` needs nothing above the layers);
``Model(inputs, outputs)`` traces them into a :class:`~arraynet.network.Graph`
(``models/functional.py``).
"""

from ..layers.input import Input, InputLayer, SymbolicTensor, input_shape_of

__all__ = ["Input", "InputLayer", "SymbolicTensor", "input_shape_of"]
