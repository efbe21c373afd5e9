"""A wide MLP on ten million synthetic rows drawn on the device: throughput, time, memory.

    python examples/gpu_synthetic.py --backend cupy|jax|torch|numpy [--rows N] [--epochs E]
        [--batch-size B] [--hidden H] [--features F] [--target-loss L] [--device-rng auto]
        [--device cuda] [--matmul-precision highest|high|medium]

``make_classification`` draws ``--rows`` rows of ``--features`` features (10 classes) on the
selected backend, in chunks (on the device's own generator when the data are large and it has
one); a features-H-H-10 relu network learns them with ``softmax_cross_entropy`` and Adam.
Defaults: on a GPU backend 10,000,000 rows, batch 8192, H = 1024, 3 epochs; on a CPU backend
200,000 rows, batch 1024, H = 256, 2 epochs (under a minute on NumPy).

``--matmul-precision`` (default "highest", full float32) is arraynet's setting for float32
matrix products: "high" is TF32 on a GPU, the fast mode JAX uses by default there; the header
says what the products compute in. ``--device`` is the backend's device ("cuda" for torch on
the GPU; cupy and jax take the GPU by themselves).

Printed: rows/s over the epochs after the first (the first includes JAX's compilation and
every backend's warm-up); GFLOP/s at that rate, counting 6·Σ in·out FLOP per row and epoch
(a multiply-add is 2 FLOP; forward 2·in·out, backward 4·in·out for the input and weight
gradients; biases and activations left out); the time from the start of ``fit`` to the end of
the first epoch whose mean training loss is at most ``--target-loss`` (a callback notes the
time at each epoch end; the loss is the mean of the batch losses during the epoch); and the
peak memory (GPU: the library's own counter; CPU: the process's maximum resident set).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import arraynet as an
from arraynet import datasets, random
from arraynet.backend import computed_as, on_gpu, to_numpy

CLASSES = 10
SEPARATION = 0.5  # class centres' spread, in noise standard deviations: hard, not hopeless


def peak_memory(backend) -> tuple[int, str]:
    """``(bytes, what was measured)``: the device's peak where the library counts it, else the
    process's maximum resident set (which, on CPU, holds the data and the model)."""
    if backend.name == "cupy":
        import cupy

        # The pool keeps freed blocks, so what it holds is its high-water mark.
        return cupy.get_default_memory_pool().total_bytes(), "CuPy memory pool, bytes held"
    if backend.name == "jax":
        stats = backend.device.memory_stats() or {}  # None on CPU
        if "peak_bytes_in_use" in stats:
            return stats["peak_bytes_in_use"], "JAX device peak_bytes_in_use"
    if backend.name == "torch" and on_gpu(backend):
        import torch

        return torch.cuda.max_memory_allocated(backend.device), "torch.cuda.max_memory_allocated"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss * (1 if sys.platform == "darwin" else 1024), "process max RSS (host)"


class EpochTimer(an.callbacks.Callback):
    """Notes the time and loss at each epoch end, when the target loss is first reached, and
    the peak memory seen so far."""

    def __init__(self, backend, target_loss: float):
        self.backend, self.target_loss = backend, target_loss
        self.ends, self.losses, self.reached = [], [], None
        self.peak = (0, "")

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        # The epoch's loss has been read back by now, so the device has finished its work.
        elapsed = time.perf_counter() - self.start
        self.ends.append(elapsed)
        self.losses.append(logs["loss"])
        if self.reached is None and logs["loss"] <= self.target_loss:
            self.reached = (epoch + 1, elapsed)
        self.peak = max(self.peak, peak_memory(self.backend))
        print(f"epoch {epoch + 1}: loss {logs['loss']:.4f}, {elapsed:.1f} s", flush=True)


def build(features: int, hidden: int, seed: int = 0) -> an.Sequential:
    model = an.Sequential(
        [
            an.layers.Dense(hidden, activation="relu"),
            an.layers.Dense(hidden, activation="relu"),
            an.layers.Dense(CLASSES),
        ],
        input_dim=features,
        seed=seed,
    )
    model.compile(loss="softmax_cross_entropy", optimizer=an.optimizers.Adam(lr=1e-3))
    return model


