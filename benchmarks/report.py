"""What the run prints: the machine line, one table per shape, and the speed targets."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
from importlib import metadata

import numpy as np

NUMPY, TORCH, JAX = "numpy (hand-written)", "torch eager", "jax scan (hand-written)"
JAX_STEP = "jax jit step (hand-written)"
FLOPS_NOTE = (
    "GFLOP/s counts 2*m*k*n per matmul: forward 1 per layer, backward 2 per layer (dW, dX) "
    "but 1 for the first layer (no dX); elementwise work is not counted. %ceil: of the "
    "float32 np.matmul ceiling of the shape's largest layer at the batch size; %own: of "
    "the implementation's own library's matmul ceiling (torch.matmul for torch eager, "
    "torch-arraynet for arraynet torch: the matmul its torch namespace runs, oneDNN for "
    "large float32 products on the CPU)."
)


def library(name: str, device: str = "cpu") -> str:
    """Whose matmul an implementation runs on (a ``ceiling.PRODUCTS`` key)."""
    if name == "arraynet torch":
        return "torch-cuda" if device == "cuda" else "torch-arraynet"
    if name.startswith("arraynet "):
        return name.split()[1]
    if name == TORCH:
        return "torch-cuda" if device == "cuda" else "torch"
    return "jax" if name in (JAX, JAX_STEP) else "numpy"  # sklearn runs on NumPy


def weights_agreement(finals: dict[str, list], initial: list) -> dict[str, float]:
    """Per implementation: how far its final weights are from the reference's (hand-written
    NumPy's, else the first's), as a share of how far the reference's moved from
    ``initial``: max |W - W_ref| / max |W_ref - W0| over all arrays."""
    reference = NUMPY if NUMPY in finals else next(iter(finals))
    ref = [np.asarray(w, np.float64) for w in finals[reference]]
    moved = max(float(np.max(np.abs(r - w0))) for r, w0 in zip(ref, initial))
    return {
        name: max(float(np.max(np.abs(np.asarray(w, np.float64) - r))) for w, r in zip(ws, ref))
        / moved
        for name, ws in finals.items()
    }


def ceilings_text(ceilings: dict[str, float]) -> str:
    return ", ".join(f"{lib} {value:.3g}" for lib, value in ceilings.items())


def summarize(
    shape, results: dict, ceilings: dict, device: str = "cpu", agreement=None
) -> dict[str, dict]:
    """Per implementation: median/min/max seconds per repetition and the rates from them;
    ``ceilings`` are GFLOP/s per library, numpy's being the one the targets name;
    ``agreement`` (``weights_agreement``'s) goes in as ``weights_off``."""
    rows = {}
    for name, r in results.items():
        med, lo, hi = statistics.median(r["seconds"]), min(r["seconds"]), max(r["seconds"])
        gflops = shape.flops_per_sample * shape.samples / med / 1e9
        rows[name] = {
            "seconds": r["seconds"],
            "losses": r["losses"],
            "median_s": med,
            "samples_per_s": [shape.samples / med, shape.samples / hi, shape.samples / lo],
            "us_per_update": [
                med / shape.updates * 1e6,
                lo / shape.updates * 1e6,
                hi / shape.updates * 1e6,
            ],
            "gflops": gflops,
            "ceiling_share": gflops / ceilings["numpy"],
            "own_ceiling_share": gflops / ceilings.get(library(name, device), float("nan")),
            "final_loss": r["losses"][-1],
            "weights_off": (agreement or {}).get(name, float("nan")),
        }
    fastest = min(row["median_s"] for row in rows.values())
    for row in rows.values():
        row["x_fastest"] = row["median_s"] / fastest
    return rows


def _num(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def table(shape, rows: dict, ceilings: dict, notes=()) -> str:
    """The shape's table: µs per update first for the tiny (stochastic) shape, else
    samples/s, each as the median [min-max] of the repetitions."""
    tiny = shape.batch == 1
    head = "us/update [min-max]" if tiny else "samples/s [min-max]"
    lines = [
        shape.describe(),
        f"{'implementation':<28}{head:>32}{'us/update' if not tiny else 'samples/s':>11}"
        f"{'x fastest':>10}{'GFLOP/s':>9}{'%ceil':>7}{'%own':>7}{'final loss':>13}",
    ]
    for name, row in rows.items():
        first, other = (
            (row["us_per_update"], row["samples_per_s"][0])
            if tiny
            else (row["samples_per_s"], row["us_per_update"][0])
        )
        rate = f"{_num(first[0])} [{_num(first[1])}-{_num(first[2])}]"
        lines.append(
            f"{name:<28}{rate:>32}{_num(other):>11}{row['x_fastest']:>10.2f}"
            f"{row['gflops']:>9.3g}{_share(row['ceiling_share'], shape):>7}"
            f"{_share(row['own_ceiling_share'], shape):>7}{row['final_loss']:>13.6g}"
        )
    losses = [row["final_loss"] for row in rows.values()]
    spread = (max(losses) - min(losses)) / max(abs(min(losses)), 1e-6)
    off = max(row["weights_off"] for row in rows.values())
    m, k, n = shape.largest
    lines.append(
        f"matmul ceilings ({m}x{k} @ {k}x{n}, float32, GFLOP/s): {ceilings_text(ceilings)}; "
        f"final losses agree to {spread:.1e} (relative; absolute below 1e-6), final weights "
        f"to {off:.1e} of how far they moved; {load()}"
    )
    if not _ceiling_meaningful(shape):
        notes = [*notes, f"no %ceil or %own: a {m}x{k} @ {k}x{n} product times a call, not a GEMM"]
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def _ceiling_meaningful(shape) -> bool:
    """A product under 2**16 multiply-adds takes less time than calling it."""
    m, k, n = shape.largest
    return m * k * n >= 1 << 16


def _share(value: float, shape) -> str:
    return f"{100 * value:.1f}" if _ceiling_meaningful(shape) else "-"


def _check(label: str, value: float, bound: float, unit: str = "x", at_most=False) -> dict:
    holds = value <= bound if at_most else value >= bound
    text = f"{label}: {value:.3g}{unit} (target {'<=' if at_most else '>='} {bound:g}{unit}) -> "
    return {
        "target": label,
        "value": value,
        "bound": bound,
        "holds": holds,
        "text": text + ("holds" if holds else "does not hold"),
    }


def targets(summaries: dict[str, dict], device: str = "cpu") -> list[dict]:
    """The speed targets as facts of this run; a target whose rows are missing is skipped.
    With ``device="cuda"`` the GPU targets follow: on (d) and (e), arraynet cupy and jax at
    >= 70 % of their own library's GEMM ceiling and >= torch eager's (CUDA) throughput."""
    out = []

    def rate(key, name):
        return summaries[key][name]["samples_per_s"][0]

    def have(key, *names):
        return key in summaries and all(name in summaries[key] for name in names)

    if have("a", "arraynet numpy", NUMPY):
        a = summaries["a"]
        ratio = a["arraynet numpy"]["us_per_update"][0] / a[NUMPY]["us_per_update"][0]
        out.append(_check(f"(a) arraynet numpy us/update / {NUMPY}'s", ratio, 1.3, at_most=True))
    if have("a", "arraynet jax", NUMPY):
        out.append(
            _check(
                "(a) arraynet jax speed-up over hand-written NumPy",
                rate("a", "arraynet jax") / rate("a", NUMPY),
                10,
            )
        )
    pairs = [("arraynet numpy", NUMPY, 0.8), ("arraynet jax", JAX, 0.9)]
    for name, peer, bound in pairs:
        if have("b", name, peer):
            out.append(
                _check(f"(b) {name} / {peer} throughput", rate("b", name) / rate("b", peer), bound)
            )
        if have("b", name, TORCH):
            out.append(
                _check(f"(b) {name} / {TORCH} throughput", rate("b", name) / rate("b", TORCH), 3)
            )
    for key in ("c", "d"):
        for backend in ("numpy", "jax", "torch"):
            name = f"arraynet {backend}"
            if have(key, name, NUMPY):
                out.append(
                    _check(
                        f"({key}) {name} / {NUMPY} throughput",
                        rate(key, name) / rate(key, NUMPY),
                        0.9,
                    )
                )
            if have(key, name):
                share = 100 * summaries[key][name]["ceiling_share"]
                out.append(_check(f"({key}) {name} share of the matmul ceiling", share, 80, "%"))
            if have(key, name) and backend != "numpy":  # beside the target: its own GEMM's
                own = 100 * summaries[key][name]["own_ceiling_share"]
                label = f"({key}) {name} share of {backend}'s own matmul ceiling (not a target)"
                out.append(_check(label, own, 80, "%"))
    out += _cnn_targets(have, rate) + _lstm_targets(have, rate)
    return out + (_gpu_targets(summaries, have, rate) if device == "cuda" else [])


def _cnn_targets(have, rate) -> list[dict]:
    """(f), the CNN: arraynet numpy within 2x of torch eager, arraynet jax at or above it;
    beside them, each against the hand-written JAX step and epoch (not targets)."""
    out = []
    for backend, bound in (("numpy", 0.5), ("jax", 1.0)):
        name = f"arraynet {backend}"
        if have("f", name, TORCH):
            ratio = rate("f", name) / rate("f", TORCH)
            out.append(_check(f"(f) {name} / {TORCH} throughput", ratio, bound))
        for peer in (JAX_STEP, JAX):
            if have("f", name, peer):
                ratio = rate("f", name) / rate("f", peer)
                out.append(_check(f"(f) {name} / {peer} throughput (not a target)", ratio, 1.0))
    return out


def _lstm_targets(have, rate) -> list[dict]:
    """(g), the LSTM: arraynet jax within 1.2x of torch eager's time (its throughput at least
    1/1.2 of torch's), arraynet numpy within 3x; beside them, against the hand-written JAX
    epoch (not a target)."""
    out = []
    for backend, bound in (("jax", 1 / 1.2), ("numpy", 1 / 3)):
        name = f"arraynet {backend}"
        if have("g", name, TORCH):
            ratio = rate("g", name) / rate("g", TORCH)
            out.append(_check(f"(g) {name} / {TORCH} throughput", ratio, round(bound, 3)))
        if have("g", name, JAX):
            ratio = rate("g", name) / rate("g", JAX)
            out.append(_check(f"(g) {name} / {JAX} throughput (not a target)", ratio, 1.0))
    return out


def _gpu_targets(summaries, have, rate) -> list[dict]:
    out = []
    for key in ("d", "e"):
        for backend in ("cupy", "jax"):
            name = f"arraynet {backend}"
            if have(key, name):
                own = 100 * summaries[key][name]["own_ceiling_share"]
                out.append(_check(f"({key}) GPU {name} share of its GEMM ceiling", own, 70, "%"))
            if have(key, name, TORCH):
                ratio = rate(key, name) / rate(key, TORCH)
                out.append(_check(f"({key}) GPU {name} / {TORCH} (CUDA) throughput", ratio, 1))
    return out


def environment() -> str:
    """Library versions, thread counts and the machine, on one line."""
    import sys

    versions = [f"python {sys.version.split()[0]}"]
    for package in ("arraynet", "numpy", "jax", "jaxlib", "torch", "scikit-learn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{package} {metadata.version(package)}")
    threads, pools = [], []
    try:
        from threadpoolctl import threadpool_info

        pools = threadpool_info()
        seen = {(p["internal_api"], p["num_threads"], p.get("architecture")) for p in pools}
        threads += [
            f"{api} {n}" + (f" ({arch} kernels)" if arch else "")
            for api, n, arch in sorted(seen, key=str)
        ]
    except ImportError:
        pass
    try:
        import torch

        threads.append(f"torch {torch.get_num_threads()}")
    except ImportError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads.append(f"cpu_count {os.cpu_count()}, usable {cores}")
    with contextlib.suppress(ImportError):
        import jax

        threads.append(f"jax on {jax.default_backend()}")  # a CUDA jax runs there by itself
    hint = openblas_hint(pools, _cpu_flags())
    return (
        f"versions: {', '.join(versions)} ({_tree()})\nthreads: {', '.join(threads)}\n"
        f"machine: {_cpu_model()} ({platform.machine()}, {platform.system()}), nproc {cores}"
        + (f"\nnote: {hint}" if hint else "")
    )


AVX2_KERNELS = {"Haswell", "Zen"}  # OpenBLAS's kernel sets that stop short of AVX-512


def openblas_hint(pools: list[dict], cpu_flags: set[str]) -> str | None:
    """A note when OpenBLAS runs AVX2 kernels on a CPU that has AVX-512 (it does not know
    every new CPU), else None. ``pools``: threadpoolctl's ``threadpool_info()``."""
    if "avx512f" not in cpu_flags:
        return None
    for pool in pools:
        if pool.get("internal_api") == "openblas" and pool.get("architecture") in AVX2_KERNELS:
            return (
                f"OpenBLAS runs its {pool['architecture']} (AVX2) kernels on a CPU with "
                "AVX-512; OPENBLAS_CORETYPE=SkylakeX, set before NumPy is imported, may run "
                "np.matmul faster (README, Performance)"
            )
    return None


def _cpuinfo(field: str) -> str | None:
    """The value of ``field``'s first line in /proc/cpuinfo, or None (no such line or file)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_flags() -> set[str]:
    return set((_cpuinfo("flags") or "").split())


def _cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or "unknown CPU"


def load() -> str:
    """The 1, 5 and 15 minute load averages: other work on a shared machine shows here."""
    try:
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average: unknown"


def _tree() -> str:
    """The arraynet working tree timed: its commit, and whether arraynet/ has changes on top."""
    import subprocess
    from pathlib import Path

    def git(*args):
        command = ["git", "-C", str(Path(__file__).parents[1]), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "arraynet")
    except (OSError, subprocess.SubprocessError):
        return "arraynet tree unknown"
    return f"arraynet tree {head or 'unknown'}{' + uncommitted changes' if dirty else ''}"
