"""DepthwiseConv2D and SeparableConv2D against torch's grouped convolution with autograd
(float64, every backend, jitted on JAX): outputs, input deltas and weight gradients over
kernel sizes, strides, both paddings and depth multipliers; Keras's weight layout;
regularizers; training alike on every backend; configs round-trip.
"""

import numpy as np
import pytest
from test_recurrent import run_layer

import arraynet as an
from arraynet.layers import Dense, DepthwiseConv2D, Flatten, SeparableConv2D

RTOL = 1e-10


def rel_error(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


def torch_reference(torch, X, weights, strides, padding, separable, use_bias, activation):
    """Keras's depthwise (then pointwise) convolution as torch's conv2d with groups=C."""
    F = torch.nn.functional
    K = weights[0]  # (kh, kw, C, m): out channel c * m + j
    kh, kw, c, m = K.shape
    depthwise = K.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
    x = X.permute(0, 3, 1, 2)
    if padding == "same":  # Keras: the extra row/column after
        pad_h = max((-(-x.shape[2] // strides[0]) - 1) * strides[0] + kh - x.shape[2], 0)
        pad_w = max((-(-x.shape[3] // strides[1]) - 1) * strides[1] + kw - x.shape[3], 0)
        x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
    y = F.conv2d(x, depthwise, stride=strides, groups=c)
    rest = weights[1:]
    if separable:
        y = F.conv2d(y, rest[0].permute(3, 2, 0, 1))
        rest = rest[1:]
    if use_bias:
        y = y + rest[0][None, :, None, None]
    y = y.permute(0, 2, 3, 1)
    return torch.tanh(y) if activation == "tanh" else y


CASES = [  # kernel, strides, padding, depth multiplier, size, separable, bias, activation
    ((3, 3), (1, 1), "valid", 1, (7, 6), False, True, None),
    ((2, 3), (2, 1), "same", 2, (7, 8), False, False, "tanh"),
    ((5, 5), (3, 3), "same", 3, (9, 9), False, True, None),
    ((1, 1), (1, 1), "valid", 2, (4, 5), False, True, None),
    ((3, 3), (1, 1), "same", 1, (6, 6), True, True, "tanh"),
    ((3, 2), (2, 2), "valid", 2, (8, 7), True, False, None),
]


@pytest.mark.parametrize("case", range(len(CASES)), ids=lambda i: f"case{i}")
def test_matches_torch_grouped_convolution(backend, case):
    torch = pytest.importorskip("torch")
    kernel, strides, padding, m, size, separable, use_bias, activation = CASES[case]
    rng = np.random.default_rng(case)
    channels = 3
    kwargs = dict(strides=strides, padding=padding, depth_multiplier=m, use_bias=use_bias,
                  activation=activation)  # fmt: skip
    layer = SeparableConv2D(4, kernel, **kwargs) if separable else DepthwiseConv2D(kernel, **kwargs)
    shape = (*size, channels)
    weights = [p.initializer(rng, p.shape) + 0.1 * rng.standard_normal(p.shape)
               for p in layer.params(shape)]  # fmt: skip
    X = rng.standard_normal((2, *shape))
    dY = rng.standard_normal((2, *layer.output_shape(shape)))
    Y, dX, grads = run_layer(backend, layer, weights, X, dY)

    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    tX = torch.tensor(X, requires_grad=True)
    ref = torch_reference(torch, tX, tw, strides, padding, separable, use_bias, activation)
    (ref * torch.from_numpy(dY)).sum().backward()
    assert Y.shape == tuple(ref.shape)
    assert rel_error(Y, ref.detach().numpy()) < RTOL
    assert rel_error(dX, tX.grad.numpy()) < RTOL
    for got, want in zip(grads, tw):
        assert rel_error(got, want.grad.numpy()) < RTOL


def test_keras_weight_layout_configs_and_refusals(tmp_path):
    model = an.Sequential(
        [DepthwiseConv2D(3, depth_multiplier=2, padding="same"), SeparableConv2D(5, 2),
         Flatten(), Dense(1)],
        input_shape=(6, 6, 3), seed=0,
    )  # fmt: skip
    assert [w.shape for w in model.get_weights()][:5] == [
        (3, 3, 3, 2), (6,), (2, 2, 6, 1), (1, 1, 6, 5), (5,)
    ]  # fmt: skip
    assert model.layers[1].output_shape((6, 6, 6)) == (5, 5, 5)
    model.compile(loss="mse", optimizer="sgd")
    model.save(tmp_path / "m.arraynet")
    loaded = an.load(tmp_path / "m.arraynet")
    X = np.random.default_rng(0).standard_normal((2, 6, 6, 3))
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    flat = Flatten(name="flat", trainable=False)  # a layer of no arguments takes Keras's
    assert (flat.name, flat.trainable) == ("flat", False)
    with pytest.raises(TypeError, match="depth_multiplier"):
        DepthwiseConv2D(3, depth_multiplier=1.5)
    with pytest.raises(ValueError, match="data_format"):
        DepthwiseConv2D(3, data_format="channels_first")


def test_regularizer_gradients_and_training_agree(backend):
    """A depthwise kernel's L2 penalty enters the loss and its gradient (central
    differences), and a small separable CNN trains the same weights on every backend."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 5, 5, 2)), rng.standard_normal((6, 1))

    def model():
        return an.Sequential(
            [DepthwiseConv2D(2, depth_multiplier=2, activation="tanh",
                             depthwise_regularizer=an.regularizers.L2(0.1)),
             SeparableConv2D(3, 2, padding="same", activation="relu"), Flatten(), Dense(1)],
            input_shape=(5, 5, 2), seed=2,
        )  # fmt: skip

    with an.use(backend, dtype="float64"):
        checked = model()
        checked.compile(loss="mse", optimizer="sgd")
        assert an.gradcheck(checked, X, y).passed

    def train(name):
        with an.use(name, dtype="float64"):
            m = model()
            m.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.05, momentum=0.9))
            m.fit(X, y, mode="minibatch", batch_size=4, epochs=3, seed=1, verbose=0)
            return m.get_weights()

    for got, want in zip(train(backend), train("numpy")):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
