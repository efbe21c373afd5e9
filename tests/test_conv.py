"""Conv2D and Conv1D on every backend in float64, against torch autograd and Keras's rules.

Forward and every gradient (input, kernel, bias) against ``torch.nn.functional.conv2d`` /
``conv1d`` with autograd, padded explicitly by Keras's "same" rule (torch has no asymmetric
padding), over kernel sizes {1, 2, 3, 5}, strides {1, 2, 3}, both paddings, odd and even
image sides and dilations; "same"'s extra row and column after; Keras weight shapes,
initial fans and configs; the options arraynet refuses; central differences
(``an.gradcheck``); a small CNN trained in each mode against a torch SGD loop and across
backends; Dense on images; the memory estimate's window buffer; JAX's traced step bounded
by the layers, not by the image or batch size.
"""

import math

import numpy as np
import pytest
from conv_reference import (
    assert_close,
    keras_padding,
    through_protocol,
    torch_autograd,
    torch_conv2d,
    torch_pool2d,
)

import arraynet as an
from arraynet.layers import (
    AveragePooling2D,
    BatchNormalization,
    Conv1D,
    Conv2D,
    Dense,
    Flatten,
    MaxPooling2D,
    from_config,
)

ROWS, CHANNELS, FILTERS = 2, 2, 3
SIZE = (7, 6)  # an odd and an even side: "same" pads odd and even totals along them
GRID = [(k, s, padding) for k in (1, 2, 3, 5) for s in (1, 2, 3) for padding in ("valid", "same")]


