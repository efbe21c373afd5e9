"""What Keras reads from a layer beside the math: its name, the input shape it was given,
and the weights of the model that holds it.

Every :class:`~arraynet.layers.Layer` takes Keras's base-layer arguments on top of its own:
``name=`` (default: Keras's automatic "dense", "dense_1", ...), ``input_shape=`` and
``input_dim=`` (accepted with Keras 3's warning; a ``Sequential`` whose first layer has one
is built for that shape), ``trainable=`` (``layer.trainable = False`` freezes it: read when
the model compiles, as in Keras). A layer holds no arrays: the model that built it last keeps them
and answers ``layer.get_weights()``, ``layer.set_weights()``, ``layer.count_params()`` and
``layer.kernel``, ``layer.bias``, ... (host NumPy *copies*: arraynet's weights are values,
not variables; ``layer.kernel.assign(new)`` writes into the model).
"""

from __future__ import annotations

import functools
import inspect
import warnings
import weakref

import numpy as np

from ..backend.session import auto_name

KERAS_ARGUMENTS = ("name", "input_shape", "input_dim", "trainable")
WEIGHT_NAMES = (
    "kernel",
    "bias",
    "recurrent_kernel",
    "gamma",
    "beta",
    "moving_mean",
    "moving_variance",
    "embeddings",
)
INPUT_SHAPE_WARNING = (
    "Do not pass an `input_shape`/`input_dim` argument to a layer. When using Sequential "
    "models, prefer using an `Input(shape)` object as the first layer in the model instead."
)


class WeightCopy(np.ndarray):
    """A host copy of one weight (``layer.kernel``): a NumPy array with Keras's
    ``numpy()`` and ``assign(value)``, which writes ``value`` into the model (arraynet's
    weights are values held by the model, not variables: changing this copy changes
    nothing else)."""

    def __array_finalize__(self, obj):
        self.where = getattr(obj, "where", None)  # (model, layer index, position)

    def numpy(self) -> np.ndarray:
        return np.array(self)

    def assign(self, value) -> None:
        if self.where is None:
            raise ValueError("assign: this array is not a weight of a model")
        model, index, position = self.where
        weights = model.layer_weights(index)
        weights[position] = value
        model.set_layer_weights(index, weights)
        self[...] = model.layer_weights(index)[position]


