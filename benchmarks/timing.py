"""Warm-up, then repetitions interleaved across the implementations (A B C A B C ...)."""

from __future__ import annotations

import gc
import time

# Seconds of rest before each timed run. After a call, OpenBLAS's worker threads spin for
# about 2**28 cycles (~0.1 s) and OpenMP's for a while too: on 2 cores a spinning thread
# from the implementation before takes a core from the one being timed (measured: torch
# eager right after a NumPy run, 0.69x; after a rest, 0.93x of hand-written NumPy).
SETTLE_S = 0.3


def measure(impls, repeats: int, probe=None):
    """``(results, probes)``: ``results[name] = {"seconds": [...], "losses": [...]}``, one
    entry per repetition, and one ``probe()`` value per repetition (and one before).

    Each implementation first runs once untimed (JAX compiles there: same shapes, same
    epochs per call). Each repetition starts from the initial weights (``reset``, outside
    the clock), rests ``SETTLE_S`` and times one whole ``run`` with ``time.perf_counter``.
    ``probe`` (the matmul ceilings) is sampled in each round too, so it sees the same
    machine as the rest.
    """
    for impl in impls:
        impl.reset()
        impl.run()
    results = {impl.name: {"seconds": [], "losses": []} for impl in impls}
    probes = [probe()] if probe else []
    for _ in range(repeats):
        for impl in impls:
            impl.reset()
            gc.collect()
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            loss = impl.run()
            results[impl.name]["seconds"].append(time.perf_counter() - start)
            results[impl.name]["losses"].append(loss)
        if probe:
            time.sleep(SETTLE_S)
            probes.append(probe())
    return results, probes
