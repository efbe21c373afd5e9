"""Selection: the backend chosen by :func:`use`, per context (NumPy float32 until then).

Each ``contextvars`` context (each thread, each asyncio task) has its own stack of
selections, as NumPy's ``errstate`` and ``decimal``'s contexts have. ``current_backend()``
is the top of the caller's stack or, where that is empty, the process default.

- ``use(...)`` takes effect at once in the caller's context; as a ``with`` block it lasts
  until the block ends, whatever other threads and tasks select meanwhile. Leaving a block
  removes it and the selections made inside it that nothing can leave any more (bare
  ``use()`` calls), wherever it sits in the stack: blocks left out of order leave the
  selections of the blocks still open, and the last one out puts back what was selected
  before the first.
- A bare ``use(...)`` in the main thread, outside any block, sets the process default: what
  every thread and task without a selection of its own sees (scripts and notebooks select
  once, at the top). Until a ``with`` enters it, a ``use()`` made there is such a
  selection; entering turns it into a block of the main thread's context.
- A bare ``use(...)`` anywhere else (another thread, inside a block) holds in that context
  only.

JAX's x64 flag (float64 JAX arrays exist only where it is on) has a per-thread scope and a
process one, no per-task one: a float64 JAX selection holds it on in its thread while it
lasts; the process default, when it is float64 JAX, turns it on for the process for good
(JAX's own code paths in other threads may read it at any time).
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading
import weakref

from ..validation import check_count
from .base import Backend
from .libraries import (
    BACKENDS,
    dtype_name,
    hold_x64,
    load_backend,
    needs_x64,
    numpy_backend_of,
    release_x64,
    set_x64_everywhere,
    x64_on,
)
from .mesh import on_mesh

_NUMPY = load_backend("numpy", "float32")
_stack: contextvars.ContextVar[tuple] = contextvars.ContextVar("arraynet_use", default=())
_process: tuple = ()  # the main thread's selections made outside any block: the default
_lock = threading.Lock()  # around changes to ``_process`` (reads take the tuple as it is)


class _Entry:
    """One selection in a stack: its backend, the ``use`` object that can end it (held
    weakly: once that is gone, nothing can), and where it holds JAX's x64 flag."""

    __slots__ = ("backend", "owner", "x64_everywhere", "x64_thread")

    def __init__(self, owner, backend: Backend):
        self.owner, self.backend = weakref.ref(owner), backend
        self.x64_thread, self.x64_everywhere = None, False

    @property
    def orphan(self) -> bool:
        """Nothing can end it any more (a bare ``use()``, its object dropped)."""
        return self.owner() is None


def _pushed(stack: tuple, entry: _Entry) -> tuple:
    """``stack`` with ``entry`` on top. Of adjacent orphans only the top one can ever be
    seen again (they are removed together), so the others go: bare calls in a loop do not
    grow the stack."""
    kept = [e for i, e in enumerate(stack) if not (e.orphan and i + 1 < len(stack)
                                                   and stack[i + 1].orphan)]  # fmt: skip
    return (*kept, entry)


def _without(stack: tuple, entry: _Entry) -> tuple[tuple, list]:
    """``stack`` without ``entry`` and the orphans above it (selections made inside it);
    the entries removed. Entries above it that can still be ended (blocks open elsewhere
    in the stack) stay."""
    i = next(k for k, e in enumerate(stack) if e is entry)
    above = stack[i + 1 :]
    removed = [entry, *(e for e in above if e.orphan)]
    return (*stack[:i], *(e for e in above if not e.orphan)), removed


def _release(entries) -> None:
    for entry in entries:
        release_x64(entry.x64_thread)
        entry.x64_thread = None


def _x64_everywhere_off_after(entries) -> None:
    """Turn the process-wide x64 flag off again if one of ``entries`` (just moved out of the
    process default) turned it on and no selection left there needs it (under ``_lock``)."""
    if any(e.x64_everywhere for e in entries) and not any(needs_x64(e.backend) for e in _process):
        set_x64_everywhere(False)
    for entry in entries:
        entry.x64_everywhere = False


