"""The NumPy namespace's faster ``sum``, ``mean`` and ``astype`` give NumPy's results, bit
for bit, and the same errors and dtypes."""

import warnings

import numpy as np
import pytest

from arraynet.backend.namespace import lean_numpy

xp = lean_numpy()
SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4), (4, 1, 6), (0, 3)]


def _arrays():
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        for dtype in (np.float16, np.float32, np.float64, np.int32, np.bool_):
            yield (rng.standard_normal(shape) * 1e3).astype(dtype)


def _axes(ndim):
    yield None
    yield from range(-ndim, ndim)
    if ndim >= 2:
        yield (0, ndim - 1)
        yield tuple(range(ndim))


@pytest.mark.parametrize("x", list(_arrays()), ids=lambda x: f"{x.dtype}{x.shape}")
def test_mean_is_numpys(x):
    for axis in _axes(x.ndim):
        for keepdims in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the empty means
                want = np.mean(x, axis=axis, keepdims=keepdims)
                got = xp.mean(x, axis=axis, keepdims=keepdims)
            assert type(got) is type(want) and got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_mean_of_a_long_float32_sum_is_numpys():
    x = np.random.default_rng(1).random(1_000_003, dtype=np.float32)  # pairwise summation
    assert xp.mean(x) == np.mean(x) and xp.mean(x).dtype == np.float32


@pytest.mark.parametrize("x", list(_arrays()), ids=lambda x: f"{x.dtype}{x.shape}")
def test_astype_is_numpys(x):
    for dtype in (np.float32, np.float64, np.int64, np.bool_):
        for copy in (True, False):
            got, want = xp.astype(x, dtype, copy=copy), np.astype(x, dtype, copy=copy)
            assert got.dtype == want.dtype and (got is x) == (want is x)
            np.testing.assert_array_equal(got, want)


def test_astype_refuses_a_device_numpy_refuses():
    with pytest.raises(ValueError):
        np.astype(np.zeros(2), np.float32, device="cuda")
    with pytest.raises(ValueError):
        xp.astype(np.zeros(2), np.float32, device="cuda")