def _conv_case(layer, shape, seed):
    """Random X, weights and delta for ``layer`` on per-example ``shape``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(ROWS, *shape))
    weights = [rng.normal(size=p.shape) for p in layer.params(shape)]
    dY = rng.normal(size=(ROWS, *layer.output_shape(shape)))
    return X, weights, dY


def _check_against_torch(name, layer, X, weights, dY, fn):
    Y, dX, grads = through_protocol(layer, weights, X, dY)
    tY, tdX, tgrads = torch_autograd(fn, X, weights, dY)
    assert_close(f"{name} forward", Y, tY)
    assert_close(f"{name} dX", dX, tdX)
    for i, (g, t) in enumerate(zip(grads, tgrads, strict=True)):
        assert_close(f"{name} d{layer.params(X.shape[1:])[i].name}", g, t)


@pytest.mark.parametrize(("k", "s", "padding"), GRID, ids=str)
def test_conv2d_matches_torch(backend, k, s, padding):
    layer = Conv2D(FILTERS, k, strides=s, padding=padding)
    shape = (*SIZE, CHANNELS)
    out = [keras_padding(n, k, s, 1, padding)[0] for n in SIZE]
    assert layer.output_shape(shape) == (*out, FILTERS)
    X, weights, dY = _conv_case(layer, shape, GRID.index((k, s, padding)))
    with an.use(backend, dtype="float64"):
        fn = torch_conv2d(shape, (k, k), (s, s), (1, 1), padding)
        _check_against_torch("conv2d", layer, X, weights, dY, fn)


DILATED = [(k, d, padding) for k in (2, 3) for d in (2, 3, (2, 1)) for padding in ("valid", "same")]


@pytest.mark.parametrize(("k", "d", "padding"), DILATED, ids=str)
def test_dilated_conv2d_matches_torch(backend, k, d, padding):
    layer = Conv2D(FILTERS, k, padding=padding, dilation_rate=d)
    dilation = d if isinstance(d, tuple) else (d, d)
    shape = (9, 8, CHANNELS)
    X, weights, dY = _conv_case(layer, shape, DILATED.index((k, d, padding)))
    with an.use(backend, dtype="float64"):
        fn = torch_conv2d(shape, (k, k), (1, 1), dilation, padding)
        _check_against_torch("conv2d dilated", layer, X, weights, dY, fn)


MIXED = [  # (kernel_size, strides, padding, activation, use_bias)
    ((2, 3), (1, 2), "same", "relu", True),
    ((3, 1), (2, 1), "valid", "tanh", False),
    ((1, 5), (3, 2), "same", "sigmoid", True),
    ((5, 2), (2, 3), "valid", None, False),
]


@pytest.mark.parametrize(("kernel", "strides", "padding", "activation", "use_bias"), MIXED, ids=str)
def test_rectangular_kernels_activations_and_no_bias_match_torch(
    backend, kernel, strides, padding, activation, use_bias
):
    torch = pytest.importorskip("torch")
    layer = Conv2D(4, kernel, strides, padding, activation=activation, use_bias=use_bias)
    shape = (7, 8, 3)
    X, weights, dY = _conv_case(
        layer, shape, MIXED.index((kernel, strides, padding, activation, use_bias))
    )
    conv = torch_conv2d(shape, kernel, strides, (1, 1), padding)
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, None: lambda z: z}

    def fn(X, *w):
        return act[activation](conv(X, *w))

    with an.use(backend, dtype="float64"):
        _check_against_torch("conv2d mixed", layer, X, weights, dY, fn)


CONV1D = [  # odd and even lengths in turn
    (k, s, d, padding, 9 + (k + s) % 2)
    for k in (1, 2, 3, 5)
    for s, d in ((1, 1), (2, 1), (3, 1), (1, 2))
    for padding in ("valid", "same")
]


@pytest.mark.parametrize(("k", "s", "d", "padding", "n"), CONV1D, ids=str)
def test_conv1d_matches_torch(backend, k, s, d, padding, n):
    F = pytest.importorskip("torch").nn.functional
    layer = Conv1D(FILTERS, k, strides=s, padding=padding, dilation_rate=d)
    out, before, after = keras_padding(n, k, s, d, padding)
    assert layer.output_shape((n, CHANNELS)) == (out, FILTERS)
    X, weights, dY = _conv_case(layer, (n, CHANNELS), CONV1D.index((k, s, d, padding, n)))
    assert weights[0].shape == (k, CHANNELS, FILTERS)  # Keras: (kernel, channels, filters)

    def fn(X, K, b):
        x = F.pad(X.permute(0, 2, 1), (before, after))
        return F.conv1d(x, K.permute(2, 1, 0), b, stride=s, dilation=d).permute(0, 2, 1)

    with an.use(backend, dtype="float64"):
        _check_against_torch("conv1d", layer, X, weights, dY, fn)


def test_same_padding_puts_the_odd_row_and_column_after():
    """A 2x2 kernel of ones over a 3x3 image, "same": one row and one column of zeros are
    added, after (bottom, right), so output (i, j) sums X[i:i+2, j:j+2]."""
    X = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    layer = Conv2D(1, 2, padding="same", use_bias=False)
    with an.use("numpy", dtype="float64"):
        Y, _, _ = through_protocol(layer, [np.ones((2, 2, 1, 1))], X, np.ones((1, 3, 3, 1)))
    padded = np.pad(X[0, :, :, 0], ((0, 1), (0, 1)))
    expected = [[padded[i : i + 2, j : j + 2].sum() for j in range(3)] for i in range(3)]
    np.testing.assert_array_equal(Y[0, :, :, 0], expected)
    assert Conv2D(1, 3, strides=2, padding="same").output_shape((7, 8, 1)) == (4, 4, 1)


# -- Keras's names, shapes, initial weights and configs ----------------------------------------


def test_weights_have_keras_names_shapes_and_fans():
    layer = Conv2D(16, (3, 5), padding="same")
    params = layer.params((28, 28, 3))
    assert [(p.name, p.shape) for p in params] == [("kernel", (3, 5, 3, 16)), ("bias", (16,))]
    assert [p.name for p in Conv2D(4, 3, use_bias=False).params((8, 8, 2))] == ["kernel"]
    model = an.Sequential([layer], input_shape=(28, 28, 3), seed=0)
    K, b = model.get_weights()
    limit = math.sqrt(6 / (3 * 5 * 3 + 3 * 5 * 16))  # glorot: fans are receptive field x channels
    assert np.abs(K).max() <= limit and np.abs(K).max() > 0.95 * limit
    assert not b.any()


CONFIGS = [
    Conv2D(8, 3),
    Conv2D(4, (2, 3), strides=(2, 1), padding="same", activation="relu", use_bias=False),
    Conv2D(2, 3, dilation_rate=2, kernel_initializer="he_normal", bias_initializer="ones"),
    Conv2D(3, 1, kernel_regularizer=an.regularizers.L2(0.01)),
    Conv1D(5, 3, strides=2, padding="same", activation="tanh"),
    Conv1D(2, 2, dilation_rate=3),
]


@pytest.mark.parametrize("layer", CONFIGS, ids=repr)
def test_config_round_trip(layer):
    again = from_config(layer.get_config())
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    assert repr(again) == repr(layer)
    shape = (9, 4) if isinstance(layer, Conv1D) else (9, 8, 4)
    assert again.output_shape(shape) == layer.output_shape(shape)


@pytest.mark.parametrize(
    ("make", "option"),
    [
        (lambda: Conv2D(4, 3, data_format="channels_first"), "data_format"),
        (lambda: Conv1D(4, 3, data_format="channels_first"), "data_format"),
        (lambda: Conv2D(4, 3, groups=2), "groups"),
        (lambda: Conv2D(4, 3, strides=2, dilation_rate=2), "strides"),
        (lambda: Conv1D(4, 3, strides=2, dilation_rate=2), "strides"),
        (lambda: Conv2D(4, 3, padding="causal"), "padding"),
        (lambda: Conv2D(0, 3), "filters"),
        (lambda: Conv2D(4, (3, 3, 3)), "kernel_size"),
        (lambda: Conv2D(4, 0), "kernel_size"),
        (lambda: MaxPooling2D(2, data_format="channels_first"), "data_format"),
        (lambda: an.layers.GlobalAveragePooling2D(data_format="channels_first"), "data_format"),
    ],
)
def test_unsupported_options_are_refused_by_name(make, option):
    with pytest.raises((ValueError, TypeError), match=f"^{option}: expected"):
        make()


@pytest.mark.parametrize(
    ("layer", "shape", "says"),
    [
        (Conv2D(2, 3), (8, 8), "Conv2D: expected inputs of shape"),
        (Conv2D(2, 5), (4, 8, 1), "Conv2D: expected an input of at least 5"),
        (Conv1D(2, 3), (8, 8, 1), "Conv1D: expected inputs of shape"),
        (Conv2D(2, 3, dilation_rate=3), (6, 9, 1), "at least 7"),
    ],
)
def test_inputs_a_layer_cannot_take_are_refused(layer, shape, says):
    with pytest.raises(ValueError, match=says):
        layer.output_shape(shape)


# -- central differences ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer",
    [
        Conv2D(2, 3, padding="same", activation="tanh"),
        Conv2D(2, (2, 3), strides=(2, 1)),
        Conv2D(2, 2, dilation_rate=2, padding="same", use_bias=False),
        Conv1D(3, 3, strides=2, padding="same", activation="sigmoid"),
    ],
    ids=repr,
)
def test_gradcheck_passes_on_conv_layers(backend, layer):
    shape = (5, 2) if isinstance(layer, Conv1D) else (4, 3, 2)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, *shape))
    y = rng.normal(size=(2, *layer.output_shape(shape)))
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(layer, X, y)
    assert report.passed, str(report)


def _small_cnn(seed=0, shape=(7, 6, 2), hidden="tanh", widths=(4, 3, 3)):
    return an.Sequential(
        [
            Conv2D(widths[0], 3, padding="same", activation=hidden),
            BatchNormalization(),
            MaxPooling2D(2, padding="same"),
            Conv2D(widths[1], 2, activation=hidden),
            AveragePooling2D(2, strides=1, padding="same"),
            Flatten(),
            Dense(widths[2]),
        ],
        input_shape=shape,
        seed=seed,
    )


def test_gradcheck_passes_on_a_small_cnn(backend):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(5, 5, 4, 1)), rng.integers(0, 2, 5)
    model = _small_cnn(shape=(5, 4, 1), widths=(2, 2, 2))  # 42 trainable weights
    model.compile(loss="softmax_cross_entropy", optimizer=an.optimizers.SGD(lr=0.1))
    with an.use(backend, dtype="float64"):
        model.fit(X, y, epochs=1, batch_size=5, verbose=0)  # moving statistics off their start
        report = an.gradcheck(model, X, y)
    assert report.passed, str(report)
    assert len(report.names) == 8  # trainable only: the moving statistics are state


# -- a small CNN trained: against a torch SGD loop, and across backends -------------------------

MODES = {"minibatch": 4, "full": None, "stochastic": 1}  # 10 rows: minibatch ends on 2


def _cnn_problem(seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(10, 7, 6, 2)), rng.integers(0, 3, 10)


def _torch_train(weights, X, y, batch, epochs=2, lr=0.1, momentum=0.99, eps=1e-3):
    """The same CNN as ``_small_cnn(hidden="relu")`` in torch, float64: F.cross_entropy
    (mean), plain SGD, batches in order; BN's moving statistics moved by Keras's rule with
    the biased batch variance (torch's running_var is unbiased). Keras weight order back."""
    import torch
    import torch.nn.functional as F

    w = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in weights]
    K1, b1, gamma, beta, K2, b2, W, b = (w[i] for i in (0, 1, 2, 3, 6, 7, 8, 9))
    moving = [torch.tensor(weights[4]), torch.tensor(weights[5])]
    conv1 = torch_conv2d((7, 6, 2), (3, 3), (1, 1), (1, 1), "same")
    pool1 = torch_pool2d("max", (7, 6, 4), (2, 2), (2, 2), "same")
    conv2 = torch_conv2d((4, 3, 4), (2, 2), (1, 1), (1, 1), "valid")
    pool2 = torch_pool2d("average", (3, 2, 3), (2, 2), (1, 1), "same")
    X, y = torch.tensor(X), torch.tensor(y)
    batch = batch or len(X)
    for _ in range(epochs):
        for start in range(0, len(X), batch):
            A = torch.relu(conv1(X[start : start + batch], K1, b1))
            mean, var = A.mean(dim=(0, 1, 2)), A.var(dim=(0, 1, 2), unbiased=False)
            A = (A - mean) / torch.sqrt(var + eps) * gamma + beta
            A = pool2(torch.relu(conv2(pool1(A), K2, b2)))
            logits = A.reshape(len(A), -1) @ W + b  # Flatten: row-major over (H, W, C)
            F.cross_entropy(logits, y[start : start + batch]).backward()
            with torch.no_grad():
                for p in (K1, b1, gamma, beta, K2, b2, W, b):
                    p -= lr * p.grad
                    p.grad = None
                moving[0] = moving[0] * momentum + mean.detach() * (1 - momentum)
                moving[1] = moving[1] * momentum + var.detach() * (1 - momentum)
    out = [p.detach().numpy() for p in (K1, b1, gamma, beta)]
    return out + [m.numpy() for m in moving] + [p.detach().numpy() for p in (K2, b2, W, b)]


