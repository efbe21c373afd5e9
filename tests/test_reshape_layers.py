"""Flatten and Reshape through the Layer protocol, on every backend in float64.

Forward: NumPy's C-order reshape; shapes and refusals; gradients against torch autograd of
the same forward written with torch ops and against central differences (``an.gradcheck``);
Dense over the last axis of a 3-D input (Keras semantics); training in each mode on every
backend against NumPy and against a torch SGD loop; predict, saving and the summary with a
non-1-D ``input_shape``; a wrongly shaped X refused before any weight changes.
"""

import json

import numpy as np
import pytest

import arraynet as an
from arraynet.backend import to_numpy
from arraynet.layers import TRAINING, Context, Dense, Flatten, Reshape

RTOL = 1e-10
N = 10  # rows: "minibatch" with batch_size 4 ends on a partial batch of 2


def _backward_ctx(need_dX=True):
    return Context(training=True, noise=None, need_dX=need_dX)


def _through_protocol(layer, X, dY):
    """``(Y, dX, grads, dX without need_dX)`` of ``layer`` on the selected backend, as host
    NumPy."""
    backend = an.current_backend()
    xp = backend.xp
    Y, cache = layer.forward(xp, (), backend.asarray(X), TRAINING)
    dX, grads = layer.backward(xp, (), cache, backend.asarray(dY), _backward_ctx())
    none, _ = layer.backward(xp, (), cache, backend.asarray(dY), _backward_ctx(False))
    return to_numpy(Y), to_numpy(dX), grads, none


# -- forward and shapes ------------------------------------------------------------------------

FLATTEN_SHAPES = [(4,), (3, 4), (2, 3, 2), (3, 1, 5), (2, 2, 2, 2)]


@pytest.mark.parametrize("shape", FLATTEN_SHAPES, ids=str)
def test_flatten_is_c_order_reshape(backend, shape):
    rng = np.random.default_rng(len(shape))
    X = rng.normal(size=(5, *shape))
    expected = X.reshape(len(X), -1)
    dY = rng.normal(size=expected.shape)
    with an.use(backend, dtype="float64"):
        Y, dX, grads, none = _through_protocol(Flatten(), X, dY)
        predicted = an.Sequential([Flatten()], input_shape=shape).predict(X)
    assert Flatten().output_shape(shape) == (int(np.prod(shape)),)
    assert Y.shape == expected.shape and Y.dtype == np.float64
    np.testing.assert_array_equal(Y, expected)
    np.testing.assert_array_equal(predicted, expected)
    np.testing.assert_array_equal(dX, dY.reshape(X.shape))  # the delta goes back in C order
    assert grads == () and none is None


RESHAPES = [  # (input_shape, target_shape, output_shape)
    ((6,), (2, 3), (2, 3)),
    ((6,), (-1, 2), (3, 2)),
    ((6,), (2, -1), (2, 3)),
    ((2, 3, 2), (-1, 2), (6, 2)),
    ((2, 3, 2), (3, 4), (3, 4)),
    ((12,), (3, -1, 2), (3, 2, 2)),
    ((3, 4), (-1,), (12,)),
    ((2, 6), 12, (12,)),
    ((2, 6), [4, 3], (4, 3)),
    ((3, 2), (2, 3), (2, 3)),
]


@pytest.mark.parametrize(
    ("input_shape", "target", "output"), RESHAPES, ids=[f"{i}->{t}" for i, t, _ in RESHAPES]
)
def test_reshape_is_c_order_reshape(backend, input_shape, target, output):
    rng = np.random.default_rng(RESHAPES.index((input_shape, target, output)))
    X = rng.normal(size=(5, *input_shape))
    target_tuple = (target,) if isinstance(target, int) else tuple(target)
    expected = X.reshape(len(X), *target_tuple)  # NumPy infers the -1
    dY = rng.normal(size=expected.shape)
    layer = Reshape(target)
    assert layer.output_shape(input_shape) == output
    assert expected.shape == (5, *output)
    with an.use(backend, dtype="float64"):
        Y, dX, grads, none = _through_protocol(layer, X, dY)
        predicted = an.Sequential([Reshape(target)], input_shape=input_shape).predict(X)
    np.testing.assert_array_equal(Y, expected)
    np.testing.assert_array_equal(predicted, expected)
    np.testing.assert_array_equal(dX, dY.reshape(X.shape))
    assert grads == () and none is None


