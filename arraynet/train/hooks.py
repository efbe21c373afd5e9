"""Callbacks as ``fit`` takes them, and the batch hooks that see the model current."""

from __future__ import annotations

from ..callbacks import Callback, CallbackList, ProgressBar


class LiveBatchHooks:
    """Batch hooks with the model current: before each hook the model holds the weights and
    optimizer state so far, and training goes on from what it holds after (a learning rate a
    hook set, say). The hooks get the batch size only: no value is read back per batch."""

    def __init__(self, hooks: CallbackList, variables, backend):
        self.hooks, self.variables, self.backend = hooks, variables, backend

    def begin(self, index: int, size: int, weights, opt_state):
        return self._around(self.hooks.on_batch_begin, index, size, weights, opt_state)

    def end(self, index: int, size: int, weights, opt_state):
        return self._around(self.hooks.on_batch_end, index, size, weights, opt_state)

    def _around(self, hook, index, size, weights, opt_state):
        self.variables.commit(weights, opt_state)
        hook(index, {"size": size})
        # set_weights leaves them on the host: back onto the backend
        return self.variables.on(self.backend), self.variables.opt_state


def callback_list(callbacks) -> list:
    """``fit``'s callbacks as a list: None is none, one callback is a list of one."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks: expected a list of Callback instances; got {callbacks!r}")
    return list(callbacks)


def progress_callbacks(callbacks, verbose: int) -> list:
    """The progress callback ``fit`` adds for ``verbose`` (none where the caller gave one,
    a ``ProgbarLogger`` say, as Keras adds none then)."""
    if not verbose or any(isinstance(callback, ProgressBar) for callback in callbacks):
        return []
    return [ProgressBar(bar=verbose == 1)]


def resume_epoch(model, initial_epoch: int) -> int:
    """The epoch to train from: the one a ``BackupAndRestore`` restored in
    ``on_train_begin`` (read once), else ``initial_epoch``."""
    if model.resume_at is None:
        return initial_epoch
    epoch, model.resume_at = model.resume_at, None
    return epoch