def _fit_cnn(backend, mode, X, y):
    with an.use(backend, dtype="float64"):
        model = _small_cnn(seed=5, hidden="relu")
        model.compile(loss="softmax_cross_entropy", optimizer=an.optimizers.SGD(lr=0.1))
        start = model.get_weights()
        history = model.fit(
            X, y, mode=mode, batch_size=MODES[mode], epochs=2, shuffle=False, verbose=0
        )
        return start, model.get_weights(), history.history["loss"]


@pytest.mark.parametrize("mode", MODES)
def test_a_small_cnn_trains_as_torch_and_alike_on_every_backend(backend, mode):
    pytest.importorskip("torch")
    X, y = _cnn_problem()
    start, weights, losses = _fit_cnn(backend, mode, X, y)
    shapes = [(3, 3, 2, 4), (4,), (4,), (4,), (4,), (4,), (2, 2, 4, 3), (3,), (18, 3), (3,)]
    assert [w.shape for w in weights] == shapes  # Keras order, BN's moving statistics in place
    expected = _torch_train(start, X, y, MODES[mode])
    for i, (w, t, w0) in enumerate(zip(weights, expected, start, strict=True)):
        assert_close(f"cnn {mode} weight {i} vs torch", w - w0, t - w0, 1e-9)  # of the move
    assert np.isfinite(losses).all() and len(losses) == 2
    if backend != "numpy":
        _, on_numpy, numpy_losses = _fit_cnn("numpy", mode, X, y)
        for i, (w, r) in enumerate(zip(weights, on_numpy, strict=True)):
            assert_close(f"cnn {mode} weight {i} vs numpy", w, r, 1e-9)
        np.testing.assert_allclose(losses, numpy_losses, rtol=1e-9)