@pytest.mark.parametrize(
    ("layer", "input_shape", "output"),
    [
        (Flatten(), (7,), (7,)),
        (Flatten(), (1, 1), (1,)),
        (Flatten(), (2, 3, 4, 5), (120,)),
        (Reshape((-1, 1)), (5,), (5, 1)),
        (Reshape((1, -1, 1)), (2, 2), (1, 4, 1)),
        (Reshape((2, 2, 3)), (3, 4), (2, 2, 3)),
        (Reshape((-1, 4)), (2, 3, 2), (3, 4)),
    ],
    ids=str,
)
def test_output_shape_and_config(layer, input_shape, output):
    assert layer.output_shape(input_shape) == output
    assert layer.params(input_shape) == [] and layer.states(input_shape) == []
    config = layer.get_config()
    json.dumps(config)  # JSON-able
    rebuilt = an.layers.from_config(config)
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == config
    assert rebuilt.output_shape(input_shape) == output
    assert repr(rebuilt) == repr(layer)


BAD_TARGETS = [(), [], (0, 3), (2, -2), (-1, -1), (2.0, 3), (True, 3), "23", None, 0, -2, 2.5]


@pytest.mark.parametrize("target", BAD_TARGETS, ids=repr)
def test_bad_target_shape_is_refused(target):
    with pytest.raises(ValueError, match=r"^target_shape: expected .*; got "):
        Reshape(target)


INCOMPATIBLE = [  # (target_shape, input_shape)
    ((4, 4), (6,)),
    ((2, 3), (7,)),
    ((-1, 4), (6,)),
    ((5, -1), (2, 3, 2)),
    ((2, 2), (2, 3)),
    ((13,), (3, 4)),
]


@pytest.mark.parametrize(("target", "input_shape"), INCOMPATIBLE, ids=str)
def test_incompatible_input_is_refused(target, input_shape):
    layer = Reshape(target)
    with pytest.raises(ValueError, match=r"^Reshape: .*target_shape") as err:
        layer.output_shape(input_shape)
    assert str(tuple(target)) in str(err.value)
    assert f"input shape {tuple(input_shape)}" in str(err.value)
    with pytest.raises(ValueError, match=r"^Reshape: .*target_shape"):
        an.Sequential([Reshape(target), Dense(1)], input_shape=input_shape)


def test_incompatible_layer_output_is_refused():
    """The shape a Reshape cannot take is the previous layer's output, not the model's input."""
    with pytest.raises(ValueError, match=r"^Reshape: .*got input shape \(3,\)"):
        an.Sequential([Dense(3), Reshape((2, 2))], input_dim=4)
    model = an.Sequential([Reshape((4, 4)), Dense(1)], seed=0)  # built by fit, from X
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(ValueError, match=r"^Reshape: .*target_shape \(4, 4\)"):
        model.fit(np.ones((3, 6)), np.ones((3, 1)), verbose=0)
    assert model.input_shape is None and model.get_weights() == []


# -- gradients ---------------------------------------------------------------------------------

LAYER_CASES = [  # (layer, per-example input shape): 3-D and 4-D X
    (Flatten(), (3, 4)),
    (Flatten(), (2, 3, 2)),
    (Reshape((-1, 2)), (3, 4)),
    (Reshape((-1, 2)), (2, 3, 2)),
    (Reshape((4, 3)), (2, 3, 2)),
    (Reshape((12,)), (3, 2, 2)),
]


