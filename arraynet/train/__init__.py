"""Training: the pure step (``step``), the loops over epochs (``loops``) and the trainer that
runs one ``fit`` (``trainer``)."""

from .loops import epochs_per_call, make_runner
from .step import make_step
from .trainer import DivergenceError, Trainer

__all__ = ["DivergenceError", "Trainer", "epochs_per_call", "make_runner", "make_step"]