def test_dense_on_images_acts_on_the_last_axis(backend):
    """Keras: Dense on (rows, H, W, C) maps C to units at each pixel; kernel (C, units)."""
    pytest.importorskip("torch")
    layer = Dense(3, activation="tanh")
    shape = (4, 5, 2)
    assert layer.output_shape(shape) == (4, 5, 3)
    X, weights, dY = _conv_case(layer, shape, 0)
    assert [w.shape for w in weights] == [(2, 3), (3,)]
    with an.use(backend, dtype="float64"):
        _check_against_torch(
            "dense on images", layer, X, weights, dY, lambda X, W, b: (X @ W + b).tanh()
        )


# -- the model around the layers: summary, memory estimate, JAX's traced step -----------------


def test_summary_shows_the_shapes_and_keras_parameter_counts():
    lines = []
    _small_cnn().summary(print_fn=lines.append)
    text = "\n".join(lines)
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line[0] == "│"]
    assert [row[1:] for row in rows] == [  # Keras's table: the batch axis None
        ["(None, 7, 6, 4)", "76"],  # 3*3*2*4 + 4
        ["(None, 7, 6, 4)", "16"],  # BN: gamma, beta, moving mean and variance
        ["(None, 4, 3, 4)", "0"],
        ["(None, 3, 2, 3)", "51"],  # 2*2*4*3 + 3
        ["(None, 3, 2, 3)", "0"],
        ["(None, 18)", "0"],
        ["(None, 3)", "57"],
    ]
    assert " Total params: 200 (" in text and " Non-trainable params: 8 (" in text