@pytest.mark.parametrize(("layer", "shape"), LAYER_CASES, ids=str)
def test_layer_gradcheck_passes(backend, layer, shape):
    rng = np.random.default_rng(LAYER_CASES.index((layer, shape)))
    X = rng.normal(size=(4, *shape))
    y = rng.normal(size=(4, *layer.output_shape(shape)))
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(layer, X, y)
    assert report.names == ("X",)
    assert report.passed, str(report)
    # L = ½‖reshape(X) − y‖² / rows: dL/dX is the residual put back in X's shape
    np.testing.assert_allclose(
        report.analytic[0], (X.reshape(y.shape) - y).reshape(X.shape) / 4, rtol=1e-12
    )


@pytest.mark.parametrize("shape", [(2, 3), (2, 2, 3)], ids=str)
def test_dense_layer_over_last_axis_gradcheck(backend, shape):
    """Dense on 3-D and 4-D X, through its own forward/backward."""
    rng = np.random.default_rng(len(shape))
    X, y = rng.normal(size=(4, *shape)), rng.normal(size=(4, *shape[:-1], 4))
    layer = Dense(4, activation="tanh", kernel_initializer="glorot_normal")
    init = np.random.default_rng(0)
    weights = [p.initializer(init, p.shape) for p in layer.params(shape)]
    weights[1] = rng.normal(0, 0.5, 4)
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(layer, X, y, weights=weights)
    assert report.names == ("W", "b", "X")
    assert report.passed, str(report)


def _reshape_model(seed=0):
    model = an.Sequential(
        [Reshape((2, 3)), Dense(4, activation="tanh"), Flatten(), Dense(2)],
        input_shape=(6,),
        seed=seed,
    )
    model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.1))
    return model


def _image_model(seed=0):
    model = an.Sequential(
        [Flatten(), Dense(3, activation="relu"), Dense(2)], input_shape=(2, 3, 2), seed=seed
    )
    model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.1))
    return model


def _torch_reshape_forward(torch, weights, X):
    W1, b1, W2, b2 = weights
    H = torch.tanh(torch.matmul(X.reshape(X.shape[0], 2, 3), W1) + b1)  # Dense over the last axis
    return torch.matmul(H.reshape(X.shape[0], -1), W2) + b2


def _torch_image_forward(torch, weights, X):
    W1, b1, W2, b2 = weights
    H = torch.relu(torch.matmul(X.reshape(X.shape[0], -1), W1) + b1)
    return torch.matmul(H, W2) + b2


def _numpy_reshape_forward(weights, X):
    W1, b1, W2, b2 = weights
    H = np.tanh(X.reshape(len(X), 2, 3) @ W1 + b1)
    return H.reshape(len(X), -1) @ W2 + b2


def _numpy_image_forward(weights, X):
    W1, b1, W2, b2 = weights
    return np.maximum(X.reshape(len(X), -1) @ W1 + b1, 0.0) @ W2 + b2


MODELS = {
    "reshape": (_reshape_model, (6,), _torch_reshape_forward, _numpy_reshape_forward),
    "image": (_image_model, (2, 3, 2), _torch_image_forward, _numpy_image_forward),
}


def _problem(name, margin=1e-3):
    """The model (its weights moved off their initial values), X and y, with every relu
    pre-activation at least ``margin`` from the kink."""
    make, shape, _, _ = MODELS[name]
    for seed in range(100):
        rng = np.random.default_rng([len(name), seed])
        model = make(seed)
        with an.use("numpy", dtype="float64"):
            model.set_weights([w + rng.normal(0, 0.3, w.shape) for w in model.get_weights()])
            W1, b1 = model.get_weights()[:2]
        X, y = rng.normal(size=(N, *shape)), rng.normal(size=(N, 2))
        if name != "image" or np.abs(X.reshape(N, -1) @ W1 + b1).min() > margin:
            return model, X, y
    raise AssertionError("no kink-free problem")


