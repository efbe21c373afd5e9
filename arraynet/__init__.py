"""arraynet: neural networks with hand-written backprop, written once for any Array API backend.

The public surface, declared once here.
"""

from . import (
    activations,
    callbacks,
    datasets,
    distributed,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    saving,
    utils,
    wrappers,
)
from .backend import DeviceMemoryError, available_backends, current_backend, use
from .callbacks import History
from .gradcheck import GradcheckReport, gradcheck
from .io import ModelFileError
from .layers import Input
from .models import Model, Sequential, load, save
from .train import DivergenceError
from .version import __version__ as __version__

__all__ = [
    "DeviceMemoryError",
    "DivergenceError",
    "GradcheckReport",
    "History",
    "Input",
    "Model",
    "ModelFileError",
    "Sequential",
    "activations",
    "available_backends",
    "callbacks",
    "current_backend",
    "datasets",
    "distributed",
    "gradcheck",
    "initializers",
    "layers",
    "load",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "saving",
    "save",
    "use",
    "utils",
    "wrappers",
]
