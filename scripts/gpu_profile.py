"""Where arraynet's GPU time goes on the benchmark's shape (d): a host profile of fit.

    python3 scripts/gpu_profile.py [--backends cupy,jax] [--shape d] [--epochs 8] [--quick]

For each backend: ``fit`` on the shape's data (the benchmark's model, data and weights),
once to warm up (JAX compiles there), then timed over ``--epochs`` epochs, the device
finished at both ends (the loss is read back). Printed per backend: seconds per update,
samples/s, the host's share (the process's CPU time over the wall time: near 1 means the
host, not the device, sets the pace), and the profiled run's functions by own time, which
show host synchronisations (``get``, ``item``, ``__bool__``, ``synchronize``), allocations
(``malloc``) and the per-layer Python work. ``--quick``: the shape shrunk, on the CPU.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import arraynet as an  # noqa: E402
from benchmarks import peers, shapes  # noqa: E402


def profile(backend: str, shape, epochs: int, top: int) -> str:
    X, Y, weights = shapes.make_data(shape)
    device = "cuda" if backend == "torch" else "cpu"
    impl = peers.Arraynet(backend, shape, X, Y, weights, device=device)
    impl.reset()
    impl.run()  # warm-up: JAX compiles, CuPy builds its kernels
    impl.reset()
    impl.shape = dataclasses.replace(shape, epochs=epochs)
    profiler = cProfile.Profile()
    cpu, wall = time.process_time(), time.perf_counter()
    profiler.enable()
    loss = impl.run()  # the loss is read back: the device has finished
    profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    updates = impl.shape.updates
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    body = out.getvalue().strip().splitlines()
    with an.use(backend, **impl.use_kwargs) as selected:
        where = f"{selected.device or 'cpu'}, matmul_precision {selected.matmul_precision!r}"
    head = (
        f"arraynet {backend} ({where}) on ({shape.key}) {'-'.join(map(str, shape.dims))}, "
        f"batch {shape.batch}: {updates} updates in {wall:.3f} s = {wall / updates * 1e3:.3f} "
        f"ms/update, {impl.shape.samples / wall:,.0f} samples/s; host CPU {cpu:.3f} s "
        f"({cpu / wall:.0%} of the wall time); final loss {loss:.6g}"
    )
    return "\n".join([head, *body[-(top + 2) :]])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="cupy,jax")
    p.add_argument("--shape", default="d")
    p.add_argument("--epochs", type=int, default=8, help="epochs profiled (after a warm-up)")
    p.add_argument("--top", type=int, default=20, help="functions listed")
    p.add_argument("--quick", action="store_true", help="the shape shrunk (a CPU check)")
    args = p.parse_args(argv)
    shape = shapes.get(args.shape, args.quick)
    status = 0
    for backend in args.backends.split(","):
        try:
            print(profile(backend, shape, args.epochs, args.top), flush=True)
        except (ImportError, RuntimeError, ValueError) as err:
            print(f"arraynet {backend}: not profiled ({err})", flush=True)
            status = 1
        print(flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
