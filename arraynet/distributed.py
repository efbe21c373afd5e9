"""Several processes, one model: JAX's multi-controller training on many machines.

Every process runs the same script. :func:`initialize` connects them (over
``jax.distributed.initialize``) before any JAX computation; ``use("jax", devices="all")``
then selects a "batch" mesh over every process's devices. Each process gives ``fit``,
``evaluate`` and ``predict`` its own rows (each the same number, divisible by its devices;
they become one array split over the mesh, ``jax.make_array_from_process_local_data``) and
gets back the same History, scores and weights, and the predictions for its own rows.
Model files are written by process 0 alone (the others wait until the file is there), so
every process can load them::

    import arraynet as an
    an.distributed.initialize("10.0.0.1:1234", num_processes=2, process_id=RANK)
    an.use("jax", devices="all")
    model.fit(X_mine, y_mine, mode="minibatch", batch_size=256, epochs=10, seed=0)
    model.save("model.arraynet")  # process 0 writes; every process can load it

Shuffling orders and dropout masks are drawn on each process's host from the same seed,
so every process draws the same ones (give the model or ``fit`` a seed).
"""

from __future__ import annotations

import sys

from .validation import check_count


def initialize(coordinator_address=None, num_processes=None, process_id=None) -> None:
    """Connect this process to the others (``jax.distributed.initialize``): the coordinator
    ``"host:port"`` (process 0's), how many processes and this one's index. Left None, JAX
    finds them itself on Slurm, Open MPI and TPU pods. Call it first, before any JAX
    computation (selecting the backend included)."""
    if coordinator_address is not None and not isinstance(coordinator_address, str):
        raise TypeError(
            f"coordinator_address: expected a 'host:port' string; got {coordinator_address!r}"
        )
    if num_processes is not None:
        num_processes = check_count(num_processes, "num_processes", minimum=1)
    if process_id is not None:
        process_id = check_count(process_id, "process_id", minimum=0)
        if num_processes is not None and process_id >= num_processes:
            raise ValueError(
                f"process_id: expected an index below num_processes={num_processes}; "
                f"got {process_id}"
            )
    import jax

    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )
    _STARTED[0] = True


_STARTED = [False]  # initialize() ran (older JAX cannot say so itself)


def _jax():
    """JAX, where it is loaded and its distributed system started (else None)."""
    jax = sys.modules.get("jax")
    if jax is None:
        return None
    started = getattr(jax.distributed, "is_initialized", lambda: _STARTED[0])()
    return jax if started else None


def process_index() -> int:
    """This process's index (0 without :func:`initialize`)."""
    jax = _jax()
    return 0 if jax is None else jax.process_index()


def process_count() -> int:
    """How many processes train together (1 without :func:`initialize`)."""
    jax = _jax()
    return 1 if jax is None else jax.process_count()


def is_main_process() -> bool:
    """Whether this process writes the files (process 0)."""
    return process_index() == 0


def barrier(name: str) -> None:
    """Wait here until every process has come here (nothing to wait for in one process)."""
    if process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)
