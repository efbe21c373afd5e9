"""Max, average and global pooling (1-D and 2-D) on every backend in float64.

Forward and input gradients against torch autograd (``max_pool2d``/``avg_pool2d``, padded
explicitly: -inf for max, and "same" average as a sum over the padded window divided by its
real pixels, since torch has no asymmetric "same") and, forward, against a by-hand NumPy
loop over each window's real pixels; pool sizes {1, 2, 3}, strides {pool, 1, 2, 3}
(overlapping windows among them), both paddings, odd and even sides; the -inf pad and the
real-pixel average on inputs chosen to expose them; ties; central differences; configs.
"""

import math

import conv_reference
import numpy as np
import pytest
from conv_reference import (
    assert_close,
    keras_padding,
    torch_autograd,
    torch_pool2d,
)

import arraynet as an
from arraynet.layers import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
    from_config,
)

through_protocol = conv_reference.through_protocol
POOLS = {"max": MaxPooling2D, "average": AveragePooling2D}
POOLS_1D = {"max": MaxPooling1D, "average": AveragePooling1D}
SIZE = (7, 6, 2)  # an odd and an even side


def by_hand(X, kind, pool, strides, padding):
    """Keras's pooling, one window at a time over its real (unpadded) pixels: the max, or
    the mean of those pixels only. NHWC NumPy."""
    n, h, w, c = X.shape
    (ho, top, _), (wo, left, _) = (
        keras_padding(size, p, s, 1, padding) for size, p, s in zip((h, w), pool, strides)
    )
    Y = np.empty((n, ho, wo, c))
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * strides[0] - top, j * strides[1] - left
            window = X[:, max(r0, 0) : r0 + pool[0], max(c0, 0) : c0 + pool[1], :]
            Y[:, i, j, :] = window.max(axis=(1, 2)) if kind == "max" else window.mean(axis=(1, 2))
    return Y


GRID = [
    (kind, p, s, padding)
    for kind in POOLS
    for p in (1, 2, 3)
    for s in (None, 1, 2, 3)
    for padding in ("valid", "same")
    if not (p == 1 and s == 1)  # the same as strides=None
]


def _case(layer, shape, seed, rows=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, *shape))
    return X, rng.normal(size=(rows, *layer.output_shape(shape)))


@pytest.mark.parametrize(("kind", "p", "s", "padding"), GRID, ids=str)
def test_pool2d_matches_torch_and_by_hand(backend, kind, p, s, padding):
    layer = POOLS[kind](p, strides=s, padding=padding)
    strides = (s or p, s or p)
    out = [keras_padding(n, p, strides[0], 1, padding)[0] for n in SIZE[:2]]
    assert layer.output_shape(SIZE) == (*out, SIZE[2])
    X, dY = _case(layer, SIZE, GRID.index((kind, p, s, padding)))
    with an.use(backend, dtype="float64"):
        Y, dX, grads = through_protocol(layer, (), X, dY)
    tY, tdX, _ = torch_autograd(torch_pool2d(kind, SIZE, (p, p), strides, padding), X, (), dY)
    assert grads == []
    assert_close(f"{kind} pool forward", Y, tY)
    assert_close(f"{kind} pool dX", dX, tdX)
    assert_close(f"{kind} pool by hand", Y, by_hand(X, kind, (p, p), strides, padding))


MIXED = [  # (kind, pool_size, strides, padding, shape)
    ("max", (2, 3), (1, 2), "same", (8, 7, 3)),
    ("average", (2, 3), (1, 2), "same", (8, 7, 3)),
    ("max", (3, 1), (2, 1), "valid", (9, 4, 1)),
    ("average", (3, 2), (3, 1), "same", (5, 5, 2)),
    ("max", 3, 2, "same", (2, 2, 2)),  # windows larger than the image
    ("average", 3, 2, "same", (2, 1, 2)),
]


