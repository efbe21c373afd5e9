"""``Input`` and ``InputLayer``: a model's input, its shape per example (Keras 3's names).

``an.Input(shape=(64,))`` returns a :class:`SymbolicTensor` (Keras's ``KerasTensor``): a
shape and dtype, no values. As the first element of ``Sequential([...])`` it fixes the input
shape (the model is built at once); an ``InputLayer`` there does the same.

The functional API: calling a layer on a symbolic tensor (or a list of them) records the
call (:func:`symbolic_call`) and returns a new symbolic tensor of the output's shape; a
tensor knows the call that made it (``tensor.call``: the layer and its input tensors) or,
for an input, its ``input_layer``. ``Model(inputs, outputs)`` (``models/functional.py``)
reads the graph of calls back from the outputs.

Neither is a :class:`~arraynet.layers.Layer`: no model calls them. A functional model's
``layers`` lists its ``InputLayer`` objects, a ``Sequential``'s does not (as in Keras).
"""

from __future__ import annotations

import warnings
import weakref

from ..backend.session import auto_name

FLOATS = ("float32", "float64", "float16", "bfloat16")
INTEGERS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool")
DTYPES = (None, *FLOATS, *INTEGERS)


class InputLayer:
    """The input of a model: ``shape`` per example (no batch axis), or ``batch_shape``
    with it. ``dtype`` is informative: arraynet computes in the dtype chosen by
    ``arraynet.use``, integer inputs (an ``Embedding``'s indices, ``dtype="int64"`` as in
    Keras) included: they are exact in float32 up to 2**24."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):  # fmt: skip
        if "input_shape" in kwargs:  # Keras 3 takes it, with a warning
            warnings.warn("Argument `input_shape` is deprecated. Use `shape` instead.",
                          UserWarning, stacklevel=2)  # fmt: skip
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        if kwargs:
            raise TypeError(f"InputLayer: unexpected arguments {sorted(kwargs)}")
        if sparse or input_tensor is not None or optional:
            raise NotImplementedError(
                "InputLayer: sparse=, input_tensor= and optional= are not supported by arraynet"
            )
        if shape is not None and batch_shape is not None:
            raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
        if shape is None and batch_shape is None:
            raise ValueError("You must pass a `shape` argument.")
        if batch_shape is not None:
            batch_shape = _tuple(batch_shape, "batch_shape")
            if not batch_shape:
                raise ValueError("batch_shape: expected the batch axis and at least one more")
            batch_size, shape = batch_shape[0], batch_shape[1:]
        self.shape = _tuple(shape, "shape")  # per example
        self.batch_size = batch_size
        dtype = _dtype_name(dtype)
        if dtype not in DTYPES:
            raise ValueError(f"dtype: expected one of {DTYPES}; got {dtype!r}")
        self.dtype = dtype or "float32"
        self.name = name if name is not None else auto_name("InputLayer")
        self.output = SymbolicTensor(self)

    @property
    def batch_shape(self) -> tuple:
        return (self.batch_size, *self.shape)

    def get_config(self) -> dict:
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}

    def __repr__(self) -> str:
        return f"<InputLayer name={self.name}, shape={self.batch_shape}>"


class SymbolicTensor:
    """What :func:`Input` returns (Keras's ``KerasTensor``): ``shape`` with the batch axis
    first (None: any), ``dtype``, ``name``; no values."""

    def __init__(self, input_layer: InputLayer | None, call=None, example_shape=None,
                 dtype=None):  # fmt: skip
        self.input_layer = input_layer
        self.call = call  # (layer, input tensors) for a layer's output; None for an input
        self.group = None  # the ModelCall it came out of, for a model called inside another
        self.example_shape = input_layer.shape if input_layer is not None else example_shape
        self._dtype = dtype
        self.name = auto_name("KerasTensor")

    @property
    def shape(self) -> tuple:
        batch = self.input_layer.batch_size if self.input_layer is not None else None
        return (batch, *self.example_shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> str:
        return self.input_layer.dtype if self.input_layer is not None else self._dtype

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False) -> SymbolicTensor:  # fmt: skip
    """A model input of ``shape`` per example (Keras 3's ``keras.Input``)."""
    layer = InputLayer(shape, batch_size, dtype, sparse, batch_shape, tensor, optional, name)
    return layer.output


class ModelCall:
    """A model called on symbolic tensors inside another: its ``inputs`` and ``outputs``
    (Keras orders its layers as one operation, ``models/functional.py``)."""

    def __init__(self, model, inputs: tuple, outputs: tuple):
        self.model, self.inputs, self.outputs = model, inputs, outputs


def symbolic_inputs(inputs, who: str) -> list | None:
    """The symbolic tensors of a call's ``inputs`` (one, or a list or tuple of them), or
    None if ``inputs`` holds no symbolic tensor; a mix is refused."""
    listed = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    symbolic = [isinstance(t, SymbolicTensor) for t in listed]
    if not any(symbolic):
        return None
    if not all(symbolic) or not listed:
        raise TypeError(
            f"{who}: expected a symbolic tensor (an.Input(...) or a layer's output) or a "
            f"list of them; got {inputs!r}"
        )
    return listed


# each called layer's first input shape (a layer called again: shared weights)
FIRST_CALL_SHAPES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
FIRST_CALLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # (inputs, output)


def symbolic_call(layer, tensors: list) -> SymbolicTensor:
    """Record ``layer`` called on ``tensors``: a new symbolic tensor of its output shape.

    Shape errors are raised here, naming the layer and the shapes: an input it cannot take,
    or (a layer called again: shared weights) an input needing other weights than the
    first call's."""
    shapes = [t.example_shape for t in tensors]
    shown = [(None, *s) for s in shapes]
    who = f"Layer '{layer.name}' ({type(layer).__name__})"
    try:
        out = tuple(layer.output_shape(*shapes))
    except ValueError as err:
        got = shown[0] if len(shown) == 1 else shown
        raise ValueError(f"{who} cannot be called on input shape {got}: {err}") from None
    first = FIRST_CALL_SHAPES.get(layer)
    if first is None:
        FIRST_CALL_SHAPES[layer] = shapes[0]
    elif _weight_shapes(layer, first) != _weight_shapes(layer, shapes[0]):
        raise ValueError(
            f"{who}: expected an input of shape {(None, *first)} (its weights "
            f"{_weight_shapes(layer, first)} were made for its first call); got input shape "
            f"{(None, *shapes[0])}, which needs weights {_weight_shapes(layer, shapes[0])}"
        )
    output = SymbolicTensor(None, (layer, tuple(tensors)), out, tensors[0].dtype)
    FIRST_CALLS.setdefault(layer, (tuple(tensors), output))
    return output


def _weight_shapes(layer, shape: tuple) -> list:
    return [tuple(p.shape) for p in layer.params(shape) + layer.states(shape)]


def input_shape_of(item) -> tuple | None:
    """The per-example shape an ``Input``/``InputLayer`` fixes, or None for anything else."""
    if isinstance(item, SymbolicTensor):
        return item.input_layer.shape
    if isinstance(item, InputLayer):
        return item.shape
    return None


def _dtype_name(dtype):
    """A dtype's name (``np.dtype("int64")`` or ``np.int64`` -> "int64"); anything else as
    given, to be refused."""
    if dtype is None or isinstance(dtype, str):
        return dtype
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None)
    return name if isinstance(name, str) else dtype


def _tuple(shape, argument: str) -> tuple:
    if isinstance(shape, int) and not isinstance(shape, bool):
        return (shape,)
    try:
        return tuple(shape)
    except TypeError:
        raise ValueError(f"{argument}: expected a tuple of dimensions; got {shape!r}") from None
