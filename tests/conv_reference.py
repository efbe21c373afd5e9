"""References for the convolution, pooling and batch-normalization tests.

Independent of ``arraynet/ops/windows.py``: the padding is Keras's rule written out again
here, the references are torch autograd in float64 (NCHW, padded explicitly, since torch has
no asymmetric "same") or NumPy closed forms. Errors are max-norm relative:
``max |got - want| / max |want|``.
"""

import math

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import Context

RTOL = 1e-10  # the acceptance bound on every backend, float64
SEEN = {}  # the worst error per check name in this process (read it after an in-process run)


def keras_padding(n: int, k: int, s: int = 1, d: int = 1, padding: str = "valid"):
    """``(out, before, after)`` along one axis, as Keras/TensorFlow: "same" gives ceil(n/s)
    outputs and puts an odd total padding's extra entry after (bottom/right)."""
    span = d * (k - 1) + 1
    if padding == "valid":
        return (n - span) // s + 1, 0, 0
    out = math.ceil(n / s)
    total = max((out - 1) * s + span - n, 0)
    return out, total // 2, total - total // 2


def rel_error(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(float(np.max(np.abs(want), initial=0.0)), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(got - want), initial=0.0)) / scale


def assert_close(name: str, got, want, rtol: float = RTOL) -> float:
    """Assert a max-norm relative error below ``rtol``; remember the worst per ``name``."""
    error = rel_error(got, want)
    SEEN[name] = max(SEEN.get(name, 0.0), error)
    assert error <= rtol, f"{name}: relative error {error:.3e} > {rtol:g}"
    return error


def through_protocol(layer, weights, X, dY, training=True, no_dX=True):
    """``(Y, dX, grads)`` of ``layer`` on the selected backend through the Layer protocol
    (host NumPy arrays); also checks that ``need_dX=False`` gives the same grads and (unless
    ``no_dX`` is False) no dX. On JAX the calls run under ``jax.jit``, as in training (one
    compile is far cheaper than compiling each operation eagerly for each new shape), and
    the ``need_dX=False`` check, the same code as on the other backends, is left out (it
    would double the compile)."""
    backend = an.current_backend()
    xp = backend.xp
    jit = backend.name == "jax"

    def run(ws, X, dY):
        ctx = Context(training=training, need_dX=True)
        Y, cache = layer.forward(xp, ws, X, ctx)
        dX, grads = layer.backward(xp, ws, cache, dY, ctx)
        if jit:
            return Y, dX, grads, None, grads
        none, again = layer.backward(xp, ws, cache, dY, ctx._replace(need_dX=False))
        return Y, dX, grads, none, again

    if jit:
        import jax

        run = jax.jit(run)
    ws = tuple(backend.asarray(w) for w in weights)
    Y, dX, grads, none, again = run(ws, backend.asarray(X), backend.asarray(dY))
    assert (none is None or not no_dX) and len(again) == len(grads)
    for g, h in zip(grads, again):
        np.testing.assert_array_equal(to_numpy(g), to_numpy(h))
    return to_numpy(Y), to_numpy(dX), [to_numpy(g) for g in grads]


def torch_autograd(fn, X, weights, dY):
    """``(Y, dX, grads)`` of ``fn(X, *weights)`` by torch autograd in float64, the delta
    ``dY`` sent back through ``(Y * dY).sum()``."""
    torch = pytest.importorskip("torch")
    leaves = [
        torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True) for a in (X, *weights)
    ]
    Y = fn(*leaves)
    (Y * torch.tensor(dY, dtype=torch.float64)).sum().backward()
    return Y.detach().numpy(), leaves[0].grad.numpy(), [w.grad.numpy() for w in leaves[1:]]


def torch_pad_2d(x, rows, cols, value=0.0):
    """NCHW ``x`` padded by ``rows`` = (top, bottom) and ``cols`` = (left, right)."""
    F = pytest.importorskip("torch").nn.functional

    if not any(rows) and not any(cols):
        return x
    return F.pad(x, (cols[0], cols[1], rows[0], rows[1]), value=value)


def torch_conv2d(shape, kernel, strides, dilation, padding, use_bias=True):
    """``fn(X, K[, b])`` on NHWC ``X`` of per-example ``shape`` and a Keras kernel
    (kh, kw, C, F), through ``torch.nn.functional.conv2d``."""
    F = pytest.importorskip("torch").nn.functional

    (h, w, _), (kh, kw), (sh, sw), (dh, dw) = shape, kernel, strides, dilation
    _, top, bottom = keras_padding(h, kh, sh, dh, padding)
    _, left, right = keras_padding(w, kw, sw, dw, padding)

    def fn(X, K, b=None):
        x = torch_pad_2d(X.permute(0, 3, 1, 2), (top, bottom), (left, right))
        y = F.conv2d(x, K.permute(3, 2, 0, 1), b, stride=(sh, sw), dilation=(dh, dw))
        return y.permute(0, 2, 3, 1)

    return fn


def torch_pool2d(kind, shape, pool, strides, padding):
    """``fn(X)`` on NHWC ``X``: "max" pads with -inf, "average" divides each window's sum by
    its real (unpadded) entries, as Keras."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    (h, w, _), (ph, pw), (sh, sw) = shape, pool, strides
    _, top, bottom = keras_padding(h, ph, sh, 1, padding)
    _, left, right = keras_padding(w, pw, sw, 1, padding)
    rows, cols = (top, bottom), (left, right)

    def fn(X):
        x = X.permute(0, 3, 1, 2)
        if kind == "max":
            y = F.max_pool2d(torch_pad_2d(x, rows, cols, -math.inf), (ph, pw), (sh, sw))
        else:
            sums = F.avg_pool2d(torch_pad_2d(x, rows, cols), (ph, pw), (sh, sw), divisor_override=1)
            ones = torch_pad_2d(torch.ones_like(x[:1, :1]), rows, cols)
            counts = F.avg_pool2d(ones, (ph, pw), (sh, sw), divisor_override=1)
            y = sums / counts
        return y.permute(0, 2, 3, 1)

    return fn