@pytest.mark.parametrize(("kind", "pool", "strides", "padding", "shape"), MIXED, ids=str)
def test_rectangular_pools_match_torch_and_by_hand(backend, kind, pool, strides, padding, shape):
    layer = POOLS[kind](pool, strides=strides, padding=padding)
    pool2, strides2 = (pool, pool) if isinstance(pool, int) else pool, strides
    strides2 = (strides, strides) if isinstance(strides, int) else strides
    X, dY = _case(layer, shape, MIXED.index((kind, pool, strides, padding, shape)))
    with an.use(backend, dtype="float64"):
        Y, dX, _ = through_protocol(layer, (), X, dY)
    tY, tdX, _ = torch_autograd(torch_pool2d(kind, shape, pool2, strides2, padding), X, (), dY)
    assert_close(f"{kind} pool forward", Y, tY)
    assert_close(f"{kind} pool dX", dX, tdX)
    assert_close(f"{kind} pool by hand", Y, by_hand(X, kind, pool2, strides2, padding))


def test_same_max_pooling_pads_with_minus_infinity(backend):
    """All pixels negative: a zero pad would win every border window; -inf never does."""
    X = -1.0 - np.arange(2 * 5 * 5 * 1, dtype=np.float64).reshape(2, 5, 5, 1)
    with an.use(backend, dtype="float64"):
        Y, dX, _ = through_protocol(MaxPooling2D(2, padding="same"), (), X, np.ones((2, 3, 3, 1)))
    assert (Y < 0).all()
    np.testing.assert_array_equal(Y, by_hand(X, "max", (2, 2), (2, 2), "same"))
    assert dX.sum() == 2 * 9  # every window's delta reached a real pixel


def test_same_average_pooling_divides_by_the_real_pixels(backend):
    """Ones stay ones (a division by the whole window would darken the border), and a 3x3
    image pooled 2x2 "same" averages [[1, 2], [4, 5]], [3, 6], [7, 8] and [9]: the extra
    row and column are after (bottom, right)."""
    X = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    with an.use(backend, dtype="float64"):
        Y, dX, _ = through_protocol(
            AveragePooling2D(2, padding="same"), (), X, np.ones((1, 2, 2, 1))
        )
        ones, _, _ = through_protocol(
            AveragePooling2D(3, strides=2, padding="same"),
            (),
            np.ones((2, 6, 5, 3)),
            np.ones((2, 3, 3, 3)),
        )
    np.testing.assert_array_equal(Y[0, :, :, 0], [[3.0, 4.5], [7.5, 9.0]])
    np.testing.assert_array_equal(
        dX[0, :, :, 0], [[0.25, 0.25, 0.5], [0.25, 0.25, 0.5], [0.5, 0.5, 1.0]]
    )
    np.testing.assert_array_equal(ones, np.ones((2, 3, 3, 3)))


@pytest.mark.parametrize("strides", [2, 1], ids=["apart", "overlapping"])
def test_max_pooling_gives_a_tied_window_delta_to_its_first_entry(backend, strides):
    """A constant image: each window's delta goes to its first pixel in row-major order (as
    torch and TensorFlow), and overlapping windows add up there."""
    X = np.ones((1, 4, 4, 1))
    out = 2 if strides == 2 else 3
    dY = np.arange(1.0, 1 + out * out).reshape(1, out, out, 1)
    with an.use(backend, dtype="float64"):
        _, dX, _ = through_protocol(MaxPooling2D(2, strides=strides), (), X, dY)
    expected = np.zeros((4, 4))
    for i in range(dY.shape[1]):
        for j in range(dY.shape[2]):
            expected[i * strides, j * strides] += dY[0, i, j, 0]
    np.testing.assert_array_equal(dX[0, :, :, 0], expected)


# -- 1-D and global pooling ---------------------------------------------------------------------

GRID_1D = [
    (kind, p, s, padding, 9 + (p + (s or p)) % 2)  # odd and even lengths in turn
    for kind in POOLS_1D
    for p in (1, 2, 3)
    for s in (None, 1, 2)
    for padding in ("valid", "same")
    if not (p == 1 and s == 1)
]