def numpy_backend(dtype: str = "float64") -> Backend:
    """NumPy on the host, for checking data without moving it."""
    return numpy_backend_of(dtype_name(dtype), None)


def current_backend() -> Backend:
    """The backend selected in this context: its innermost selection, else the process
    default (NumPy float32 until a bare :func:`use` in the main thread sets another)."""
    stack = _stack.get()
    mine = bool(stack)
    stack = stack or _process
    backend = stack[-1].backend if stack else _NUMPY
    if needs_x64(backend) and not x64_on():
        # a context copied into another thread (asyncio.to_thread), or the process default
        # read here: float64 JAX needs x64 in this thread from now on
        if mine:
            hold_x64()
        else:
            set_x64_everywhere(True)
    return backend


class use:  # noqa: N801 - reads as a verb: ``arraynet.use("jax")``
    """Select the backend: ``use("jax")``, ``use("numpy", dtype="float64")``.

    ``device``: None for the library's default, else an index (jax, cupy), a torch device
    ("cpu", "cuda:1") or an array-api-strict device name ("device1", "no_float64").
    ``matmul_precision``: float32 matrix products in full float32 ("highest", the default),
    TF32 ("high") or bfloat16 passes ("medium"), torch's names (see ``backend.matmul``);
    on the CPU every backend computes them in full float32 whatever the setting.
    ``memory_limit``: bytes the device may hold for training (simulates a smaller device;
    ``fit`` refuses a batch whose estimate is over it with a :class:`DeviceMemoryError`).
    ``devices`` (JAX only): "all", a count or a list of devices: data-parallel training
    on a one-axis "batch" mesh over them (weights replicated, each batch split; see
    ``backend.mesh``); ``memory_limit`` is then per device.

    Takes effect at once, in the caller's thread or asyncio task (see the module
    docstring: a bare call in the main thread, outside any block, sets the process
    default). As a context manager it ends on exit, in any order with other blocks, and
    each thread and task sees only its own blocks.
    """

    def __init__(
        self,
        name="numpy",
        dtype="float32",
        device=None,
        memory_limit=None,
        devices=None,
        matmul_precision="highest",
    ):
        global _process
        backend = load_backend(name, dtype, device, matmul_precision)
        if devices is not None:
            backend = on_mesh(backend, device, devices)
        if memory_limit is not None:
            limit = check_count(memory_limit, "memory_limit", minimum=1)
            backend = dataclasses.replace(backend, memory_limit=limit)
        self.backend = backend
        self._entry = entry = _Entry(self, backend)
        stack = _stack.get()
        if stack or threading.current_thread() is not threading.main_thread():
            if needs_x64(backend):
                entry.x64_thread = hold_x64()
            _stack.set(_pushed(stack, entry))
            return
        with _lock:
            if needs_x64(backend):
                entry.x64_everywhere = set_x64_everywhere(True)
            _process = _pushed(_process, entry)

    def __enter__(self) -> Backend:
        global _process
        entry, stack = self._entry, _stack.get()
        if not any(e is entry for e in stack):  # a process default until now, or ended
            if needs_x64(self.backend):
                entry.x64_thread = hold_x64()  # before the process-wide flag may go off
            with _lock:
                if any(e is entry for e in _process):
                    _process = tuple(e for e in _process if e is not entry)
                    _x64_everywhere_off_after([entry])
            _stack.set(_pushed(stack, entry))
        return self.backend

    def __exit__(self, *exc) -> None:
        global _process
        entry, stack = self._entry, _stack.get()
        if any(e is entry for e in stack):
            stack, removed = _without(stack, entry)
            _stack.set(stack)
            _release(removed)
            return
        with _lock:
            if any(e is entry for e in _process):
                _process, removed = _without(_process, entry)
                _x64_everywhere_off_after([entry])
                _release(removed)

    def __repr__(self) -> str:
        return f"use({self.backend.name!r}, dtype={self.backend.dtype!r})"


def available_backends() -> list[str]:
    """Names of the backends that import and have a usable device here."""
    names = []
    for name in BACKENDS:
        try:
            load_backend(name, "float32")
        except (ImportError, RuntimeError):
            continue
        names.append(name)
    return names
