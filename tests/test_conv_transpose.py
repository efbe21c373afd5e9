"""Conv2DTranspose: against torch's ``conv_transpose2d`` with autograd (float64; "valid"),
the adjoint identity with arraynet's Conv2D of the same kernel ("same": Keras's and
TensorFlow's definition of a transposed convolution), central differences, Keras's output
lengths, configs and refusals, on every backend."""

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import TRAINING, Conv2D, Conv2DTranspose

RNG = np.random.default_rng(0)


def run(backend, layer, X, K, b, dY):
    with an.use(backend, dtype="float64") as B:
        weights = (B.asarray(K), B.asarray(b))
        Y, cache = layer.forward(B.xp, weights, B.asarray(X), TRAINING)
        dX, (dK, db) = layer.backward(B.xp, weights, cache, B.asarray(dY), TRAINING)
        return to_numpy(Y), to_numpy(dX), to_numpy(dK), to_numpy(db)


@pytest.mark.parametrize(
    ("size", "kernel", "stride"),
    [((5, 5), (3, 3), (1, 1)), ((4, 6), (3, 2), (2, 3)), ((3, 4), (2, 2), (2, 2)),
     ((4, 3), (1, 2), (3, 3)), ((5, 4), (5, 3), (2, 1))],
)  # fmt: skip
def test_valid_matches_torch_autograd(backend, size, kernel, stride):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    C, filters = 3, 4
    X = RNG.standard_normal((2, *size, C))
    K, b = RNG.standard_normal((*kernel, filters, C)), RNG.standard_normal(filters)
    layer = Conv2DTranspose(filters, kernel, strides=stride)
    out = layer.output_shape((*size, C))
    dY = RNG.standard_normal((2, *out))
    Y, dX, dK, db = run(backend, layer, X, K, b, dY)

    Xt = torch.tensor(X.transpose(0, 3, 1, 2), requires_grad=True)
    Kt = torch.tensor(K.transpose(3, 2, 0, 1), requires_grad=True)  # (C_in, C_out, kh, kw)
    bt = torch.tensor(b, requires_grad=True)
    extra = tuple(max(s - k, 0) for k, s in zip(kernel, stride))  # Keras: n*s when k < s
    Yt = F.conv_transpose2d(Xt, Kt, bt, stride=stride, output_padding=extra)
    (Yt * torch.tensor(dY.transpose(0, 3, 1, 2))).sum().backward()
    assert out == tuple(Yt.shape[2:]) + (filters,)
    assert np.allclose(Y, Yt.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    assert np.allclose(dX, Xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    assert np.allclose(dK, Kt.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-12, atol=1e-12)
    assert np.allclose(db, bt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("size", "kernel", "stride"),
                         [((5, 5), 3, 2), ((4, 7), 3, 1), ((3, 4), (4, 2), (2, 3))])  # fmt: skip
def test_same_is_the_adjoint_of_conv2d_same(backend, size, kernel, stride):
    C, filters = 2, 3
    layer = Conv2DTranspose(filters, kernel, strides=stride, padding="same", use_bias=False)
    out = layer.output_shape((*size, C))
    assert out[:2] == tuple(n * s for n, s in zip(size, layer.strides))  # Keras: n * s
    conv = Conv2D(C, kernel, strides=stride, padding="same", use_bias=False)
    assert conv.output_shape(out) == (*size, C)
    X, Y = RNG.standard_normal((2, *size, C)), RNG.standard_normal((2, *out))
    K = RNG.standard_normal((*layer.kernel_size, filters, C))
    with an.use(backend, dtype="float64") as B:
        transposed, _ = layer.forward(B.xp, (B.asarray(K),), B.asarray(X), TRAINING)
        convolved, _ = conv.forward(B.xp, (B.asarray(K),), B.asarray(Y), TRAINING)
    # <convT(X), Y> = <X, conv(Y)>: the transposed convolution is the convolution's adjoint
    left, right = np.sum(to_numpy(transposed) * Y), np.sum(X * to_numpy(convolved))
    assert np.isclose(left, right, rtol=1e-12)


def test_central_differences_and_training(backend):
    layer = Conv2DTranspose(2, 3, strides=2, padding="same", activation="tanh")
    X = RNG.standard_normal((2, 3, 3, 2))
    with an.use(backend):
        report = an.gradcheck(layer, X, RNG.standard_normal((2, 6, 6, 2)))
    assert report.passed, str(report)
    with an.use(backend, dtype="float64"):
        model = an.Sequential([an.Input((4, 4, 1)), Conv2DTranspose(3, 2, strides=2),
                               an.layers.Conv2D(1, 3, padding="same")])  # fmt: skip
        model.compile("adam", "mse")
        images = RNG.random((8, 4, 4, 1))
        history = model.fit(images, RNG.random((8, 8, 8, 1)), epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.layers[0].kernel.shape == (2, 2, 3, 1)  # Keras: (kh, kw, filters, C)


def test_configs_shapes_and_refusals():
    layer = Conv2DTranspose(4, (3, 2), strides=(2, 1), padding="same", activation="relu")
    again = an.layers.from_config(layer.get_config())
    assert again.get_config() == layer.get_config() and again.output_shape((5, 6, 3)) == (
        10, 6, 4,
    )  # fmt: skip
    assert Conv2DTranspose(2, 3, strides=2).output_shape((None, 4, 3)) == (None, 9, 2)
    with pytest.raises(ValueError, match="output_padding: expected None"):
        Conv2DTranspose(2, 3, output_padding=1)
    with pytest.raises(ValueError, match="dilation_rate: expected 1"):
        Conv2DTranspose(2, 3, dilation_rate=2)
    with pytest.raises(ValueError, match="data_format"):
        Conv2DTranspose(2, 3, data_format="channels_first")
