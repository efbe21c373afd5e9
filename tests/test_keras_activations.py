"""Keras's activations: forward values and hand-written derivatives against torch autograd
(float64) and central differences on every backend, the erf behind the exact GELU against
math.erf, Keras's names and arguments, function forms, and the activation layers."""

import math
import zlib

import numpy as np
import pytest

import arraynet as an
from arraynet.activations import erf
from arraynet.backend import to_numpy

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(13)
KINKS = {  # where a piecewise activation has no derivative
    "relu": [0.0], "leaky_relu": [0.0], "relu6": [0.0, 6.0], "hard_sigmoid": [-3.0, 3.0],
    "hard_silu": [-3.0, 3.0], "elu": [0.0], "selu": [0.0],
}  # fmt: skip


def _inputs(name, shape=(5, 7), scale=4.0):
    Z = RNG.normal(0.0, scale, shape)
    for kink in KINKS.get(name, []):  # keep central differences off the kinks
        Z = np.where(np.abs(Z - kink) < 1e-2, Z + 0.1, Z)
    return Z


def _torch(fn):
    return lambda z: fn(torch.as_tensor(z))


# name (or config) -> torch reference of the forward
REFERENCES = {
    "identity": lambda z: z,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda z: torch.softmax(z, dim=-1),
    "elu": F.elu,
    "selu": F.selu,
    "gelu": lambda z: F.gelu(z, approximate="none"),
    "softplus": F.softplus,
    "softsign": F.softsign,
    "silu": F.silu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.2),
    "relu6": F.relu6,
    "hard_sigmoid": F.hardsigmoid,
    "hard_silu": F.hardswish,
    "exponential": torch.exp,
    "log_softmax": lambda z: torch.log_softmax(z, dim=-1),
    "mish": F.mish,
}
CONFIGURED = {  # (name, config) -> torch reference
    ("gelu", (("approximate", True),)): lambda z: F.gelu(z, approximate="tanh"),
    ("elu", (("alpha", 0.7),)): lambda z: F.elu(z, 0.7),
    ("leaky_relu", (("negative_slope", 0.05),)): lambda z: F.leaky_relu(z, 0.05),
    ("relu", (("negative_slope", 0.1),)): lambda z: F.leaky_relu(z, 0.1),
    ("relu", (("max_value", 2.5),)): lambda z: torch.clamp(z, 0.0, 2.5),
    ("relu", (("threshold", 1.5),)): lambda z: torch.where(z > 1.5, z, 0.0),
    ("relu", (("negative_slope", 0.3), ("max_value", 4.0), ("threshold", -1.0))): (
        # Keras: x where x > threshold (else 0), clipped to [0, max], minus slope*relu(thr - x)
        lambda z: torch.clamp(torch.where(z > -1.0, z, 0.0), 0.0, 4.0) - 0.3 * torch.relu(-1.0 - z)
    ),
    ("softmax", (("axis", 0),)): lambda z: torch.softmax(z, dim=0),
    ("log_softmax", (("axis", 0),)): lambda z: torch.log_softmax(z, dim=0),
}
CASES = [(name, ()) for name in REFERENCES] + list(CONFIGURED)
IDS = [name + "".join(f"-{k}={v}" for k, v in config) for name, config in CASES]


def _activation(name, config):
    return an.activations.get({"name": name, "config": dict(config)})


def _reference(name, config):
    return CONFIGURED[(name, config)] if config else REFERENCES[name]


def _kinks(name, config):
    config = dict(config)
    if name == "relu" and config:
        return [config.get("threshold", 0.0), 0.0, config.get("max_value") or 0.0]
    return KINKS.get(name, [])


@pytest.mark.parametrize(("name", "config"), CASES, ids=IDS)
def test_forward_and_derivative_match_torch_autograd(backend, name, config):
    activation, reference = _activation(name, config), _reference(name, config)
    Z = RNG.normal(0.0, 3.0, (6, 5))
    for kink in _kinks(name, config):
        Z = np.where(np.abs(Z - kink) < 1e-2, Z + 0.1, Z)
    G = RNG.normal(size=Z.shape)
    Zt = torch.tensor(Z, requires_grad=True)
    At = reference(Zt)
    (At * torch.as_tensor(G)).sum().backward()
    with an.use(backend, dtype="float64") as be:
        Zb = be.asarray(Z)
        A = activation.forward(be.xp, Zb)
        dZ = activation.backward(be.xp, Zb, A, be.asarray(G))
        A, dZ = to_numpy(A), to_numpy(dZ)
    np.testing.assert_allclose(A, At.detach().numpy(), rtol=1e-12, atol=1e-14)
    # torch's hardsigmoid/hardswish backward multiply by a float32 1/6 (3e-8 off)
    rtol = 1e-7 if name in ("hard_sigmoid", "hard_silu") else 1e-10
    np.testing.assert_allclose(dZ, Zt.grad.numpy(), rtol=rtol, atol=1e-13)