def test_a_window_buffer_that_does_not_fit_is_refused_before_training(backend):
    """A 5x5 "same" convolution of 32x32x8 images keeps 25 x its input for backward (204,800
    values per image): 32 MB in all for a batch of 32 in float32, 6 MB without the buffer."""
    layer = Conv2D(1, 5, padding="same")
    assert layer.memory((32, 32, 8)) == 32 * 32 * 25 * 8 + 3 * 32 * 32 * 1
    X = np.random.default_rng(0).normal(size=(64, 32, 32, 8)).astype(np.float32)
    y = np.zeros((64, 32, 32, 1), np.float32)
    with an.use(backend, memory_limit=20_000_000):
        model = an.Sequential([layer], input_shape=(32, 32, 8), seed=0)
        model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.01))
        before = model.get_weights()
        with pytest.raises(an.DeviceMemoryError) as info:
            model.fit(X, y, batch_size=32, verbose=0)
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)
        model.fit(X, y, batch_size=4, epochs=1, verbose=0)  # a smaller batch fits
    buffer = 32 * 4 * 32 * 32 * 25 * 8  # bytes: batch x float32 x the window buffer
    assert info.value.needed > 20_000_000 > info.value.needed - buffer


def test_a_jax_step_is_traced_once_whatever_the_image_and_batch_size():
    """No Python loop over rows, pixels or windows: the jaxpr of a CNN's forward and backward
    has the same equations for 8x8 and 24x24 images and for 4 and 32 rows."""
    jax = pytest.importorskip("jax")
    counts = set()
    for side, rows in ((8, 4), (24, 4), (8, 32), (24, 32)):
        model = an.Sequential(
            [
                Conv2D(4, 3, padding="same", activation="relu"),
                BatchNormalization(),
                MaxPooling2D(2),
                Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                AveragePooling2D(2, padding="same"),
                an.layers.GlobalMaxPooling2D(),
                Dense(3),
            ],
            input_shape=(side, side, 2),
            seed=0,
        )
        model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.1))
        with an.use("jax", dtype="float32") as backend:
            network, xp = model.network.on(backend), backend.xp
            weights = tuple(backend.asarray(w) for w in model.get_weights())
            X = xp.zeros((rows, side, side, 2))
            Y = xp.zeros((rows, 3))

            def step(weights, X, Y, network=network, xp=xp):
                return network.loss_and_grads(xp, weights, X, Y)[:2]

            jaxpr = jax.make_jaxpr(step)(weights, X, Y)
        counts.add(len(jaxpr.jaxpr.eqns))
    assert len(counts) == 1, counts
    assert counts.pop() < 400


def test_input_shape_or_an_input_builds_a_cnn_of_images():
    def layers():
        return [Conv2D(4, 3, padding="same"), MaxPooling2D(), Flatten(), Dense(2)]

    by_input = an.Sequential([an.Input(shape=(8, 6, 3)), *layers()], seed=0)
    by_shape = an.Sequential(layers(), input_shape=(8, 6, 3), seed=0)
    for model in (by_input, by_shape):
        assert model.input_shape == (None, 8, 6, 3) and model.output_shape == (None, 2)
        assert [w.shape for w in model.get_weights()] == [(3, 3, 3, 4), (4,), (48, 2), (2,)]
