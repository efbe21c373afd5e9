"""The precision of float32 matrix products: one setting, ``use(..., matmul_precision=)``,
with torch's names and meanings, applied by each library's own means.

- "highest" (the default everywhere): full float32 products, so float32 results agree
  across backends and with NumPy (agreement first).
- "high": TensorFloat-32 on NVIDIA GPUs (inputs rounded to 10 mantissa bits, float32 sums).
- "medium": bfloat16 passes where the library has them for float32 products, else as "high".

Each backend's ``xp.matmul`` carries the setting: JAX passes ``precision=`` to every product
it traces (HIGHEST, HIGH, DEFAULT), so compiled programs hold it; CuPy (cuBLAS compute type
32F or 32F_FAST_TF32) and torch (``torch.set_float32_matmul_precision``) have a process-wide
switch, which the product sets for its call and puts back. On the CPU every library computes
float32 products in full float32: NumPy, array-api-strict, torch and JAX there accept the
setting and ignore it, as torch does on the CPU.
"""

from __future__ import annotations

import functools
from types import ModuleType

from .namespace import namespace_with

MATMUL_PRECISIONS = ("highest", "high", "medium")
_CUPY_COMPUTE_TYPE = {"highest": "DEFAULT", "high": "TF32", "medium": "TF32"}  # no bf16 mode
_CUPY_COMPUTE_CODES = {"DEFAULT": 1, "TF32": 7}  # CuPy's COMPUTE_TYPE_* values, if not exported


def check_matmul_precision(value) -> str:
    """``value`` if it is one of :data:`MATMUL_PRECISIONS`, else a ValueError naming it."""
    if not isinstance(value, str) or value not in MATMUL_PRECISIONS:
        raise ValueError(
            f"matmul_precision: expected one of {', '.join(map(repr, MATMUL_PRECISIONS))}; "
            f"got {value!r}"
        )
    return value


def on_gpu(backend) -> bool:
    """Whether ``backend`` computes on a GPU (where the setting changes the products)."""
    if backend.name == "cupy":
        return True
    device = backend.device
    if backend.name == "jax":
        return getattr(device, "platform", "cpu") in ("gpu", "cuda", "rocm")
    return backend.name == "torch" and getattr(device, "type", "cpu") == "cuda"


def computed_as(backend) -> str:
    """What ``backend``'s float32 products compute in, in words (``arraynet info``, the
    benchmark header and the GPU example print it)."""
    precision = backend.matmul_precision
    if not on_gpu(backend):
        return "full float32 (on the CPU the setting is accepted and ignored)"
    return {
        "highest": "full float32",
        "high": "TF32",
        "medium": {
            "jax": "TF32 (XLA's default precision on the GPU)",
            "cupy": "TF32 (CuPy has no bfloat16 mode for float32 products)",
            "torch": "bfloat16 where torch has a fast kernel, else TF32",
        }.get(backend.name, "TF32"),
    }[precision]


@functools.cache
def jax_namespace(precision: str) -> ModuleType:
    """``jax.numpy`` with ``matmul`` passing ``precision=`` (HIGHEST, HIGH or DEFAULT): the
    products traced into every compiled program carry it, whatever JAX's default."""
    import jax
    import jax.numpy as jnp

    level = {"highest": "HIGHEST", "high": "HIGH", "medium": "DEFAULT"}[precision]
    matmul = functools.partial(jnp.matmul, precision=getattr(jax.lax.Precision, level))
    return namespace_with(jnp, matmul=matmul)


@functools.cache
def cupy_namespace(precision: str) -> ModuleType:
    """array-api-compat's CuPy namespace with ``matmul`` computing float32 products in the
    cuBLAS compute type of ``precision``, set for the call and put back."""
    import array_api_compat.cupy as compat
    import numpy as np
    from cupy._core import _routines_linalg as linalg

    wanted = cupy_compute_code(linalg, _CUPY_COMPUTE_TYPE[precision])
    return namespace_with(compat, matmul=switched_matmul(compat.matmul, linalg, wanted, np))


def cupy_compute_code(linalg, name: str) -> int:
    """CuPy's code for compute type ``name`` ("DEFAULT", "TF32"): its constant where the
    module exports it, else the code its ``compute_type_to_str`` names so, else the value
    CuPy's source gives it."""
    code = getattr(linalg, f"COMPUTE_TYPE_{name}", None)
    if code is not None:
        return int(code)
    to_str = getattr(linalg, "compute_type_to_str", None)
    if to_str is not None:
        for code in range(16):
            if to_str(code) == f"COMPUTE_TYPE_{name}":
                return code
    return _CUPY_COMPUTE_CODES[name]


def switched_matmul(matmul, linalg, wanted, np):
    """``matmul`` run with CuPy's float32 compute type ``wanted`` (a process-wide switch)."""
    float32 = np.dtype(np.float32)

    def precise(x1, x2, /):
        if x1.dtype != float32 and x2.dtype != float32:
            return matmul(x1, x2)
        previous = linalg.get_compute_type(float32)
        if previous == wanted:
            return matmul(x1, x2)
        linalg.set_compute_type(float32, wanted)
        try:
            return matmul(x1, x2)
        finally:
            linalg.set_compute_type(float32, previous)

    precise.__doc__ = matmul.__doc__
    return precise


def torch_set_for_call(torch, precision: str, product):
    """``product()`` run with torch's float32 matmul precision ``precision`` (process-wide in
    torch: set for the call and put back)."""
    previous = torch.get_float32_matmul_precision()
    if previous == precision:
        return product()
    torch.set_float32_matmul_precision(precision)
    try:
        return product()
    finally:
        torch.set_float32_matmul_precision(previous)