@pytest.mark.parametrize(("kind", "p", "s", "padding", "n"), GRID_1D, ids=str)
def test_pool1d_matches_torch(backend, kind, p, s, padding, n):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    layer = POOLS_1D[kind](p, strides=s, padding=padding)
    stride = s or p
    out, before, after = keras_padding(n, p, stride, 1, padding)
    assert layer.output_shape((n, 3)) == (out, 3)
    X, dY = _case(layer, (n, 3), GRID_1D.index((kind, p, s, padding, n)))

    def fn(X):
        x = X.permute(0, 2, 1)
        if kind == "max":
            y = F.max_pool1d(F.pad(x, (before, after), value=-math.inf), p, stride)
        else:
            sums = F.avg_pool1d(F.pad(x, (before, after)), p, stride) * p
            counts = F.avg_pool1d(F.pad(torch.ones_like(x[:1, :1]), (before, after)), p, stride) * p
            y = sums / counts
        return y.permute(0, 2, 1)

    with an.use(backend, dtype="float64"):
        Y, dX, _ = through_protocol(layer, (), X, dY)
    tY, tdX, _ = torch_autograd(fn, X, (), dY)
    assert_close(f"{kind} pool1d forward", Y, tY)
    assert_close(f"{kind} pool1d dX", dX, tdX)


@pytest.mark.parametrize("kind", ["average", "max"])
@pytest.mark.parametrize("shape", [(5, 4, 3), (1, 1, 2), (3, 6, 1)], ids=str)
def test_global_pooling_matches_torch(backend, kind, shape):
    layer = GlobalAveragePooling2D() if kind == "average" else GlobalMaxPooling2D()
    assert layer.output_shape(shape) == (shape[2],)
    X, dY = _case(layer, shape, 0, rows=3)

    def fn(X):
        return X.mean(dim=(1, 2)) if kind == "average" else X.amax(dim=(1, 2))

    with an.use(backend, dtype="float64"):
        Y, dX, grads = through_protocol(layer, (), X, dY)
    tY, tdX, _ = torch_autograd(fn, X, (), dY)
    assert grads == []
    assert_close(f"global {kind} forward", Y, tY)
    assert_close(f"global {kind} dX", dX, tdX)


@pytest.mark.parametrize("kind", ["average", "max"])
@pytest.mark.parametrize("shape", [(5, 3), (1, 2), (6, 1)], ids=str)
def test_global_pooling_over_steps_matches_torch(backend, kind, shape):
    layer = GlobalAveragePooling1D() if kind == "average" else GlobalMaxPooling1D()
    assert layer.output_shape(shape) == (shape[1],)
    X, dY = _case(layer, shape, 1, rows=3)

    def fn(X):
        return X.mean(dim=1) if kind == "average" else X.amax(dim=1)

    with an.use(backend, dtype="float64"):
        Y, dX, grads = through_protocol(layer, (), X, dY)
    tY, tdX, _ = torch_autograd(fn, X, (), dY)
    assert grads == [] and dX.shape == X.shape
    assert_close(f"global {kind} 1d forward", Y, tY)
    assert_close(f"global {kind} 1d dX", dX, tdX)
    with pytest.raises(ValueError, match="expected inputs of shape \\(rows, steps, channels\\)"):
        layer.output_shape((4, 4, 2))


def test_global_max_pooling_gives_a_tie_to_the_first_pixel(backend):
    X = np.ones((1, 2, 3, 2))
    with an.use(backend, dtype="float64"):
        _, dX, _ = through_protocol(GlobalMaxPooling2D(), (), X, np.array([[2.0, 3.0]]))
    expected = np.zeros((1, 2, 3, 2))
    expected[0, 0, 0] = [2.0, 3.0]
    np.testing.assert_array_equal(dX, expected)


