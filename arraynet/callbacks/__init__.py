"""Callbacks: hooks around training (``base``), the monitoring and file-writing ones
(``monitoring``) and Keras 3's others (``keras_style``), all exported here."""

from .base import (
    MAXIMIZED,
    Callback,
    CallbackList,
    History,
    ProgressBar,
    monitor_mode,
    monitored,
)
from .keras_style import (
    BackupAndRestore,
    EarlyStopping,
    LambdaCallback,
    ProgbarLogger,
    ReduceLROnPlateau,
    progress_verbosity,
    step_progress,
)
from .monitoring import CSVLogger, LearningRateScheduler, ModelCheckpoint, TerminateOnNaN

__all__ = [
    "MAXIMIZED",
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ProgressBar",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "monitor_mode",
    "monitored",
    "progress_verbosity",
    "step_progress",
]
