"""Data in: checks (``checks``), sources (in memory or streamed chunks) and the intake that
checks a call's data once and hands it on as a feed."""

from .checks import MODES, batch_size_for, inputs, same_library, targets, to_host
from .intake import NO_TARGETS, Intake

__all__ = [
    "MODES",
    "NO_TARGETS",
    "Intake",
    "batch_size_for",
    "inputs",
    "same_library",
    "targets",
    "to_host",
]
