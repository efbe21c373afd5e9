"""Benchmarks: arraynet's training loop against hand-written and library peers.

``python -m benchmarks`` trains the same MLP (relu hidden layers, identity output, the
``squared_error`` loss, plain SGD, float32) on the same data from the same weights with
arraynet on each installed backend and with the peers in :mod:`benchmarks.peers`, and
prints one table per shape (:mod:`benchmarks.shapes`), the matmul ceiling it measures
(:mod:`benchmarks.ceiling`) and the speed targets (:mod:`benchmarks.report`).
"""

__all__ = ["main"]


def main(argv=None):
    """``python -m benchmarks`` (imported on call, so ``python -m benchmarks.data_parallel``
    runs that module fresh)."""
    from .run import main as run

    return run(argv)