def run(rows, epochs, batch_size, hidden, features, target_loss, device_rng="auto", seed=0):
    """Generate, train and measure on the current backend; a dict of the results."""
    backend = an.current_backend()
    drawn_on_device = device_rng is True or (
        device_rng == "auto"
        and random.has_device_rng(backend)
        and rows * features > datasets.AUTO_DEVICE_ELEMENTS
    )
    start = time.perf_counter()
    X, y = datasets.make_classification(
        rows, features, classes=CLASSES, separation=SEPARATION, seed=seed, device_rng=device_rng
    )
    to_numpy(X[-1:, :])  # waits for the device to finish
    generate_s = time.perf_counter() - start
    itemsize = 4 if backend.dtype == "float32" else 8
    print(
        f"data: {rows:,} x {features} {backend.dtype} ({rows * features * itemsize / 2**30:.2f} "
        f"GiB) drawn {'on the device' if drawn_on_device else 'on the host'} in "
        f"{generate_s:.1f} s"
    )
    model = build(features, hidden, seed)
    timer = EpochTimer(backend, target_loss)
    model.fit(X, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer], seed=seed)
    sizes = [features, hidden, hidden, CLASSES]
    flop_per_row = 6 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if len(timer.ends) > 1:
        rows_per_s = rows * (len(timer.ends) - 1) / (timer.ends[-1] - timer.ends[0])
        span = "epoch 2" if len(timer.ends) == 2 else f"epochs 2-{len(timer.ends)}"
        which = f"{span}; epoch 1, with compilation and warm-up, left out"
    else:
        rows_per_s = rows / timer.ends[0]
        which = "epoch 1 only, compilation and warm-up included"
    return {
        "generate_s": generate_s,
        "rows_per_s": rows_per_s,
        "throughput_epochs": which,
        "gflops": rows_per_s * flop_per_row / 1e9,
        "flop_per_row": flop_per_row,
        "losses": timer.losses,
        "reached": timer.reached,
        "peak_bytes": timer.peak[0],
        "peak_what": timer.peak[1],
        "fit_s": timer.ends[-1],
    }


def main(argv=None) -> dict:
    """Parse the arguments, run on the chosen backend, print and return the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="cupy, jax, torch or numpy")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rows", type=int, help="rows (default 10^7 on GPU, 200,000 on CPU)")
    parser.add_argument("--epochs", type=int, help="epochs (default 3 on GPU, 2 on CPU)")
    parser.add_argument("--batch-size", type=int, help="rows per step (8192 GPU, 1024 CPU)")
    parser.add_argument("--hidden", type=int, help="hidden width (1024 GPU, 256 CPU)")
    parser.add_argument("--features", type=int, default=256, help="features (default 256)")
    parser.add_argument("--target-loss", type=float, default=0.2, help="default 0.2")
    parser.add_argument("--device-rng", default="auto", choices=["auto", "on", "off"])
    parser.add_argument("--device", help="the backend's device, e.g. cuda for torch")
    parser.add_argument(
        "--matmul-precision", default="highest", choices=list(an.backend.MATMUL_PRECISIONS)
    )
    args = parser.parse_args(argv)
    device = int(args.device) if args.device and args.device.isdigit() else args.device
    selection = an.use(
        args.backend, dtype=args.dtype, device=device, matmul_precision=args.matmul_precision
    )
    with selection as backend:
        gpu = on_gpu(backend)
        rows = args.rows or (10_000_000 if gpu else 200_000)
        batch_size = args.batch_size or (8192 if gpu else 1024)
        hidden = args.hidden or (1024 if gpu else 256)
        epochs = args.epochs or (3 if gpu else 2)
        device_rng = {"auto": "auto", "on": True, "off": False}[args.device_rng]
        print(
            f"gpu_synthetic on {backend.name} ({args.dtype}, {backend.device or 'cpu'}): "
            f"MLP {args.features}-{hidden}-{hidden}-{CLASSES}, relu, Adam, batch {batch_size}; "
            f"matmul_precision {backend.matmul_precision!r}: float32 products in "
            f"{computed_as(backend)}"
        )
        result = run(rows, epochs, batch_size, hidden, args.features, args.target_loss, device_rng)
    print(
        f"throughput: {result['rows_per_s']:,.0f} rows/s ({result['throughput_epochs']})\n"
        f"compute: {result['gflops']:.1f} GFLOP/s "
        f"(6 * sum(in*out) = {result['flop_per_row']:,} FLOP per row, times rows/s)"
    )
    if result["reached"]:
        epoch, seconds = result["reached"]
        print(f"target loss {args.target_loss}: reached at epoch {epoch}, {seconds:.1f} s into fit")
    else:
        print(f"target loss {args.target_loss}: not reached in {epochs} epochs")
    print(f"peak memory: {result['peak_bytes'] / 2**20:,.0f} MiB ({result['peak_what']})")
    return result


if __name__ == "__main__":
    main()