def _torch_loss_and_grads(torch_forward, weights, X, y, loss="mse"):
    torch = pytest.importorskip("torch")
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    P = torch_forward(torch, ws, torch.tensor(X, dtype=torch.float64))
    Y = torch.tensor(y, dtype=torch.float64)
    if loss == "binary_cross_entropy":
        value = torch.nn.functional.binary_cross_entropy(P, Y)  # the mean over every entry
    elif loss == "mse":
        value = ((P - Y) ** 2).mean()
    else:  # squared_error: per example ½‖P − Y‖², averaged over the rows
        value = 0.5 * ((P - Y) ** 2).sum() / X.shape[0]
    value.backward()
    return float(value.detach()), [w.grad.numpy() for w in ws]


@pytest.mark.parametrize("name", list(MODELS))
def test_model_gradients_match_torch_and_gradcheck(backend, name):
    model, X, y = _problem(name)
    with an.use("numpy", dtype="float64"):
        weights = model.get_weights()
    ref_value, ref_grads = _torch_loss_and_grads(MODELS[name][2], weights, X, y)
    with an.use(backend, dtype="float64"):
        value, grads = model.gradients(X, y)
        report = an.gradcheck(model, X, y)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    assert [g.shape for g in grads] == [w.shape for w in weights]
    for g, ref in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, ref, rtol=RTOL, atol=1e-14)
    dense = (1, 3) if name == "reshape" else (1, 2)  # the layers with weights
    assert report.names == tuple(f"{i}.{w}" for i in dense for w in ("W", "b"))
    assert report.passed, str(report)
    for a, g in zip(report.analytic, grads, strict=True):
        np.testing.assert_allclose(a, g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(2, 3), (2, 2, 3)], ids=str)
def test_dense_applies_over_the_last_axis(backend, shape):
    """Keras semantics: ``X @ W + b`` broadcast over every leading axis."""
    rng = np.random.default_rng(len(shape))
    X = rng.normal(size=(5, *shape))
    model = an.Sequential([Dense(4, activation="tanh")], input_shape=shape, seed=0)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    model.set_weights([W, b])
    with an.use(backend, dtype="float64"):
        P = model.predict(X)
    expected = np.tanh(X @ W + b)
    assert P.shape == (5, *shape[:-1], 4) == expected.shape
    np.testing.assert_allclose(P, expected, rtol=1e-13)
    assert model.output_shape_for(shape) == (*shape[:-1], 4)


def _torch_3d_forward(torch, weights, X):
    W, b = weights
    return torch.matmul(X.reshape(X.shape[0], 2, 3), W) + b


def _torch_3d_sigmoid_forward(torch, weights, X):
    return torch.sigmoid(_torch_3d_forward(torch, weights, X))


OUTPUT_3D = [  # (loss, output activation): each a mean over every entry, or over the rows
    ("squared_error", None),
    ("mse", None),
    ("binary_cross_entropy", "sigmoid"),  # fused: its delta at the pre-activation
]


