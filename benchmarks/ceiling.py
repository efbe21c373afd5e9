"""Matmul ceilings: float32 GFLOP/s of each library's own matmul, measured in the same run.

``numpy`` (``np.matmul``) is the ceiling the targets name; ``torch``, ``jax``,
``torch-arraynet`` (the matmul arraynet's torch namespace runs: oneDNN for large float32
products on the CPU) and, on a GPU, ``cupy`` and ``torch-cuda`` are measured too, so each
implementation can also be read against the GEMM its own library reaches on this machine.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import time

import numpy as np


def _numpy(A, B):
    out = np.empty((A.shape[0], B.shape[1]), np.float32)
    return lambda: np.matmul(A, B, out=out)


def _torch(A, B, device="cpu"):
    import torch

    a, b = torch.from_numpy(A).to(device), torch.from_numpy(B).to(device)
    out = torch.empty((A.shape[0], B.shape[1]), device=device)
    if device == "cpu":
        return lambda: torch.matmul(a, b, out=out)

    def product():
        torch.matmul(a, b, out=out)
        torch.cuda.synchronize()

    return product


def _arraynet_torch(A, B):
    """The matmul arraynet's torch backend runs (oneDNN for large float32 CPU products)."""
    import torch

    import arraynet as an

    with an.use("torch") as backend:
        matmul = backend.xp.matmul
    a, b = torch.from_numpy(A), torch.from_numpy(B)
    return lambda: matmul(a, b)


def _jax(A, B):
    import jax
    import jax.numpy as jnp

    a, b, matmul = jnp.asarray(A), jnp.asarray(B), jax.jit(jnp.matmul)
    return lambda: matmul(a, b).block_until_ready()


def _cupy(A, B):
    import cupy

    a, b = cupy.asarray(A), cupy.asarray(B)
    out = cupy.empty((A.shape[0], B.shape[1]), cupy.float32)

    def product():
        cupy.matmul(a, b, out=out)
        cupy.cuda.get_current_stream().synchronize()

    return product


PRODUCTS = {
    "numpy": _numpy,
    "torch": _torch,
    "torch-arraynet": _arraynet_torch,
    "jax": _jax,
    "cupy": _cupy,
    "torch-cuda": lambda A, B: _torch(A, B, "cuda"),
}


def available(device: str = "cpu") -> list[str]:
    """The libraries whose ceiling this run can measure (GPU ones with ``device="cuda"``)."""
    found = ["numpy"]
    if importlib.util.find_spec("torch"):
        found += ["torch", "torch-arraynet"]
    if importlib.util.find_spec("jax"):
        found.append("jax")
    if device == "cuda":
        found += [name for name in ("cupy", "torch-cuda") if has_gpu(name)]
    return found


def has_gpu(name: str) -> bool:
    """Whether ``name`` ("cupy", or torch's "torch-cuda") sees a CUDA device here."""
    try:
        if name == "cupy":
            import cupy

            return cupy.cuda.runtime.getDeviceCount() > 0
        import torch

        return torch.cuda.is_available()
    except Exception:  # not installed, or no driver
        return False


def full_float32_on_gpu() -> str:
    """Make every library's GPU float32 matmuls full float32, and say what each uses: JAX
    defaults to TF32 on recent NVIDIA GPUs, torch and CuPy do not (``CUPY_TF32``, torch's
    ``allow_tf32``); comparing them needs one arithmetic."""
    parts = [f"CUPY_TF32={os.environ.get('CUPY_TF32', '0')}"]
    try:
        import torch

        parts.append(f"torch allow_tf32={torch.backends.cuda.matmul.allow_tf32}")
    except ImportError:
        pass
    try:
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
        parts.append(f"jax matmul precision={jax.config.jax_default_matmul_precision}")
    except ImportError:
        pass
    return ", ".join(parts)


def matmul_gflops(
    m: int, k: int, n: int, repeats: int = 5, min_seconds: float = 0.02, library: str = "numpy"
) -> float:
    """GFLOP/s (2·m·k·n per product) of ``(m, k) @ (k, n)`` in float32 with ``library``'s
    matmul, the median of ``repeats`` samples, each looping until it lasts ``min_seconds``."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((m, k), np.float32)
    B = rng.standard_normal((k, n), np.float32)
    product = PRODUCTS[library](A, B)
    product()  # warm up (JAX compiles here)
    start = time.perf_counter()
    product()
    once = time.perf_counter() - start
    loops = max(1, int(min_seconds / max(once, 1e-9)))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            product()
        samples.append((time.perf_counter() - start) / loops)
    return 2 * m * k * n / statistics.median(samples) / 1e9