@pytest.mark.parametrize(("name", "config"), CASES, ids=IDS)
def test_derivative_matches_central_differences(name, config):
    activation = _activation(name, config)
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # the same draws in any test order
    Z = rng.normal(0.0, 2.0, (3, 4))
    for kink in _kinks(name, config):
        Z = np.where(np.abs(Z - kink) < 1e-2, Z + 0.1, Z)
    G, eps = rng.normal(size=Z.shape), 1e-6
    A = activation.forward(np, Z)
    dZ = activation.backward(np, Z, A, G)
    numerical = np.zeros_like(Z)
    for i in np.ndindex(Z.shape):
        up, down = Z.copy(), Z.copy()
        up[i] += eps
        down[i] -= eps
        # the difference before the sum: unchanged entries cancel exactly, large ones too
        f = np.sum(G * (activation.forward(np, up) - activation.forward(np, down)))
        numerical[i] = f / (2 * eps)
    np.testing.assert_allclose(dZ, numerical, rtol=1e-6, atol=1e-8)


def test_float32_forward_is_close_to_float64(backend):
    Z = RNG.normal(0.0, 3.0, (4, 6))
    for name, config in CASES:
        activation = _activation(name, config)
        expected = activation.forward(np, Z)
        with an.use(backend) as be:
            got = to_numpy(activation.forward(be.xp, be.asarray(Z)))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6, err_msg=name)


# -- erf ---------------------------------------------------------------------------------------


def test_erf_matches_math_erf_to_float64_precision(backend):
    x = np.concatenate(
        [np.linspace(-7, 7, 200_001), -np.geomspace(1e-300, 1, 300), np.geomspace(1e-300, 1, 300),
         [0.0, 0.46875, -0.46875, 4.0, -4.0, 26.9, 27.0, 30.0, -1e300, 1e300]]
    )  # fmt: skip
    expected = np.array([math.erf(v) for v in x])
    with an.use(backend, dtype="float64") as be:
        got = to_numpy(erf(be.xp, be.asarray(x)))
    relative = np.abs(got - expected) / np.maximum(np.abs(expected), np.finfo(float).tiny)
    assert relative.max() < 1e-15
    scipy_special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(got, scipy_special.erf(x), rtol=1e-15, atol=0)


def test_erf_in_float32(backend):
    x = np.linspace(-6, 6, 10_001)
    with an.use(backend) as be:
        got = to_numpy(erf(be.xp, be.asarray(x)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [math.erf(v) for v in x], rtol=0, atol=3e-7)


def test_gelu_exact_and_tanh_forms_differ_as_keras_says():
    Z = np.linspace(-4, 4, 81)
    exact = an.activations.gelu.forward(np, Z)
    tanh_form = an.activations.GELU(approximate=True).forward(np, Z)
    np.testing.assert_allclose(exact, [0.5 * z * (1 + math.erf(z / math.sqrt(2))) for z in Z])
    assert 1e-5 < np.abs(exact - tanh_form).max() < 1e-3  # the tanh form is an approximation


# -- names, arguments, function forms ---------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "name"),
    [("linear", "identity"), (None, "identity"), ("swish", "silu"), ("hard_swish", "hard_silu")],
)
def test_keras_aliases(alias, name):
    assert an.activations.get(alias).name == name


def test_keras_defaults():
    assert an.activations.leaky_relu.negative_slope == 0.2
    assert an.layers.LeakyReLU().negative_slope == 0.3  # the layer's default, as Keras
    assert an.activations.gelu.approximate is False
    assert an.activations.elu.alpha == 1.0
    relu = an.activations.relu
    assert (relu.negative_slope, relu.max_value, relu.threshold) == (0.0, None, 0.0)


def test_function_forms_compute_on_the_selected_backend(backend):
    x = np.array([[-2.0, -0.5, 0.0, 1.5, 7.0]])
    with an.use(backend, dtype="float64") as be:
        out = an.activations.relu(x)
        assert be.owns(out)
        np.testing.assert_array_equal(to_numpy(out), np.maximum(x, 0))
        np.testing.assert_allclose(
            to_numpy(an.activations.relu(x, negative_slope=0.5, max_value=5.0)),
            [[-1.0, -0.25, 0.0, 1.5, 5.0]],
        )
        np.testing.assert_allclose(
            to_numpy(an.activations.leaky_relu(x, negative_slope=0.1)), np.where(x > 0, x, 0.1 * x)
        )
        np.testing.assert_allclose(
            to_numpy(an.activations.softmax(be.asarray(x))), np.exp(x) / np.exp(x).sum()
        )


def test_dense_takes_activation_functions_and_classes():
    for given in (an.activations.gelu, an.activations.GELU, "gelu"):
        assert an.layers.Dense(3, activation=given).activation == an.activations.gelu


