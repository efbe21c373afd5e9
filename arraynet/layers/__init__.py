"""Layers: each keeps its forward and hand-written backward side by side.

Every layer implements the :class:`Layer` protocol (see ``layers/base.py``). Adding a layer
is one new module and one entry in ``LAYERS``.
"""

from .activation import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from .attention import MultiHeadAttention
from .base import INFERENCE, TRAINING, Context, Layer, Param
from .conv import Conv1D, Conv2D
from .conv_transpose import Conv2DTranspose
from .dense import Dense
from .depthwise import DepthwiseConv2D, SeparableConv2D
from .dropout import Dropout
from .embedding import Embedding
from .group_norm import GroupNormalization
from .input import Input, InputLayer
from .masking import Masking
from .merge import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract
from .noise import GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D
from .normalization import BatchNormalization, LayerNormalization
from .outputs import OutputPart
from .pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from .preprocessing import Normalization
from .recurrent import GRU, LSTM, SimpleRNN
from .resampling import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from .rescaling import Rescaling
from .reshape import Flatten, Permute, RepeatVector, Reshape
from .wrappers import Bidirectional, TimeDistributed

LAYERS = {
    cls.__name__: cls
    for cls in (
        Dense,
        Activation,
        ReLU,
        LeakyReLU,
        ELU,
        PReLU,
        Softmax,
        Dropout,
        SpatialDropout1D,
        SpatialDropout2D,
        GaussianNoise,
        GaussianDropout,
        Flatten,
        Reshape,
        Permute,
        ZeroPadding1D,
        ZeroPadding2D,
        Cropping1D,
        Cropping2D,
        UpSampling1D,
        UpSampling2D,
        Normalization,
        Conv1D,
        Conv2D,
        Conv2DTranspose,
        MaxPooling1D,
        MaxPooling2D,
        AveragePooling1D,
        AveragePooling2D,
        GlobalAveragePooling1D,
        GlobalAveragePooling2D,
        GlobalMaxPooling1D,
        GlobalMaxPooling2D,
        BatchNormalization,
        LayerNormalization,
        Rescaling,
        RepeatVector,
        SimpleRNN,
        LSTM,
        GRU,
        Embedding,
        Masking,
        MultiHeadAttention,
        DepthwiseConv2D,
        SeparableConv2D,
        GroupNormalization,
        Bidirectional,
        TimeDistributed,
        Concatenate,
        Add,
        Subtract,
        Multiply,
        Average,
        Maximum,
        Minimum,
        Dot,
        OutputPart,
    )
}


def from_config(config: dict) -> Layer:
    """Rebuild a layer from its ``get_config()``."""
    config = dict(config)
    name = config.pop("class", None)
    if name not in LAYERS:
        raise ValueError(f"layer config: expected class in {', '.join(LAYERS)}; got {name!r}")
    return LAYERS[name](**config)


__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "Activation",
    "LeakyReLU",
    "ELU",
    "PReLU",
    "ReLU",
    "Softmax",
    "GRU",
    "LSTM",
    "Bidirectional",
    "Embedding",
    "Masking",
    "MultiHeadAttention",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "GroupNormalization",
    "SimpleRNN",
    "TimeDistributed",
    "AveragePooling1D",
    "AveragePooling2D",
    "BatchNormalization",
    "LayerNormalization",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "INFERENCE",
    "TRAINING",
    "Context",
    "Dense",
    "Input",
    "InputLayer",
    "Dropout",
    "Flatten",
    "Layer",
    "Param",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "OutputPart",
    "from_config",
    "Cropping1D",
    "Cropping2D",
    "GaussianDropout",
    "GaussianNoise",
    "Normalization",
    "Permute",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "UpSampling1D",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
]
