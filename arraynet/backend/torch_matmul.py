"""Torch's matmul: large 2-D float32 CPU products routed to oneDNN, the rest to
``torch.matmul``, in the namespace the torch backend computes with."""

from __future__ import annotations

import functools
import os
import platform
from types import ModuleType

from .matmul import torch_set_for_call
from .namespace import namespace_with

ONEDNN_MIN_PRODUCT = 1 << 20  # m*k*n above which oneDNN beats torch.matmul here (measured)
X86_64 = ("x86_64", "AMD64")


def _lean_torch(precision: str = "highest") -> ModuleType:
    """array-api-compat's torch namespace, with large 2-D float32 CPU matmuls done by oneDNN.

    torch.matmul runs MKL's GEMM on the CPU, which picks its kernels by CPU vendor and
    leaves AVX-512 unused on AMD CPUs; oneDNN (shipped inside torch) picks them by
    instruction set: 461-497 GFLOP/s against MKL's 226-234 on the AVX-512 AMD CPU the
    benchmarks ran on. Same float32 math, other rounding order. Only on x86-64, where it
    was measured. ``ARRAYNET_ONEDNN=0`` turns it off; so does a torch without a working
    oneDNN. Float32 CUDA products run at ``precision`` (see ``backend.matmul``).
    """
    import array_api_compat.torch as compat

    routed = _routed_matmul(compat.matmul, _onednn_linear(), precision)
    return namespace_with(compat, matmul=routed)


def _onednn_linear():
    """torch's oneDNN ``linear`` (``X @ W.mT``), or None when it is off, absent or wrong."""
    import torch

    off = os.environ.get("ARRAYNET_ONEDNN", "1") == "0" or platform.machine() not in X86_64
    if off or not torch.backends.mkldnn.is_available():
        return None
    linear = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
    if linear is None:
        return None
    A = torch.linspace(-1.0, 1.0, 96 * 80).reshape(96, 80)
    B = torch.linspace(1.0, -2.0, 80 * 112).reshape(80, 112)
    # the layouts the dense layers pass: X @ W, X.mT @ dZ, dZ @ W.mT
    products = [(A, B), (A.mT.contiguous().mT, B), (A, B.mT.contiguous().mT)]
    try:
        agrees = all(
            torch.allclose(linear(a, b.mT, None, "none", [], ""), a @ b, rtol=1e-5, atol=1e-4)
            for a, b in products
        )
    except (RuntimeError, TypeError, NotImplementedError):
        return None
    return linear if agrees else None


def _routed_matmul(matmul, linear, precision: str = "highest"):
    """``matmul`` (array-api-compat's, which promotes mixed dtypes) with its same-dtype
    products sent straight to torch: large 2-D float32 CPU ones to oneDNN's ``linear`` (if
    not None), the rest to ``torch.matmul`` (compat's promotion check costs 3 µs a call);
    float32 CUDA ones with torch's float32 matmul precision set to ``precision``."""
    import torch

    def routed(x1, x2, /):
        if x1.dtype != x2.dtype:
            return matmul(x1, x2)
        if (
            linear is not None
            and x1.dtype == torch.float32
            and x1.is_cpu
            and x2.is_cpu
            and x1.ndim == 2 == x2.ndim
            and x1.numel() * x2.shape[1] > ONEDNN_MIN_PRODUCT
            and not (x1.requires_grad or x2.requires_grad)
        ):
            return linear(x1, x2.mT, None, "none", [], "")
        if x1.is_cuda and x1.dtype == torch.float32:
            return torch_set_for_call(torch, precision, lambda: torch.matmul(x1, x2))
        return torch.matmul(x1, x2)

    routed.__doc__ = matmul.__doc__
    routed.onednn = linear is not None  # shown by ``arraynet info``
    return routed


@functools.cache
def torch_namespace(precision: str = "highest") -> ModuleType:
    """The torch backend's namespace at a matmul precision, made once per precision
    (``cache_clear()`` makes them again)."""
    return _lean_torch(precision)