def test_a_plain_function_is_refused_with_how_to_subclass():
    with pytest.raises(TypeError, match="subclass an.activations.Activation"):
        an.layers.Dense(3, activation=lambda x: x * 2)


def test_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="gelu"):
        an.activations.get("gelu2")


def test_configured_activation_round_trips_through_serialize():
    act = an.activations.ReLU(negative_slope=0.1, max_value=6.0)
    config = an.activations.serialize(act)
    assert config == {
        "name": "relu",
        "config": {"negative_slope": 0.1, "max_value": 6.0, "threshold": 0.0},
    }
    assert an.activations.get(config) == act
    assert an.activations.serialize(an.activations.relu) == "relu"


def test_dense_with_configured_activation_saves_and_loads(tmp_path):
    model = an.Sequential(
        [an.layers.Dense(4, activation=an.activations.LeakyReLU(0.05)), an.layers.Dense(1)],
        input_dim=3,
        seed=0,
    )
    model.compile("mse")
    path = tmp_path / "m.arraynet"
    model.save(path)
    loaded = an.load(path)
    assert loaded.graph.layers[0].activation == an.activations.LeakyReLU(0.05)
    X = RNG.normal(size=(5, 3))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# -- activation layers ------------------------------------------------------------------------

LAYER_CASES = {
    "Activation(gelu)": lambda: an.layers.Activation("gelu"),
    "Activation(fn)": lambda: an.layers.Activation(an.activations.mish),
    "ReLU(6, 0.1, 0.5)": lambda: an.layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5),
    "LeakyReLU": lambda: an.layers.LeakyReLU(),
    "Softmax": lambda: an.layers.Softmax(),
    "Softmax(axis=1)": lambda: an.layers.Softmax(axis=1),
}


@pytest.mark.parametrize("case", LAYER_CASES)
def test_activation_layers_pass_gradcheck(backend, case):
    layer = LAYER_CASES[case]()
    X = RNG.normal(0.0, 2.0, (4, 3, 5))
    X = np.where(np.abs(X - 0.5) < 1e-2, X + 0.1, X)
    X = np.where(np.abs(X) < 1e-2, X + 0.1, X)
    y = RNG.normal(size=X.shape)
    with an.use(backend, dtype="float64"):
        report = an.gradcheck(layer, X, y)
    assert report.names == ("X",) and report.passed, str(report)


def test_relu_layer_is_keras_relu():
    layer = an.layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5)
    X = np.array([[-2.0, 0.2, 0.5, 1.0, 9.0]])
    Y, _ = layer.forward(np, (), X)
    # Keras: x where x > threshold else 0, clipped to [0, 6], minus 0.1 * relu(0.5 - x)
    np.testing.assert_allclose(Y, [[-0.25, -0.03, 0.0, 1.0, 6.0]])


@pytest.mark.parametrize("case", LAYER_CASES)
def test_activation_layers_round_trip_their_config(case):
    layer = LAYER_CASES[case]()
    again = an.layers.from_config(layer.get_config())
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    assert again.function == layer.function


def test_a_softmax_layer_fuses_with_categorical_crossentropy(backend):
    """Dense(3) + Softmax() trains exactly as Dense(3, activation="softmax"): the loss takes
    its delta at the softmax's input."""
    X = RNG.normal(size=(12, 4))
    labels = RNG.integers(0, 3, 12)

    def fit(layers):
        with an.use(backend, dtype="float64"):
            model = an.Sequential(layers, input_dim=4, seed=2)
            model.compile("categorical_crossentropy", an.optimizers.SGD(lr=0.5))
            assert model.network.fused
            history = model.fit(X, labels, epochs=3, batch_size=4, shuffle=False, verbose=0)
            return history.history["loss"], model.get_weights()

    split_loss, split_weights = fit([an.layers.Dense(3), an.layers.Softmax()])
    joined_loss, joined_weights = fit([an.layers.Dense(3, activation="softmax")])
    np.testing.assert_allclose(split_loss, joined_loss, rtol=1e-12)
    for a, b in zip(split_weights, joined_weights):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_a_step_activation_layer_cannot_train():
    model = an.Sequential([an.layers.Dense(2), an.layers.Activation("step")], input_dim=2)
    model.compile("mse")
    with pytest.raises(ValueError, match="step"):
        model.fit(np.ones((2, 2)), np.ones((2, 2)), verbose=0)


def test_rows_are_independent_unless_normalized_over_the_batch():
    assert an.layers.Activation("gelu").independent_rows
    assert an.layers.Softmax().independent_rows
    assert not an.layers.Softmax(axis=0).independent_rows


def test_conv_with_configured_activation_round_trips_its_config():
    layer = an.layers.Conv2D(2, 3, activation=an.activations.LeakyReLU(0.1))
    again = an.layers.from_config(layer.get_config())
    assert again.activation == an.activations.LeakyReLU(0.1)