@pytest.mark.parametrize(("loss", "activation"), OUTPUT_3D)
def test_dense_3d_output_gradients_match_torch(backend, loss, activation):
    """Dense over the last axis as the output layer: a (rows, 2, 4) output and target."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(N, 6)), rng.uniform(size=(N, 2, 4))
    model = an.Sequential([Reshape((2, 3)), Dense(4, activation=activation)], input_shape=(6,))
    model.compile(loss=loss, optimizer="sgd")
    with an.use("numpy", dtype="float64"):
        model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
        weights = model.get_weights()
    forward = _torch_3d_sigmoid_forward if activation else _torch_3d_forward
    ref_value, ref_grads = _torch_loss_and_grads(forward, weights, X, y, loss)
    with an.use(backend, dtype="float64"):
        value, grads = model.gradients(X, y)
        P = model.predict(X)
        report = an.gradcheck(model, X, y)
    Z = X.reshape(N, 2, 3) @ weights[0] + weights[1]
    np.testing.assert_allclose(P, 1 / (1 + np.exp(-Z)) if activation else Z, rtol=1e-13)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    for g, ref in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, ref, rtol=RTOL, atol=1e-14)
    assert report.passed, str(report)


# -- training, inference, saving -----------------------------------------------------------------

BATCH = {"full": N, "minibatch": 4, "stochastic": 1}


def _fit(make, X, y, mode):
    model = make(0)
    model.fit(X, y, mode=mode, batch_size=4, epochs=2, seed=0, verbose=0)
    return model.get_weights()


def _torch_sgd(torch_forward, weights, X, y, mode, epochs=2, seed=0, lr=0.1):
    """2 epochs of SGD on the mse, the rows shuffled as fit shuffles them (a permutation per
    epoch from ``default_rng(seed)``), in batches of ``BATCH[mode]`` rows."""
    torch = pytest.importorskip("torch")
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    rng, size = np.random.default_rng(seed), BATCH[mode]
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), size):
            rows = order[start : start + size]
            P = torch_forward(torch, ws, torch.tensor(X[rows], dtype=torch.float64))
            loss = ((P - torch.tensor(y[rows], dtype=torch.float64)) ** 2).mean()
            grads = torch.autograd.grad(loss, ws)
            with torch.no_grad():
                for w, g in zip(ws, grads):
                    w -= lr * g
    return [w.detach().numpy() for w in ws]


@pytest.mark.parametrize("mode", list(BATCH))
@pytest.mark.parametrize("name", list(MODELS))
def test_training_matches_numpy_and_torch(backend, name, mode):
    make, shape, torch_forward, _ = MODELS[name]
    rng = np.random.default_rng(11)
    X, y = rng.normal(size=(N, *shape)), rng.normal(size=(N, 2))
    with an.use("numpy", dtype="float64"):
        initial = make(0).get_weights()
        reference = _fit(make, X, y, mode)
    with an.use(backend, dtype="float64"):
        trained = _fit(make, X, y, mode)
    by_torch = _torch_sgd(torch_forward, initial, X, y, mode)
    for w, ref, t, w0 in zip(trained, reference, by_torch, initial, strict=True):
        assert w.dtype == np.float64 and w.shape == w0.shape
        np.testing.assert_allclose(w, ref, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(ref, t, rtol=1e-9, atol=1e-15)
    assert not np.allclose(trained[0], initial[0])  # it did train


def test_predict_on_4d_input(backend):
    model, X, _ = _problem("image")
    with an.use("numpy", dtype="float64"):
        weights = model.get_weights()
    assert X.ndim == 4
    with an.use(backend, dtype="float64"):
        P = model.predict(X)
        in_batches = model.predict(X, batch_size=3)
    expected = _numpy_image_forward(weights, X)
    assert P.shape == (N, 2)
    np.testing.assert_allclose(P, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(in_batches, P, rtol=1e-13, atol=1e-15)


def _nested_model():
    model = an.Sequential(
        [
            Reshape((-1, 2)),  # (2, 3, 2) -> (6, 2)
            Dense(3, activation="tanh"),  # (6, 3)
            Flatten(),  # 18
            Dense(4),
            Reshape((2, 2)),
            Flatten(),
            Dense(2),
        ],
        input_shape=(2, 3, 2),
        seed=3,
    )
    model.compile(loss="mse", optimizer=an.optimizers.SGD(lr=0.05, momentum=0.9))
    return model


def test_save_and_load_round_trip(backend, tmp_path):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(N, 2, 3, 2)), rng.normal(size=(N, 2))
    with an.use(backend, dtype="float64"):
        model = _nested_model()
        model.fit(X, y, mode="minibatch", batch_size=4, epochs=1, seed=0, verbose=0)
        config = model.get_config()
        an.save(model, tmp_path / "model.arraynet")
        loaded = an.load(tmp_path / "model.arraynet")
        P, P_loaded = model.predict(X), loaded.predict(X)
        model.fit(X, y, mode="minibatch", batch_size=4, epochs=1, seed=1, verbose=0)
        loaded.fit(X, y, mode="minibatch", batch_size=4, epochs=1, seed=1, verbose=0)
    json.dumps(config)
    assert config["input_dim"] is None and config["input_shape"] == [2, 3, 2]
    assert config["layers"][0] == {"class": "Reshape", "target_shape": [-1, 2]}
    assert config["layers"][2] == {"class": "Flatten"}
    assert config["layers"][4] == {"class": "Reshape", "target_shape": [2, 2]}
    assert loaded.get_config() == config
    assert loaded.example_shape == (2, 3, 2) and loaded.input_dim is None
    assert loaded.input_shape == (None, 2, 3, 2)  # Keras's, with the batch axis
    assert [repr(a) for a in loaded.layers] == [repr(a) for a in model.layers]
    assert P.shape == (N, 2)
    np.testing.assert_array_equal(P_loaded, P)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):  # resumed alike
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def _rows(printed):
    """The cells of each layer row of Keras's summary table."""
    return [[c.strip() for c in line.split("│")[1:-1]] for line in printed if line[0] == "│"]


