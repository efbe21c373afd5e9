"""Warm-up, then repetitions interleaved across the implementations (A B C, B C A, ...)."""

from __future__ import annotations

import gc
import time

# Seconds of rest before each timed run. After a call, OpenBLAS's worker threads spin for
# about 2**28 cycles (~0.1 s) and OpenMP's for a while too: on 2 cores a spinning thread
# from the implementation before takes a core from the one being timed (measured: torch
# eager right after a NumPy run, 0.69x; after a rest, 0.93x of hand-written NumPy).
SETTLE_S = 0.3


def measure(impls, repeats: int, probe=None):
    """``(results, probes, finals)``: ``results[name] = {"seconds": [...], "losses": [...]}``,
    one entry per repetition; one ``probe()`` value per repetition (and one before); and
    each implementation's weights after its last run (``finals[name]``).

    Each implementation first runs once untimed (JAX compiles there: same shapes, same
    epochs per call). Each repetition starts from the initial weights (``reset``, outside
    the clock), rests ``SETTLE_S`` and times one whole ``run`` with ``time.perf_counter``,
    the garbage collector off. The order rotates by one each round (A B C, B C A, ...), so
    no implementation always runs first. ``probe`` (the matmul ceilings) is sampled in
    each round too, so it sees the same machine as the rest.
    """
    for impl in impls:
        impl.reset()
        impl.run()
    results = {impl.name: {"seconds": [], "losses": []} for impl in impls}
    probes = [probe()] if probe else []
    for round_ in range(repeats):
        shift = round_ % len(impls)
        for impl in impls[shift:] + impls[:shift]:
            impl.reset()
            gc.collect()
            time.sleep(SETTLE_S)
            seconds, loss = _timed(impl.run)
            results[impl.name]["seconds"].append(seconds)
            results[impl.name]["losses"].append(loss)
        if probe:
            time.sleep(SETTLE_S)
            probes.append(probe())
    return results, probes, {impl.name: impl.weights_now() for impl in impls}


def _timed(run):
    """``(seconds, result)`` of ``run()``, the garbage collector off meanwhile."""
    gc.disable()
    try:
        start = time.perf_counter()
        result = run()
        return time.perf_counter() - start, result
    finally:
        gc.enable()
