"""Keras's initializers: names, classes and arguments, their distributions (moments,
limits, Keras's fans), seeds (a seeded class draws from its own generator), the same
weights on every backend, Keras's call form, and configs."""

import numpy as np
import pytest

import arraynet as an
from arraynet import initializers as init
from arraynet.backend import to_numpy

SHAPE = (400, 300)
CONV = (3, 3, 16, 32)  # fans 144 and 288, as Keras counts a conv kernel's


def _draw(initializer, shape=SHAPE, seed=0):
    return init.get(initializer)(np.random.default_rng(seed), shape)


def _fans(shape):
    return (shape[0], shape[1]) if len(shape) == 2 else (144, 288)


# name -> (kind, scale, mode); Keras: Glorot = VarianceScaling(1, fan_avg), He (2, fan_in),
# Lecun (1, fan_in); *_normal truncated at two standard deviations with the variance kept
VARIANCE_SCALING = {
    "glorot_uniform": ("uniform", 1.0, "fan_avg"),
    "glorot_normal": ("truncated", 1.0, "fan_avg"),
    "he_uniform": ("uniform", 2.0, "fan_in"),
    "he_normal": ("truncated", 2.0, "fan_in"),
    "lecun_uniform": ("uniform", 1.0, "fan_in"),
    "lecun_normal": ("truncated", 1.0, "fan_in"),
}