def test_summary_prints_shapes():
    printed = []
    model = _reshape_model()
    model.summary(print_fn=printed.append)
    assert printed[0] == f'Model: "{model.name}"'
    names = [f"{layer.name} ({type(layer).__name__})" for layer in model.layers]
    assert names[0].endswith("(Reshape)") and names[2].endswith("(Flatten)")
    expected = [  # (layer, outputs with the batch axis, params)
        (names[0], "(None, 2, 3)", "0"),
        (names[1], "(None, 2, 4)", "16"),
        (names[2], "(None, 8)", "0"),
        (names[3], "(None, 2)", "18"),
    ]
    assert [tuple(row) for row in _rows(printed)] == expected
    assert printed[-3].startswith(" Total params: 34 (")

    printed = []
    model = _nested_model()
    model.summary(print_fn=printed.append)
    assert model.input_shape == (None, 2, 3, 2)
    outputs = [row[1] for row in _rows(printed)]
    assert outputs == [
        "(None, 6, 2)",
        "(None, 6, 3)",
        "(None, 18)",
        "(None, 4)",
        "(None, 2, 2)",
        "(None, 4)",
        "(None, 2)",
    ]
    assert printed[-3].startswith(f" Total params: {2 * 3 + 3 + 18 * 4 + 4 + 4 * 2 + 2} (")


# -- refusals ---------------------------------------------------------------------------------

WRONG_X = [(N, 3, 2), (N, 2, 3, 3), (N, 12), (N, 2, 3, 2, 1), (N, 3, 2, 2)]


def test_wrong_input_shape_refused_before_any_change(backend):
    rng = np.random.default_rng(6)
    y = rng.normal(size=(N, 2))
    with an.use(backend, dtype="float64"):
        model = _image_model()
        model.fit(rng.normal(size=(N, 2, 3, 2)), y, epochs=1, verbose=0)  # state on the backend
        before = model.get_weights()
        for x_shape in WRONG_X:
            X = rng.normal(size=x_shape)
            calls = [
                (model.fit, (X, y), {"mode": "minibatch", "batch_size": 4, "verbose": 0}),
                (model.predict, (X,), {}),
                (model.evaluate, (X, y), {}),
                (model.gradients, (X, y), {}),
                (an.gradcheck, (model, X, y), {}),
            ]
            for call, args, kwargs in calls:
                with pytest.raises(ValueError, match=r"^X: expected shape \(rows, 2, 3, 2\); got"):
                    call(*args, **kwargs)
        after = model.get_weights()
    assert model.epoch == 1 and model.example_shape == (2, 3, 2)
    for a, b in zip(after, before, strict=True):
        np.testing.assert_array_equal(a, b)