class _WeightByName:
    """``layer.kernel`` and co.: a host copy of the weight of that Keras name, read from the
    model that holds the layer (an instance attribute of the same name takes precedence)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, layer, owner=None):
        if layer is None:
            return self
        return layer.weight(self.name)


class KerasLayer:
    """Keras's face of a layer (mixed into ``Layer``): see the module docstring."""

    declared_input_shape = None  # the input_shape= / input_dim= given, as given
    _holder = None  # (weak reference to the model, index of this layer in it)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None and cls.__init__ is object.__init__:  # a layer of no arguments

            def init(self):
                pass

        if init is None or getattr(init, "takes_keras_arguments", False):
            return
        own = inspect.signature(init).parameters
        taken = tuple(name for name in KERAS_ARGUMENTS if name not in own)

        @functools.wraps(init)
        def __init__(self, *args, **kwargs):
            given = {name: kwargs.pop(name) for name in taken if name in kwargs}
            init(self, *args, **kwargs)
            self.keras_arguments(**given)

        __init__.takes_keras_arguments = True
        cls.__init__ = __init__

    def keras_arguments(self, name=None, input_shape=None, input_dim=None, trainable=True):
        """Set the name (an automatic one unless given or set before), the declared input
        shape (``input_dim=n`` is ``input_shape=(n,)``) and ``trainable``, as Keras's
        ``Layer``."""
        if trainable is not True:
            self.trainable = trainable
        if name is not None:
            self.name = name
        elif "_name" not in self.__dict__:
            self.name = auto_name(type(self).__name__)
        if input_dim is not None:
            input_shape = (input_dim,)
        if input_shape is not None:
            warnings.warn(INPUT_SHAPE_WARNING, UserWarning, stacklevel=3)
            if isinstance(input_shape, int) and not isinstance(input_shape, bool):
                input_shape = (input_shape,)
            self.declared_input_shape = tuple(input_shape)

    @property
    def name(self) -> str:
        if "_name" not in self.__dict__:  # a layer whose class defines no __init__
            self._name = auto_name(type(self).__name__)
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str) or not value or "/" in value:
            raise ValueError(f"name: expected a non-empty string without '/'; got {value!r}")
        self._name = value

    @property
    def trainable(self) -> bool:
        """Whether training updates this layer's weights (Keras: set it, then ``compile``;
        a BatchNormalization that does not train also normalizes with its moving
        statistics)."""
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"trainable: expected True or False; got {value!r}")
        self._trainable = value

    # -- the weights, kept by the model that holds the layer ------------------------------

    def attach(self, model, index: int) -> None:
        """Record that ``model`` holds this layer as its layer ``index`` (weakly: the layer
        does not keep the model alive). The model that attached it last answers."""
        self._holder = (weakref.ref(model), index)

    def holder(self):
        """``(model, index)`` of the model holding this layer, or None (no model, or it is
        gone or no longer holds it)."""
        if self._holder is None:
            return None
        ref, index = self._holder
        model = ref()
        if model is None or not model.holds_layer(self, index):
            return None
        return model, index

    @property
    def built(self) -> bool:
        held = self.holder()
        return held is not None and held[0].built

    def get_weights(self) -> list:
        """Host NumPy copies of this layer's weights (params, then state) in Keras order;
        [] before its model is built."""
        held = self.holder()
        return [] if held is None else held[0].layer_weights(held[1])

    def set_weights(self, weights) -> None:
        """Replace this layer's weights in its model (arrays of any backend, in
        ``get_weights()`` order)."""
        held = self.holder()
        if held is None or not held[0].built:
            count = len(weights) if isinstance(weights, (list, tuple)) else weights
            raise ValueError(
                f"set_weights: layer {self.name!r} has no weights yet (no built model holds "
                f"it): expected 0 weights; got {count}"
            )
        held[0].set_layer_weights(held[1], weights)

    def weight(self, name: str):
        """A host copy of this layer's weight called ``name`` (Keras's name: "kernel",
        "bias", ...). Its ``assign(value)`` writes a new value into the model."""
        held = self.holder()
        if held is None or not held[0].built:
            raise AttributeError(
                f"{name}: layer {self.name!r} has no weights yet (its model is not built)"
            )
        return held[0].layer_weight(held[1], name)

    @property
    def input(self):
        """Keras's ``layer.input``: the symbolic input(s) of the layer's first call."""
        tensors = self._first_call()[0]
        return tensors[0] if len(tensors) == 1 else list(tensors)

    @property
    def output(self):
        """Keras's ``layer.output``: the symbolic output of the layer's first call."""
        return self._first_call()[1]

    def _first_call(self) -> tuple:
        from .input import FIRST_CALLS  # the Input module comes after this one

        if self not in FIRST_CALLS:
            raise AttributeError(
                f"Layer '{self.name}' has never been called and thus has no defined input "
                "or output (call it on an an.Input tensor, or use it in a model built "
                "from an Input)"
            )
        return FIRST_CALLS[self]

    def count_params(self) -> int:
        """The number of weights of this layer (params and state)."""
        held = self.holder()
        if held is None or not held[0].built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer "
                "isn't built. You can build it manually via: `model.build(input_shape)`."
            )
        return sum(int(w.size) for w in self.get_weights())


for _name in WEIGHT_NAMES:
    _descriptor = _WeightByName()
    _descriptor.__set_name__(KerasLayer, _name)
    setattr(KerasLayer, _name, _descriptor)