@pytest.mark.parametrize("shape", [SHAPE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", VARIANCE_SCALING)
def test_variance_scaling_family_follows_keras(name, shape):
    kind, scale, mode = VARIANCE_SCALING[name]
    fan_in, fan_out = _fans(shape)
    fan = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    std = np.sqrt(scale / fan)
    W = _draw(name, shape)
    assert W.shape == shape and W.dtype == np.float64
    assert abs(W.mean()) < 0.03 * std
    assert W.std() == pytest.approx(std, rel=0.03)
    if kind == "uniform":
        limit = np.sqrt(3 * scale / fan)
        assert -limit <= W.min() < -0.99 * limit and 0.99 * limit < W.max() < limit
    else:  # truncated at two of its own standard deviations (std / 0.8796)
        bound = 2 * std / 0.87962566103423978
        assert np.abs(W).max() <= bound and np.abs(W).max() > 0.99 * bound
        assert 0.63 < np.mean(np.abs(W) < std) < 0.67  # 0.6505 for this truncated normal


@pytest.mark.parametrize(
    ("initializer", "mean", "std", "low", "high"),
    [
        (init.RandomNormal(), 0.0, 0.05, -np.inf, np.inf),
        (init.random_normal(mean=1.0, stddev=0.2), 1.0, 0.2, -np.inf, np.inf),
        (init.RandomUniform(), 0.0, 0.1 / np.sqrt(12), -0.05, 0.05),
        (init.random_uniform(minval=0.0, maxval=2.0), 1.0, 2 / np.sqrt(12), 0.0, 2.0),
        (init.TruncatedNormal(), 0.0, 0.05 * 0.8796, -0.1, 0.1),
        (init.VarianceScaling(), 0.0, 1 / 20, -0.1 / 0.8796, 0.1 / 0.8796),  # fan_in 400
        (init.variance_scaling(3.0, "fan_out", "uniform"), 0.0, 0.1, -0.03**0.5, 0.03**0.5),
        (init.VarianceScaling(2.0, "fan_in", "untruncated_normal"), 0.0, np.sqrt(2 / 400),
         -np.inf, np.inf),
    ],
)  # fmt: skip
def test_keras_distributions_and_defaults(initializer, mean, std, low, high):
    W = _draw(initializer)
    assert abs(W.mean() - mean) < 0.03 * std
    assert W.std() == pytest.approx(std, rel=0.03)
    assert low <= W.min() and W.max() <= high


def test_constant_identity_orthogonal_zeros_ones():
    np.testing.assert_array_equal(_draw(init.constant(0.3), (2, 3)), np.full((2, 3), 0.3))
    np.testing.assert_array_equal(_draw(init.Identity(gain=2.0), (2, 3)), 2 * np.eye(2, 3))
    with pytest.raises(ValueError, match="2-D"):
        _draw(init.Identity(), (2, 3, 4))
    Q = _draw(init.Orthogonal(gain=1.5), (5, 3))
    np.testing.assert_allclose(Q.T @ Q, 2.25 * np.eye(3), atol=1e-12)
    np.testing.assert_array_equal(_draw("zeros", (2,)), [0, 0])
    np.testing.assert_array_equal(_draw("one", (2,)), [1, 1])  # Keras's alias


def test_keras_fans_of_vectors_and_scalars():
    assert init.keras_fans((7,)) == (7, 7)
    assert init.keras_fans(()) == (1, 1)
    assert init.keras_fans(CONV) == (144, 288)


def test_glorot_uniform_draws_as_before_for_matrices():
    """The default kernel initializer draws exactly what arraynet drew before (the book's
    seeded numbers rest on it): ``rng.uniform(-sqrt(6 / (in + out)), ...)``."""
    for shape in [(3, 4), (64, 128), (784, 10)]:
        limit = np.sqrt(6.0 / sum(shape))
        expected = np.random.default_rng(5).uniform(-limit, limit, shape)
        np.testing.assert_array_equal(_draw("glorot_uniform", shape, seed=5), expected)
        limit = np.sqrt(6.0 / shape[0])
        expected = np.random.default_rng(5).uniform(-limit, limit, shape)
        np.testing.assert_array_equal(_draw("he_uniform", shape, seed=5), expected)


# -- names, seeds, configs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "cls"),
    [
        ("he_normal", init.HeNormal), (init.he_normal(seed=3), init.HeNormal),
        (init.HeNormal, init.HeNormal), ("HeNormal", init.HeNormal),
        ("random_normal", init.RandomNormal), ("normal", init.RandomNormal),
        ("truncated_normal", init.TruncatedNormal), ("lecun_uniform", init.LecunUniform),
        ("variance_scaling", init.VarianceScaling), ("orthogonal", init.Orthogonal),
        ("constant", init.Constant), ("identity", init.Identity),
    ],
)  # fmt: skip
def test_names_and_classes(given, cls):
    initializer = init.get(given)
    made = initializer if isinstance(initializer, init.Initializer) else initializer()
    assert type(made) is cls


def test_arraynet_names_keep_their_meaning():
    W = _draw("uniform", SHAPE)  # the book's 2 * random - 1, not Keras's RandomUniform
    assert W.min() < -0.99 and W.max() > 0.99
    assert _draw("lecun").std() == pytest.approx(np.sqrt(1 / 400), rel=0.03)  # untruncated
    assert np.abs(_draw("lecun")).max() > 2 * np.sqrt(1 / 400) / 0.8796


def _dense_weights(kernel_initializer, seed):
    with an.use("numpy", dtype="float64"):
        model = an.Sequential(
            [an.layers.Dense(4, kernel_initializer=kernel_initializer)], input_dim=3, seed=seed
        )
        return model.get_weights()[0]


def test_a_seeded_class_draws_from_its_own_generator():
    seeded = init.HeNormal(seed=42)
    a, b = _dense_weights(seeded, seed=1), _dense_weights(seeded, seed=2)
    np.testing.assert_array_equal(a, b)  # the model's seed does not matter
    np.testing.assert_array_equal(a, seeded(np.random.default_rng(99), (3, 4)))  # every call
    unseeded = init.HeNormal()
    assert not np.array_equal(_dense_weights(unseeded, 1), _dense_weights(unseeded, 2))
    np.testing.assert_array_equal(_dense_weights(unseeded, 1), _dense_weights("he_normal", 1))


@pytest.mark.parametrize(
    "initializer", [init.HeNormal(seed=7), init.TruncatedNormal(0.1, 0.3), "lecun_normal"]
)
def test_the_same_weights_on_every_backend(backend, initializer):
    with an.use("numpy", dtype="float64"):
        expected = _dense_weights(initializer, 3)
    with an.use(backend, dtype="float64"):
        model = an.Sequential(
            [an.layers.Dense(4, kernel_initializer=initializer)], input_dim=3, seed=3
        )
        model.predict(np.ones((1, 3)))
        got = model.get_weights()[0]
    np.testing.assert_array_equal(got, expected)


def test_keras_call_form_gives_a_backend_array(backend):
    with an.use(backend, dtype="float64") as be:
        values = init.HeNormal(seed=1)((3, 4))
        assert be.owns(values) and tuple(values.shape) == (3, 4)
        again = init.HeNormal(seed=1)((3, 4))
    np.testing.assert_array_equal(to_numpy(values), to_numpy(again))
    assert np.abs(to_numpy(values)).max() <= 2 * np.sqrt(2 / 3) / 0.8796 + 1e-12


@pytest.mark.parametrize(
    "initializer",
    [init.HeNormal(seed=3), init.RandomNormal(0.5, 0.1), init.VarianceScaling(2.0, "fan_avg",
     "uniform", seed=1), init.Constant(0.25), init.Orthogonal(gain=2.0), init.Identity(0.5)],
)  # fmt: skip
def test_configs_round_trip_through_a_saved_model(tmp_path, initializer):
    model = an.Sequential(
        [an.layers.Dense(3, kernel_initializer=initializer, bias_initializer=init.constant(0.1))],
        input_dim=3,
        seed=0,
    )
    model.compile("mse")
    config = model.graph.layers[0].get_config()
    assert config["kernel_initializer"] == {
        "class_name": type(initializer).__name__,
        "config": initializer.get_config(),
    }
    model.save(tmp_path / "m.arraynet")
    loaded = an.load(tmp_path / "m.arraynet")
    assert loaded.graph.layers[0].kernel_initializer == initializer
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="mode"):
        init.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="distribution"):
        init.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="scale"):
        init.VarianceScaling(scale=0)
    with pytest.raises(TypeError, match="seed"):
        init.HeNormal(seed=1.5)
    with pytest.raises(ValueError, match="kernel_initializer"):
        an.layers.Dense(2, kernel_initializer="he")
