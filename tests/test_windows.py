"""The two formulations of ``ops.windows`` (gathers, strided slices), each on every backend.

Only one of them runs where a layer runs (slices under ``jax.jit``, gathers op by op), so
the layer tests see each on some backends; here both run everywhere, in float64, against a
window extraction written out as loops over NumPy (Keras's padding rule from
``conv_reference``), and each adjoint against its forward by the inner-product identity
``<windows(X), G> == <X, adjoint(G)>``.
"""

import itertools

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.ops import windows as W
from tests.conv_reference import keras_padding

# (H, W, kh, kw, stride, dilation, padding): odd and even sizes, windows that overlap,
# tile, skip entries, or (with "same") lie partly or wholly in the padding
CASES = [
    (7, 6, 3, 3, 1, 1, "valid"),
    (7, 6, 3, 2, 1, 1, "same"),
    (8, 9, 2, 2, 2, 1, "valid"),
    (9, 8, 3, 3, 2, 1, "same"),
    (10, 7, 2, 3, 3, 1, "same"),
    (6, 6, 5, 5, 1, 1, "same"),
    (9, 9, 3, 2, 1, 2, "valid"),
    (8, 7, 3, 3, 1, 3, "same"),
    (5, 4, 1, 1, 2, 1, "valid"),
    (3, 2, 5, 4, 1, 1, "same"),
]


def reference_windows(X, kh, kw, s, d, padding, value=0.0):
    """``(N, Ho, Wo, kh, kw, C)``: every window entry, read by loops."""
    n, h, w, c = X.shape
    (ho, top, _), (wo, left, _) = (
        keras_padding(h, kh, s, d, padding),
        keras_padding(w, kw, s, d, padding),
    )
    out = np.full((n, ho, wo, kh, kw, c), value, dtype=np.float64)
    for a, b, i, j in itertools.product(range(ho), range(wo), range(kh), range(kw)):
        r, q = a * s + i * d - top, b * s + j * d - left
        if 0 <= r < h and 0 <= q < w:
            out[:, a, b, i, j, :] = X[:, r, q, :]
    return out


def assert_same_product(windows, G, X, back):
    """``<windows, G> == <X, back>`` to 1e-12 of the terms' sizes (the sums may cancel)."""
    scale = np.sum(np.abs(windows * G))
    assert abs(np.sum(windows * G) - np.sum(X * back)) <= 1e-12 * scale


def _plan(h, w, kh, kw, s, d, padding):
    return W.axis_windows(h, kh, s, d, padding), W.axis_windows(w, kw, s, d, padding)


def _selected(backend, case, salt):
    """``(backend, rng, X, plan)`` for ``case`` on ``backend`` in float64; the draws depend
    on the case's place in ``CASES`` (not on ``hash``, which varies between processes)."""
    an.use(backend, dtype="float64")
    rng = np.random.default_rng([CASES.index(case), salt])
    return an.current_backend(), rng, rng.standard_normal((2, *case[:2], 3)), _plan(*case)


@pytest.mark.parametrize("fused", [False, True], ids=["gathers", "slices"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_convolution_windows_and_their_adjoint(backend, case, fused):
    _, _, kh, kw, s, d, padding = case
    be, rng, X, (rows, cols) = _selected(backend, case, salt=0)
    got = W.conv_windows(be.xp, be.asarray(X), rows, cols, fused=fused)
    want = reference_windows(X, kh, kw, s, d, padding).reshape(got.shape)
    np.testing.assert_allclose(to_numpy(got), want, rtol=0, atol=0)
    G = rng.standard_normal(want.shape)
    back = to_numpy(W.conv_windows_adjoint(be.xp, be.asarray(G), 2, rows, cols, fused=fused))
    assert back.shape == X.shape
    assert_same_product(want, G, X, back)


@pytest.mark.parametrize("fused", [False, True], ids=["gathers", "slices"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_convolution_input_delta_is_the_windows_adjoint_of_the_product(backend, case, fused):
    """``conv_input_delta(dZ, K)`` (op by op, the zero slot rides in the product when the
    windows are ragged) is ``<windows(X) @ K, dZ> == <X, delta>``; by loops in NumPy."""
    _, _, kh, kw, s, d, padding = case
    be, rng, X, (rows, cols) = _selected(backend, case, salt=2)
    windows = reference_windows(X, kh, kw, s, d, padding).reshape(-1, kh * kw * X.shape[3])
    K, dZ = rng.standard_normal((windows.shape[1], 4)), rng.standard_normal((windows.shape[0], 4))
    delta = W.conv_input_delta(be.xp, be.asarray(dZ), be.asarray(K), 2, rows, cols, fused=fused)
    back = to_numpy(delta)
    assert back.shape == X.shape
    assert_same_product(windows @ K, dZ, X, back)


@pytest.mark.parametrize("fused", [False, True], ids=["gathers", "slices"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_pooling_entries_and_their_adjoint(backend, case, fused):
    _, _, kh, kw, s, d, padding = case
    be, rng, X, (rows, cols) = _selected(backend, case, salt=1)
    taps = W.tap_slices(be.xp, be.asarray(X), rows, cols, value=-7.0)
    want = reference_windows(X, kh, kw, s, d, padding, value=-7.0)
    for t, entry in enumerate(taps):
        np.testing.assert_array_equal(to_numpy(entry), want[:, :, :, t // kw, t % kw, :])
    linear = W.stack_taps(be.xp, W.tap_slices(be.xp, be.asarray(X), rows, cols), rows, cols)
    G = rng.standard_normal(tuple(linear.shape))
    back = to_numpy(W.stacked_taps_adjoint(be.xp, be.asarray(G), rows, cols, fused=fused))
    assert back.shape == X.shape
    assert_same_product(to_numpy(linear), G, X, back)


def test_both_formulations_agree_under_jax_jit():
    """Under ``jax.jit`` the slices run by default, eagerly the gathers: the same numbers."""
    jax = pytest.importorskip("jax")
    an.use("jax", dtype="float64")
    be = an.current_backend()
    rows, cols = _plan(9, 8, 3, 3, 2, 1, "same")
    X = be.asarray(np.random.default_rng(0).standard_normal((2, 9, 8, 3)))
    eager = to_numpy(W.conv_windows(be.xp, X, rows, cols))
    traced = to_numpy(jax.jit(lambda X: W.conv_windows(be.xp, X, rows, cols))(X))
    np.testing.assert_array_equal(eager, traced)