@pytest.mark.parametrize(
    "layer", [MaxPooling2D(), AveragePooling1D(), GlobalMaxPooling2D()], ids=repr
)
def test_pooling_gives_no_dX_when_none_is_needed(layer):
    shape = (4, 2) if isinstance(layer, AveragePooling1D) else (4, 4, 2)
    X, dY = _case(layer, shape, 0)
    conv_reference.through_protocol(layer, (), X, dY)


# -- central differences, configs, refusals -------------------------------------------------------

GRADCHECK = [
    MaxPooling2D(2, padding="same"),
    MaxPooling2D(3, strides=2),
    AveragePooling2D(2, strides=1, padding="same"),
    AveragePooling2D((2, 3), strides=(2, 1)),
    MaxPooling1D(3, strides=2, padding="same"),
    AveragePooling1D(2, strides=1, padding="same"),
    GlobalAveragePooling2D(),
    GlobalMaxPooling2D(),
    GlobalAveragePooling1D(),
    GlobalMaxPooling1D(),
]


@pytest.mark.parametrize("layer", GRADCHECK, ids=repr)
def test_gradcheck_passes_on_pooling_layers(backend, layer):
    one_d = (MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D)
    shape = (5, 2) if isinstance(layer, one_d) else (4, 3, 2)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, *shape))
    y = rng.normal(size=(2, *layer.output_shape(shape)))
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(layer, X, y)
    assert report.passed, str(report)


@pytest.mark.parametrize(
    "layer",
    [
        MaxPooling2D(),
        MaxPooling2D((2, 3), strides=1, padding="same"),
        AveragePooling2D(3, strides=(1, 2)),
        MaxPooling1D(3, padding="same"),
        AveragePooling1D(2, strides=1),
        GlobalAveragePooling2D(),
        GlobalMaxPooling2D(),
    ],
    ids=repr,
)
def test_config_round_trip(layer):
    again = from_config(layer.get_config())
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    assert repr(again) == repr(layer)
    shape = (9, 4) if isinstance(layer, (MaxPooling1D, AveragePooling1D)) else (9, 8, 4)
    assert again.output_shape(shape) == layer.output_shape(shape)
    assert again.params(shape) == [] and again.states(shape) == []


def test_keras_defaults():
    layer = MaxPooling2D()
    assert layer.pool_size == (2, 2) and layer.strides == (2, 2) and layer.padding == "valid"
    assert AveragePooling2D(3).strides == (3, 3)  # strides=None: the pool size
    assert MaxPooling1D().output_shape((9, 2)) == (4, 2)


@pytest.mark.parametrize(
    ("make", "option"),
    [
        (lambda: MaxPooling2D(0), "pool_size"),
        (lambda: AveragePooling2D(2, strides=0), "strides"),
        (lambda: MaxPooling2D(2, padding="full"), "padding"),
        (lambda: AveragePooling1D(2, data_format="channels_first"), "data_format"),
        (lambda: GlobalMaxPooling2D(data_format="channels_first"), "data_format"),
        (lambda: GlobalAveragePooling2D(keepdims=True), "keepdims"),
    ],
)
def test_bad_options_are_refused_by_name(make, option):
    with pytest.raises((ValueError, TypeError), match=f"^{option}: expected"):
        make()


@pytest.mark.parametrize(
    ("layer", "shape", "says"),
    [
        (MaxPooling2D(3), (2, 5, 1), "MaxPooling2D: expected an input of at least 3"),
        (AveragePooling2D(), (4, 4), "AveragePooling2D: expected inputs of shape"),
        (MaxPooling1D(), (4, 4, 1), "MaxPooling1D: expected inputs of shape"),
        (GlobalAveragePooling2D(), (4,), "GlobalAveragePooling2D: expected inputs of shape"),
    ],
)
def test_inputs_a_pool_cannot_take_are_refused(layer, shape, says):
    with pytest.raises(ValueError, match=says):
        layer.output_shape(shape)
